"""Sensitivities of the book: hand-checked deltas, signs, totals, linearisation, the consistency check."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
import torch

from risk_dagster.engine.curves import DAYS_PER_YEAR, RATE_FACTORS, treasury_zero_curve
from risk_dagster.engine.kernels import TorchBook, prepare_book, random_book
from risk_dagster.engine.sensitivities import (
    COLUMNS,
    LOAN_SCOPE,
    MARKET_SCOPE,
    TOTAL,
    book_sensitivities,
    delta_vector,
    linearised_loss,
    segment_summary,
    sensitivity_consistency,
    top_factors,
)

CURVE = treasury_zero_curve()


@cache
def _random_book() -> pd.DataFrame:
    return random_book(240, seed=11)


@cache
def _random_sens() -> pd.DataFrame:
    return book_sensitivities(_random_book(), CURVE)


def _total(sens: pd.DataFrame, scope: str = MARKET_SCOPE) -> pd.Series:
    rows = sens[(sens["scope"] == scope) & (sens["segment"] == TOTAL)]
    return rows.set_index("factor_id")["delta"]


def _one(kind: str, **terms: object) -> pd.DataFrame:
    frame = random_book(1, seed=0, types=(kind,))
    for column, value in terms.items():
        frame[column] = frame[column].astype(object) if isinstance(value, str) or value is None else frame[column]
        frame.loc[0, column] = value
    return frame


def _zero_jacobian(frame: pd.DataFrame) -> np.ndarray:
    """``[knots, rate factors]`` move of the engine's zero knots (decimal) per bp of each rate factor.

    The identity / 1e4 when a factor shock shifts its zero knot; a par-yield shock re-bootstrapped
    moves the zero knot by its own sensitivity (about 0.98 of a parallel par move) and the longer
    knots a little.
    """
    tb = TorchBook(prepare_book(frame, CURVE), torch.float64, "cpu")
    K = len(RATE_FACTORS)
    X = torch.zeros((2 * K, len(tb.book.factor_ids)), dtype=torch.float64)
    X[np.arange(K), np.arange(K)] = 1.0
    X[K + np.arange(K), np.arange(K)] = -1.0
    z = tb.knot_rates(X).numpy()
    return ((z[:K] - z[K:]) / 2.0).T


def test_zero_coupon_bond_dv01_by_hand():
    # a zero-coupon Treasury maturing exactly on the 5y knot: its discount factor is exp(-z_5y T)
    k = RATE_FACTORS.index("rates.ust.5y")
    T = CURVE.knot_days[k] / DAYS_PER_YEAR
    N = 1e6
    bond = _one("fixed_bond", maturity_years=T, coupon_rate=0.0, coupon_frequency=1.0, notional=N, direction=1,
                segment="ust", credit_curve=None, rating="AA+")
    sens = book_sensitivities(bond, CURVE)
    assert list(sens.columns) == list(COLUMNS)
    delta = _total(sens)[list(RATE_FACTORS)].to_numpy()
    df = float(CURVE.discount(T))
    # loss per bp of each rate factor = N T DF dz_5y/dx (chain rule through the engine's curve mapping)
    np.testing.assert_allclose(delta, N * T * df * _zero_jacobian(bond)[k], rtol=1e-6, atol=1e-9 * N * T * 1e-4)
    # parallel DV01 ~ N T DF 1bp (exact for zero-rate shifts; ~2% less for par-yield shocks)
    assert delta.sum() == pytest.approx(N * T * df * 1e-4, rel=0.03)
    assert np.argmax(np.abs(delta)) == k
    row = sens[(sens["segment"] == TOTAL) & (sens["factor_id"] == "rates.ust.5y")].iloc[0]
    assert row["reader_measure"] == "dv01" and row["unit"] == "bp" and row["bump"] == 1.0
    assert row["per_reader_unit"] == row["delta"] > 0  # a long bond loses when rates rise
    assert row["gamma"] < 0  # convexity: the loss grows slower than linearly


def test_zero_coupon_between_knots_splits_its_dv01_and_credit_adds_cs01():
    T, N = 4.0, 2e6
    bond = _one("fixed_bond", maturity_years=T, coupon_rate=0.0, coupon_frequency=1.0, notional=N, direction=1,
                segment="corporate_ig", credit_curve="credit.spread.baa_10y", rating="BBB")
    delta = _total(book_sensitivities(bond, CURVE))
    t = round(T * 365) / DAYS_PER_YEAR
    df = float(CURVE.discount(t)) * np.exp(-125e-4 * t)  # BBB base spread 125bp
    k3, k5 = RATE_FACTORS.index("rates.ust.3y"), RATE_FACTORS.index("rates.ust.5y")
    kt = CURVE.knot_times
    w = (t - kt[k3]) / (kt[k5] - kt[k3])  # the zero rate is linear between the knots
    J = _zero_jacobian(bond)
    np.testing.assert_allclose(delta[list(RATE_FACTORS)].to_numpy(), N * t * df * ((1 - w) * J[k3] + w * J[k5]),
                               rtol=1e-6, atol=1e-9 * N * t * 1e-4)
    assert delta[list(RATE_FACTORS)].sum() == pytest.approx(N * t * df * 1e-4, rel=0.03)
    # the spread shock adds to the discount rate one for one: CS01 = N t DF 1bp
    assert delta["credit.spread.baa_10y"] == pytest.approx(N * t * df * 1e-4, rel=1e-6)


def test_equity_delta_is_minus_notional_per_unit_log_return():
    N = 3e6
    for direction in (1, -1):
        stock = _one("equity", notional=N, direction=direction, equity_factor="equity.sector.hlth")
        sens = book_sensitivities(stock, CURVE)
        row = sens[(sens["segment"] == TOTAL) & (sens["factor_id"] == "equity.sector.hlth")].iloc[0]
        # value N e^r: loss per 1.00 of log return = -N (central difference: sinh(h)/h, 1.7e-5 off at h = 0.01)
        assert row["delta"] == pytest.approx(-direction * N, rel=5e-5)
        assert row["gamma"] == pytest.approx(-direction * N, rel=5e-5)
        assert row["per_reader_unit"] == pytest.approx(-direction * N * 0.01, rel=5e-5)
        assert row["reader_measure"] == "equity_delta_1pct" and row["unit"] == "log_return"
        assert row["factor_class"] == "equity"
        assert np.abs(_total(sens)[list(RATE_FACTORS)].to_numpy()).max() == 0.0


def test_signs_of_swaps_options_and_fx():
    receiver = _one("irs", maturity_years=10.0, coupon_rate=0.04, coupon_frequency=2.0, notional=1e7, direction=1)
    payer = receiver.assign(direction=np.int8(-1))
    assert _total(book_sensitivities(receiver, CURVE))[list(RATE_FACTORS)].sum() > 0  # receive fixed: loses when rates rise
    assert _total(book_sensitivities(payer, CURVE))[list(RATE_FACTORS)].sum() < 0
    call = _one("equity_option", direction=1, option_type="call", equity_factor="equity.sp500")
    d = _total(book_sensitivities(call, CURVE))
    assert d["equity.sp500"] < 0 and d["vol.vix"] < 0  # a long call gains when the index or the vol rises
    short_put = _one("equity_option", direction=-1, option_type="put", equity_factor="equity.sp500")
    d = _total(book_sensitivities(short_put, CURVE))
    assert d["equity.sp500"] < 0 and d["vol.vix"] > 0
    fx = _one("fx_forward", direction=1, fx_factor="fx.eurusd", currency="EUR", spot=1.04, forward_rate=1.04,
              maturity_years=1.0)
    sens = book_sensitivities(fx, CURVE)
    d = _total(sens)
    # long EUR forward: gains when EUR/USD rises; loss per 1.00 of log return = -(USD value of the EUR
    # amount) x the discount factor to delivery (the euro curve's, within the ~2% rate differential of 1y)
    assert d["fx.eurusd"] == pytest.approx(-fx["notional"].iloc[0] * CURVE.discount(1.0), rel=0.03)
    row = sens[(sens["segment"] == TOTAL) & (sens["factor_id"] == "fx.eurusd")].iloc[0]
    assert row["reader_measure"] == "fx_delta_1pct" and row["factor_class"] == "fx"


def test_segments_sum_to_the_total_and_only_book_factors_appear():
    sens = _random_sens()
    book = prepare_book(_random_book(), CURVE)
    assert set(sens["factor_id"]) == set(book.factor_ids)
    assert set(sens["scope"]) == {MARKET_SCOPE, LOAN_SCOPE}
    for scope, part in sens.groupby("scope"):
        seg = part[part["segment"] != TOTAL].groupby("factor_id")[["delta", "gamma"]].sum()
        tot = part[part["segment"] == TOTAL].set_index("factor_id")[["delta", "gamma"]].loc[seg.index]
        np.testing.assert_allclose(seg.to_numpy(), tot.to_numpy(), rtol=1e-12, atol=1e-9)
    # loans are their own scope: their segments are not market segments
    market = set(sens.loc[sens["scope"] == MARKET_SCOPE, "segment"])
    loans = set(sens.loc[sens["scope"] == LOAN_SCOPE, "segment"])
    assert market & loans == {TOTAL}
    assert "first_lien_mortgage" in loans and "ust" in market
    summary = segment_summary(sens)
    # dv01: the Treasury knots; other rate curves (the FX forwards' foreign swap curves) apart
    assert summary.loc[(MARKET_SCOPE, TOTAL), "dv01"] == pytest.approx(
        _total(sens)[list(RATE_FACTORS)].sum(), rel=1e-12)
    assert (sens.loc[sens["factor_id"].str.startswith("rates.ust."), "reader_measure"] == "dv01").all()
    top = top_factors(sens, 3)
    assert (top.groupby("factor_class").size() <= 3).all()
    assert "realestate.house" not in set(top["factor_id"])  # no market exposure: not a top factor


def test_loans_lose_more_when_spreads_widen_and_collateral_falls():
    sens = _random_sens()
    loans = _total(sens, LOAN_SCOPE)
    assert loans["credit.spread.baa_10y"] > 0
    assert loans["realestate.house"] < 0 and loans["realestate.cre"] < 0  # falling prices raise LGD
    assert (loans[list(RATE_FACTORS)] == 0).all()
    # no market position depends on the collateral factors (rounding noise only)
    assert abs(_total(sens)["realestate.house"]) < 1e-3


def test_linearised_loss_matches_full_revaluation_for_small_shocks():
    frame = _random_book()
    sens = _random_sens()
    book = prepare_book(frame, CURVE)
    fids = list(book.factor_ids)
    h = sens[(sens["scope"] == MARKET_SCOPE) & (sens["segment"] == TOTAL)].set_index("factor_id")["bump"][fids]
    rng = np.random.default_rng(5)
    shocks = rng.standard_normal((6, 3, len(fids))) * (0.5 * h.to_numpy())
    # the ShockSet's own factor order differs from the book's and holds a factor the book lacks
    order = rng.permutation(len(fids))
    ss_ids = [fids[i] for i in order] + ["commodity.wti"]
    ss = np.concatenate([shocks[:, :, order], rng.standard_normal((6, 3, 1))], axis=2)
    lin = linearised_loss(sens, ss, ss_ids)
    assert lin.shape == (6, 3)
    tb = TorchBook(book, torch.float64, "cpu")
    full = -tb.segment_pnl(torch.as_tensor(shocks.reshape(18, -1))).sum(0).numpy().reshape(6, 3)
    d = delta_vector(sens, fids)
    gross = np.abs(shocks * d).sum(axis=-1)
    assert np.all(np.abs(lin - full) <= 0.02 * gross)
    np.testing.assert_allclose(lin, shocks @ d, rtol=1e-12)
    # restricted to some factors: the others do not count
    rates_only = linearised_loss(sens, ss, ss_ids, factors=list(RATE_FACTORS))
    np.testing.assert_allclose(rates_only, shocks[:, :, : len(RATE_FACTORS)] @ d[: len(RATE_FACTORS)], rtol=1e-12)
    with pytest.raises(ValueError, match="factor ids"):
        linearised_loss(sens, ss, ss_ids[:-1])


def test_bump_sizes_can_be_overridden_and_float32_agrees():
    frame = random_book(60, seed=4, types=("fixed_bond", "equity", "equity_option"))
    base = book_sensitivities(frame, CURVE)
    wide = book_sensitivities(frame, CURVE, bump={"rates": 5.0, "equity.sp500": 0.02})
    b = wide.set_index(["scope", "factor_id", "segment"])
    assert (b.xs("rates.ust.10y", level="factor_id")["bump"] == 5.0).all()
    assert (b.xs("equity.sp500", level="factor_id")["bump"] == 0.02).all()
    assert (b.xs("vol.vix", level="factor_id")["bump"] == 1.0).all()
    np.testing.assert_allclose(wide["delta"], base["delta"], rtol=2e-3, atol=1e-6 * base["delta"].abs().max())
    f32 = book_sensitivities(frame, CURVE, dtype="float32")
    assert f32.attrs["dtype"] == "float32"
    np.testing.assert_allclose(f32["delta"], base["delta"], rtol=1e-3, atol=1e-5 * base["delta"].abs().max())
    assert sensitivity_consistency(f32, frame, CURVE, dtype="float32").passed
    with pytest.raises(ValueError, match="positive"):
        book_sensitivities(frame, CURVE, bump={"log_return": 0.0})


def test_factors_outside_the_catalog_are_classed_by_prefix_or_named():
    stock = _one("equity", equity_factor="equity.sector.nowhere")
    row = book_sensitivities(stock, CURVE).set_index(["segment", "factor_id"]).loc[(TOTAL, "equity.sector.nowhere")]
    assert row["factor_class"] == "equity" and row["unit"] == "log_return" and not row["in_catalog"]
    stock = _one("equity", equity_factor="weird.thing")
    with pytest.raises(KeyError, match="weird.thing"):
        book_sensitivities(stock, CURVE)


def test_consistency_passes_on_the_engine_frame():
    result = sensitivity_consistency(_random_sens(), _random_book(), CURVE)
    assert result.passed, result.failures
    assert result.segment_sum_max_rel_error <= 1e-12
    assert result.linear_max_rel_error < 0.02 and result.factor_max_rel_error < 0.02
    assert result.to_metadata()["passed"] is True


def test_consistency_fails_on_a_tampered_frame():
    frame, sens = _random_book(), _random_sens()
    # one segment row changed: the segments no longer add up
    seg = sens.copy()
    i = seg.index[(seg["scope"] == MARKET_SCOPE) & (seg["segment"] == "ust") & (seg["factor_id"] == "rates.ust.10y")][0]
    seg.loc[i, "delta"] *= 1.01
    bad = sensitivity_consistency(seg, frame, CURVE)
    assert not bad.passed and any("segments sum" in f and "rates.ust.10y" in f for f in bad.failures)
    # a factor's delta scaled in every row (still adding up): full revaluation disagrees
    scaled = sens.copy()
    rows = (scaled["factor_id"] == "rates.ust.5y") & (scaled["scope"] == MARKET_SCOPE)
    scaled.loc[rows, "delta"] *= 1.1
    bad = sensitivity_consistency(scaled, frame, CURVE)
    assert not bad.passed and bad.segment_sum_max_rel_error <= 1e-12
    assert any("rates.ust.5y" in f and "full revaluation" in f for f in bad.failures)
    # a sign flipped on a small factor is caught one factor at a time
    flipped = sens.copy()
    rows = flipped["factor_id"] == "vol.vix"
    flipped.loc[rows, "delta"] *= -1
    bad = sensitivity_consistency(flipped, frame, CURVE)
    assert not bad.passed and any("vol.vix" in f for f in bad.failures)
    # a missing row
    bad = sensitivity_consistency(sens.drop(index=sens.index[3]), frame, CURVE)
    assert not bad.passed and "missing" in bad.failures[0]
