"""The conditional generative transformer translator, small preset, on the shipped data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.base import SECTOR_FACTORS, TrainingSet, Translator, sector_aggregate, sector_weights
from risk_dagster.translate.curve_knots import curve_knot_factors
from risk_dagster.market.catalog import load_risk_factor_catalog
from risk_dagster.translate.itraxx import ANCHORS
from risk_dagster.translate.sovereign import SOVEREIGN_MODULE
from risk_dagster.translate.rating_spreads import RATING_FACTORS
from risk_dagster.translate.shockset import ShockSet
from risk_dagster.translate.transformer import (
    CRISIS_QUARTERS,
    STRESS_FEATURES,
    STRESS_VALIDATION_QUARTERS,
    TransformerConfig,
    TransformerTranslator,
    masked_student_t_nll,
    validation_quarters,
)

N = 200


@pytest.fixture(scope="module")
def adverse_draw(
    transformer_small: TransformerTranslator, severely_adverse: MacroScenario, fed_history_2026: MacroScenario
) -> ShockSet:
    return transformer_small.sample(severely_adverse, N, 7, history=fed_history_2026)


@pytest.fixture(scope="module")
def stressed_quarters(training_set: TrainingSet) -> pd.PeriodIndex:
    """Training quarters with the Fed's (quarterly maximum) VIX above 30."""
    vix = training_set.X["vix"]
    return pd.PeriodIndex(vix.index[vix > 30], freq="Q-DEC")


@pytest.fixture(scope="module")
def stressed_draws(
    transformer_small: TransformerTranslator, training_set: TrainingSet, stressed_quarters: pd.PeriodIndex
) -> np.ndarray:
    X = training_set.features.loc[stressed_quarters]
    return transformer_small.predictive_changes(X, 400, 3, context=training_set.features)


def test_fit_and_protocol(transformer_small: TransformerTranslator, training_set: TrainingSet) -> None:
    assert isinstance(transformer_small, Translator)
    assert transformer_small.model_id == "transformer"
    assert len(transformer_small.members_) == TransformerConfig.small().n_seeds
    assert 0 < transformer_small.n_parameters < 30_000
    summary = transformer_small.summary()
    json.dumps(summary)  # plain JSON
    for member in summary["training"]["members"]:
        assert np.isfinite(member["val_nll"]) and np.isfinite(member["train_nll"])
        assert member["best_epoch"] >= 1
    # Validation quarters: fixed in advance, the latest calm ones plus the stress episodes
    # outside every backtest test window.
    val = [pd.Period(q, freq="Q-DEC") for q in summary["training"]["validation_quarters"]]
    assert val and not (set(val) & CRISIS_QUARTERS) - STRESS_VALIDATION_QUARTERS
    assert STRESS_VALIDATION_QUARTERS <= set(val)
    assert max(val) == training_set.quarters.max()
    # The base model's stress loading, dof and class calibration are reported.
    assert len(summary["training"]["stress_scale"]["coef"]) == len(STRESS_FEATURES)
    assert set(summary["training"]["calibration"]) >= {"rates", "credit", "equity", "fx"}


def test_validation_quarters_rule() -> None:
    quarters = list(pd.period_range("2000Q1", "2024Q4", freq="Q-DEC"))
    val = validation_quarters(quarters, 0.1)
    calm = [q for q in quarters if q not in CRISIS_QUARTERS]
    assert val == calm[-round(0.1 * len(calm)) :]
    assert validation_quarters(quarters, 0.0) == []
    with_stress = validation_quarters(quarters, 0.1, stress=True)
    assert set(with_stress) == set(val) | (STRESS_VALIDATION_QUARTERS & set(quarters))
    assert with_stress == sorted(with_stress)


