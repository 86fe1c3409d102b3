"""Vectorised torch pricing kernels: scenarios x positions, full revaluation.

Two stages:

1. :func:`prepare_book` (numpy, once per book and base curve) turns the positions frame into
   pricing terms. Fixed-rate bonds, FRNs and swaps become a **cash-flow map**: every cash flow
   of every position, exact (dates, ACT/365F accruals, the QuantLib conventions below), sits on
   a *column* of a grid of distinct ``(projection time, discount time, spread curve)``
   triples; positions with the same column share it. A column's value in a scenario is

   ``exp(-z(t_p) * t_p - delta_c * t_d)``

   with ``z`` the shocked Treasury zero curve and ``delta_c`` the shock of spread curve ``c``.
   A plain discount factor is the column ``t_p = t_d``; the forecast part of a floating coupon,
   ``DF(t_start) / DF(t_end) * DFspread(t_end)``, is the column ``(t_start, t_end)``. Each
   position's scenario-independent terms (amounts, its base spread's ``exp(-s t_d)``, its
   direction) are folded into its coefficients, so its value is *linear* in the column values:
   a cash-flow matrix times a vector. Positions are grouped into dense blocks (same spread
   curve, segment and type, similar coupon dates) so that a scenario chunk costs one exp per
   column and one dense matmul per block. No vertex approximation: the map is exact.
   Equities, FX forwards, options and MBS pools get element-wise parameter arrays; loans theirs.
2. :class:`TorchBook` (torch, on a device, in a dtype) evaluates a chunk of scenarios given as a
   ``[C, F]`` matrix of factor shocks (columns :attr:`PreparedBook.factor_ids`). Between two knots
   a scenario's zero move is linear in time, so the change of a curve's discount factor is an entire
   function of time there: both the per-position values and the fused segment totals evaluate it on
   :data:`CHEBYSHEV_NODES` Chebyshev nodes per knot interval and interpolate the cash-flow dates
   from them (:func:`chebyshev_compression`), to rounding (1e-12 against the exact column values,
   tested), at a cost that does not grow with the number of distinct payment days.

Conventions (match QuantLib exactly; see :mod:`risk_dagster.engine.quantlib_oracle`):

- Remaining terms (``maturity_years``, ``expiry_years``) are whole days: ``rint(years * 365)``
  after the valuation date (:func:`~risk_dagster.engine.curves.days_from_years`).
- Schedules run back from the maturity in steps of ``12 / coupon_frequency`` months (day
  clamped to month end, unadjusted, no calendar): QuantLib ``Schedule(..., NullCalendar(),
  Unadjusted, Unadjusted, DateGeneration.Backward, False)``. The current period is regular (its
  start is the first schedule date on or before the valuation date), unless the position states
  an irregular ``first_coupon_date`` still to come: that coupon accrues from ``issue_date`` (short
  or long) and nothing is paid before it (QuantLib's ``Schedule(issue, maturity, ...,
  Backward, False, firstDate)``).
- Cash flows dated on or before the valuation date are past (QuantLib's default
  ``includeReferenceDateEvents = False``).
- Fixed coupons accrue ACT/365F: ``N * ((1 + c * tau) - 1)``; redemption at par.
- Floating coupons (FRN, swap floating leg) fix at the period start (0 fixing days) on the
  Treasury curve, simply compounded over the accrual period ACT/365F (QuantLib's par coupons):
  ``N * (DF(a)/DF(e) - 1 + m * tau)``, ``m`` = ``spread_bp`` margin. The period running at the
  valuation date fixed in the past: its fixing (history is not modelled) is the *base* curve's
  simple rate to the period end, ``(1/DF_base(t_e) - 1) / t_e`` (:func:`current_fixing`), the
  same in every scenario; a period starting on the valuation date is forecast.
- FRN: discounted at Treasury + rating spread + credit shock; margin ``spread_bp``.
- Swap: fixed leg ``coupon_frequency``, floating leg quarterly (3M), margin ``spread_bp`` (or
  0), projection and discounting on the Treasury curve (collateralised, no credit spread);
  ``direction`` +1 receives fixed.
- Equity: ``direction * notional * exp(r)``, ``r`` the log-return shock of ``equity_factor``.
- FX forward (contract: ``notional`` = USD value of the foreign amount at ``spot``): foreign
  amount ``A = notional / P0``, ``P = spot`` in USD per foreign unit (``spot`` inverted for
  ``fx.usdXXX`` quotes); value ``direction * A * (P0 exp(u r) DF_f(T) - K DF(T))`` with ``K`` the
  contracted ``forward_rate`` in USD per foreign unit, ``u = +1`` (``fx.XXXusd``) or ``-1``
  (``fx.usdXXX``), ``DF`` the shocked Treasury curve and ``DF_f`` the position's ``currency`` curve
  (:mod:`~risk_dagster.engine.foreign_curves`: base from the EBA's starting-point swap curves,
  shocked by its own ``rates.swap.<ccy>.*`` par factors, re-bootstrapped). So the market forward
  is ``P0 DF_f / DF`` (forward points) and both rates move the value (QuantLib ``FxForward`` with
  the two curves).
- Equity option: Black-Scholes-Merton on the index, ``units = notional / spot``, spot ``spot *
  exp(r)``, continuous ``dividend_yield`` ``q`` (NULL: none, counted in the stress metadata), rate
  from the shocked Treasury curve at expiry, volatility ``max(implied_vol + beta(T, index) * dvix /
  100, VOL_FLOOR)`` where ``dvix`` is the ``vol.vix`` shock in points and ``beta`` the vol
  term-structure and index beta of :func:`vol_shock_beta` (a 30-day S&P 500 option moves one for
  one with the VIX, a 2-year one by 0.38, Nasdaq options by 1.2 times as much).
- Loan: expected loss along the scenario path (see :func:`loan_losses`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from risk_dagster.engine.foreign_curves import foreign_factor_ids, foreign_zero_curve
from risk_dagster.engine.mbs import PrepaymentModel, agency_spread_shock, mbs_values
from risk_dagster.engine.curves import (
    DAYS_PER_YEAR,
    RATE_FACTORS,
    ParBootstrap,
    ZeroCurve,
    add_months,
    base_spread_bp,
    to_days,
    days_from_years,
    interpolation_matrix,
)

__all__ = [
    "CASH_FLOW_TYPES",
    "FLOAT_LEG_MONTHS",
    "LGD_COLLATERAL_ELASTICITY",
    "LOAN_CREDIT_FACTOR",
    "LOAN_PD_BETA_PER_100BP",
    "VIX_FACTOR",
    "VIX_VOL_BETA",
    "VOL_FLOOR",
    "Block",
    "PreparedBook",
    "TorchBook",
    "black_scholes",
    "black_scholes_log",
    "current_fixing",
    "fx_quote_sign",
    "loan_losses",
    "prepare_book",
    "random_book",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

CASH_FLOW_TYPES = ("fixed_bond", "frn", "irs")
ELEMENTWISE_TYPES = ("equity", "fx_forward", "equity_option", "agency_mbs")
MORTGAGE_FACTOR = "rates.mortgage30"
TREASURY_10Y_FACTOR = "rates.ust.10y"
MBS_STATIC_SPREAD_BP = 130.0
"""Base spread of agency MBS pools over Treasuries (static, zero-volatility), bp.

The spread at which a current-coupon 30y pool (WAC = the mortgage rate) is at par in the MBS
model over the 2024-12-31 Treasury curve with the 2024Q4 6.65% mortgage rate: 133bp, rounded
(:func:`risk_dagster.engine.mbs.implied_spread`, ``scripts/mbs_durations.py``). In a single-path
model this is the OAS (30-70bp in the Bloomberg MBS index, outside stress) plus the prepayment
option's cost; one spread for every pool (no pool-level prices are shipped)."""
ENGINE_PREPAYMENT = PrepaymentModel(rate_vol=0.009)
"""Prepayment model of the engine: the default S-curve averaged over 90bp/sqrt(year) of mortgage-rate
uncertainty (:mod:`risk_dagster.engine.mbs`): premium pools get durations of about 1-2.5 instead of
the negative ones of a single path."""
FLOAT_LEG_MONTHS = 3
VIX_FACTOR = "vol.vix"
VIX_VOL_BETA = 1.0
"""Vol points of a 30-day S&P 500 option per VIX point (VIX is that option's implied vol)."""
VIX_TENOR_YEARS = 30.0 / 365.0
VOL_TERM_EXPONENT = 0.3
"""``alpha`` of the vol term-structure beta ``min(1, (30 days / T)^alpha)`` (:func:`vol_shock_beta`).

Not fitted: no vol-surface history is shipped. Set so that VIX moves like those of 2008 and 2020
(about +40 to +45 points in monthly averages) raise two-year index vols by about 15-20 points, to
the 35-40% peaks of those episodes (``(30/730)^0.3 = 0.38``), where a parallel shift (alpha = 0)
takes a 2-year option from 17% to 63% when VIX goes from 26 to 72, and the square-root-of-time rule
(alpha = 0.5, 0.20) to 26%."""
INDEX_VOL_BETA: dict[str, float] = {"equity.nasdaq": 1.2}
"""Vol beta of an index's options to the VIX beyond the S&P 500 (1.0 for any factor not listed).

Nasdaq: 1.2, the approximate ratio of the Cboe Nasdaq-100 volatility index (VXN) to the VIX (not
fitted: no VXN history is shipped)."""
VOL_FLOOR = 0.01
LOAN_CREDIT_FACTOR = "credit.spread.baa_10y"
SOVEREIGN_CURVE_PREFIX = "credit.sovereign."
"""A bond whose ``credit_curve`` starts so is a sovereign's: base spread from :mod:`risk_dagster.translate.sovereign`."""
AMORTIZING_LOAN_SEGMENTS = ("first_lien_mortgage", "auto", "other_consumer", "residential_mortgage", "consumer")
"""Installment loans: level payments at ``loan_rate`` over the remaining term (:func:`loan_balance_factor`).
Cards, home-equity lines and C&I are revolving (their exposure stays), CRE is taken as interest-only with a
balloon (the usual commercial mortgage)."""
LOAN_PD_BETA_PER_100BP = 0.35
"""Probit shift of a loan's PD per 100bp of Baa spread widening (see :func:`loan_losses`)."""
LGD_COLLATERAL_ELASTICITY = 1.0
"""LGD multiplier ``exp(-elasticity * r)`` per log return ``r`` of the collateral factor."""

_NO_CURVE = ""  # spread-curve id of Treasury discounting (no spread shock)


# --------------------------------------------------------------------------- helpers
def fx_quote_sign(factor_id: str) -> int:
    """+1 when the factor is quoted in USD per foreign unit (``fx.eurusd``), -1 for ``fx.usdjpy``."""
    pair = factor_id.split(".", 1)[-1]
    if len(pair) == 6 and pair.endswith("usd") and not pair.startswith("usd"):
        return 1
    if len(pair) == 6 and pair.startswith("usd") and not pair.endswith("usd"):
        return -1
    raise ValueError(f"FX factor {factor_id!r} is not a USD currency pair (fx.xxxusd or fx.usdxxx)")


