"""Net interest income from repricing: repricing shares, a hand-made book under a +100 bp parallel
shock worked out by hand (the PQ1 half-quarter average included), the trading book left out, and
the 3-month substitute for a missing index."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from risk_dagster.capital import net_interest_income as N
from risk_dagster.capital.balance_sheet import load_sample_balance_sheet
from risk_dagster.engine.curves import treasury_zero_curve
from risk_dagster.portfolio.positions import POSITION_DTYPES, coerce_positions
from risk_dagster.translate.shockset import ShockSet

QUARTERS = [f"2026Q{q}" for q in range(1, 5)] + [f"2027Q{q}" for q in range(1, 5)] + ["2028Q1"]
RATES = ["rates.ust.3m", "rates.ust.5y", "rates.prime", "rates.mortgage30"]
MN = 1e6


@pytest.fixture(scope="module")
def curve():
    return treasury_zero_curve()


def _position(pid: str, itype: str, segment: str, book: str, **terms: object) -> dict:
    row: dict[str, object] = {c: None for c in POSITION_DTYPES}
    row.update(position_id=pid, instrument_type=itype, segment=segment, currency="USD", direction=1,
               issue_date="2025-01-02", accounting_book=book)
    row.update(terms)
    return row


def _book(rows: list[dict]) -> pd.DataFrame:
    frame = coerce_positions(pd.DataFrame(rows))
    frame.attrs["as_of"] = "2025-12-31"
    return frame


def _shockset(bp: float | np.ndarray, factor_ids: list[str] = RATES, samples: int = 2, kinds: list[str] | None = None) -> ShockSet:
    shocks = np.broadcast_to(np.asarray(bp, dtype=float), (samples, 9, len(factor_ids))).copy()
    return ShockSet(shocks, np.full(len(factor_ids), 4.0), list(factor_ids), kinds or ["absolute_bp"] * len(factor_ids),
                    QUARTERS, "parallel", "m", "1", 0)


def _sheet(**changes: object):
    """Cash 60, deposits 1000 (beta 0.3), other funding 100 (beta 0.65), NII 10 a quarter (USD mn)."""
    values: dict[str, object] = {"cash_and_reserves": 60 * MN, "deposits": 1000 * MN, "deposit_beta": 0.3,
                                 "other_funding": 100 * MN, "funding_beta": 0.65, "net_interest_income": 10 * MN}
    return dataclasses.replace(load_sample_balance_sheet(), **{**values, **changes})


# ------------------------------------------------------------------------------- repricing shares
def test_bond_maturing_in_1_1_years_reprices_from_pq5(curve) -> None:
    book = _book([_position("B", "fixed_bond", "ust", "afs", notional=100 * MN, maturity_years=1.1,
                            coupon_rate=0.04, coupon_frequency=2, rating="AA+")])
    np.testing.assert_array_equal(N.repricing_share(book, curve)[0], [0, 0, 0, 0, 1, 1, 1, 1, 1])


def test_amortizing_and_balloon_loans(curve) -> None:
    loans = _book([
        _position("A", "loan", "auto", "loan", notional=60 * MN, ead=60 * MN, maturity_years=5.0, loan_rate=0.06,
                  coupon_frequency=12, pd=0.02, lgd=0.5),
        _position("C", "loan", "cre", "loan", notional=80 * MN, ead=80 * MN, maturity_years=1.6, loan_rate=0.06,
                  coupon_frequency=12, pd=0.02, lgd=0.5),
    ])  # fmt: skip
    share = N.repricing_share(loans, curve)
    # level payments: after m of n = 60 monthly payments at r = 0.5% the balance is (1 - v^(n-m)) / (1 - v^n)
    v = 1.0 / 1.005
    m = 3 * np.arange(1, 10)
    np.testing.assert_allclose(share[0], 1.0 - (1.0 - v ** (60 - m)) / (1.0 - v**60), rtol=1e-12)
    assert 0 < share[0, 0] < share[0, -1] < 1
    # CRE is interest-only with a balloon: repaid once 1.6 years have passed (end of PQ7)
    np.testing.assert_array_equal(share[1], [0, 0, 0, 0, 0, 0, 1, 1, 1])


def test_mbs_pool_pays_down_gradually(curve) -> None:
    pool = _book([_position("M", "agency_mbs", "agency", "afs", notional=100 * MN, maturity_years=25.0,
                            coupon_rate=0.05, wac=0.055, loan_age_months=24, coupon_frequency=12, rating="AA+")])
    share = N.repricing_share(pool, curve)[0]
    assert 0 < share[0] < share[-1] < 1
    assert (np.diff(share) > 0).all()
    # scheduled amortisation alone repays less than the pool pays with prepayments
    assert share[3] > 0.01


def test_floating_lines_share_one_and_other_rows_zero(curve) -> None:
    book = _book([
        _position("F", "frn", "corporate_ig", "htm", notional=10 * MN, maturity_years=3.0, spread_bp=50,
                  coupon_frequency=4, rating="A", credit_curve="credit.spread.rating.a"),
        _position("K", "loan", "c_and_i", "loan", notional=10 * MN, ead=10 * MN, drawn_amount=7 * MN,
                  maturity_years=3.0, loan_rate=0.07, coupon_frequency=12, pd=0.01, lgd=0.4),
        _position("E", "equity", "equity", "afs", notional=10 * MN, equity_factor="equity.us.spx", spot=1.0),
    ])  # fmt: skip
    np.testing.assert_array_equal(N.repricing_share(book, curve)[[0, 2]], 0.0)  # FRN and equity: not fixed-rate
    gap = N.repricing_gap(book, _sheet(), curve)
    assert gap.label[:2] == ["floating-rate notes", "floating loans (c_and_i)"]
    assert gap.index[:2] == ["rates.ust.3m", "rates.ust.3m"]
    np.testing.assert_array_equal(gap.share[:2], 1.0)
    np.testing.assert_allclose(gap.amount[:2], [10 * MN, 7 * MN])  # the loan at its drawn amount
    # then cash, deposits and other funding (the equity row is no repricing line)
    assert gap.label[2:] == ["cash and reserves", "deposits", "other funding"]
    np.testing.assert_allclose(gap.amount[2:], [60 * MN, -300 * MN, -65 * MN])


# ------------------------------------------------------------------------------- NII by hand
def _hand_book() -> pd.DataFrame:
    return _book([
        _position("FRN", "frn", "corporate_ig", "afs", notional=100 * MN, maturity_years=3.0, spread_bp=50,
                  coupon_frequency=4, rating="A", credit_curve="credit.spread.rating.a"),
        _position("CI", "loan", "c_and_i", "loan", notional=200 * MN, ead=200 * MN, maturity_years=3.0,
                  loan_rate=0.07, coupon_frequency=12, pd=0.01, lgd=0.4),
        _position("CARD", "loan", "credit_card", "loan", notional=80 * MN, ead=80 * MN, drawn_amount=50 * MN,
                  maturity_years=1.0, loan_rate=0.2, coupon_frequency=12, pd=0.04, lgd=0.9),
        _position("BOND", "fixed_bond", "ust", "htm", notional=400 * MN, maturity_years=1.1, coupon_rate=0.04,
                  coupon_frequency=2, rating="AA+"),
        # the trading book's carry is no NII
        _position("TRD", "frn", "corporate_ig", "trading", notional=5000 * MN, maturity_years=3.0, spread_bp=50,
                  coupon_frequency=4, rating="A", credit_curve="credit.spread.rating.a"),
        _position("SWP", "irs", "rates_derivatives", "trading", notional=5000 * MN, maturity_years=5.0,
                  coupon_rate=0.04, coupon_frequency=2),
    ])  # fmt: skip


def test_parallel_plus_100bp_by_hand(curve) -> None:
    nii = N.project_net_interest_income(_hand_book(), _sheet(), _shockset(100.0), curve)
    # repricing amounts: FRN 100 + C&I 200 + card 50 + cash 60 - deposits 1000 x 0.3 - funding 100 x 0.65 = 45,
    # plus the bond's 400 reinvested at the 5-year rate from PQ5 (it matures in 1.1 years)
    amount = np.array([45.0] * 4 + [445.0] * 5) * MN
    # the quarter's average change: (0 + 100) / 2 in PQ1, 100 bp after; a quarter earns a fourth
    mean_bp = np.array([50.0] + [100.0] * 8)
    expected = amount * mean_bp / 1e4 / 4.0
    assert nii.change.shape == (2, 9)
    np.testing.assert_allclose(nii.change, np.broadcast_to(expected, (2, 9)), rtol=1e-12)
    np.testing.assert_allclose(nii.nii, 10 * MN + nii.change)
    assert nii.run_rate == 10 * MN and nii.substituted == {}
    assert "TRD" not in nii.gap.label and len(nii.gap.amount) == 4 + 3
    # by line: deposits cost 1000 x 0.3 x 100 bp / 4 = 0.75 mn a quarter from PQ2
    assert nii.by_line.loc["deposits [rates.ust.3m]", "PQ2"] == pytest.approx(-0.75 * MN)
    assert nii.by_line.loc["fixed-rate bonds, run-off [rates.ust.5y]", "PQ4"] == 0.0
    assert nii.by_line.loc["fixed-rate bonds, run-off [rates.ust.5y]", "PQ5"] == pytest.approx(1.0 * MN)
    np.testing.assert_allclose(nii.by_line.sum(axis=0).to_numpy(), expected, rtol=1e-12)


def test_each_index_moves_its_own_lines(curve) -> None:
    # +100 bp on prime alone: only the card (50) moves, floating from PQ1
    nii = N.project_net_interest_income(_hand_book(), _sheet(), _shockset([0.0, 0.0, 100.0, 0.0]), curve)
    np.testing.assert_allclose(nii.change[0], 50 * MN * np.array([50.0] + [100.0] * 8) / 1e4 / 4.0, rtol=1e-12)
    # a path: the change in PQ3 averages the PQ2 and PQ3 levels
    path = np.zeros((9, 4))
    path[:, 1] = np.arange(1, 10) * 10.0  # 5-year rate +10 bp a quarter
    nii = N.project_net_interest_income(_hand_book(), _sheet(), _shockset(path), curve)
    mean = 0.5 * (path[:, 1] + np.concatenate([[0.0], path[:-1, 1]]))
    np.testing.assert_allclose(nii.change[0], 400 * MN * (np.arange(1, 10) >= 5) * mean / 1e4 / 4.0, rtol=1e-12)


def test_trading_book_excluded(curve) -> None:
    book = _hand_book()
    banking = book[book["accounting_book"] != "trading"].reset_index(drop=True)
    banking.attrs = dict(book.attrs)
    ss = _shockset(100.0)
    np.testing.assert_allclose(N.project_net_interest_income(book, _sheet(), ss, curve).change,
                               N.project_net_interest_income(banking, _sheet(), ss, curve).change)


def test_missing_index_substituted_by_3m(curve) -> None:
    ss = _shockset([100.0, 0.0], ["rates.ust.3m", "rates.ust.5y"])
    nii = N.project_net_interest_income(_hand_book(), _sheet(), ss, curve)
    assert nii.substituted == {"rates.prime": "rates.ust.3m"}
    # the card follows the 3-month +100 bp; the bond's 5-year rate is unchanged
    np.testing.assert_allclose(nii.change[0], 45 * MN * np.array([50.0] + [100.0] * 8) / 1e4 / 4.0, rtol=1e-12)


def test_missing_3m_and_bad_shock_type_refused(curve) -> None:
    with pytest.raises(KeyError, match=r"rates\.ust\.3m"):
        N.project_net_interest_income(_hand_book(), _sheet(), _shockset(100.0, ["rates.ust.5y", "rates.prime"]), curve)
    kinds = ["absolute_bp", "log_return", "absolute_bp", "absolute_bp"]
    with pytest.raises(ValueError, match=r"rates\.ust\.5y.*absolute_bp"):
        N.project_net_interest_income(_hand_book(), _sheet(), _shockset(100.0, kinds=kinds), curve)


def test_receiver_swap_in_banking_book_loses_when_rates_rise(curve) -> None:
    swap = _book([_position("S", "irs", "rates_derivatives", "afs", notional=100 * MN, maturity_years=5.0,
                            coupon_rate=0.04, coupon_frequency=2)])
    sheet = _sheet(cash_and_reserves=0.0, deposits=0.0, other_funding=0.0)
    nii = N.project_net_interest_income(swap, sheet, _shockset(100.0), curve)
    np.testing.assert_allclose(nii.change[0], -100 * MN * np.array([50.0] + [100.0] * 8) / 1e4 / 4.0, rtol=1e-12)