def test_stress_validation_never_touches_a_test_window() -> None:
    from risk_dagster.translate.backtest import CRISIS_WINDOWS

    test = {pd.Period(q, freq="Q-DEC") for qs in CRISIS_WINDOWS.values() for q in qs}
    assert STRESS_VALIDATION_QUARTERS and not STRESS_VALIDATION_QUARTERS & test


def test_stress_scale_is_monotone_and_bounded(
    transformer_small: TransformerTranslator, training_set: TrainingSet
) -> None:
    """A more severe quarter (higher VIX, rising unemployment, widening spreads) is never
    calmer; the stress load is capped; the calibration is one value per class, in range."""
    model = transformer_small
    assert (model.stress_coef_ >= 0).all()
    X = training_set.features.loc[[pd.Period("2019Q2", freq="Q-DEC")]]
    base = model.base_scale(X)
    for col, bump in (("vix", 15.0), ("vix_chg", 15.0), ("unemployment_rate_chg", 1.0), ("bbb_spread_chg", 1.0)):
        worse = X.copy()
        worse[col] = worse[col] + bump
        assert (model.base_scale(worse) >= base - 1e-12).all(), col
    # A falling VIX is not calmer than an unchanged one (positive parts of the changes).
    calm, falling = X.copy(), X.copy()
    calm["vix_chg"], falling["vix_chg"] = 0.0, -20.0
    np.testing.assert_allclose(model.base_scale(falling), model.base_scale(calm))
    extreme = X.copy()
    extreme[["vix", "vix_chg", "unemployment_rate_chg", "bbb_spread_chg"]] = [500.0, 400.0, 50.0, 20.0]
    cap = model.calibration_ * np.exp(model.base_log_scale_ + model.stress_range_[1])
    np.testing.assert_allclose(model.base_scale(extreme)[0], cap)
    lo, hi = model.config.calib_range
    assert ((model.calibration_ >= lo) & (model.calibration_ <= hi)).all()
    classes = pd.Series(model.calibration_, index=[f.split(".")[0] for f in model.factor_ids_])
    assert (classes.groupby(level=0).nunique() == 1).all()


def test_stress_widens_the_predictive_distribution(
    transformer_small: TransformerTranslator, training_set: TrainingSet
) -> None:
    """Same quarter, VIX at a crisis level: wider one-quarter draws for the open factors."""
    X = training_set.features.loc[[pd.Period("2019Q2", freq="Q-DEC")]]
    stressed = X.copy()
    stressed["vix"] = 60.0
    ctx = training_set.features
    a = transformer_small.predictive_changes(X, 2000, 5, context=ctx)[:, 0, ~transformer_small.exact_]
    b = transformer_small.predictive_changes(stressed, 2000, 5, context=ctx)[:, 0, ~transformer_small.exact_]
    width = lambda d: np.subtract(*np.quantile(d, [0.95, 0.05], axis=0))  # noqa: E731
    assert np.median(width(b) / width(a)) > 1.3


def test_masked_likelihood_ignores_missing_history() -> None:
    """A factor with NaNs before it starts: finite loss, finite gradients, no zero-fill."""
    y = torch.tensor([[np.nan, 0.5], [np.nan, -1.0], [0.3, 2.0]], dtype=torch.float32)
    mask = torch.isfinite(y)
    mu = torch.zeros(3, 2, requires_grad=True)
    log_scale = torch.zeros(3, 2, requires_grad=True)
    dof = torch.full((3, 2), 5.0, requires_grad=True)
    loss = masked_student_t_nll(y, mu, log_scale.exp(), dof, mask, torch.ones(3))
    loss.backward()
    assert torch.isfinite(loss)
    for g in (mu.grad, log_scale.grad, dof.grad):
        assert g is not None and torch.isfinite(g).all()
    assert float(mu.grad[0, 0]) == 0.0 and float(mu.grad[1, 0]) == 0.0  # masked cells: no say
    # Zero-filling would be a different (wrong) loss.
    filled = masked_student_t_nll(torch.nan_to_num(y), mu, log_scale.exp(), dof, torch.ones_like(mask))
    assert not torch.isclose(loss, filled)


