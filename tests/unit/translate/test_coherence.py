"""Coherence of the translators' joint paths over a whole scenario (issue 3, plausibility).

The satellite and the (small) transformer draw one-quarter changes; the shared
:class:`~risk_dagster.translate.base.CoherenceModel` must keep the summed paths inside what
history and the plausibility rules allow: curve spreads in range, no short rate below the
zero-lower-bound floor, cumulative moves within the move-multiple limit, and most samples
accepted by the hard rules of the (unloosened) filter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest

from risk_dagster.market.history import FactorHistory
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.coherence import CoherenceModel, _ar_path, _soft_floor
from risk_dagster.translate.consistency import TENOR_YEARS, apply_consistency
from risk_dagster.translate.training import TrainingSet
from risk_dagster.translate.plausibility import (
    HardRules,
    PlausibilityFilter,
    derive_hard_rules,
    hard_rule_violations,
    severity_scale,
)
from risk_dagster.translate.satellite import SatelliteTranslator
from risk_dagster.translate.shockset import ShockSet

if TYPE_CHECKING:
    from risk_dagster.translate.transformer import TransformerTranslator

N = 300
SHORT_RATES = [*(f for f in TENOR_YEARS if f not in ("rates.ust.3m", "rates.ust.5y", "rates.ust.10y")),
               "rates.fedfunds", "rates.cp3m"]  # fmt: skip


@pytest.fixture(scope="module")
def rules(factor_history: FactorHistory) -> HardRules:
    return derive_hard_rules(factor_history)


@pytest.fixture(scope="module")
def sat_adverse(satellite: SatelliteTranslator, severely_adverse: MacroScenario, fed_history_2026: MacroScenario) -> ShockSet:
    return satellite.sample(severely_adverse, N, 11, history=fed_history_2026)


@pytest.fixture(scope="module")
def tf_adverse(
    transformer_small: TransformerTranslator, severely_adverse: MacroScenario, fed_history_2026: MacroScenario
) -> ShockSet:
    return transformer_small.sample(severely_adverse, N, 11, history=fed_history_2026)


@pytest.fixture(params=["satellite", "transformer"])
def draw(request: pytest.FixtureRequest, sat_adverse: ShockSet, tf_adverse: ShockSet) -> ShockSet:
    return sat_adverse if request.param == "satellite" else tf_adverse


# ------------------------------------------------------------------ building blocks
def test_ar_path_mean_reverts_and_keeps_the_stationary_variance() -> None:
    rng = np.random.default_rng(0)
    eps = rng.standard_normal((20000, 200))
    walk = _ar_path(eps, 1.0)
    np.testing.assert_allclose(walk, np.cumsum(eps, axis=1))  # phi = 1: the old cumulative sum
    phi = 0.8
    dev = _ar_path(eps, phi)
    # eps has the variance of a first difference (1); the spread's stationary variance is then
    # var(diff) / (2 (1 - phi)) = 2.5, whatever the horizon (a random walk's would grow to 200).
    assert dev[:, -1].var() == pytest.approx(1.0 / (2 * (1 - phi)), rel=0.05)


def test_soft_floor_is_identity_above_and_bounded_below() -> None:
    x = np.array([-1.0, -0.25, 0.0, 0.5, 3.0])
    y = _soft_floor(x, -0.25, 0.1)
    assert (y > -0.25).all()
    np.testing.assert_allclose(y[-2:], x[-2:], atol=1e-3)
    assert np.all(np.diff(y) > 0)  # monotone: ordering of rates is kept


def test_coherence_parameters_are_estimated_and_persist(satellite: SatelliteTranslator) -> None:
    coh = satellite.coherence_
    assert coh is not None
    for f in ("rates.ust.1m", "rates.ust.2y", "rates.ust.30y", "rates.fedfunds", "credit.spread.baa_10y",
              "credit.spread.cp3m_fedfunds"):  # fmt: skip
        assert 0.0 <= coh.phi[f] < 1.0, f  # history says: mean-reverting, not a random walk
        assert coh.phi_pairs[f] >= 20
    state = coh.to_dict()
    back = CoherenceModel.from_dict(state)
    assert back.phi == coh.phi and back.envelope_ids == coh.envelope_ids
    np.testing.assert_array_equal(back.envelope, coh.envelope)
    assert all(isinstance(v, np.ndarray) and v.dtype == np.float64 for v in state["arrays"].values())


def test_outer_tenors_are_chained_to_their_neighbour_and_persist(satellite: SatelliteTranslator) -> None:
    coh = satellite.coherence_
    assert coh is not None
    assert coh.chain == {"rates.ust.1m": "rates.ust.3m", "rates.ust.20y": "rates.ust.10y",
                         "rates.ust.30y": "rates.ust.20y"}  # fmt: skip
    # 30y-20y is the tightest spread of the curve: its one-quarter change is history's smallest.
    assert 0.0 < coh.spread_diff_sd["rates.ust.30y"] < coh.spread_diff_sd["rates.ust.20y"]
    state = coh.to_dict()
    back = CoherenceModel.from_dict(state)
    assert back.chain == coh.chain and back.spread_diff_sd == coh.spread_diff_sd
    # A model saved before the chain loads without one (its spreads to the interpolated curve).
    old = {k: v for k, v in state.items() if k != "chain"}
    old["arrays"] = {k: v for k, v in state["arrays"].items() if k != "coherence_spread_diff_sd"}
    legacy = CoherenceModel.from_dict(old)
    assert legacy.chain == {} and legacy.spread_diff_sd == {} and legacy.phi == coh.phi


def test_phi_uses_training_quarters_only(factor_history: FactorHistory, fed_history_2026: MacroScenario) -> None:
    from risk_dagster.translate.base import build_training_set

    crisis = list(pd.period_range("2008Q3", "2009Q2", freq="Q-DEC"))
    full = CoherenceModel.fit(build_training_set(factor_history, fed_history_2026))
    held = CoherenceModel.fit(build_training_set(factor_history, fed_history_2026, exclude=crisis))
    assert held.phi_pairs["credit.spread.baa_10y"] < full.phi_pairs["credit.spread.baa_10y"]
    # The envelope without the crisis is never wider than with it.
    k = full.envelope_ids.index("fx.broad_dollar")
    assert (held.envelope[held.envelope_ids.index("fx.broad_dollar")] <= full.envelope[k] + 1e-12).all()


def test_consistency_without_coherence_is_unchanged(training_set: TrainingSet) -> None:
    """``coherence=None`` is the old plain-sum behaviour (saved models without it)."""
    ids = ["rates.ust.3m", "rates.ust.2y", "rates.ust.10y", "credit.baa"]
    rng = np.random.default_rng(1)
    shocks = np.cumsum(rng.normal(size=(5, 4, 4)), axis=1)
    fixed = {"rates.ust.3m": np.zeros(4), "rates.ust.10y": np.ones(4)}
    a = apply_consistency(shocks, ids, fixed, equity_weights={})
    b = apply_consistency(shocks, ids, fixed, equity_weights={}, coherence=None)
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ joint draws
def test_fixed_factors_reproduce_the_fed_path(draw: ShockSet, severely_adverse: MacroScenario) -> None:
    scen = severely_adverse.wide()
    for fid, var in (("rates.ust.3m", "treasury_3m"), ("rates.ust.10y", "treasury_10y"), ("vol.vix", "vix")):
        lv = draw.levels[:, :, draw.factor_index(fid)]
        np.testing.assert_allclose(lv, np.broadcast_to(scen[var].to_numpy(), lv.shape), atol=1e-9)


def test_adjacent_tenor_spreads_within_the_widened_historical_range(draw: ShockSet, rules: HardRules) -> None:
    pos = {f: i for i, f in enumerate(draw.factor_ids)}
    tenors = [f for f in TENOR_YEARS if f in pos]
    for short_id, long_id in zip(tenors[:-1], tenors[1:], strict=True):
        pair = next(p for p in rules.curve_pairs if p[1] == long_id and p[2] == short_id)
        _, _, _, lo, hi, margin = pair
        s0 = draw.jump_off[pos[long_id]] - draw.jump_off[pos[short_id]]
        lo, hi = min(lo, s0) - margin, max(hi, s0) + margin  # as plausibility_rules.yaml widens it
        spread = draw.levels[:, :, pos[long_id]] - draw.levels[:, :, pos[short_id]]
        inside = ((spread >= lo) & (spread <= hi)).all(axis=1).mean()
        assert inside >= 0.95, f"{long_id}-{short_id}: {inside:.3f} of samples in range"


def test_no_open_short_rate_below_the_floor(draw: ShockSet, satellite: SatelliteTranslator) -> None:
    floor = satellite.coherence_.zlb_floor  # type: ignore[union-attr]
    for f in SHORT_RATES:
        lv = draw.levels[:, :, draw.factor_index(f)]
        assert lv.min() > floor, f
    # CP = fed funds + CP-fed funds spread and Baa = 10y + Baa-10y, in changes, sample by sample
    for total, parts in (("rates.cp3m", ("rates.fedfunds", "credit.spread.cp3m_fedfunds")),
                         ("credit.baa", ("rates.ust.10y", "credit.spread.baa_10y"))):  # fmt: skip
        np.testing.assert_allclose(draw.factor(total), draw.factor(parts[0]) + draw.factor(parts[1]), atol=1e-9)


def test_cumulative_moves_within_the_move_multiple(draw: ShockSet, rules: HardRules) -> None:
    scale = severity_scale(draw, rules)
    bad = hard_rule_violations(draw, rules, class_scale=scale)["move_multiple"]
    assert 1 - bad.mean() >= 0.95


def test_hard_rule_acceptance_on_the_severely_adverse_scenario(draw: ShockSet, factor_history: FactorHistory) -> None:
    filt = PlausibilityFilter().fit(factor_history, seed=0)
    bad = np.zeros(draw.n_samples, dtype=bool)
    for v in filt.violations(draw).values():
        bad |= v
    assert 1 - bad.mean() >= 0.80


def test_severely_adverse_median_stays_more_severe_than_baseline(
    satellite: SatelliteTranslator, sat_adverse: ShockSet, baseline: MacroScenario, fed_history_2026: MacroScenario
) -> None:
    base = satellite.sample(baseline, N, 11, history=fed_history_2026)
    for f, sign in (("credit.spread.baa_10y", 1), ("equity.sp500", -1), ("rates.ust.2y", -1), ("fx.broad_dollar", 0)):
        a = np.median(sat_adverse.factor(f)[:, 4])
        b = np.median(base.factor(f)[:, 4])
        if sign:
            assert sign * (a - b) > 0, f


def test_coherent_draws_are_deterministic(
    satellite: SatelliteTranslator, severely_adverse: MacroScenario, fed_history_2026: MacroScenario, sat_adverse: ShockSet
) -> None:
    again = satellite.sample(severely_adverse, N, 11, history=fed_history_2026)
    np.testing.assert_array_equal(again.shocks, sat_adverse.shocks)


def test_vxo_follows_the_fixed_vix_and_indices_stay_above_their_history(
    draw: ShockSet, satellite: SatelliteTranslator, severely_adverse: MacroScenario
) -> None:
    coh = satellite.coherence_
    assert coh is not None
    rel = coh.relations["vol.vxo"]
    assert rel.spec.unit == 1.0 and 0.5 < rel.coef["vix"] < 1.2 and rel.r2 > 0.7
    vix = severely_adverse.wide()["vix"].to_numpy()
    vxo = np.median(draw.levels[:, :, draw.factor_index("vol.vxo")], axis=0)
    # The median VXO tracks the relation's mean on the Fed's VIX once the jump-off residual decays.
    np.testing.assert_allclose(vxo[4:], rel.intercept + rel.coef["vix"] * vix[4:], atol=3 * rel.resid_sd)
    for f, lowest in coh.level_min.items():
        if f in draw.factor_ids and f != "vol.vix":  # the VIX is fixed: the Fed's, untouched
            assert draw.levels[:, :, draw.factor_index(f)].min() >= lowest - 1e-9, f


@pytest.fixture(scope="module")
def adverse_2025() -> MacroScenario:
    from risk_dagster.scenarios.registry import load_scenario

    return load_scenario("fed-2025-severely-adverse")


@pytest.mark.parametrize("model", ["satellite", "transformer"])
def test_hard_rule_acceptance_on_the_2025_severely_adverse(
    model: str,
    satellite: SatelliteTranslator,
    transformer_small: TransformerTranslator,
    adverse_2025: MacroScenario,
    fed_history_2026: MacroScenario,
    factor_history: FactorHistory,
) -> None:
    # The fastest Fed path shipped (5y -350 bp in its first quarter): at least 90% of draws pass
    # the hard rules, whose limits are the shipped ones.
    translator = satellite if model == "satellite" else transformer_small
    drawn = translator.sample(adverse_2025, N, 5, history=fed_history_2026)
    filt = PlausibilityFilter().fit(factor_history, seed=0)
    bad = np.zeros(drawn.n_samples, dtype=bool)
    for v in filt.violations(drawn).values():
        bad |= v
    assert 1 - bad.mean() >= 0.90


def test_other_rates_stay_above_their_history_in_the_fed_severely_adverse(draw: ShockSet, satellite: SatelliteTranslator) -> None:
    """The Swiss and Japanese 10y and the Euribor end of the EUR curve, open in a Fed scenario, fall
    in a US recession; the soft floor keeps them at or above min(-0.25 %, their lowest history)."""
    coh = satellite.coherence_
    assert {"rates.gov.ch.10y", "rates.gov.jp.10y", "rates.swap.eur.3m", "rates.eur.aaa.10y"} <= set(coh.rate_min)
    assert coh.rate_min["rates.gov.ch.10y"] < -0.5  # Swiss 10y went well below zero: not floored at -0.25
    for f, lowest in coh.rate_min.items():
        if f in draw.factor_ids:
            assert draw.levels[:, :, draw.factor_index(f)].min() >= min(coh.zlb_floor, lowest) - 1e-9, f
    again = CoherenceModel.from_dict(coh.to_dict())
    assert again.rate_min == pytest.approx(coh.rate_min)


def test_a_model_saved_before_the_other_rate_floors_loads_without_them(satellite: SatelliteTranslator) -> None:
    state = satellite.coherence_.to_dict()
    state.pop("rate_min")
    assert CoherenceModel.from_dict(state).rate_min == {}