def vol_shock_beta(expiry_years: npt.ArrayLike, factors: list[str] | tuple[str, ...]) -> FloatArray:
    """Vol points per VIX point of each option: ``INDEX_VOL_BETA * min(1, (30 days / T)^VOL_TERM_EXPONENT)``.

    Longer-dated implied vols move less than the 30-day VIX (the term structure flattens and then
    inverts in a sell-off); options on other indices move by their index's beta.
    """
    t = np.maximum(np.asarray(expiry_years, dtype=np.float64), 1e-6)
    term = np.minimum(1.0, (VIX_TENOR_YEARS / t) ** VOL_TERM_EXPONENT)
    index = np.array([INDEX_VOL_BETA.get(f, 1.0) for f in factors], dtype=np.float64)
    return VIX_VOL_BETA * index * term


def current_fixing(curve: ZeroCurve, end_days: npt.ArrayLike) -> FloatArray:
    """Fixing of a floating period that started before the valuation date and ends ``end_days`` after it.

    History is not modelled: the fixing is the base curve's simply compounded rate from the
    valuation date to the period end, ``(1 / DF_base(t_e) - 1) / t_e``.
    """
    t = np.asarray(end_days, dtype=np.float64) / DAYS_PER_YEAR
    return np.expm1(curve.zero(t) * t) / t