def test_model_gradients_finite_with_late_starting_factors(
    transformer_small: TransformerTranslator, training_set: TrainingSet
) -> None:
    eur = training_set.Y["fx.eurusd"]
    assert eur.loc[: pd.Period("1998Q4", freq="Q-DEC")].isna().all()  # starts in 1999
    model = transformer_small
    inputs = model._inputs(training_set.features, model.history_changes_, training_set.quarters)
    Y = training_set.Y.to_numpy(dtype=np.float64)
    skip = model.skip_mean(training_set.X, context=training_set.features)
    target = (Y - skip) / np.where(model.exact_, 1.0, model.sigma_)
    mask = np.isfinite(target) & ~model.exact_[None, :]
    member = model.members_[0]
    member.train()
    try:
        delta, scale, dof = member(torch.as_tensor(inputs, dtype=torch.float32))
        loss = masked_student_t_nll(
            torch.as_tensor(target, dtype=torch.float32), delta, scale, dof, torch.as_tensor(mask)
        )
        member.zero_grad()
        loss.backward()
        assert torch.isfinite(loss)
        assert all(torch.isfinite(p.grad).all() for p in member.parameters() if p.grad is not None)
    finally:
        member.zero_grad(set_to_none=True)
        member.eval()


def test_shape_and_provenance(adverse_draw: ShockSet, transformer_small: TransformerTranslator) -> None:
    # the translator's factors, then the seven spreads by rating bucket derived from them
    knots = curve_knot_factors()  # the EUR 2-7y swap knots, derived after the draws
    itraxx = list(ANCHORS)  # the iTraxx indices, derived from the rating spreads
    sovereign = [f.id for f in load_risk_factor_catalog() if f.derived_from == SOVEREIGN_MODULE]  # IT/ES 10y, the spreads
    assert adverse_draw.factor_ids == [*transformer_small.factor_ids_, *knots, *RATING_FACTORS, *itraxx, *sovereign]
    assert adverse_draw.shocks.shape == (N, 13, len(transformer_small.factor_ids_) + len(knots) + len(RATING_FACTORS) + len(itraxx) + len(sovereign))
    assert adverse_draw.quarters[0] == "2026Q1" and adverse_draw.quarters[-1] == "2029Q1"
    assert adverse_draw.model_id == "transformer" and adverse_draw.seed == 7
    assert adverse_draw.metadata["ensemble_seeds"] == transformer_small.seeds
    assert adverse_draw.metadata["device"] == "cpu" and adverse_draw.metadata["autocast"] is None
    assert np.isfinite(adverse_draw.shocks).all()
    assert np.isfinite(adverse_draw.levels).all()


def test_every_sample_reproduces_the_fed_path(adverse_draw: ShockSet, severely_adverse: MacroScenario) -> None:
    levels = adverse_draw.levels
    scen = severely_adverse.wide()
    for fid, var in (("rates.ust.10y", "treasury_10y"), ("vol.vix", "vix"), ("rates.ust.3m", "treasury_3m")):
        got = levels[:, :, adverse_draw.factor_index(fid)]
        np.testing.assert_allclose(got, np.broadcast_to(scen[var].to_numpy(), got.shape), atol=1e-9)
    eq = levels[:, :, adverse_draw.factor_index("equity.total_market")]
    np.testing.assert_allclose(eq, np.broadcast_to(scen["equity_total_market"].to_numpy(), eq.shape), rtol=1e-12)
    agg = sector_aggregate(adverse_draw.shocks, adverse_draw.factor_ids, sector_weights(pd.Period("2025Q4")))
    np.testing.assert_allclose(agg, adverse_draw.factor("equity.total_market"), atol=1e-10)


