"""The book ages along the path: flows paid, maturities shortening, options and forwards settled."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster.engine.aging import aged_curve, quarter_dates, scheduled_cash
from risk_dagster.engine.curves import treasury_zero_curve
from risk_dagster.engine.kernels import random_book
from risk_dagster.engine.revalue import revalue
from risk_dagster.market.catalog import load_risk_factor_catalog
from risk_dagster.translate.shockset import ShockSet

QUARTERS = ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]


def _shockset(n: int = 3, set_: dict[str, list[float]] | None = None) -> ShockSet:
    cat = load_risk_factor_catalog()
    ids = [f.id for f in cat]
    shocks = np.zeros((n, len(QUARTERS), len(ids)))
    for fid, by_quarter in (set_ or {}).items():
        shocks[:, :, ids.index(fid)] = by_quarter
    return ShockSet(shocks, np.ones(len(ids)), ids, [f.shock_type for f in cat], QUARTERS, "aging", "m", "1", 0,
                    {"jump_off_quarter": "2024Q4"})


def _one(kind: str, **terms: object) -> pd.DataFrame:
    book = random_book(1, seed=21, types=(kind,))
    for k, v in terms.items():
        book[k] = v
    book["notional"] = 1e8
    book["direction"] = 1
    return book


def test_quarter_dates_and_aged_curve() -> None:
    c = treasury_zero_curve()
    dates = quarter_dates(c.valuation_date, [0, 1, 3])
    assert [str(d) for d in dates] == ["2025-03-31", "2025-06-30", "2025-12-31"]
    aged = aged_curve(c, dates[-1])
    np.testing.assert_allclose(aged.par_yields_pct, c.par_yields_pct, atol=1e-12)  # constant maturities
    assert str(aged.valuation_date) == "2025-12-31"


def test_a_bond_maturing_in_the_second_quarter_pays_out_and_stops() -> None:
    book = _one("fixed_bond", segment="ust", rating="AA+", credit_curve=None, maturity_years=0.4, coupon_rate=0.05,
                coupon_frequency=2.0)
    res = revalue(book, _shockset(), quarter_index=None, device="cpu")
    pnl = res.pnl.sum(axis=-1)[0]
    cash = scheduled_cash(book, treasury_zero_curve(), quarter_dates(treasury_zero_curve().valuation_date, range(4)))[0]
    base = res.base_values[0]
    # after the maturity (146 days) the P&L is the cash (coupon + par) less the jump-off value, constant
    assert cash[0] == 0.0 and cash[1] == pytest.approx(1e8 * (1 + 0.05 * 181 / 365), rel=1e-12)
    np.testing.assert_allclose(pnl[1:], cash[1] - base, rtol=1e-12)
    assert 0 < pnl[0] < pnl[1]  # pull to par accrues before it
    # not aged: every quarter is the jump-off bond under a zero shock
    flat = revalue(book, _shockset(), quarter_index=None, device="cpu", age_book=False)
    np.testing.assert_allclose(flat.pnl, 0.0, atol=1e-6)


def test_carry_of_a_long_bond_is_about_its_yield() -> None:
    book = _one("fixed_bond", segment="ust", rating="AA+", credit_curve=None, maturity_years=10.0, coupon_rate=0.045,
                coupon_frequency=2.0)
    res = revalue(book, _shockset(), quarter_index=None, device="cpu")
    ret = res.pnl.sum(axis=-1)[0, -1] / res.base_values[0]
    assert 0.03 < ret < 0.07  # one year of carry and roll-down at a 4.5% curve


def test_an_option_settles_at_its_payoff_in_the_quarter_of_expiry() -> None:
    book = _one("equity_option", equity_factor="equity.sp500", spot=5000.0, strike=5000.0, option_type="call",
                expiry_years=0.4, implied_vol=0.2, dividend_yield=0.0)
    moves = [0.05, 0.10, -0.30, 0.2]  # log returns of the S&P 500 by quarter
    res = revalue(book, _shockset(set_={"equity.sp500": moves}), quarter_index=None, device="cpu")
    pnl = res.pnl.sum(axis=-1)[0]
    payoff = 1e8 / 5000.0 * max(5000.0 * np.exp(0.10) - 5000.0, 0.0)  # expires in 2025Q2
    np.testing.assert_allclose(pnl[1:], payoff - res.base_values[0], rtol=1e-10)  # held as cash after


def test_an_fx_forward_settles_on_the_spot_of_its_maturity_quarter() -> None:
    book = _one("fx_forward", fx_factor="fx.eurusd", currency="EUR", spot=1.05, forward_rate=1.06, maturity_years=0.2)
    res = revalue(book, _shockset(set_={"fx.eurusd": [0.02, -0.5, 0.0, 0.0]}), quarter_index=None, device="cpu")
    pnl = res.pnl.sum(axis=-1)[0]
    settled = 1e8 / 1.05 * (1.05 * np.exp(0.02) - 1.06)
    np.testing.assert_allclose(pnl, settled - res.base_values[0], rtol=1e-10)


def test_aged_mbs_pool_pays_down() -> None:
    book = _one("agency_mbs", segment="agency", coupon_rate=0.05, wac=0.0575, loan_age_months=24.0,
                maturity_years=28.0, coupon_frequency=12.0)
    c = treasury_zero_curve()
    cash = scheduled_cash(book, c, quarter_dates(c.valuation_date, range(4)), mortgage_rate_pct=6.5)[0]
    assert np.all(np.diff(cash) > 0) and 0.08 < cash[-1] / 1e8 < 0.25  # a year of P&I: coupon + ~8-15% principal
    res = revalue(book, _shockset(), quarter_index=None, device="cpu")
    assert abs(res.pnl.sum(axis=-1)[0, -1]) < 0.08 * res.base_values[0]  # carry, not a jump


def test_aged_result_states_its_dates() -> None:
    res = revalue(random_book(40, seed=2), _shockset(), quarter_index=None, device="cpu")
    assert res.metadata["aged"] is True
    assert res.metadata["quarter_dates"] == ["2025-03-31", "2025-06-30", "2025-09-30", "2025-12-31"]
    assert "treasury curve" in res.metadata["as_of"]


def test_installment_loans_amortise_revolvers_do_not() -> None:
    from risk_dagster.engine.kernels import loan_balance_factor, prepare_book

    book = random_book(3, seed=5, types=("loan",))
    book["segment"] = ["first_lien_mortgage", "credit_card", "auto"]
    book["maturity_years"] = [30.0, 3.0, 0.6]
    book["loan_rate"] = [0.06, 0.2, 0.0]
    book["coupon_frequency"] = 12.0
    pb = prepare_book(book, treasury_zero_curve())
    b = loan_balance_factor(pb, np.array([0.0, 1.0, 0.5, 0.75]))
    r = 0.06 / 12
    assert b[1, 0] == pytest.approx((1 - (1 + r) ** -348) / (1 - (1 + r) ** -360), rel=1e-12)  # 12 of 360 paid
    assert b[1, 1] == 1.0 and b[0, 0] == 1.0  # a card line keeps its exposure
    assert b[2, 2] == pytest.approx((7 - 6) / 7, rel=1e-12)  # 0.6y = 7 monthly payments at 0%: 6 paid at 0.5y
    assert b[3, 2] == 0.0  # matured
