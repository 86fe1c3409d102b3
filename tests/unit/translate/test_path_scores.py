"""Path scores: the scoring rules on known answers, the inputs, the ablation, one small run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from risk_dagster.market.history import FactorHistory
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.backtest import energy_score
from risk_dagster.translate.features import (
    FEATURES,
    SATELLITE_REGRESSORS,
    jump_off_quarter,
    projection_quarters,
)
from risk_dagster.translate.path_scores import (
    ABLATION_MODEL,
    block_bootstrap_ratio,
    history_before,
    horizon_coverage,
    path_coordinates,
    path_energy_score,
    path_scores,
    realized_scenario,
    satellite_inputs,
    satellite_inputs_transformer,
)
from risk_dagster.translate.rolling_origin import (
    origins,
    rolling_origin,
    rolling_origin_markdown,
)

from .test_backtest import RecordingSatellite, WideSatellite

Q = lambda s: pd.Period(s, freq="Q-DEC")


# ----------------------------------------------------------------------------- scoring rules
def test_energy_score_of_a_forecast_at_the_truth_is_zero() -> None:
    obs = np.random.default_rng(0).normal(size=(8, 5))
    assert path_energy_score(obs, np.repeat(obs[None], 20, axis=0)) == pytest.approx(0.0, abs=1e-12)


def test_path_energy_score_is_the_backtest_energy_score_of_the_valid_cells() -> None:
    rng = np.random.default_rng(1)
    obs, draws = rng.normal(size=(3, 4)), rng.normal(size=(50, 3, 4))
    assert path_energy_score(obs, draws) == pytest.approx(energy_score(obs.ravel(), draws.reshape(50, -1)))
    obs[0, 1] = np.nan  # a missing realization drops that cell only
    draws[:, 2, 3] = np.inf  # so does a cell a model could not draw
    keep = np.ones((3, 4), dtype=bool)
    keep[0, 1] = keep[2, 3] = False
    assert path_energy_score(obs, draws) == pytest.approx(energy_score(obs[keep], draws[:, keep]))
    assert np.isnan(path_energy_score(obs, draws, np.zeros((3, 4), dtype=bool)))


def test_a_biased_forecast_scores_worse() -> None:
    rng = np.random.default_rng(2)
    obs = rng.normal(size=(40, 8, 5))  # 40 realized paths of a standard normal
    calibrated = sum(path_energy_score(y, rng.normal(size=(300, 8, 5))) for y in obs)
    biased = sum(path_energy_score(y, 1.0 + rng.normal(size=(300, 8, 5))) for y in obs)
    narrow = sum(path_energy_score(y, 0.3 * rng.normal(size=(300, 8, 5))) for y in obs)
    assert calibrated < biased and calibrated < narrow


def test_coverage_of_a_calibrated_gaussian_path() -> None:
    rng = np.random.default_rng(3)
    obs, draws = rng.normal(size=(8, 500)), rng.normal(size=(2000, 8, 500))
    for level, tol in ((0.90, 0.05), (0.99, 0.02)):
        hits = horizon_coverage(obs, draws, level)
        assert hits.shape == (8, 500) and set(np.unique(hits)) <= {0.0, 1.0}
        assert np.nanmean(hits) == pytest.approx(level, abs=tol / 2)
        assert np.allclose(np.nanmean(hits, axis=1), level, atol=tol)  # every horizon
    # Too narrow a forecast under-covers; a masked cell is NaN, not a miss.
    assert np.nanmean(horizon_coverage(obs, 0.5 * draws, 0.90)) < 0.75
    valid = np.ones((8, 500), dtype=bool)
    valid[:, 0] = False
    assert np.isnan(horizon_coverage(obs, draws, 0.90, valid)[:, 0]).all()


def test_path_coordinates_per_shock_type() -> None:
    jump = np.array([2.0, 100.0, 20.0])
    types = ["absolute_bp", "log_return", "vol_points"]
    scale = np.array([10.0, 0.05, 2.0])
    levels = np.array([[2.5, 110.0, 24.0], [2.5, 110.0, 24.0]])  # h = 1, 2
    z = path_coordinates(levels, jump, types, scale)
    expected = np.array([50.0 / 10.0, np.log(1.1) / 0.05, 4.0 / 2.0])
    assert np.allclose(z[0], expected) and np.allclose(z[1], expected / np.sqrt(2.0))
    assert np.allclose(path_coordinates(levels, jump, types, scale, sqrt_h=False)[1], expected)
    draws = np.stack([levels, levels])  # [M, H, F] too
    assert path_coordinates(draws, jump, types, scale).shape == (2, 2, 3)


def test_block_bootstrap_ratio() -> None:
    b = np.array([1.0, 2.0, 3.0, 4.0])
    res = block_bootstrap_ratio(b, 2.0 * b, n_boot=200, block_length=2, seed=0)
    assert res["ratio"] == pytest.approx(2.0) and res["interval"] == pytest.approx([2.0, 2.0]) and res["n"] == 4
    res = block_bootstrap_ratio(b, np.array([1.0, 1.0, 6.0, 4.0]), n_boot=500, block_length=2, seed=0)
    low, high = res["interval"]
    assert low <= res["ratio"] <= high and res["bootstrap"]["block_length"] == 2
    assert block_bootstrap_ratio(b[:0], b[:0], n_boot=10, block_length=2, seed=0)["ratio"] is None


# ----------------------------------------------------------------------------- inputs
def test_realized_scenario_and_the_past(fed_history_2026: MacroScenario, factor_history: FactorHistory) -> None:
    block = [Q("2008Q3") + k for k in range(8)]
    scenario = realized_scenario(fed_history_2026, block)
    assert jump_off_quarter(scenario) == Q("2008Q2") and list(projection_quarters(scenario)) == block
    wide, fed = scenario.wide(), fed_history_2026.wide().loc[block]
    assert np.allclose(wide["vix"].to_numpy(), fed["vix"].to_numpy())
    with pytest.raises(ValueError, match="consecutive"):
        realized_scenario(fed_history_2026, [Q("2008Q3"), Q("2009Q3")])
    past = history_before(factor_history, "2008Q3")
    assert pd.PeriodIndex(past.levels.index, freq="Q-DEC").max() == Q("2008Q2")
    assert pd.PeriodIndex(past.changes.index, freq="Q-DEC").max() == Q("2008Q2")
    assert past.factor_ids == factor_history.factor_ids


# ----------------------------------------------------------------------------- the ablation
def test_ablation_reads_only_the_satellites_inputs() -> None:
    from risk_dagster.translate.transformer import TransformerConfig

    inputs = satellite_inputs()
    assert inputs[: len(SATELLITE_REGRESSORS)] == SATELLITE_REGRESSORS and inputs[len(SATELLITE_REGRESSORS) :] == ["vix"]
    model = satellite_inputs_transformer(TransformerConfig.small(), quick=True)(seed=2)
    assert model.config.window == 2 and not model.config.factor_lags and model.config.base_seed == 2000
    # The network's tokens: every feature but the satellite's is masked (value 0, observed 0).
    quarters = pd.period_range("2010Q1", "2010Q4", freq="Q-DEC")
    feats = pd.DataFrame(1.0, index=pd.period_range("2009Q1", "2010Q4", freq="Q-DEC"), columns=FEATURES)
    model.x_mean_, model.x_std_ = np.zeros(len(FEATURES)), np.ones(len(FEATURES))
    tokens = model._x_tokens(feats, quarters)
    kept = np.array([f in inputs for f in FEATURES])
    assert tokens.shape == (4, 2, 2 * len(FEATURES))
    values, seen = tokens[..., : len(FEATURES)], tokens[..., len(FEATURES) :]
    assert (values[..., kept] == 1.0).all() and (seen[..., kept] == 1.0).all()
    assert (values[..., ~kept] == 0.0).all() and (seen[..., ~kept] == 0.0).all()


# ----------------------------------------------------------------------------- end to end
FIRST = "2022Q1"  # two origins (2022Q1, 2024Q1) on the shipped data


@pytest.fixture(scope="module")
def evaluation(factor_history: FactorHistory, fed_history_2026: MacroScenario):
    RecordingSatellite.fitted_on.clear()
    doc = rolling_origin(
        factor_history,
        fed_history_2026,
        models={"satellite": RecordingSatellite, "transformer": WideSatellite},
        first_origin=FIRST,
        n_samples=60,
        seeds=(0,),
        n_boot=100,
        path_samples=80,
    )
    return doc, list(RecordingSatellite.fitted_on)


def test_rolling_origin_scores_the_paths(evaluation) -> None:
    doc, fitted_on = evaluation
    paths = doc["paths"]
    starts = [Q(o) for o in doc["settings"]["origins"]]
    assert paths["settings"]["origins"] == doc["settings"]["origins"] and len(starts) == 2
    # The one-quarter models are reused: one fit per origin, each on the past only.
    assert paths["settings"]["models_fitted_here"] == {"satellite": 0, "transformer": 0}
    assert len(fitted_on) == len(starts) and all(max(q) < o for q, o in zip(fitted_on, starts, strict=True))
    for model in ("satellite", "transformer"):
        row = paths[model]
        assert np.isfinite(row["energy_score"]) and row["n_origins"] == 2
        assert set(row["coverage_90_by_horizon"]) == {str(h) for h in range(1, 9)}
        assert all(0.0 <= v <= 1.0 for v in row["coverage_99_by_horizon"].values())
        assert all(row["coverage_99_by_horizon"][h] >= row["coverage_90_by_horizon"][h] for h in row["coverage_90_by_horizon"])
        assert row["stress"]["n_cells_by_horizon"] or row["calm"]["n_cells_by_horizon"]
        assert set(row["by_origin"]) == {f"origin {o}" for o in starts}
    # The over-dispersed copy covers more than the satellite at every horizon.
    wide, sat = paths["transformer"]["coverage_90_by_horizon"], paths["satellite"]["coverage_90_by_horizon"]
    assert sum(wide.values()) > sum(sat.values())
    comp = paths["comparison"]
    assert comp["benchmark"] == "satellite" and comp["n_origins"] == 2
    low, high = comp["interval"]
    assert low <= comp["ratio"] <= high
    json.dumps(doc, allow_nan=False)
    assert "path energy score" in rolling_origin_markdown(doc)
    assert "No ablation" in doc["settings"]["conditioning"] and "ablation" not in doc


def test_path_scores_fit_on_the_past_when_no_model_is_handed_over(
    factor_history: FactorHistory, fed_history_2026: MacroScenario
) -> None:
    from risk_dagster.translate.plausibility import (
        PlausibilityFilter,
        load_plausibility_rules,
    )

    params = load_plausibility_rules()
    params["discriminator"] = {**(params.get("discriminator") or {}), "enabled": False}  # hard rules only: fast
    RecordingSatellite.fitted_on.clear()
    blocks = dict(list(origins(Q("2025Q4"), first="2024Q1").items())[:1])
    scores = path_scores(
        factor_history,
        fed_history_2026,
        models={"satellite": RecordingSatellite},
        blocks=blocks,
        n_samples=60,
        seeds=(3,),
        plausibility=lambda past: PlausibilityFilter(params).fit(past),
    )
    assert [max(q) for q in RecordingSatellite.fitted_on] == [Q("2023Q4")]
    assert scores.settings["models_fitted_here"] == {"satellite": 1} and scores.settings["plausibility_filter"]
    row = scores.origin_scores.iloc[0]
    assert row["horizon"] == 8 and 2 <= row["n_paths"] <= 60 and np.isfinite(row["energy_score"])
    out = scores.to_json()
    assert out["comparison"]["ratio"] is None and ABLATION_MODEL not in out
    assert set(scores.cell_scores["factor_id"]) <= set(scores.settings["factors_scored"])