def test_seeded_draws_are_deterministic(
    transformer_small: TransformerTranslator,
    severely_adverse: MacroScenario,
    fed_history_2026: MacroScenario,
    adverse_draw: ShockSet,
) -> None:
    again = transformer_small.sample(severely_adverse, N, 7, history=fed_history_2026)
    other = transformer_small.sample(severely_adverse, N, 8, history=fed_history_2026)
    assert np.array_equal(again.shocks, adverse_draw.shocks)
    assert not np.allclose(other.factor("credit.baa"), adverse_draw.factor("credit.baa"))


def test_fit_is_deterministic(training_set: TrainingSet) -> None:
    cfg = TransformerConfig.small(n_seeds=1, max_epochs=10, eval_every=5)
    a = TransformerTranslator(cfg).fit(training_set)
    b = TransformerTranslator(cfg).fit(training_set)
    for pa, pb in zip(a.members_[0].parameters(), b.members_[0].parameters(), strict=True):
        assert torch.equal(pa, pb)
    np.testing.assert_array_equal(a.chol_[0], b.chol_[0])


def test_save_load_round_trip(
    transformer_small: TransformerTranslator,
    severely_adverse: MacroScenario,
    fed_history_2026: MacroScenario,
    adverse_draw: ShockSet,
    tmp_path: Path,
) -> None:
    root = transformer_small.save(tmp_path / "model")
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files and {p.suffix for p in files} <= {".safetensors", ".json"}
    assert (root / "head.safetensors").exists() and (root / "translator.json").exists()
    assert (root / "backbone" / "member_0" / "model.safetensors").exists()
    assert (root / "backbone" / "member_0" / "config.json").exists()
    loaded = TransformerTranslator.load(root)
    again = loaded.sample(severely_adverse, N, 7, history=fed_history_2026)
    assert np.array_equal(again.shocks, adverse_draw.shocks)  # bit for bit


def test_fat_tails(transformer_small: TransformerTranslator, training_set: TrainingSet) -> None:
    """One quarter's predictive draws: heavier tails than a Gaussian of the same variance."""
    q = pd.PeriodIndex([pd.Period("2008Q4", freq="Q-DEC")])
    draws = transformer_small.predictive_changes(training_set.features.loc[q], 4000, 11, context=training_set.features)
    x = draws[:, 0, ~transformer_small.exact_]
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    excess_kurtosis = (z**4).mean(axis=0) - 3.0
    assert (excess_kurtosis > 0).mean() >= 0.8


def test_cross_factor_dependence_in_stressed_quarters(
    stressed_draws: np.ndarray, training_set: TrainingSet, stressed_quarters: pd.PeriodIndex
) -> None:
    """Sampled one-quarter changes, pooled over stressed quarters, keep history's dependence."""
    ids = training_set.factor_ids
    sectors = [ids.index(f) for f in SECTOR_FACTORS]
    pooled = stressed_draws.reshape(-1, len(ids))[:, sectors]
    sim = np.corrcoef(pooled, rowvar=False)
    hist = training_set.Y.loc[stressed_quarters].iloc[:, sectors].corr().to_numpy()
    off = ~np.eye(len(sectors), dtype=bool)
    assert (sim[off] > 0).all()  # equity sectors move together, as in history
    strong = off & (np.abs(hist) > 0.5)
    assert strong.any() and (np.sign(sim[strong]) == np.sign(hist[strong])).all()


def test_device_switch_is_a_no_op_on_cpu() -> None:
    from risk_dagster.translate.transformer import _autocast, _resolve_device

    assert _resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        assert _resolve_device("auto").type == "cpu"
        with pytest.raises(RuntimeError):
            _resolve_device("cuda")
    with pytest.raises(ValueError):
        _resolve_device("tpu")
    ctx = _autocast(torch.device("cpu"), "bfloat16")
    with ctx:
        out = torch.nn.Linear(3, 2)(torch.ones(1, 3))
    assert out.dtype == torch.float32