def _regular_schedule(val: int, mat: IntArray, step: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """Backward schedule dates ``mat - k*step months`` for ``k = 0 .. k*`` (``k*``: first on/before ``val``).

    Returns flat ``(owner, k, date)`` arrays, owner = index into ``mat``.
    """
    n = len(mat)
    if n == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e
    dates = np.datetime64("1970-01-01", "D") + mat.astype("timedelta64[D]")
    mi = dates.astype("datetime64[M]").astype(np.int64)
    mi_val = (np.datetime64("1970-01-01", "D") + np.timedelta64(val, "D")).astype("datetime64[M]").astype(np.int64)
    k_star = np.maximum(0, (mi - mi_val) // step - 1)
    for _ in range(8):
        later = add_months(mat, -k_star * step) > val
        if not later.any():
            break
        k_star = k_star + later
    counts = k_star + 1
    owner = np.repeat(np.arange(n), counts)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    k = np.arange(len(owner)) - starts
    return owner, k, add_months(mat[owner], -k * step[owner])


@dataclass
class _Legs:
    """Flat cash-flow entries before they are mapped to columns."""

    pos: list[IntArray] = field(default_factory=list)
    curve: list[IntArray] = field(default_factory=list)
    p_day: list[IntArray] = field(default_factory=list)
    d_day: list[IntArray] = field(default_factory=list)
    coef: list[FloatArray] = field(default_factory=list)

    def add(self, pos: IntArray, curve: IntArray, p_day: IntArray, d_day: IntArray, coef: FloatArray) -> None:
        self.pos.append(pos)
        self.curve.append(curve)
        self.p_day.append(p_day)
        self.d_day.append(d_day)
        self.coef.append(coef)

    def concat(self) -> tuple[IntArray, IntArray, IntArray, IntArray, FloatArray]:
        if not self.pos:
            e = np.zeros(0, dtype=np.int64)
            return e, e, e, e, np.zeros(0)
        return tuple(np.concatenate(x) for x in (self.pos, self.curve, self.p_day, self.d_day, self.coef))  # type: ignore[return-value]


def _live_periods(val: int, mat: IntArray, months: IntArray, first: IntArray | None = None,
                  issue: IntArray | None = None, ids: list[str] | None = None) -> tuple[IntArray, IntArray, IntArray]:
    """Coupon periods paid after the valuation date: ``(owner, pay day, accrual start day)``.

    Regular periods run back from the maturity (:func:`_regular_schedule`). A row with an
    irregular first coupon still to come (``first > val``; ``-1`` = none) pays it on ``first``
    with its accrual from ``issue`` (short or long), and nothing before it; ``first`` must lie on
    the backward schedule (the contract's rule), else a ``ValueError`` names the position.
    """
    owner, _, date = _regular_schedule(val, mat, months)
    if len(owner) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e
    # accrual start of the coupon paid at date k is date k+1 (the next entry of the same owner)
    pay, start = date[:-1], date[1:].copy()
    o = owner[:-1]
    live = (o == owner[1:]) & (pay > val)
    if first is not None and (first > val).any():
        f_o, i_o = first[o], issue[o] if issue is not None else np.full(len(o), -1)
        pending = f_o > val
        live &= ~pending | (pay >= f_o)
        at_first = pending & (pay == f_o)
        start[at_first] = i_o[at_first]
        rows = np.flatnonzero(first > val)
        found = np.zeros(len(mat), dtype=bool)
        found[o[at_first & live]] = True
        bad_mask = ~found[rows]
        if issue is None:
            bad_mask[:] = True
        else:
            bad_mask |= (issue[rows] < 0) | (issue[rows] >= first[rows])
        bad = rows[bad_mask]
        if len(bad):
            names = [ids[i] for i in bad[:5]] if ids else list(bad[:5])
            raise ValueError(f"first_coupon_date of {len(bad)} position(s) {names} is not on the schedule running back "
                             "from the maturity, or issue_date is missing or not before it")
    return o[live], pay[live], start[live]


def months_between(start_days: int, end_days: int) -> int:
    """Whole calendar months from one date (days since 1970) to a later one (``add_months`` inverse)."""
    a = (np.datetime64("1970-01-01", "D") + np.timedelta64(int(start_days), "D")).astype("datetime64[M]").astype(int)
    b = (np.datetime64("1970-01-01", "D") + np.timedelta64(int(end_days), "D")).astype("datetime64[M]").astype(int)
    m = int(b - a)
    while m > 0 and add_months(np.array([start_days]), np.array([m]))[0] > end_days:
        m -= 1
    return m


def _move_dated_terms(first: IntArray, issue: IntArray, as_of: int, val: int, maturity_years: FloatArray,
                      months: IntArray) -> tuple[IntArray, IntArray]:
    """A book's first coupon and issue dates moved from its as-of date to the valuation date.

    The first coupon keeps its place on the schedule (the ``k``-th date back from the maturity,
    which is ``maturity_years`` after either date), the issue date its distance to it; other
    issue dates move by the days between the two dates.
    """
    shift = val - as_of
    issue_out = np.where(issue >= 0, issue + shift, -1)
    first_out = np.full(len(first), -1, dtype=np.int64)
    rows = np.flatnonzero((first >= 0) & (months > 0))
    if len(rows) == 0:
        return first_out, issue_out
    term = days_from_years(np.nan_to_num(maturity_years[rows], nan=0.0))
    mat_a, mat_v, step = as_of + term, val + term, months[rows]
    k = np.zeros(len(rows), dtype=np.int64)
    for _ in range(480):  # the schedule index of the first coupon, walking back from the maturity
        before = add_months(mat_a, -k * step) > first[rows]
        if not before.any():
            break
        k = k + before
    on = add_months(mat_a, -k * step) == first[rows]
    moved = add_months(mat_v, -k * step)
    first_out[rows] = np.where(on, moved, first[rows] + shift)  # off-schedule dates stay off (and are refused)
    has_issue = issue[rows] >= 0
    issue_out[rows] = np.where(on & has_issue, moved - (first[rows] - issue[rows]), issue_out[rows])
    return first_out, issue_out


def _fixed_leg(legs: _Legs, rows: IntArray, curve: IntArray, val: int, mat: IntArray, months: IntArray,
               rate: FloatArray, scale: FloatArray, spread: FloatArray, redemption: bool,
               first: IntArray | None = None, issue: IntArray | None = None, ids: list[str] | None = None) -> IntArray:
    """Append a fixed leg (ACT/365F coupons, optional par redemption); returns each row's first pay day."""
    nxt = np.full(len(mat), -1, dtype=np.int64)
    o, pay, start = _live_periods(val, mat, months, first, issue, ids)
    if len(o) == 0 and not redemption:
        return nxt
    tau = (pay - start) / DAYS_PER_YEAR
    t = (pay - val) / DAYS_PER_YEAR
    amount = scale[o] * ((1.0 + rate[o] * tau) - 1.0) * np.exp(-spread[o] * t)
    d = pay - val
    legs.add(rows[o], curve[o], d, d, amount)
    if redemption:
        live_m = mat > val
        tm = (mat[live_m] - val) / DAYS_PER_YEAR
        dm = mat[live_m] - val
        legs.add(rows[live_m], curve[live_m], dm, dm, scale[live_m] * np.exp(-spread[live_m] * tm))
    first_day = np.full(len(mat), np.iinfo(np.int64).max)
    np.minimum.at(first_day, o, d)
    return np.where(first_day == np.iinfo(np.int64).max, -1, first_day)


def _float_leg(legs: _Legs, rows: IntArray, curve: IntArray, val: int, mat: IntArray, months: IntArray,
               margin: FloatArray, scale: FloatArray, spread: FloatArray, redemption: bool,
               base: ZeroCurve, first: IntArray | None = None, issue: IntArray | None = None,
               ids: list[str] | None = None) -> tuple[IntArray, FloatArray]:
    """Append a floating leg; returns each row's first pay day and the fixing of its current period."""
    nxt = np.full(len(mat), -1, dtype=np.int64)
    fix = np.full(len(mat), np.nan)
    o, pay, start = _live_periods(val, mat, months, first, issue, ids)
    if len(o) == 0 and not redemption:
        return nxt, fix
    tau = (pay - start) / DAYS_PER_YEAR
    t = (pay - val) / DAYS_PER_YEAR
    d = pay - val
    ds = np.exp(-spread[o] * t)
    forecast = start >= val
    # forecast periods: N DF(a) E(e)  +  N (m tau - 1) DF_d(e)
    f = forecast
    legs.add(rows[o[f]], curve[o[f]], start[f] - val, d[f], scale[o[f]] * ds[f])
    legs.add(rows[o[f]], curve[o[f]], d[f], d[f], scale[o[f]] * (margin[o[f]] * tau[f] - 1.0) * ds[f])
    # the running period fixed in the past: a known amount
    g = ~forecast
    fixing = current_fixing(base, d[g])
    fix[o[g]] = fixing
    legs.add(rows[o[g]], curve[o[g]], d[g], d[g], scale[o[g]] * (fixing + margin[o[g]]) * tau[g] * ds[g])
    if redemption:
        live_m = mat > val
        tm = (mat[live_m] - val) / DAYS_PER_YEAR
        dm = mat[live_m] - val
        legs.add(rows[live_m], curve[live_m], dm, dm, scale[live_m] * np.exp(-spread[live_m] * tm))
    first_day = np.full(len(mat), np.iinfo(np.int64).max)
    np.minimum.at(first_day, o, d)
    return np.where(first_day == np.iinfo(np.int64).max, -1, first_day), fix


# --------------------------------------------------------------------------- prepared book
@dataclass
class Block:
    """Dense cash-flow block: positions ``rows`` on columns ``cols`` of spread curve ``curve``."""

    curve: int
    rows: IntArray
    cols: IntArray  # dense: indices into the curve's column list; sparse: CSR column index per entry
    coef: FloatArray  # dense: [len(cols), len(rows)]; sparse: CSR values per entry
    segment: int
    crow: IntArray | None = None  # CSR row pointers when the block is sparse

    @property
    def sparse(self) -> bool:
        return self.crow is not None


@dataclass
class PreparedBook:
    """Pricing terms of a book against one base curve (numpy; device- and dtype-free).

    Attributes
    ----------
    n_positions, position_ids, segments, segment_codes
        Positions in frame order; segment names and each position's code.
    factor_ids
        Factor columns the scenario matrix must have, in order (the 11 rate knots first).
    curve
        Base zero curve (valuation date, knots).
    spread_curves
        Spread-curve ids (``""`` = Treasury discounting); column lists per curve:
        ``col_p_idx[c]`` (index into ``time_days``), ``col_t_d[c]`` (discount time, years).
    time_days
        Distinct projection days of all columns (the grid the zero curve is interpolated on).
    blocks
        Dense cash-flow blocks.
    equity, fx, option, loan, mbs
        Element-wise parameters of the other types (dicts of arrays, ``rows`` = positions).
    base_spread_bp, fixings
        Per position: base spread used (bonds/FRNs) and current-period fixing (FRNs, swaps), for
        reports and the QuantLib oracle.
    first_coupon_days, issue_days
        Per position, the irregular first coupon and issue dates the schedules use (days since
        1970-01-01, ``-1`` none), after moving a book's dates to the valuation date (``book_as_of``).
    optional_factors
        Factors of :attr:`factor_ids` a ShockSet may lack (foreign curves' ``rates.swap.*``): they
        then stay at zero shock and the stress result names them.
    """

    n_positions: int
    position_ids: list[str]
    segments: list[str]
    segment_codes: IntArray
    instrument_types: npt.NDArray[np.object_]
    factor_ids: list[str]
    curve: ZeroCurve
    spread_curves: list[str]
    curve_factor_col: IntArray
    time_days: IntArray
    col_p_idx: list[IntArray]
    col_t_d: list[FloatArray]
    blocks: list[Block]
    equity: dict[str, Any]
    fx: dict[str, Any]
    option: dict[str, Any]
    loan: dict[str, Any]
    mbs: dict[str, Any]
    base_spread_bp: FloatArray
    fixings: FloatArray
    n_cash_flows: int = 0
    optional_factors: list[str] = field(default_factory=list)
    first_coupon_days: IntArray | None = None
    issue_days: IntArray | None = None

    @property
    def market_rows(self) -> IntArray:
        """Positions revalued by the market kernels (all but loans: equities, FX, options, MBS included)."""
        return np.flatnonzero(self.instrument_types != "loan")


def _col(frame: pd.DataFrame, name: str, default: float = np.nan) -> FloatArray:
    if name not in frame.columns:
        return np.full(len(frame), default)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _days(frame: pd.DataFrame, name: str) -> IntArray:
    """Days since 1970-01-01 of a date column (``-1`` for NULL or a missing column)."""
    if name not in frame.columns:
        return np.full(len(frame), -1, dtype=np.int64)
    d = pd.to_datetime(frame[name], errors="coerce")
    days = (d.to_numpy(dtype="datetime64[D]") - np.datetime64("1970-01-01", "D")).astype(np.int64)
    return np.where(d.isna().to_numpy(), -1, days)


def _str(frame: pd.DataFrame, name: str) -> npt.NDArray[np.object_]:
    if name not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    s = frame[name].astype(object)
    return np.asarray(s.where(s.notna(), None).to_numpy(), dtype=object)


def _require(frame: pd.DataFrame, mask: npt.NDArray[np.bool_], columns: list[str], kind: str) -> None:
    for c in columns:
        vals = frame.loc[mask, c] if c in frame.columns else pd.Series([np.nan] * int(mask.sum()))
        bad = vals.isna().to_numpy()
        if bad.any():
            ids = frame.loc[mask, "position_id"].to_numpy()[bad][:5] if "position_id" in frame.columns else []
            raise ValueError(f"{kind}: column {c!r} is NULL for {int(bad.sum())} position(s), e.g. {list(ids)}")


def prepare_book(positions: pd.DataFrame, curve: ZeroCurve, *, min_block: int = 32,
                 max_block: int = 8192, min_density: float = 0.3, mortgage_rate_pct: float | None = None,
                 book_as_of: object = None, reference_date: object = None) -> PreparedBook:
    """Turn a positions frame (portfolio contract columns) into pricing terms against ``curve``.

    Parameters
    ----------
    positions
        One row per position; see ``data_contracts/datasets/portfolio_positions.yaml``.
    curve
        Base zero curve; its valuation date is the pricing date.
    min_block, max_block, min_density
        Blocking of the cash-flow map: blocks grow (in coupon-date order) while smaller than
        ``min_block`` positions, or while their dense fill stays at or above ``min_density`` and
        they hold fewer than ``max_block`` positions. This only trades memory for speed; values
        do not depend on it.
    book_as_of
        The date the book's remaining terms (``maturity_years``, ``expiry_years``) are measured
        from, when it is not the valuation date (default: ``positions.attrs["as_of"]`` when set, else
        the valuation date). The book's dated terms (``issue_date``, ``first_coupon_date``) are
        moved by the same number of days as the valuation date differs from it, so that they keep
        their place in the schedules (a book as of 2025-12-31 valued at a 2024Q4 jump-off).
    reference_date
        The date the remaining terms count from when the book is priced later than that (an
        aged book: :mod:`~risk_dagster.engine.aging`): maturities and expiries are fixed dates
        ``reference + term``; flows on or before the curve's valuation date are past, options
        and FX forwards that expired or matured are worth 0 here (their settlement is the
        caller's), MBS pools are aged by the whole months elapsed at base prepayment speeds.
        Default: the valuation date.
    mortgage_rate_pct
        Base primary 30y mortgage rate (percent) the MBS pools' refinancing incentive starts from
        (default: the last shipped FRED-QD ``MORTGAGE30US``, :func:`~risk_dagster.engine.valuation.base_mortgage_rate`).
    """
    frame = positions.reset_index(drop=True)
    n = len(frame)
    val = curve.valuation_days
    itype = _str(frame, "instrument_type")
    unknown = sorted({str(x) for x in itype} - {*CASH_FLOW_TYPES, *ELEMENTWISE_TYPES, "loan"})
    if unknown:
        raise ValueError(f"unknown instrument_type(s) {unknown}")
    segment = _str(frame, "segment")
    seg_names_arr, seg_code = np.unique(segment.astype(str), return_inverse=True)
    seg_names = [str(s) for s in seg_names_arr]
    seg_code = seg_code.astype(np.int64)
    pids = [str(x) for x in (frame["position_id"] if "position_id" in frame.columns else range(n))]
    notional = _col(frame, "notional")
    direction = _col(frame, "direction", 1.0)
    scale = notional * direction
    ref = to_days(reference_date) if reference_date is not None else val
    if ref > val:
        raise ValueError(f"reference_date {reference_date} is after the valuation date {curve.valuation_date}")
    mat_days = ref + days_from_years(np.nan_to_num(_col(frame, "maturity_years"), nan=0.0))
    freq = _col(frame, "coupon_frequency")
    months = np.where(np.isfinite(freq) & (freq > 0), np.rint(12.0 / np.where(freq > 0, freq, 1.0)), 0).astype(np.int64)
    coupon = _col(frame, "coupon_rate")
    margin = np.nan_to_num(_col(frame, "spread_bp"), nan=0.0) / 1e4
    rating = _str(frame, "rating")
    credit = _str(frame, "credit_curve")
    as_of = book_as_of if book_as_of is not None else positions.attrs.get("as_of")
    first_coupon = _days(frame, "first_coupon_date")
    issue_day = _days(frame, "issue_date")
    if as_of is not None and to_days(as_of) != ref:
        first_coupon, issue_day = _move_dated_terms(first_coupon, issue_day, to_days(as_of), ref,
                                                    _col(frame, "maturity_years"), months)

    # spread curves: "" (Treasury) + the credit factors used by bonds and FRNs
    is_bond = np.isin(itype, ["fixed_bond", "frn"])
    for kind, cols in (("fixed_bond", ["maturity_years", "coupon_rate", "coupon_frequency", "notional"]),
                       ("frn", ["maturity_years", "coupon_frequency", "spread_bp", "notional"]),
                       ("irs", ["maturity_years", "coupon_rate", "coupon_frequency", "notional"])):
        _require(frame, itype == kind, cols, kind)
    bond_curves = sorted({str(c) for c in credit[is_bond] if c is not None})
    spread_curves = [_NO_CURVE, *bond_curves]
    code_of = {c: i for i, c in enumerate(spread_curves)}
    curve_code = np.where(is_bond, pd.Series(credit).map(code_of).fillna(0).to_numpy(), 0).astype(np.int64)
    rating_bp = {r: base_spread_bp(r) for r in {x for x in rating[is_bond]}}
    base_spread = np.where(is_bond & (segment != "ust"), pd.Series(rating).map(rating_bp).fillna(0.0).to_numpy(), 0.0)
    # a euro sovereign's bond: its own spread over the EUR swap curve at the EBA starting point, not a rating's
    base_spread = base_spread.astype(np.float64)
    sovereign = is_bond & np.array([str(c).startswith(SOVEREIGN_CURVE_PREFIX) for c in credit], dtype=bool)
    if sovereign.any():
        from risk_dagster.translate.sovereign import sovereign_base_spread_bp

        base_spread[sovereign] = [sovereign_base_spread_bp(str(c)) for c in credit[sovereign]]
    spread = base_spread / 1e4

    legs = _Legs()
    first_pay = np.full(n, -1, dtype=np.int64)
    fixings = np.full(n, np.nan)
    rows = np.flatnonzero(itype == "fixed_bond")
    if len(rows):
        first_pay[rows] = _fixed_leg(legs, rows, curve_code[rows], val, mat_days[rows], months[rows],
                                     coupon[rows], scale[rows], spread[rows], redemption=True,
                                     first=first_coupon[rows], issue=issue_day[rows], ids=[pids[i] for i in rows])
    rows = np.flatnonzero(itype == "frn")
    if len(rows):
        first_pay[rows], fixings[rows] = _float_leg(legs, rows, curve_code[rows], val, mat_days[rows], months[rows],
                                                    margin[rows], scale[rows], spread[rows], True, curve,
                                                    first=first_coupon[rows], issue=issue_day[rows],
                                                    ids=[pids[i] for i in rows])
    rows = np.flatnonzero(itype == "irs")
    if len(rows):
        zero_c = np.zeros(len(rows), dtype=np.int64)
        zero_s = np.zeros(len(rows))
        first_pay[rows] = _fixed_leg(legs, rows, zero_c, val, mat_days[rows], months[rows],
                                     coupon[rows], scale[rows], zero_s, redemption=False)
        _, fixings[rows] = _float_leg(legs, rows, zero_c, val, mat_days[rows],
                                      np.full(len(rows), FLOAT_LEG_MONTHS, dtype=np.int64),
                                      margin[rows], -scale[rows], zero_s, False, curve)
    pos, cc, pd_, dd, coef = legs.concat()
    # on the Treasury curve there is no spread shock: the column (t_p, t_d) is DF(t_p)
    dd = np.where(cc == 0, pd_, dd)
    time_days, p_idx = np.unique(pd_, return_inverse=True) if len(pd_) else (np.zeros(0, np.int64), pd_)
    col_key = (cc << 42) | (p_idx.astype(np.int64) << 21) | dd
    ukeys, col_of = np.unique(col_key, return_inverse=True)
    # per-curve column lists
    ucurve = ukeys >> 42
    col_p_idx, col_t_d, local = [], [], np.zeros(len(ukeys), dtype=np.int64)
    for c in range(len(spread_curves)):
        sel = np.flatnonzero(ucurve == c)
        local[sel] = np.arange(len(sel))
        col_p_idx.append(((ukeys[sel] >> 21) & ((1 << 21) - 1)).astype(np.int64))
        col_t_d.append((ukeys[sel] & ((1 << 21) - 1)).astype(np.float64) / DAYS_PER_YEAR)
    # merge duplicate (position, column) entries (e.g. last coupon + redemption)
    pair = pos.astype(np.int64) * max(len(ukeys), 1) + col_of
    upair, inv = np.unique(pair, return_inverse=True)
    coef_sum = np.bincount(inv, weights=coef, minlength=len(upair))
    e_pos = upair // max(len(ukeys), 1)
    e_col = upair % max(len(ukeys), 1)
    blocks = _make_blocks(e_pos, e_col, coef_sum, ucurve, local, itype, seg_code, months, first_pay,
                          min_block, max_block, min_density)

    # element-wise types
    equity_f, fx_f = _str(frame, "equity_factor"), _str(frame, "fx_factor")
    # the first K columns are the pricing curve's knots (the Treasury's for a USD book, the EUR swap curve's for a EUR one)
    factor_ids: list[str] = list(curve.factor_ids) + bond_curves
    def fcol(fid: str) -> int:
        if fid not in factor_ids:
            factor_ids.append(fid)
        return factor_ids.index(fid)

    rows = np.flatnonzero(itype == "equity")
    _require(frame, itype == "equity", ["notional", "equity_factor"], "equity")
    equity = {"rows": rows, "scale": scale[rows], "factor": np.array([fcol(str(f)) for f in equity_f[rows]], dtype=np.int64)}

    rows = np.flatnonzero(itype == "fx_forward")
    _require(frame, itype == "fx_forward", ["notional", "fx_factor", "forward_rate", "spot", "maturity_years"], "fx_forward")
    spot = _col(frame, "spot")
    fwd = _col(frame, "forward_rate")
    sign = np.array([fx_quote_sign(str(f)) for f in fx_f[rows]], dtype=np.float64)
    p0 = spot[rows] ** sign
    k_usd = fwd[rows] ** sign
    fx_live = mat_days[rows] > val  # a forward that matured by the valuation date is worth 0 here
    t_fx = np.maximum(mat_days[rows] - val, 1) / DAYS_PER_YEAR
    ccy = _str(frame, "currency")[rows]
    currencies = sorted({str(c) for c in ccy})
    foreign = {c: foreign_zero_curve(c, curve) for c in currencies}
    optional: set[str] = set()
    ccy_factor_cols = []
    for c in currencies:
        ids = foreign_factor_ids(c)
        optional.update(ids)
        ccy_factor_cols.append([fcol(f) for f in ids])
    fx = {"rows": rows, "scale": scale[rows] * fx_live, "sign": sign, "k_over_p0": k_usd / p0,
          "t": t_fx, "days": np.maximum(mat_days[rows] - val, 1), "live": fx_live, "W": interpolation_matrix(curve.knot_times, t_fx),
          "factor": np.array([fcol(str(f)) for f in fx_f[rows]], dtype=np.int64),
          "currency": np.array([currencies.index(str(c)) for c in ccy], dtype=np.int64),
          "currencies": currencies, "foreign_curves": [foreign[c] for c in currencies],
          "currency_factor_cols": np.array(ccy_factor_cols, dtype=np.int64).reshape(len(currencies), len(RATE_FACTORS))}

    rows = np.flatnonzero(itype == "equity_option")
    _require(frame, itype == "equity_option",
             ["notional", "equity_factor", "strike", "option_type", "expiry_years", "implied_vol", "spot"], "equity_option")
    otype = _str(frame, "option_type")[rows]
    bad = [t for t in otype if t not in ("call", "put")]
    if bad:
        raise ValueError(f"equity_option: option_type must be call or put, got {sorted(set(map(str, bad)))}")
    exp_abs = ref + np.maximum(days_from_years(_col(frame, "expiry_years")[rows]), 1)
    opt_live = exp_abs > val  # an option that expired by the valuation date is worth 0 here
    exp_days = np.maximum(exp_abs - val, 1)
    t_opt = exp_days / DAYS_PER_YEAR
    div = _col(frame, "dividend_yield")[rows]
    opt_factors = [str(f) for f in equity_f[rows]]
    option = {"rows": rows, "units": scale[rows] / spot[rows] * opt_live, "live": opt_live, "spot": spot[rows], "strike": _col(frame, "strike")[rows],
              "t": t_opt, "days": exp_days, "vol": _col(frame, "implied_vol")[rows],
              "is_call": np.array([t == "call" for t in otype], dtype=bool),
              "W": interpolation_matrix(curve.knot_times, t_opt),
              "factor": np.array([fcol(f) for f in opt_factors], dtype=np.int64),
              "dividend_yield": np.nan_to_num(div, nan=0.0), "no_dividend": int(np.isnan(div).sum()),
              "vol_beta": vol_shock_beta(t_opt, opt_factors),
              "vix": fcol(VIX_FACTOR) if len(rows) else -1}

    rows = np.flatnonzero(itype == "agency_mbs")
    _require(frame, itype == "agency_mbs", ["notional", "coupon_rate", "wac", "maturity_years", "loan_age_months"],
             "agency_mbs")
    if len(rows):
        if mortgage_rate_pct is None:
            from risk_dagster.engine.valuation import base_mortgage_rate

            mortgage_rate_pct = base_mortgage_rate()[0]
        wam = np.maximum(np.rint(_col(frame, "maturity_years")[rows] * 12.0), 1).astype(np.int64)
        age = np.rint(_col(frame, "loan_age_months")[rows]).astype(np.int64)
        face = notional[rows].copy()
        elapsed = months_between(ref, val)
        if elapsed > 0:  # aged pools: balance after `elapsed` months at base speeds
            from risk_dagster.engine.mbs import mbs_cash_flows

            cf = mbs_cash_flows(face, coupon[rows], _col(frame, "wac")[rows], wam, age, float(mortgage_rate_pct) / 100.0,
                                model=ENGINE_PREPAYMENT, n_months=int(wam.max()))
            k = min(elapsed, cf.balance.shape[1])
            face = np.where(wam > elapsed, cf.ending_balance[:, k - 1], 0.0)
            wam, age = np.maximum(wam - elapsed, 1), age + elapsed
        pay_days = add_months(np.full(int(wam.max()), val), np.arange(1, int(wam.max()) + 1)) - val
        t_m = pay_days / DAYS_PER_YEAR
        mbs = {"rows": rows, "notional": face, "direction": direction[rows], "coupon": coupon[rows],
               "wac": _col(frame, "wac")[rows], "wam": wam, "age": age, "t": t_m,
               "W": interpolation_matrix(curve.knot_times, t_m), "oas": np.full(len(rows), MBS_STATIC_SPREAD_BP / 1e4),
               "mortgage_rate": float(mortgage_rate_pct) / 100.0, "mortgage": fcol(MORTGAGE_FACTOR),
               "ust10": fcol(TREASURY_10Y_FACTOR)}
    else:
        mbs = {"rows": rows}

    rows = np.flatnonzero(itype == "loan")
    _require(frame, itype == "loan", ["pd", "lgd", "ead", "maturity_years"], "loan")
    coll = _str(frame, "collateral_factor")[rows]
    loan_freq = np.nan_to_num(_col(frame, "coupon_frequency")[rows], nan=12.0)
    loan = {"rows": rows, "pd": _col(frame, "pd")[rows], "lgd": _col(frame, "lgd")[rows],
            "ead": _col(frame, "ead")[rows], "maturity": _col(frame, "maturity_years")[rows],
            "amortizing": np.isin(segment[rows], AMORTIZING_LOAN_SEGMENTS),
            "rate_per_payment": np.nan_to_num(_col(frame, "loan_rate")[rows], nan=0.0) / loan_freq,
            "payments_per_year": loan_freq,
            "credit": fcol(LOAN_CREDIT_FACTOR) if len(rows) else -1,
            "collateral": np.array([fcol(str(c)) if c is not None else -1 for c in coll], dtype=np.int64)}

    curve_factor_col = np.array([-1] + [factor_ids.index(c) for c in bond_curves], dtype=np.int64)
    return PreparedBook(
        optional_factors=sorted(optional), first_coupon_days=first_coupon, issue_days=issue_day,
        n_positions=n, position_ids=pids, segments=seg_names, segment_codes=seg_code, instrument_types=itype,
        factor_ids=factor_ids, curve=curve, spread_curves=spread_curves, curve_factor_col=curve_factor_col,
        time_days=time_days.astype(np.int64), col_p_idx=col_p_idx, col_t_d=col_t_d, blocks=blocks,
        equity=equity, fx=fx, option=option, loan=loan, mbs=mbs, base_spread_bp=base_spread, fixings=fixings,
        n_cash_flows=int(len(coef)),
    )


def _make_blocks(e_pos: IntArray, e_col: IntArray, coef: FloatArray, ucurve: IntArray, local: IntArray,
                 itype: npt.NDArray[np.object_], seg: IntArray, months: IntArray, first_pay: IntArray,
                 min_block: int, max_block: int, min_density: float) -> list[Block]:
    """Group positions into dense blocks of shared columns (exact; only speed depends on it)."""
    if len(e_pos) == 0:
        return []
    positions = np.unique(e_pos)
    pcurve = np.zeros(len(itype), dtype=np.int64)
    pcurve[e_pos] = ucurve[e_col]
    type_code = np.unique(itype.astype(str), return_inverse=True)[1]
    # order: (curve, segment, type, frequency, first pay day): positions with the same coupon dates adjoin
    order = np.lexsort((first_pay[positions], months[positions], type_code[positions], seg[positions], pcurve[positions]))
    positions = positions[order]
    rank = np.full(len(itype), -1, dtype=np.int64)
    rank[positions] = np.arange(len(positions))
    eo = np.argsort(rank[e_pos], kind="stable")
    e_pos, e_col, coef = e_pos[eo], e_col[eo], coef[eo]
    bounds = np.searchsorted(rank[e_pos], np.arange(len(positions) + 1))
    gkey = np.stack([pcurve[positions], seg[positions], type_code[positions], months[positions], first_pay[positions]], 1)
    new_group = np.ones(len(positions), dtype=bool)
    new_group[1:] = (gkey[1:] != gkey[:-1]).any(axis=1)
    hard = np.ones(len(positions), dtype=bool)  # a block never spans curve/segment
    hard[1:] = (gkey[1:, :2] != gkey[:-1, :2]).any(axis=1)
    starts = list(np.flatnonzero(new_group)) + [len(positions)]

    blocks: list[Block] = []
    sparse_pool: list[tuple[int, int]] = []
    cur_lo, cur_cols, cur_nnz = None, np.zeros(0, np.int64), 0

    def close(lo: int, hi: int) -> None:
        if hi - lo < min_block:
            sparse_pool.append((lo, hi))  # too few positions share these dates: sparse
            return
        a, b = bounds[lo], bounds[hi]
        cols, cinv = np.unique(e_col[a:b], return_inverse=True)
        mat = np.zeros((len(cols), hi - lo))
        np.add.at(mat, (cinv, rank[e_pos[a:b]] - lo), coef[a:b])
        c = int(ucurve[cols[0]])
        blocks.append(Block(curve=c, rows=positions[lo:hi], cols=local[cols], coef=mat, segment=int(seg[positions[lo]])))

    for g in range(len(starts) - 1):
        lo, hi = starts[g], starts[g + 1]
        gcols = np.unique(e_col[bounds[lo]:bounds[hi]])
        gnnz = int(bounds[hi] - bounds[lo])
        if cur_lo is not None and not hard[lo]:
            union = np.union1d(cur_cols, gcols)
            n_new = hi - cur_lo
            if n_new <= max_block and (cur_nnz + gnnz) / (n_new * len(union)) >= min_density:
                cur_cols, cur_nnz = union, cur_nnz + gnnz
                continue
        if cur_lo is not None:
            close(cur_lo, lo)
        cur_lo, cur_cols, cur_nnz = lo, gcols, gnnz
    if cur_lo is not None:
        close(cur_lo, len(positions))

    # the sparse pool: one CSR matrix per (curve, segment), positions x the curve's columns
    if sparse_pool:
        idx = np.concatenate([np.arange(lo, hi) for lo, hi in sparse_pool])
        pc, ps = pcurve[positions[idx]], seg[positions[idx]]
        for c, sg in sorted(set(zip(pc.tolist(), ps.tolist()))):
            sel = idx[(pc == c) & (ps == sg)]
            ent = np.concatenate([np.arange(bounds[i], bounds[i + 1]) for i in sel])
            counts = bounds[sel + 1] - bounds[sel]
            crow = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            blocks.append(Block(curve=int(c), rows=positions[sel], cols=local[e_col[ent]], coef=coef[ent],
                                segment=int(sg), crow=crow))
    return blocks


# --------------------------------------------------------------------------- torch runtime
class TorchBook:
    """A :class:`PreparedBook` on a device in a pricing dtype; evaluates scenario chunks.

    Parameters
    ----------
    book
        Prepared terms.
    dtype, device
        Pricing dtype (float64/float32) and device.
    """

    def __init__(self, book: PreparedBook, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu") -> None:
        self.book = book
        self.dtype = dtype
        self.device = torch.device(device)

        def T(x: Any, dt: torch.dtype | None = None) -> torch.Tensor:
            return torch.as_tensor(np.asarray(x), dtype=dt or dtype, device=self.device)

        self._T = T
        c = book.curve
        # par-yield shocks, re-bootstrapped per scenario in float64 (curves.ParBootstrap)
        self.bootstrap = ParBootstrap(c)
        self.base_par = torch.as_tensor(self.bootstrap.base_par_pct, dtype=torch.float64, device=self.device)
        self.base_z64 = self.bootstrap.zero_rates(self.base_par.unsqueeze(0))[0]
        self.base_z = self.base_z64.to(dtype)
        self.WT = T(interpolation_matrix(c.knot_times, book.time_days / DAYS_PER_YEAR).T.copy())  # [G, K]
        self.t_grid = T(book.time_days / DAYS_PER_YEAR)
        self.col_p = [T(x, torch.long) for x in book.col_p_idx]
        self.col_td = [T(x) for x in book.col_t_d]
        self.curve_col = [int(x) for x in book.curve_factor_col]
        self.blocks = []
        for b in book.blocks:
            if b.sparse:
                with warnings.catch_warnings():  # "sparse CSR support is in beta": the product we use is stable
                    warnings.simplefilter("ignore", UserWarning)
                    mat = torch.sparse_csr_tensor(T(b.crow, torch.long), T(b.cols, torch.long), T(b.coef),
                                                  size=(len(b.rows), len(book.col_p_idx[b.curve])))
                self.blocks.append((b.curve, None, mat, b))
            else:
                self.blocks.append((b.curve, T(b.cols, torch.long), T(b.coef.T.copy()), b))
        self.el = {k: (T(v, torch.long) if k in ("rows", "factor") else T(v)) for k, v in book.equity.items()}
        self.fx = {k: (T(v, torch.long) if k in ("rows", "factor", "days", "currency", "currency_factor_cols") else T(v))
                   for k, v in book.fx.items() if k not in ("currencies", "foreign_curves")}
        f = book.fx
        # one foreign curve per currency, shocked by its own par factors (foreign_curves)
        self.foreign = []
        for c, fc in enumerate(f["foreign_curves"]):
            pb = ParBootstrap(fc)
            par0 = torch.as_tensor(pb.base_par_pct, dtype=torch.float64, device=self.device)
            sel = np.flatnonzero(f["currency"] == c)
            t_c = f["t"][sel]
            self.foreign.append({
                "bootstrap": pb, "par0": par0, "z0": pb.zero_rates(par0.unsqueeze(0))[0],
                "cols": T(f["currency_factor_cols"][c], torch.long), "sel": T(sel, torch.long),
                "W": T(interpolation_matrix(fc.knot_times, t_c)), "t": T(t_c),
                "df0": T(fc.discount(t_c)),
            })
        self.fx["df0"] = T(book.curve.discount(f["t"]) if len(f["rows"]) else np.zeros(0))
        dff0 = np.zeros(len(f["rows"]))
        for c, fc in enumerate(f["foreign_curves"]):
            sel = f["currency"] == c
            dff0[sel] = fc.discount(f["t"][sel])
        self.fx["dff0"] = T(dff0)  # base foreign discount factors
        self.opt = {k: (T(v, torch.long) if k in ("rows", "factor", "days") else
                        T(v, torch.bool) if k == "is_call" else T(v) if k != "vix" else v) for k, v in book.option.items()}
        o = book.option
        # option constants of the Black-Scholes kernel: log(S0 / K), sqrt(T), +1 call / -1 put
        self.opt["log_moneyness"] = T(np.log(o["spot"] / o["strike"]) if len(o["rows"]) else np.zeros(0))
        self.opt["sqrt_t"] = T(np.sqrt(o["t"]))
        self.opt["w"] = T(np.where(o["is_call"], 1.0, -1.0) if len(o["rows"]) else np.zeros(0))
        self.mbs = {k: (T(v, torch.long) if k in ("wam", "age") else T(v)) for k, v in book.mbs.items()
                    if k not in ("rows", "mortgage_rate", "mortgage", "ust10")}
        self.opt["div_disc"] = T(np.exp(-o["dividend_yield"] * o["t"]))  # exp(-q T): dividends to expiry
        self.opt["log_moneyness"] = self.opt["log_moneyness"] - T(o["dividend_yield"] * o["t"])
        self._agg: dict[str, Any] | None = None
        self._nodes: list[dict[str, Any]] | None = None

    # ------------------------------------------------------------------ blocks of values
    def knot_rates64(self, X: torch.Tensor) -> torch.Tensor:
        """``[C, K]`` float64 zero rates at the knots (decimal), re-bootstrapped from the par yields
        moved by the ``rates.ust.*`` shocks (bp) of ``X`` (see :mod:`~risk_dagster.engine.curves`)."""
        par = self.base_par.unsqueeze(0) + X[:, : len(RATE_FACTORS)].to(torch.float64) / 100.0
        return self.bootstrap.zero_rates(par)

    def knot_rates(self, X: torch.Tensor) -> torch.Tensor:
        """``[C, K]`` shocked zero rates at the knots (decimal) in the pricing dtype (:meth:`knot_rates64`)."""
        return self.knot_rates64(X).to(self.dtype)

    def values(self, X: torch.Tensor) -> list[tuple[np.ndarray, torch.Tensor, Any]]:
        """Values of every market position in each scenario of the chunk.

        Parameters
        ----------
        X
            ``[C, F]`` factor shocks in :attr:`PreparedBook.factor_ids` order, pricing dtype.

        Returns
        -------
        list of (rows, values, segment)
            ``rows``: position indices (numpy); ``values``: ``[len(rows), C]`` (position-major, the
            layout of the cash-flow products) in the pricing dtype; ``segment``: an int (one
            segment for the whole block) or a ``[len(rows)]`` long tensor.
        """
        out: list[tuple[np.ndarray, torch.Tensor, Any]] = []
        zk = self.knot_rates(X)
        nodes = self._node_terms() if self.blocks else None
        if nodes is not None:
            # per curve: the discount factors at the Chebyshev nodes, [nodes, C], then [rows, nodes] @ that
            for a in nodes:
                lhs = zk if a["curve"] == 0 else torch.cat([zk, (X[:, self.curve_col[a["curve"]]] / 1e4).unsqueeze(1)], 1)
                d = torch.exp(a["WT"] @ lhs.T)
                v = a["A"] @ d  # [rows, C]
                if a["shift"] is not None:  # forecast rows: the spread over the period length, exp(-delta l)
                    delta = X[:, self.curve_col[a["curve"]]] / 1e4
                    v = v * torch.exp(a["shift"].unsqueeze(1) * delta.unsqueeze(0))
                pos = torch.zeros((len(a["positions"]), v.shape[1]), dtype=v.dtype, device=self.device)
                pos.index_add_(0, a["row_pos"], v)
                out.append((a["positions"], pos, a["segment"]))
        elif self.blocks:
            # [G, C] log discount factors of the shocked Treasury curve on the distinct times
            ldf = -(self.WT @ zk.T) * self.t_grid.unsqueeze(1)
            colv = []
            for c in range(len(self.col_p)):
                g = ldf.index_select(0, self.col_p[c])
                if c > 0:  # spread shock of curve c (bp -> decimal) over the discount time
                    g = g - self.col_td[c].unsqueeze(1) * (X[:, self.curve_col[c]] / 1e4).unsqueeze(0)
                colv.append(torch.exp(g))  # [K_c, C] column values, one exp per column
            for c, cols, coef, b in self.blocks:
                if cols is None:  # sparse: CSR [P_b, K_c] @ [K_c, C]
                    out.append((b.rows, coef @ colv[c], b.segment))
                else:  # dense: [P_b, K_b] @ [K_b, C]
                    out.append((b.rows, coef @ colv[c].index_select(0, cols), b.segment))
        book = self.book
        seg = lambda rows: torch.as_tensor(book.segment_codes[rows], device=self.device)  # noqa: E731
        if len(book.equity["rows"]):
            e = self.el
            out.append((book.equity["rows"], (e["scale"] * torch.exp(X.index_select(1, e["factor"]))).T,
                        seg(book.equity["rows"])))
        if len(book.fx["rows"]):
            f = self.fx
            df = torch.exp(-(zk @ f["W"]) * f["t"])
            dff = self.foreign_discount(X)
            r = X.index_select(1, f["factor"])
            v = f["scale"] * (torch.exp(f["sign"] * r) * dff - f["k_over_p0"] * df)
            out.append((book.fx["rows"], v.T, seg(book.fx["rows"])))
        if len(book.option["rows"]):
            out.append((book.option["rows"], self.option_values(X, zk).T, seg(book.option["rows"])))
        if len(book.mbs["rows"]):
            out.append((book.mbs["rows"], self.mbs_values(X, zk).T, seg(book.mbs["rows"])))
        return out

    def mbs_values(self, X: torch.Tensor, zk: torch.Tensor) -> torch.Tensor:
        """``[C, P_mbs]`` agency MBS pool values (:func:`risk_dagster.engine.mbs.mbs_values`).

        Monthly payments on ``valuation + j months`` (ACT/365F times), discounted on the shocked
        Treasury curve plus :data:`MBS_STATIC_SPREAD_BP` plus the agency spread shock
        ``d(mortgage30) - d(10y)`` (:func:`~risk_dagster.engine.mbs.agency_spread_shock`); the
        refinancing incentive against the base mortgage rate moved by the ``rates.mortgage30``
        shock, held flat over the pool's life; :data:`ENGINE_PREPAYMENT`.
        """
        b, m = self.book.mbs, self.mbs
        dm = X[:, b["mortgage"]] / 1e4
        spread = agency_spread_shock(dm, X[:, b["ust10"]] / 1e4)
        df = torch.exp(-(zk @ m["W"]) * m["t"])
        return mbs_values(m["notional"], m["coupon"], m["wac"], m["wam"], m["age"], m["direction"],
                          b["mortgage_rate"] + dm, df, m["t"], m["oas"], spread, model=ENGINE_PREPAYMENT)

    def foreign_discount(self, X: torch.Tensor, change: bool = False) -> torch.Tensor:
        """``[C, P_fx]`` foreign-currency discount factors to each FX forward's maturity.

        Each currency's curve re-bootstrapped from its par yields moved by its ``rates.swap.*``
        shocks. ``change``: the change from the base discount factor instead (formed without a
        subtraction of large numbers: ``DF0 expm1(-dz t)``).
        """
        out = torch.empty((X.shape[0], len(self.book.fx["rows"])), dtype=self.dtype, device=self.device)
        for c in self.foreign:
            shock = X.index_select(1, c["cols"])
            if not bool(shock.any()):  # no scenario moves this curve (none carries foreign rates yet)
                out[:, c["sel"]] = 0.0 if change else c["df0"]
                continue
            par = c["par0"].unsqueeze(0) + shock.to(torch.float64) / 100.0
            dz = (c["bootstrap"].zero_rates(par) - c["z0"].unsqueeze(0)).to(self.dtype)
            e = torch.expm1(-(dz @ c["W"]) * c["t"])
            out[:, c["sel"]] = c["df0"] * e if change else c["df0"] * (1.0 + e)
        return out

    def _node_terms(self) -> list[dict[str, Any]] | None:
        """Per-position cash-flow terms on the Chebyshev nodes (built once), or ``None`` when too large.

        Each position's value is ``sum_e coef_e D_c(t_e) R_l(delta)``; ``D_c`` (the shocked discount
        factor of its curve) is smooth between knots, so ``D_c(t_e) = sum_j L_ej D_c(tau_j)``
        (:func:`chebyshev_compression`) and the value is a dense ``[rows, nodes] @ [nodes, C]``
        product, rows = (position, forecast period length). Used when the dense terms hold at most
        :data:`NODE_TERMS_MAX` numbers (else the sparse cash-flow blocks: the same values to
        rounding, less memory).
        """
        if self._nodes is not None:
            return self._nodes or None
        book, T = self.book, self._T
        kt = book.curve.knot_times
        parts: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in book.col_p_idx]
        for b in book.blocks:  # entries (position, local column, coefficient) of every block
            if b.sparse:
                counts = np.diff(b.crow)
                parts[b.curve].append((np.repeat(b.rows, counts), np.asarray(b.cols), np.asarray(b.coef)))
            else:
                r, cidx = np.nonzero(b.coef.T)
                parts[b.curve].append((b.rows[r], np.asarray(b.cols)[cidx], b.coef.T[r, cidx]))
        plan = []
        size = 0
        for c, ps in enumerate(parts):
            if not ps:
                continue
            pos = np.concatenate([p[0] for p in ps])
            col = np.concatenate([p[1] for p in ps])
            coef = np.concatenate([p[2] for p in ps])
            p_idx = book.col_p_idx[c][col]
            ell = np.rint(book.col_t_d[c][col] * DAYS_PER_YEAR).astype(np.int64) - book.time_days[p_idx]
            g_idx, g_inv = np.unique(p_idx, return_inverse=True)
            tau, lag = chebyshev_compression(book.time_days[g_idx] / DAYS_PER_YEAR, kt)
            rkey, r_inv = np.unique(pos.astype(np.int64) * (1 << 20) + ell, return_inverse=True)
            size += len(rkey) * len(tau)
            plan.append((c, pos, coef, g_inv, tau, lag, rkey, r_inv))
        if size > NODE_TERMS_MAX:
            self._nodes = []
            return None
        out = []
        for c, pos, coef, g_inv, tau, lag, rkey, r_inv in plan:
            from scipy import sparse

            # each entry spreads its coefficient over its grid time's (at most CHEBYSHEV_NODES) nodes
            entries = sparse.csr_matrix((coef, (r_inv, g_inv)), shape=(len(rkey), lag.shape[0]))
            A = (entries @ sparse.csr_matrix(lag)).toarray()
            wt = interpolation_matrix(kt, tau).T * -tau[:, None]
            if c > 0:
                wt = np.concatenate([wt, -tau[:, None]], axis=1)
            row_pos_all, row_ell = rkey >> 20, rkey & ((1 << 20) - 1)
            positions, row_pos = np.unique(row_pos_all, return_inverse=True)
            shift = None
            if c > 0 and (row_ell > 0).any():
                shift = T(-row_ell / DAYS_PER_YEAR)
            out.append({"curve": c, "A": T(A), "WT": T(wt), "positions": positions, "row_pos": T(row_pos, torch.long),
                        "shift": shift, "segment": T(book.segment_codes[positions], torch.long)})
        self._nodes = out
        return out

    def option_values(self, X: torch.Tensor, zk: torch.Tensor) -> torch.Tensor:
        """``[C, P_opt]`` Black-Scholes-Merton values of the equity index options (see :func:`black_scholes`).

        Spot ``S exp(r)``, dividend yield ``q`` (``S exp(r - qT)`` in the formula), implied vol moved
        by ``vol_shock_beta(T, factor) * dVIX`` (:func:`vol_shock_beta`), floored at :data:`VOL_FLOOR`.
        """
        o = self.opt
        zt = (zk @ o["W"]) * o["t"]  # -log DF(T)
        r = X.index_select(1, o["factor"])
        vol = torch.clamp(o["vol"] + o["vol_beta"] * X[:, o["vix"]].unsqueeze(1) / 100.0, min=VOL_FLOOR)
        return o["units"] * black_scholes_log(o["spot"] * torch.exp(r) * o["div_disc"], o["strike"], torch.exp(-zt),
                                              o["log_moneyness"] + r + zt, vol * o["sqrt_t"], o["w"])

    # ------------------------------------------------------------------ segment totals (fused aggregation)
    def _aggregates(self) -> dict[str, Any]:
        """Scenario-independent sums over the positions of each segment (built once, on first use).

        The value of every cash-flow position is linear in its column values, so a segment's
        total is the column values times the *sum* of its positions' coefficients. Columns are
        regrouped per spread curve ``c`` on the curve's grid times ``g``: a plain column is the
        curve discount factor ``D_c(g) = exp(-z(t_g) t_g - delta_c t_g)``; a forecast column
        ``(t_a, t_e)`` of a floating coupon is ``exp(-z(t_a) t_a - delta_c t_e) = D_c(a) *
        exp(-delta_c (t_e - t_a))``, the period length ``t_e - t_a`` taking a handful of values
        (28 to 366 days). So per curve one matrix ``M_c`` of rows ``(segment, period length)``
        and columns ``g`` gives every segment total with one exp per grid time and one matmul.
        """
        if self._agg is not None:
            return self._agg
        book, T = self.book, self._T
        nseg = len(book.segments)
        curves = []
        seg_parts: list[list[np.ndarray]] = [[] for _ in book.col_p_idx]
        col_parts: list[list[np.ndarray]] = [[] for _ in book.col_p_idx]
        val_parts: list[list[np.ndarray]] = [[] for _ in book.col_p_idx]
        for b in book.blocks:
            if b.sparse:
                col_parts[b.curve].append(np.asarray(b.cols, dtype=np.int64))
                val_parts[b.curve].append(np.asarray(b.coef, dtype=np.float64))
            else:
                col_parts[b.curve].append(np.asarray(b.cols, dtype=np.int64))
                val_parts[b.curve].append(b.coef.sum(axis=1))
            seg_parts[b.curve].append(np.full(len(col_parts[b.curve][-1]), b.segment, dtype=np.int64))
        for c in range(len(book.col_p_idx)):
            if not col_parts[c]:
                continue
            k = np.concatenate(col_parts[c])
            sg = np.concatenate(seg_parts[c])
            v = np.concatenate(val_parts[c])
            p = book.col_p_idx[c][k]
            ell = np.rint(book.col_t_d[c][k] * DAYS_PER_YEAR).astype(np.int64) - book.time_days[p]
            g_idx, g_inv = np.unique(p, return_inverse=True)
            # log discount factor on the curve's grid as one product: [G_c, K (+1)] @ [K (+1), C], the
            # interpolation weights scaled by -t_g, the last column (spread curves) the spread shock's
            t_g = book.time_days[g_idx] / DAYS_PER_YEAR
            wt = interpolation_matrix(book.curve.knot_times, t_g).T * -t_g[:, None]
            if c > 0:
                wt = np.concatenate([wt, -t_g[:, None]], axis=1)
            row_key, r_inv = np.unique(sg * (1 << 20) + ell, return_inverse=True)
            mat = np.zeros((len(row_key), len(g_idx)))
            np.add.at(mat, (r_inv, g_inv), v)
            row_seg, row_ell = row_key >> 20, row_key & ((1 << 20) - 1)
            ells, ell_inv = np.unique(row_ell, return_inverse=True)
            d0 = np.exp(wt[:, : len(RATE_FACTORS)] @ book.curve.zero_rates)  # base curve discount factors
            y0 = mat @ d0  # base value of each row (without its period-length factor, which is 1 at zero shock)
            # the change of discount factor, expm1(-(dz(t) + delta) t), is smooth in t between knots (dz is
            # linear there): interpolated from a few Chebyshev nodes per knot interval, to rounding
            tau, lag = chebyshev_compression(t_g, book.curve.knot_times)
            wt = interpolation_matrix(book.curve.knot_times, tau).T * -tau[:, None]
            if c > 0:
                wt = np.concatenate([wt, -tau[:, None]], axis=1)
            from scipy import sparse

            # [rows, nodes]; a sparse product sums in one order whatever BLAS threads (backends equal bitwise)
            mat_nodes = (sparse.csr_matrix(mat * d0[None, :]) @ sparse.csr_matrix(lag)).toarray()
            curves.append({
                "curve": c, "WT": T(wt), "M": _csr(T(mat_nodes, torch.float64)), "y0": T(y0, torch.float64).unsqueeze(1),
                "seg": T(row_seg, torch.long), "ell": T(-ells / DAYS_PER_YEAR), "ell_row": T(ell_inv, torch.long),
                "shift": bool((row_ell > 0).any()),
            })  # fmt: skip
        agg: dict[str, Any] = {"nseg": nseg, "curves": curves}
        e = book.equity
        if len(e["rows"]):
            f_idx, f_inv = np.unique(e["factor"], return_inverse=True)
            m = np.zeros((nseg, len(f_idx)))
            np.add.at(m, (book.segment_codes[e["rows"]], f_inv), e["scale"])
            agg["equity"] = (T(f_idx, torch.long), T(m))
        if len(book.fx["rows"]):
            agg["fx"] = T(book.segment_codes[book.fx["rows"]], torch.long)
        if len(book.mbs["rows"]):
            x0 = torch.zeros((1, len(book.factor_ids)), dtype=self.dtype, device=self.device)
            agg["mbs"] = (T(book.segment_codes[book.mbs["rows"]], torch.long), self.mbs_values(x0, self.knot_rates(x0))[0])
        o = book.option
        if len(o["rows"]):
            onehot = np.zeros((len(o["rows"]), nseg))
            onehot[np.arange(len(o["rows"])), book.segment_codes[o["rows"]]] = 1.0
            x0 = torch.zeros((1, len(book.factor_ids)), dtype=self.dtype, device=self.device)
            agg["option"] = (torch.as_tensor(onehot, dtype=torch.float64, device=self.device),
                             self.option_values(x0, self.knot_rates(x0)))
        self._agg = agg
        return agg

    def segment_pnl(self, X: torch.Tensor) -> torch.Tensor:
        """``[segments, C]`` float64 P&L (value minus zero-shock value) of each segment's market positions.

        Equal (to rounding: sums taken in another order, see :meth:`_aggregates`) to summing
        ``values(X) - values(0)`` per segment, at the cost of one ``expm1`` per grid time and
        curve, a sparse matmul per curve and the element-wise option kernel: no per-position
        cash-flow work. The change is formed before it is summed (a curve's discount factors as
        ``D0 expm1(dlog D)``, equities as ``expm1(r)``), so no large base value is subtracted at
        the end: the P&L keeps its relative precision, in float32 too.
        """
        agg = self._aggregates()
        C = X.shape[0]
        out = torch.zeros((agg["nseg"], C), dtype=torch.float64, device=self.device)
        zk64 = self.knot_rates64(X)
        dz = (zk64 - self.base_z64.unsqueeze(0)).to(self.dtype)  # zero-rate moves at the knots, decimal
        zk = zk64.to(self.dtype)
        for a in agg["curves"]:
            c = a["curve"]
            if c > 0:  # the spread shock (bp -> decimal) of curve c, an extra "knot" with weight 1
                delta = X[:, self.curve_col[c]] / 1e4
                lhs = torch.cat([dz, delta.unsqueeze(1)], dim=1)
            else:
                lhs = dz
            dd = torch.expm1(a["WT"] @ lhs.T)  # [nodes, C] relative change of the discount factors at the nodes
            # [rows, C]: rows (segment, period length) x the nodes (base discount factors and the node-to-grid
            # interpolation folded in), summed in float64 (a float32 sum would lose the P&L's precision); CSR:
            # its product sums in one order whatever the thread count (the dask backend equals local bitwise)
            y = a["M"] @ dd.to(torch.float64)
            if a["shift"]:  # forecast rows: value R (y0 + y) with R = exp(-delta_c * period length)
                em1 = torch.expm1(a["ell"].unsqueeze(1) * delta.unsqueeze(0)).index_select(0, a["ell_row"])
                y = y + (y + a["y0"]) * em1.to(torch.float64)
            out.index_add_(0, a["seg"], y)
        if "equity" in agg:
            f_idx, m = agg["equity"]
            out += (m @ torch.expm1(X.index_select(1, f_idx)).T).to(torch.float64)
        if "fx" in agg:
            # per forward: scale (expm1(u r) DFf + dDFf) - scale K/P0 dDFd, changes formed directly
            f = self.fx
            d_dom = torch.expm1(-(dz @ f["W"]) * f["t"]).mul_(f["df0"])
            d_for = self.foreign_discount(X, change=True)
            er = torch.expm1(f["sign"] * X.index_select(1, f["factor"]))
            chg = f["scale"] * (er * (f["dff0"] + d_for) + d_for) - f["scale"] * f["k_over_p0"] * d_dom  # [C, P_fx]
            out.index_add_(0, agg["fx"], chg.T.to(torch.float64))
        if "mbs" in agg:
            seg_m, v0 = agg["mbs"]
            out.index_add_(0, seg_m, (self.mbs_values(X, zk).to(torch.float64) - v0.to(torch.float64)).T)
        if "option" in agg:
            onehot, v0 = agg["option"]
            out += ((self.option_values(X, zk) - v0).to(torch.float64) @ onehot).T
        return out


NODE_TERMS_MAX = 32_000_000
"""Most numbers in the per-position node terms (:meth:`TorchBook._node_terms`: 256 MB in float64); a
larger book prices its per-position values from the sparse cash-flow blocks."""
CHEBYSHEV_NODES = 16
"""Nodes per knot interval of the fused segment path (:func:`chebyshev_compression`)."""


def chebyshev_compression(t: FloatArray, knot_times: FloatArray, nodes: int = CHEBYSHEV_NODES) -> tuple[FloatArray, FloatArray]:
    """Nodes ``tau`` and weights ``L [len(t), len(tau)]`` with ``f(t) = L @ f(tau)`` for ``f`` smooth between knots.

    The times are split at the knots (a rate shock's zero move is linear in ``t`` between knots, so
    ``expm1(-dz(t) t)`` is an entire function of ``t`` on each piece); a piece with at most
    ``nodes`` times keeps them as its own nodes (exact), a longer one is interpolated from
    ``nodes`` Chebyshev points of the second kind spanning its times (barycentric Lagrange
    weights). The interpolation error of a degree-15 polynomial on a ten-year piece with a
    1,000bp move is below 1e-15 of the discount factor's change (checked against the
    per-position path in the tests): the fused segment P&L is exact to rounding, at a cost that no
    longer grows with the number of distinct payment days.
    """
    t = np.asarray(t, dtype=np.float64)
    edges = np.concatenate([[-np.inf], np.asarray(knot_times, dtype=np.float64), [np.inf]])
    piece = np.clip(np.searchsorted(edges, t, side="left") - 1, 0, len(edges) - 2)
    taus: list[FloatArray] = []
    cols: list[tuple[npt.NDArray[np.int64], FloatArray]] = []
    offset = 0
    for p in np.unique(piece):
        idx = np.flatnonzero(piece == p)
        tt = t[idx]
        if len(idx) <= nodes:
            taus.append(tt)
            cols.append((idx, np.eye(len(idx))))
        else:
            lo, hi = tt.min(), tt.max()
            j = np.arange(nodes)
            x = np.cos(np.pi * j / (nodes - 1))  # Chebyshev points of the second kind, 1 .. -1
            tau = 0.5 * (lo + hi) + 0.5 * (hi - lo) * x
            w = np.where((j == 0) | (j == nodes - 1), 0.5, 1.0) * (-1.0) ** j  # barycentric weights
            diff = tt[:, None] - tau[None, :]
            exact = np.isclose(diff, 0.0, rtol=0.0, atol=1e-14)
            with np.errstate(divide="ignore", invalid="ignore"):
                q = w[None, :] / diff
                lag = q / q.sum(axis=1, keepdims=True)
            hit = exact.any(axis=1)
            lag[hit] = exact[hit].astype(np.float64)
            taus.append(tau)
            cols.append((idx, lag))
        offset += len(taus[-1])
    tau_all = np.concatenate(taus)
    out = np.zeros((len(t), len(tau_all)))
    start = 0
    for (idx, lag), tau in zip(cols, taus, strict=True):
        out[idx, start : start + len(tau)] = lag
        start += len(tau)
    return tau_all, out


def _csr(mat: torch.Tensor) -> torch.Tensor:
    """A dense matrix as torch sparse CSR (``"sparse CSR support is in beta"``: the product we use is stable)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return mat.to_sparse_csr()


_SQRT1_2 = 0.7071067811865476


def _ndtr(x: torch.Tensor) -> torch.Tensor:
    """Standard normal CDF ``erfc(-x / sqrt 2) / 2`` (accurate in both tails; faster than ``special.ndtr``)."""
    return 0.5 * torch.erfc(-_SQRT1_2 * x)


def black_scholes_log(spot: torch.Tensor, strike: torch.Tensor, df: torch.Tensor, log_fwd_k: torch.Tensor,
                      std: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """European option, no dividends, from ``log(F / K)`` and ``std = vol sqrt(T)``; ``w`` +1 call, -1 put.

    ``w (S N(w d1) - K DF N(w d2))``, ``d1 = log(F/K) / std + std / 2``, ``d2 = d1 - std``: the
    same value as :func:`black_scholes` (call ``DF (F N(d1) - K N(d2))``, put ``DF (K N(-d2) - F
    N(-d1))`` with ``F = S / DF``) with two normal CDFs instead of four and no ``log``.
    """
    d1 = log_fwd_k / std + 0.5 * std
    d2 = d1 - std
    return w * (spot * _ndtr(w * d1) - (strike * df) * _ndtr(w * d2))


def black_scholes(spot: torch.Tensor, strike: torch.Tensor, t: torch.Tensor, df: torch.Tensor,
                  vol: torch.Tensor, is_call: torch.Tensor) -> torch.Tensor:
    """European option price, no dividends: ``DF * (F N(d1) - K N(d2))`` (call) with ``F = S / DF``."""
    fwd = spot / df
    std = vol * torch.sqrt(t)
    d1 = torch.log(fwd / strike) / std + 0.5 * std
    d2 = d1 - std
    ndtr = torch.special.ndtr
    call = df * (fwd * ndtr(d1) - strike * ndtr(d2))
    put = df * (strike * ndtr(-d2) - fwd * ndtr(-d1))
    return torch.where(is_call, call, put)


def loan_balance_factor(book: PreparedBook, years: FloatArray) -> FloatArray:
    """``[len(years), loans]`` outstanding share of each loan's exposure after ``years`` (the book ages).

    Installment loans (:data:`AMORTIZING_LOAN_SEGMENTS`) amortise as a level-payment annuity at their
    ``loan_rate`` with ``coupon_frequency`` payments a year (12 when NULL) over the remaining term:
    after ``m`` of ``n`` payments the balance is ``(1 - (1+r)^-(n-m)) / (1 - (1+r)^-n)`` (``(n-m)/n``
    at ``r = 0``); other loans keep their exposure to maturity. 0 from the maturity on.
    """
    ln = book.loan
    t = np.asarray(years, dtype=np.float64)[:, None]
    freq = ln["payments_per_year"][None, :]
    n = np.maximum(np.rint(ln["maturity"] * ln["payments_per_year"]), 1.0)[None, :]
    m = np.minimum(np.floor(t * freq + 1e-9), n)
    r = ln["rate_per_payment"][None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        annuity = np.where(r > 0, -np.expm1(-(n - m) * np.log1p(r)) / -np.expm1(-n * np.log1p(r)), (n - m) / n)
    alive = t < ln["maturity"][None, :]
    return np.where(alive, np.where(ln["amortizing"][None, :], annuity, 1.0), 0.0)


def loan_losses(book: PreparedBook, path: torch.Tensor) -> torch.Tensor:
    """Cumulative expected credit loss of every loan through each quarter of the scenario paths.

    Model (kept simple; the capital issue refines it):

    - stressed one-year PD: ``Phi(Phi^-1(pd) + LOAN_PD_BETA_PER_100BP * ds_q / 100)``, ``ds_q``
      the ``credit.spread.baa_10y`` shock (bp) reached in quarter ``q``;
    - quarterly PD ``1 - (1 - PD_stressed)^(1/4)``;
    - LGD ``min(1, lgd * exp(-LGD_COLLATERAL_ELASTICITY * r_q))`` when the loan has a
      ``collateral_factor`` (``r_q`` its log-return shock: falling house/CRE prices raise LGD);
    - ``EL_q = PD_q * LGD_q * EAD * B_q`` with ``B_q`` the outstanding share at the quarter's start
      (:func:`loan_balance_factor`: installment loans amortise, revolving ones keep their exposure,
      0 after maturity; no new lending); losses accumulate over quarters.

    Parameters
    ----------
    path
        ``[S, Q, F]`` shocks (all quarters of each sample), pricing dtype.

    Returns
    -------
    torch.Tensor
        ``[S, Q, L]`` cumulative loss (positive) of each loan through quarter ``q``.
    """
    ln = book.loan
    dev, dt = path.device, path.dtype
    S, Q, _ = path.shape
    if len(ln["rows"]) == 0:
        return torch.zeros((S, Q, 0), dtype=dt, device=dev)
    T = lambda x: torch.as_tensor(np.asarray(x), dtype=dt, device=dev)  # noqa: E731
    pd_ = T(np.clip(ln["pd"], 0.0, 1.0))
    z = torch.special.ndtri(pd_)
    ds = path[:, :, ln["credit"]].unsqueeze(-1)  # [S, Q, 1]
    pd_s = torch.special.ndtr(z + LOAN_PD_BETA_PER_100BP * ds / 100.0)
    pd_q = -torch.expm1(0.25 * torch.log1p(-pd_s))
    lgd = T(ln["lgd"]).expand(S, Q, -1)
    coll = ln["collateral"]
    if (coll >= 0).any():
        idx = torch.as_tensor(np.where(coll >= 0, coll, 0), device=dev)
        r = path.index_select(2, idx)
        lgd = torch.where(torch.as_tensor(coll >= 0, device=dev), torch.clamp(lgd * torch.exp(-LGD_COLLATERAL_ELASTICITY * r), max=1.0), lgd)
    balance = T(loan_balance_factor(book, np.arange(Q) * 0.25))  # [Q, L]
    el = pd_q * lgd * T(ln["ead"]) * balance
    return torch.cumsum(el, dim=1)


# --------------------------------------------------------------------------- random books
_SECTORS = ("nodur", "durbl", "manuf", "enrgy", "chems", "buseq", "telcm", "utils", "shops", "hlth", "money", "other")
_FX = (("fx.eurusd", "EUR", 1.04), ("fx.usdjpy", "JPY", 157.0), ("fx.gbpusd", "GBP", 1.25))
_LOAN_SEGMENTS = ("first_lien_mortgage", "home_equity", "c_and_i", "cre", "credit_card", "auto", "other_consumer")


def random_book(n: int, seed: int = 0, types: tuple[str, ...] = (*CASH_FLOW_TYPES, "equity", "fx_forward",
                "equity_option", "loan")) -> pd.DataFrame:
    """Random positions of the given types in the portfolio contract's columns (parity tests, benchmarks).

    Terms are drawn widely (maturities up to 30 years, every coupon frequency, off-market
    coupons and strikes) so that parity is tested on instruments nobody chose by hand.
    """
    rng = np.random.default_rng(seed)
    itype = rng.choice(np.asarray(types, dtype=object), n)
    nan = np.full(n, np.nan)
    none = np.full(n, None, dtype=object)
    f = pd.DataFrame({
        "position_id": [f"R{seed}-{i:07d}" for i in range(n)], "instrument_type": itype,
        "segment": none.copy(), "currency": np.full(n, "USD", dtype=object),
        "notional": rng.uniform(1e5, 1e7, n), "direction": rng.choice([1, -1], n).astype(np.int8),
        "issue_date": pd.NaT, "maturity_years": nan.copy(), "coupon_rate": nan.copy(),
        "coupon_frequency": nan.copy(), "spread_bp": nan.copy(), "rating": none.copy(),
        "credit_curve": none.copy(), "equity_factor": none.copy(), "fx_factor": none.copy(),
        "strike": nan.copy(), "option_type": none.copy(), "expiry_years": nan.copy(),
        "implied_vol": nan.copy(), "forward_rate": nan.copy(), "spot": nan.copy(), "pd": nan.copy(),
        "lgd": nan.copy(), "ead": nan.copy(), "loan_rate": nan.copy(), "collateral_factor": none.copy(),
    })  # fmt: skip
    ratings = np.array(list(("AAA", "AA", "A+", "A-", "BBB+", "BBB", "BBB-", "BB", "B", "CCC")), dtype=object)
    curves = np.array(["credit.spread.baa_10y", "credit.spread.aaa_10y", "credit.spread.bbb_10y"], dtype=object)
    freq = rng.choice([1, 2, 4, 12], n).astype(float)
    mat = rng.uniform(0.02, 30.0, n)
    for kind in ("fixed_bond", "frn"):
        m = itype == kind
        k = int(m.sum())
        seg = rng.choice(np.array(["ust", "agency", "corporate_ig", "corporate_hy"], dtype=object), k)
        rat = rng.choice(ratings, k)
        rat = np.where(seg == "ust", "AA+", rat)
        seg = np.where((seg == "corporate_ig") & np.isin(rat, ["BB", "B", "CCC"]), "corporate_hy", seg)
        seg = np.where((seg == "corporate_hy") & ~np.isin(rat, ["BB", "B", "CCC"]), "corporate_ig", seg)
        f.loc[m, "segment"] = seg
        f.loc[m, "rating"] = rat
        f.loc[m, "credit_curve"] = np.where(seg == "ust", None, rng.choice(curves, k))
        f.loc[m, "maturity_years"] = mat[m]
        f.loc[m, "coupon_frequency"] = freq[m]
        if kind == "fixed_bond":
            f.loc[m, "coupon_rate"] = rng.uniform(0.0, 0.09, k)
        else:
            f.loc[m, "spread_bp"] = rng.uniform(0.0, 400.0, k)
    m = itype == "irs"
    k = int(m.sum())
    f.loc[m, "segment"] = "rates_derivatives"
    f.loc[m, "maturity_years"] = mat[m]
    f.loc[m, "coupon_rate"] = rng.uniform(0.0, 0.08, k)
    f.loc[m, "coupon_frequency"] = freq[m]
    f.loc[m, "spread_bp"] = np.where(rng.random(k) < 0.5, np.nan, rng.uniform(-20.0, 60.0, k))
    m = itype == "equity"
    f.loc[m, "segment"] = "equity"
    f.loc[m, "equity_factor"] = rng.choice(np.array([f"equity.sector.{s}" for s in _SECTORS], dtype=object), int(m.sum()))
    m = itype == "fx_forward"
    k = int(m.sum())
    j = rng.integers(0, len(_FX), k)
    spot = np.array([_FX[i][2] for i in j]) * rng.uniform(0.97, 1.03, k)
    f.loc[m, "segment"] = "fx"
    f.loc[m, "fx_factor"] = np.array([_FX[i][0] for i in j], dtype=object)
    f.loc[m, "currency"] = np.array([_FX[i][1] for i in j], dtype=object)
    f.loc[m, "spot"] = spot
    f.loc[m, "forward_rate"] = spot * rng.uniform(0.9, 1.1, k)
    f.loc[m, "maturity_years"] = rng.uniform(0.02, 3.0, k)
    m = itype == "equity_option"
    k = int(m.sum())
    spot = rng.uniform(4000.0, 6500.0, k)
    f.loc[m, "segment"] = "equity_derivatives"
    f.loc[m, "equity_factor"] = rng.choice(np.array(["equity.total_market", "equity.sp500"], dtype=object), k)
    f.loc[m, "spot"] = spot
    f.loc[m, "strike"] = spot * rng.uniform(0.75, 1.25, k)
    f.loc[m, "option_type"] = rng.choice(np.array(["call", "put"], dtype=object), k)
    f.loc[m, "expiry_years"] = rng.uniform(0.05, 3.0, k)
    f.loc[m, "implied_vol"] = rng.uniform(0.1, 0.5, k)
    f["dividend_yield"] = np.nan
    f.loc[m, "dividend_yield"] = np.where(rng.random(k) < 0.2, np.nan, rng.uniform(0.0, 0.03, k))
    m = itype == "agency_mbs"
    k = int(m.sum())
    if k:
        f["wac"] = np.nan
        f["loan_age_months"] = np.nan
        age = rng.integers(0, 120, k)
        cpn = rng.choice(np.arange(2.0, 7.01, 0.5), k) / 100.0
        f.loc[m, "segment"] = "agency"
        f.loc[m, "coupon_rate"] = cpn
        f.loc[m, "wac"] = cpn + rng.uniform(0.005, 0.01, k)
        f.loc[m, "loan_age_months"] = age.astype(float)
        f.loc[m, "maturity_years"] = (rng.choice([180, 360], k) - age) / 12.0
        f.loc[m, "coupon_frequency"] = 12.0
    m = itype == "loan"
    k = int(m.sum())
    seg = rng.choice(np.array(_LOAN_SEGMENTS, dtype=object), k)
    f.loc[m, "segment"] = seg
    f.loc[m, "direction"] = 1
    f.loc[m, "maturity_years"] = rng.uniform(0.1, 10.0, k)
    f.loc[m, "coupon_frequency"] = 12.0
    f.loc[m, "pd"] = rng.uniform(0.001, 0.15, k)
    f.loc[m, "lgd"] = rng.uniform(0.1, 0.9, k)
    f.loc[m, "ead"] = f.loc[m, "notional"].to_numpy() * rng.uniform(0.5, 1.0, k)
    f.loc[m, "loan_rate"] = rng.uniform(0.03, 0.2, k)
    f.loc[m, "collateral_factor"] = np.where(np.isin(seg, ["first_lien_mortgage", "home_equity"]), "realestate.house",
                                             np.where(seg == "cre", "realestate.cre", None))
    return f
