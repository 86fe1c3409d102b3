"""A book that ages along the scenario path: quarter by quarter, coupons paid, maturities shortening.

Each projection quarter ``i`` of a ShockSet is ``h = i + 1`` quarters after its jump-off, so the
book is revalued on ``V_i = V_0 + 3h months`` (:func:`quarter_dates`), not at ``V_0`` as if no
time had passed:

- **the market** at ``V_i`` is the base par curve held at its constant maturities (the
  supervisor's rates are constant-maturity yields) moved by the quarter's shocks, bootstrapped on
  ``V_i`` (:func:`aged_curve`); spreads, spots and vols likewise move by the quarter's shocks;
- **the positions** keep their dated terms (maturity = ``V_0 + maturity_years``, expiry likewise):
  every flow on or before ``V_i`` is past, remaining times are measured from ``V_i``
  (:func:`~risk_dagster.engine.kernels.prepare_book` with ``reference_date = V_0``); MBS pools
  amortise and prepay at base speeds over the months elapsed;
- **cash received** between ``V_0`` and ``V_i`` (coupons, redemptions, swap net payments, MBS
  principal and interest) is added to the value, not reinvested (held at zero interest: the
  capital projection's net interest income is its own model) -- :func:`scheduled_cash`. Floating
  coupons received along the way are at the jump-off curve's forward fixings, MBS flows at base
  speeds: both are the scenario-independent part; their scenario dependence belongs to the
  capital issue's net interest income;
- **options and FX forwards that expire or mature** by ``V_i`` settle at their payoff on the
  scenario's level in the quarter of expiry (the quarter-end level stands for the expiry-day
  level): ``units max(w (S_j - K), 0)`` and ``A (P_j - K)`` -- :class:`Settlements`.

So quarter ``i``'s P&L is ``V_i(aged book, shocked) + cash(V_0, V_i] + settlements - V_0``: the
change the scenario makes plus the carry (pull to par, roll-down, coupons, theta) the book earns
anyway. Loans follow the loan kernel's path model (the capital projection replaces it), their
exposure amortising for installment loans (:func:`~risk_dagster.engine.kernels.loan_balance_factor`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from risk_dagster.engine.curves import (
    DAYS_PER_YEAR,
    ZeroCurve,
    add_months,
    bootstrap_par_curve,
    days_from_years,
    implied_par_yields,
    to_days,
)
from risk_dagster.engine.kernels import (
    ENGINE_PREPAYMENT,
    FLOAT_LEG_MONTHS,
    PreparedBook,
    _col,
    _days,
    _live_periods,
    _move_dated_terms,
    _str,
    current_fixing,
)

__all__ = ["Settlements", "aged_curve", "quarter_dates", "scheduled_cash"]

FloatArray = npt.NDArray[np.float64]


def quarter_dates(valuation_date: dt.date, quarter_indexes: Sequence[int]) -> list[dt.date]:
    """``V_0 + 3 (i + 1)`` months for each quarter index ``i`` (the quarter ends after the jump-off)."""
    v = to_days(valuation_date)
    days = add_months(np.full(len(quarter_indexes), v), 3 * (np.asarray(quarter_indexes, dtype=np.int64) + 1))
    return [(pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(d))).date() for d in days]


def aged_curve(curve: ZeroCurve, date: dt.date) -> ZeroCurve:
    """The base curve on a later date: the same par yields at the same constant maturities."""
    return bootstrap_par_curve(date, dict(zip(curve.factor_ids, implied_par_yields(curve), strict=True)), curve.factor_ids)


def scheduled_cash(positions: pd.DataFrame, curve: ZeroCurve, end_dates: Sequence[dt.date], *,
                   book_as_of: object = None, mortgage_rate_pct: float | None = None,
                   book: PreparedBook | None = None) -> FloatArray:
    """``[positions, len(end_dates)]`` cash received after the valuation date up to each end date (cumulative, signed).

    Fixed coupons and redemptions at their amounts; floating coupons at their fixing (the running
    period's, :func:`~risk_dagster.engine.kernels.current_fixing`) or the base curve's forward for
    later periods, plus the margin; a swap's fixed leg less its floating leg (receiver
    ``direction = +1``); MBS pools' principal and interest at base speeds. Equities, options, FX
    forwards and loans: 0 here (:class:`Settlements`). ``book``: the same positions prepared on
    ``curve`` (its first-coupon and issue dates, already moved from ``book_as_of``, are reused).
    """
    frame = positions.reset_index(drop=True)
    n = len(frame)
    val = curve.valuation_days
    ends = np.array([to_days(d) for d in end_dates], dtype=np.int64)
    out = np.zeros((n, len(ends)))
    if n == 0 or len(ends) == 0:
        return out
    itype = _str(frame, "instrument_type")
    scale = _col(frame, "notional") * _col(frame, "direction", 1.0)
    mat = val + days_from_years(np.nan_to_num(_col(frame, "maturity_years"), nan=0.0))
    freq = _col(frame, "coupon_frequency")
    months = np.where(np.isfinite(freq) & (freq > 0), np.rint(12.0 / np.where(freq > 0, freq, 1.0)), 0).astype(np.int64)
    coupon = np.nan_to_num(_col(frame, "coupon_rate"), nan=0.0)
    margin = np.nan_to_num(_col(frame, "spread_bp"), nan=0.0) / 1e4
    if book is not None and book.first_coupon_days is not None and book.issue_days is not None:
        first, issue = book.first_coupon_days, book.issue_days
    else:
        first, issue = _days(frame, "first_coupon_date"), _days(frame, "issue_date")
        as_of = book_as_of if book_as_of is not None else positions.attrs.get("as_of")
        if as_of is not None and to_days(as_of) != val:
            first, issue = _move_dated_terms(first, issue, to_days(as_of), val, _col(frame, "maturity_years"), months)

    def book(rows: npt.NDArray[np.int64], pay: npt.NDArray[np.int64], amount: FloatArray) -> None:
        for k, e in enumerate(ends):
            np.add.at(out[:, k], rows[pay <= e], amount[pay <= e])

    def floating(rows: npt.NDArray[np.int64], step: npt.NDArray[np.int64], sign: float) -> None:
        o, pay, start = _live_periods(val, mat[rows], step, first[rows] if sign > 0 else None,
                                      issue[rows] if sign > 0 else None)
        tau = (pay - start) / DAYS_PER_YEAR
        fwd = np.expm1(curve.zero(np.maximum(pay - val, 1) / DAYS_PER_YEAR) * (pay - val) / DAYS_PER_YEAR
                       - curve.zero(np.maximum(start - val, 1) / DAYS_PER_YEAR) * np.maximum(start - val, 0) / DAYS_PER_YEAR) / tau
        fix = np.where(start >= val, fwd, current_fixing(curve, pay - val))
        book(rows[o], pay, sign * scale[rows[o]] * (fix + margin[rows[o]]) * tau)

    for kind in ("fixed_bond", "irs"):
        rows = np.flatnonzero(itype == kind)
        if len(rows):
            o, pay, start = _live_periods(val, mat[rows], months[rows], first[rows] if kind == "fixed_bond" else None,
                                          issue[rows] if kind == "fixed_bond" else None)
            book(rows[o], pay, scale[rows[o]] * coupon[rows[o]] * (pay - start) / DAYS_PER_YEAR)
            if kind == "irs":
                floating(rows, np.full(len(rows), FLOAT_LEG_MONTHS, dtype=np.int64), -1.0)
    rows = np.flatnonzero(itype == "frn")
    if len(rows):
        floating(rows, months[rows], 1.0)
    for kind in ("fixed_bond", "frn"):
        rows = np.flatnonzero((itype == kind) & (mat > val))
        book(rows, mat[rows], scale[rows])  # redemption at par
    rows = np.flatnonzero(itype == "agency_mbs")
    if len(rows):
        from risk_dagster.engine.mbs import mbs_cash_flows
        from risk_dagster.engine.valuation import base_mortgage_rate

        mr = (mortgage_rate_pct if mortgage_rate_pct is not None else base_mortgage_rate()[0]) / 100.0
        wam = np.maximum(np.rint(_col(frame, "maturity_years")[rows] * 12.0), 1).astype(np.int64)
        age = np.rint(_col(frame, "loan_age_months")[rows]).astype(np.int64)
        cf = mbs_cash_flows(_col(frame, "notional")[rows], coupon[rows], _col(frame, "wac")[rows], wam, age, mr,
                            model=ENGINE_PREPAYMENT, n_months=int(wam.max()))
        pay = add_months(np.full(cf.total.shape[1], val), np.arange(1, cf.total.shape[1] + 1))
        sign = _col(frame, "direction", 1.0)[rows]
        for k, e in enumerate(ends):
            out[rows, k] += sign * cf.total[:, pay <= e].sum(axis=1)
    return out


class Settlements:
    """Options and FX forwards that expire or mature within the horizon, and their settlement cash.

    An option expiring in ``(V_{j-1}, V_j]`` pays ``units max(w (S0 exp(r_j) - K), 0)`` in quarter
    ``j`` and holds it as cash in every later quarter; an FX forward ``direction A (P0 exp(u r_j) -
    K)``. Built from the book prepared at the jump-off (expiry and maturity days from it); the cash
    is computed per quarter on demand, in blocks of positions, so a large book never holds a
    ``[samples, quarters, positions]`` array.

    Parameters
    ----------
    book
        Prepared at the jump-off.
    quarter_dates_
        ``V_i`` of every ShockSet quarter.
    """

    BLOCK = 4096

    def __init__(self, book: PreparedBook, quarter_dates_: Sequence[dt.date]) -> None:
        q_days = np.array([to_days(d) for d in quarter_dates_], dtype=np.int64) - book.curve.valuation_days
        o, f = book.option, book.fx
        n_o = len(o["rows"])
        rows = np.concatenate([o["rows"], f["rows"]]).astype(np.int64)
        days = np.concatenate([o["days"], f["days"]]) if len(rows) else np.zeros(0, dtype=np.int64)
        self.quarter = np.searchsorted(q_days, days, side="left")  # first quarter ending on or after it
        self.is_option = np.arange(len(rows)) < n_o
        self.rows = rows
        self.factor = np.concatenate([o["factor"], f["factor"]]).astype(np.int64) if len(rows) else np.zeros(0, np.int64)
        self.spot = np.concatenate([o["spot"], np.ones(len(f["rows"]))]) if len(rows) else np.zeros(0)
        self.strike = np.concatenate([o["strike"], f["k_over_p0"]]) if len(rows) else np.zeros(0)
        self.scale = np.concatenate([o["units"], f["scale"]]) if len(rows) else np.zeros(0)
        self.sign = np.concatenate([np.where(o["is_call"], 1.0, -1.0), f["sign"]]) if len(rows) else np.zeros(0)
        self.segment = book.segment_codes[rows]

    def cash(self, path: FloatArray, q: int, idx: npt.NDArray[np.int64] | None = None) -> FloatArray:
        """``[S, len(idx)]`` settlement cash held at quarter ``q`` (0 for those not yet settled)."""
        idx = np.arange(len(self.rows)) if idx is None else idx
        out = np.zeros((path.shape[0], len(idx)))
        done = self.quarter[idx] <= q
        if not done.any():
            return out
        k = idx[done]
        r = path[:, self.quarter[k], self.factor[k]]  # [S, n] log return at each settlement quarter
        opt = self.is_option[k]
        level = self.spot[k] * np.exp(np.where(opt, 1.0, self.sign[k]) * r)
        value = np.where(opt, self.scale[k] * np.maximum(self.sign[k] * (level - self.strike[k]), 0.0),
                         self.scale[k] * (level - self.strike[k]))
        out[:, done] = value
        return out

    def by_segment(self, path: FloatArray, q: int, n_segments: int) -> FloatArray:
        """``[S, segments]`` settlement cash held at quarter ``q``, summed by segment in blocks."""
        out = np.zeros((path.shape[0], n_segments))
        live = np.flatnonzero(self.quarter <= q)
        for lo in range(0, len(live), self.BLOCK):
            idx = live[lo : lo + self.BLOCK]
            c = self.cash(path, q, idx)
            for g in np.unique(self.segment[idx]):
                out[:, g] += c[:, self.segment[idx] == g].sum(axis=1)
        return out
