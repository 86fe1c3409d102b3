"""The translator contract: training set, fixed factor paths, consistency of open factors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster.market.history import FactorHistory
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.base import (
    SECTOR_FACTORS,
    TrainingSet,
    Translator,
    apply_consistency,
    build_training_set,
    fixed_factor_paths,
    jump_off_frame,
    sector_aggregate,
    sector_weights,
)
from risk_dagster.translate.shockset import levels_from_shocks


def test_training_set_masks_missing_history(training_set: TrainingSet) -> None:
    eur = training_set.Y["fx.eurusd"]
    assert eur.loc[:"1998Q4"].isna().all()  # the euro starts in 1999: masked, not zero
    assert eur.loc["1999Q2":"2024Q4"].notna().all()
    assert not (training_set.Y.fillna(1.0) == 0.0).all().any()
    assert training_set.X.index.equals(training_set.Y.index)
    assert training_set.quarters[0] >= pd.Period("1990Q1")
    assert training_set.shock_types[training_set.factor_ids.index("rates.ust.10y")] == "absolute_bp"


def test_sample_weights_follow_source_weights(
    factor_history: FactorHistory, fed_history_2026: MacroScenario, training_set: TrainingSet
) -> None:
    w = training_set.sample_weight
    assert ((w > 0) & (w <= 1)).all()
    # French (vendor class) sector returns are less reliable than the official sources.
    assert training_set.factor_weights["equity.sector.hlth"] < training_set.factor_weights["rates.ust.10y"]
    lowered = build_training_set(factor_history, fed_history_2026, {"french": 0.1})
    assert (lowered.sample_weight <= w + 1e-12).all()
    assert (lowered.sample_weight < w - 1e-6).any()


def test_exclude_drops_quarters(factor_history: FactorHistory, fed_history_2026: MacroScenario) -> None:
    crisis = list(pd.period_range("2008Q3", "2009Q2", freq="Q-DEC"))
    ts = build_training_set(factor_history, fed_history_2026, exclude=crisis)
    assert not ts.X.index.isin(crisis).any() and not ts.Y.index.isin(crisis).any()
    assert ts.features.index.isin(crisis).sum() == 4  # kept as context for lags only


def test_fixed_paths_reproduce_the_scenario(
    fed_history_2026: MacroScenario, factor_history: FactorHistory, severely_adverse: MacroScenario
) -> None:
    ids = factor_history.factor_ids
    fixed = fixed_factor_paths(severely_adverse, fed_history_2026, ids)
    expected = {
        "rates.ust.3m", "rates.ust.5y", "rates.ust.10y", "rates.mortgage30", "rates.prime", "credit.bbb",
        "credit.spread.bbb_10y", "equity.total_market", "vol.vix", "realestate.house", "realestate.cre",
        "fx.eurusd", "fx.usdjpy", "fx.gbpusd", "fx.devasia_index",
    }  # fmt: skip
    assert set(fixed) == expected
    frame = jump_off_frame(severely_adverse, fed_history_2026, factor_history, ids)
    scen = severely_adverse.wide()
    types = factor_history.coverage["shock_type"]
    pairs = (("rates.ust.10y", "treasury_10y"), ("vol.vix", "vix"), ("equity.total_market", "equity_total_market"))
    for fid, var in pairs:
        level = levels_from_shocks(np.array([frame.at[fid, "level"]]), fixed[fid][:, None], [types[fid]])[:, 0]
        np.testing.assert_allclose(level, scen[var].to_numpy(), rtol=1e-12, atol=1e-9)
        assert frame.at[fid, "basis"] == "fed"
    sid = "credit.spread.bbb_10y"
    spread = levels_from_shocks(np.array([frame.at[sid, "level"]]), fixed[sid][:, None], ["absolute_bp"])[:, 0]
    np.testing.assert_allclose(spread, (scen["bbb_yield"] - scen["treasury_10y"]).to_numpy(), atol=1e-9)


def test_consistency_fixes_curve_and_sectors() -> None:
    ids = ["rates.ust.1m", "rates.ust.3m", "rates.ust.2y", "rates.ust.5y", "rates.ust.10y", "rates.ust.30y",
           "equity.total_market", *SECTOR_FACTORS]  # fmt: skip
    rng = np.random.default_rng(0)
    shocks = rng.normal(size=(50, 3, len(ids)))
    fixed = {
        "rates.ust.3m": np.array([-100.0, -200.0, -250.0]),
        "rates.ust.5y": np.array([-50.0, -80.0, -90.0]),
        "rates.ust.10y": np.array([-20.0, -40.0, -45.0]),
        "equity.total_market": np.array([-0.3, -0.5, -0.4]),
    }
    weights = sector_weights()
    out = apply_consistency(shocks, ids, fixed, equity_weights=weights)
    for fid, path in fixed.items():
        assert np.all(out[:, :, ids.index(fid)] == path[None, :])
    market = np.broadcast_to(fixed["equity.total_market"], (50, 3))
    np.testing.assert_allclose(sector_aggregate(out, ids, weights), market, atol=1e-12)
    # Open tenors take the correction of their neighbours: 2y between 3m and 5y, 30y as 10y, 1m as 3m.
    nodes = ("rates.ust.3m", "rates.ust.5y", "rates.ust.10y")
    corr = {f: fixed[f][None, :] - shocks[:, :, ids.index(f)] for f in nodes}
    a = (2.0 - 0.25) / (5.0 - 0.25)
    np.testing.assert_allclose(
        out[:, :, 2] - shocks[:, :, 2], (1 - a) * corr["rates.ust.3m"] + a * corr["rates.ust.5y"], atol=1e-12
    )
    np.testing.assert_allclose(out[:, :, 5] - shocks[:, :, 5], corr["rates.ust.10y"], atol=1e-12)
    np.testing.assert_allclose(out[:, :, 0] - shocks[:, :, 0], corr["rates.ust.3m"], atol=1e-12)
    assert np.array_equal(shocks, shocks.copy())  # input untouched (a copy is returned)


def test_sector_weights_are_caps_summing_to_one() -> None:
    w = sector_weights(pd.Period("2025Q4"))
    assert set(w) == set(SECTOR_FACTORS)
    assert sum(w.values()) == pytest.approx(1.0)
    assert w["equity.sector.buseq"] > w["equity.sector.utils"]  # tech outweighs utilities


def test_satellite_satisfies_the_protocol(satellite: Translator) -> None:
    assert isinstance(satellite, Translator)
