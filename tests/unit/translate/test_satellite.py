"""The statsmodels satellite benchmark on the shipped data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from risk_dagster.market.history import FactorHistory
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.base import SECTOR_FACTORS, TrainingSet, sector_aggregate, sector_weights
from risk_dagster.translate.features import macro_features
from risk_dagster.translate.curve_knots import curve_knot_factors
from risk_dagster.market.catalog import load_risk_factor_catalog
from risk_dagster.translate.itraxx import ANCHORS
from risk_dagster.translate.sovereign import SOVEREIGN_MODULE
from risk_dagster.translate.rating_spreads import RATING_FACTORS
from risk_dagster.translate.satellite import SatelliteTranslator
from risk_dagster.translate.shockset import ShockSet

N = 200


@pytest.fixture(scope="module")
def adverse_draw(
    satellite: SatelliteTranslator, severely_adverse: MacroScenario, fed_history_2026: MacroScenario
) -> ShockSet:
    return satellite.sample(severely_adverse, N, 7, history=fed_history_2026)


@pytest.fixture(scope="module")
def baseline_draw(satellite: SatelliteTranslator, baseline: MacroScenario, fed_history_2026: MacroScenario) -> ShockSet:
    return satellite.sample(baseline, N, 7, history=fed_history_2026)


def test_shape_and_provenance(adverse_draw: ShockSet, satellite: SatelliteTranslator) -> None:
    # the translator's factors, then the seven spreads by rating bucket derived from them
    knots = curve_knot_factors()  # the EUR 2-7y swap knots, derived after the draws
    itraxx = list(ANCHORS)  # the iTraxx indices, derived from the rating spreads
    sovereign = [f.id for f in load_risk_factor_catalog() if f.derived_from == SOVEREIGN_MODULE]  # IT/ES 10y, the spreads
    assert adverse_draw.factor_ids == [*satellite.factor_ids_, *knots, *RATING_FACTORS, *itraxx, *sovereign]
    assert adverse_draw.shocks.shape == (N, 13, len(satellite.factor_ids_) + len(knots) + len(RATING_FACTORS) + len(itraxx) + len(sovereign))
    assert adverse_draw.quarters[0] == "2026Q1" and adverse_draw.quarters[-1] == "2029Q1"
    assert adverse_draw.model_id == "satellite" and adverse_draw.seed == 7
    assert np.isfinite(adverse_draw.shocks).all()
    assert np.isfinite(adverse_draw.levels).all()


def test_every_sample_reproduces_the_fed_path(adverse_draw: ShockSet, severely_adverse: MacroScenario) -> None:
    levels = adverse_draw.levels
    scen = severely_adverse.wide()
    ten = levels[:, :, adverse_draw.factor_index("rates.ust.10y")]
    vix = levels[:, :, adverse_draw.factor_index("vol.vix")]
    np.testing.assert_allclose(ten, np.broadcast_to(scen["treasury_10y"].to_numpy(), ten.shape), atol=1e-9)
    np.testing.assert_allclose(vix, np.broadcast_to(scen["vix"].to_numpy(), vix.shape), atol=1e-9)
    assert np.allclose(vix.max(axis=1), 72.0)
    eq = levels[:, :, adverse_draw.factor_index("equity.total_market")]
    np.testing.assert_allclose(eq, np.broadcast_to(scen["equity_total_market"].to_numpy(), eq.shape), rtol=1e-12)


def test_sectors_aggregate_to_the_total_market(adverse_draw: ShockSet) -> None:
    weights = sector_weights(pd.Period("2025Q4"))
    agg = sector_aggregate(adverse_draw.shocks, adverse_draw.factor_ids, weights)
    np.testing.assert_allclose(agg, adverse_draw.factor("equity.total_market"), atol=1e-10)
    sectors = adverse_draw.shocks[:, :, [adverse_draw.factor_index(f) for f in SECTOR_FACTORS]]
    assert sectors.std(axis=2).min() > 0  # sectors still differ from each other


def test_seeded_draws_are_deterministic(
    satellite: SatelliteTranslator,
    severely_adverse: MacroScenario,
    fed_history_2026: MacroScenario,
    adverse_draw: ShockSet,
) -> None:
    again = satellite.sample(severely_adverse, N, 7, history=fed_history_2026)
    other = satellite.sample(severely_adverse, N, 8, history=fed_history_2026)
    assert np.array_equal(again.shocks, adverse_draw.shocks)
    assert not np.allclose(other.factor("credit.baa"), adverse_draw.factor("credit.baa"))


def test_coefficient_signs_a_risk_manager_expects(satellite: SatelliteTranslator) -> None:
    coef = satellite.coefficients()
    c, t = coef["coef"], coef["t_hac"]
    assert c.at["rates.ust.10y", "treasury_10y_chg"] > 0 and t.at["rates.ust.10y", "treasury_10y_chg"] > 3
    assert (c.loc[list(SECTOR_FACTORS), "equity_total_market_ret"] > 0).all()
    assert c.at["credit.spread.baa_10y", "vix_chg"] > 0
    assert c.at["credit.spread.baa_10y", "bbb_spread_chg"] > 0
    assert c.at["vol.vxo", "vix_chg"] > 0
    # every factor's regression has 80+ quarters but the ECB AAA 10y's (its history is 2004Q3-2023Q3)
    n_obs = coef[("fit", "n_obs")]
    assert (n_obs.drop(index="rates.eur.aaa.10y") >= 80).all() and n_obs["rates.eur.aaa.10y"] >= 70
    stats = satellite.fit_statistics()
    assert stats["r2"].median() > 0.5
    # Leave-one-out residuals are wider than in-sample ones wherever there is a residual.
    inflation = stats["loo_inflation"].dropna()
    assert (inflation[stats["resid_std"] > 0] >= 1.0).all()


def test_stress_scale_rises_with_the_vix(satellite: SatelliteTranslator, fed_history_2026: MacroScenario) -> None:
    feats = macro_features(fed_history_2026.wide())
    scale = satellite.stress_scale(feats.loc[[pd.Period("2008Q4"), pd.Period("2017Q3")]])
    assert scale[0] > 1.5 * scale[1]
    assert (satellite.scale_coef_[1:] >= 0).all()


def test_severely_adverse_is_more_severe_than_baseline(adverse_draw: ShockSet, baseline_draw: ShockSet) -> None:
    def med(draw: ShockSet, fid: str) -> np.ndarray:
        return np.median(draw.factor(fid), axis=0)

    assert med(adverse_draw, "rates.ust.10y").min() < med(baseline_draw, "rates.ust.10y").min() - 100
    assert med(adverse_draw, "credit.spread.baa_10y").max() > med(baseline_draw, "credit.spread.baa_10y").max() + 100
    assert med(adverse_draw, "vol.vix").max() > med(baseline_draw, "vol.vix").max() + 20
    assert med(adverse_draw, "equity.sector.money").min() < med(baseline_draw, "equity.sector.money").min() - 0.2


def test_predictive_changes_shape_and_width(satellite: SatelliteTranslator, training_set: TrainingSet) -> None:
    X = training_set.X.loc["2008Q3":"2009Q2"]
    draws = satellite.predictive_changes(X, 100, 1, context=training_set.features)
    assert draws.shape == (100, 4, len(satellite.factor_ids_))
    sd = draws.std(axis=0)
    X_calm = training_set.X.loc["2017Q1":"2017Q4"]
    calm = satellite.predictive_changes(X_calm, 100, 1, context=training_set.features)
    j = satellite.factor_ids_.index("credit.baa")
    assert sd[:, j].mean() > calm.std(axis=0)[:, j].mean()  # wider in a crisis


def test_round_trip_through_plain_state(
    satellite: SatelliteTranslator,
    severely_adverse: MacroScenario,
    fed_history_2026: MacroScenario,
    adverse_draw: ShockSet,
) -> None:
    state = satellite.to_dict()
    json.dumps({k: v for k, v in state.items() if k != "arrays"})  # everything but arrays is JSON
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float64 for v in state["arrays"].values())
    clone = SatelliteTranslator.from_dict(state)
    redraw = clone.sample(severely_adverse, N, 7, history=fed_history_2026)
    np.testing.assert_array_equal(redraw.shocks, adverse_draw.shocks)
    np.testing.assert_array_equal(redraw.jump_off, adverse_draw.jump_off)


def test_unfitted_model_refuses_to_sample(severely_adverse: MacroScenario, fed_history_2026: MacroScenario) -> None:
    with pytest.raises(RuntimeError, match="fit"):
        SatelliteTranslator().sample(severely_adverse, 2, 0, history=fed_history_2026)


def test_factor_history_override_sets_jump_off(
    satellite: SatelliteTranslator,
    severely_adverse: MacroScenario,
    fed_history_2026: MacroScenario,
    factor_history: FactorHistory,
) -> None:
    draw = satellite.sample(severely_adverse, 5, 0, history=fed_history_2026, factor_history=factor_history)
    assert draw.metadata["jump_off_basis"]["vol.vix"] == "fed"
    assert draw.metadata["jump_off_asof"]["rates.ust.2y"] == "2024Q4"  # the Treasury file ends in 2024
