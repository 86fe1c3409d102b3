"""Base zero curve, the one rule for shocking it, dates and base credit spreads.

Conventions (the engine and the QuantLib oracle follow them exactly):

- **Times** are ACT/365F year fractions from the valuation date: ``t = days / 365``. Every date
  the engine uses is a whole number of days from the valuation date.
- **Knots** are the catalog's Treasury tenors (``rates.ust.1m`` ... ``rates.ust.30y``), each at
  the date ``valuation + tenor`` (calendar months, day clamped to the month's end, no business
  day adjustment: QuantLib's ``Date + Period(n, Months)`` on a ``NullCalendar``).
- **Zero rates** are continuously compounded. Between knots the curve is **linear in the zero
  rate**; outside the knots it is **flat** in the zero rate (before 1m the 1m rate, after 30y the
  30y rate). In QuantLib terms: ``ZeroCurve(dates, rates, Actual365Fixed(), NullCalendar(),
  Linear(), Continuous)`` with an extra knot at the valuation date carrying the 1m rate and one
  at ``valuation + 100 years`` carrying the 30y rate (QuantLib's own extrapolation beyond the last
  knot is flat-*forward*, not flat-zero, hence the explicit far knot).
- **Shocks**: a scenario's ``rates.ust.<tenor>`` shock (bp) moves the zero rate of that knot by
  the same number of bp; the shocked curve is linear in between, like the base curve. This is the
  usual "par shock applied to the zero knot" shortcut (re-bootstrapping each of thousands of
  scenarios from shocked par yields would change the zero move by a fraction of the shock at long
  tenors only; it is documented, not modelled). Every kernel reads rates from this one curve
  through :func:`interpolation_matrix`.
- **Credit**: a bond's discount curve is the Treasury zero curve plus a flat, continuously
  compounded spread: the base spread of its rating (:data:`RATING_SPREAD_BP`) plus the shock (bp)
  of its ``credit_curve`` factor.
- **Bootstrap** of the Treasury par curve (bond-equivalent yields, percent): tenors up to one year
  are zero-coupon yields with semiannual compounding, ``DF = (1 + y/2)^(-2t)``; longer tenors are
  par bonds with semiannual coupons ``y/2`` paid on the dates ``maturity - 6k months`` (the
  Treasury's convention of a regular coupon ``y/2``, not an ACT/365F accrual), solved knot by
  knot with the curve linear in zero rate between knots.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "DAYS_PER_YEAR",
    "FAR_KNOT_YEARS",
    "RATE_FACTORS",
    "RATING_SPREAD_BP",
    "TENOR_MONTHS",
    "ZeroCurve",
    "add_months",
    "base_spread_bp",
    "bootstrap_par_curve",
    "days_from_years",
    "interpolation_matrix",
    "shocked_knot_rates",
    "to_days",
    "treasury_zero_curve",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DAYS_PER_YEAR = 365.0
"""ACT/365F: a year fraction is days / 365."""

FAR_KNOT_YEARS = 100
"""The oracle's explicit far knot (flat zero extrapolation); the engine clamps instead."""

TENOR_MONTHS: dict[str, int] = {
    "rates.ust.1m": 1, "rates.ust.3m": 3, "rates.ust.6m": 6, "rates.ust.1y": 12,
    "rates.ust.2y": 24, "rates.ust.3y": 36, "rates.ust.5y": 60, "rates.ust.7y": 84,
    "rates.ust.10y": 120, "rates.ust.20y": 240, "rates.ust.30y": 360,
}  # fmt: skip
"""Knot factors of the curve and their tenor in months, shortest first."""

RATE_FACTORS: tuple[str, ...] = tuple(TENOR_MONTHS)

_TREASURY_COLUMN: dict[str, str] = {
    "rates.ust.1m": "1 Mo", "rates.ust.3m": "3 Mo", "rates.ust.6m": "6 Mo", "rates.ust.1y": "1 Yr",
    "rates.ust.2y": "2 Yr", "rates.ust.3y": "3 Yr", "rates.ust.5y": "5 Yr", "rates.ust.7y": "7 Yr",
    "rates.ust.10y": "10 Yr", "rates.ust.20y": "20 Yr", "rates.ust.30y": "30 Yr",
}  # fmt: skip

RATING_SPREAD_BP: dict[str, float] = {
    "AAA": 35.0, "AA+": 42.0, "AA": 48.0, "AA-": 55.0, "A+": 65.0, "A": 75.0, "A-": 88.0,
    "BBB+": 105.0, "BBB": 125.0, "BBB-": 150.0, "BB+": 200.0, "BB": 240.0, "BB-": 290.0,
    "B+": 350.0, "B": 410.0, "B-": 490.0, "CCC+": 700.0, "CCC": 900.0, "CCC-": 1150.0,
}  # fmt: skip
"""Base credit spread over Treasuries by issuer rating, bp (continuously compounded, flat).

Round numbers of the order of the ICE BofA US corporate option-adjusted spreads by rating at
end-2024 (AAA ~35bp, A ~75bp, BBB ~125bp, BB ~240bp, B ~410bp, CCC ~900bp), interpolated by
notch. Treasuries (segment ``ust``, no ``credit_curve``) get no spread.
"""


def base_spread_bp(rating: object, segment: object = None) -> float:
    """Base spread (bp) of a bond or FRN: 0 for Treasuries, else the rating's spread."""
    if segment == "ust" or rating is None or (isinstance(rating, float) and np.isnan(rating)):
        return 0.0
    try:
        return RATING_SPREAD_BP[str(rating)]
    except KeyError:
        raise ValueError(f"unknown rating {rating!r}; expected one of {list(RATING_SPREAD_BP)}") from None


# ----------------------------------------------------------------------------- dates
_EPOCH = np.datetime64("1970-01-01", "D")


def to_days(value: object) -> int:
    """Days since 1970-01-01 of a date-like value."""
    return int((np.datetime64(pd.Timestamp(value).date(), "D") - _EPOCH).astype(np.int64))


def add_months(days: npt.ArrayLike, months: npt.ArrayLike) -> IntArray:
    """Add calendar months to dates given as days since 1970-01-01 (vectorised).

    The day of the month is kept and clamped to the target month's length (31 Aug - 6M =
    28/29 Feb), exactly like QuantLib's ``Date + Period(n, Months)`` without end-of-month rule.
    """
    d = np.asarray(days, dtype=np.int64)
    m = np.asarray(months, dtype=np.int64)
    dates = _EPOCH + d.astype("timedelta64[D]")
    month = dates.astype("datetime64[M]")
    day_of_month = (dates - month.astype("datetime64[D]")).astype(np.int64)  # 0-based
    target = month + m.astype("timedelta64[M]")
    start = target.astype("datetime64[D]")
    length = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - start).astype(np.int64)
    return (start - _EPOCH).astype(np.int64) + np.minimum(day_of_month, length - 1)


def days_from_years(years: npt.ArrayLike) -> IntArray:
    """Whole days of a remaining term in years: ``rint(years * 365)`` (half to even, as Python's round)."""
    return np.rint(np.asarray(years, dtype=np.float64) * DAYS_PER_YEAR).astype(np.int64)


# ----------------------------------------------------------------------------- curve
@dataclass(frozen=True)
class ZeroCurve:
    """Continuously compounded zero curve on the catalog's Treasury knots.

    Attributes
    ----------
    valuation_date
        The curve's reference date (t = 0).
    knot_days
        ``[K]`` days from the valuation date of each knot (``valuation + tenor``), increasing.
    zero_rates
        ``[K]`` continuously compounded zero rates, decimals.
    factor_ids
        ``[K]`` the ``rates.ust.*`` factor whose shock moves each knot.
    par_yields_pct
        The par yields the curve was bootstrapped from (percent), for reports.
    """

    valuation_date: dt.date
    knot_days: IntArray
    zero_rates: FloatArray
    factor_ids: tuple[str, ...] = RATE_FACTORS
    par_yields_pct: FloatArray | None = None

    @property
    def knot_times(self) -> FloatArray:
        return np.asarray(self.knot_days, dtype=np.float64) / DAYS_PER_YEAR

    @property
    def valuation_days(self) -> int:
        return to_days(self.valuation_date)

    def zero(self, t: npt.ArrayLike) -> FloatArray:
        """Zero rate at times ``t`` (years), linear in rate, flat outside the knots."""
        t = np.asarray(t, dtype=np.float64)
        return np.interp(t, self.knot_times, self.zero_rates)

    def discount(self, t: npt.ArrayLike) -> FloatArray:
        t = np.asarray(t, dtype=np.float64)
        return np.exp(-self.zero(t) * t)

    def shifted(self, shocks_bp: npt.ArrayLike) -> ZeroCurve:
        """The curve with each knot moved by ``shocks_bp`` (one per knot)."""
        return ZeroCurve(
            self.valuation_date, self.knot_days, shocked_knot_rates(self.zero_rates, shocks_bp),
            self.factor_ids, self.par_yields_pct,
        )  # fmt: skip

    def fingerprint(self) -> str:
        """Content hash for caches."""
        import hashlib

        h = hashlib.sha256()
        h.update(str(self.valuation_date).encode())
        h.update(np.ascontiguousarray(self.knot_days, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(self.zero_rates, dtype=np.float64).tobytes())
        return h.hexdigest()[:16]


def shocked_knot_rates(base_rates: npt.ArrayLike, shocks_bp: npt.ArrayLike) -> FloatArray:
    """Knot zero rates after a shock: ``base + bp / 10,000`` (broadcast over leading axes)."""
    return np.asarray(base_rates, dtype=np.float64) + np.asarray(shocks_bp, dtype=np.float64) / 1e4


def interpolation_matrix(knot_times: npt.ArrayLike, times: npt.ArrayLike) -> FloatArray:
    """``[K, G]`` weights ``W`` with ``zero(times) = knot_rates @ W`` (linear, flat outside).

    Each column has at most two non-zero weights ``1 - w`` and ``w``; because the map is linear
    in the knot rates, one matrix product gives the shocked zero rates of every scenario on a
    whole time grid.
    """
    kt = np.asarray(knot_times, dtype=np.float64)
    t = np.clip(np.asarray(times, dtype=np.float64), kt[0], kt[-1])
    right = np.clip(np.searchsorted(kt, t, side="right"), 1, len(kt) - 1)
    left = right - 1
    w = (t - kt[left]) / (kt[right] - kt[left])
    out = np.zeros((len(kt), len(t)), dtype=np.float64)
    cols = np.arange(len(t))
    out[left, cols] += 1.0 - w
    out[right, cols] += w
    return out


def bootstrap_par_curve(valuation_date: dt.date | str, par_yields_pct: dict[str, float]) -> ZeroCurve:
    """Bootstrap continuously compounded zero rates at the knots from Treasury par yields.

    Parameters
    ----------
    valuation_date
        Reference date of the curve.
    par_yields_pct
        ``rates.ust.<tenor>`` -> par yield in percent (bond-equivalent). A missing or NaN tenor
        is filled by linear interpolation in tenor between its published neighbours (flat at the
        ends).

    Returns
    -------
    ZeroCurve
        See the module docstring for the conventions.
    """
    val = pd.Timestamp(valuation_date).date()
    v = to_days(val)
    months = np.array([TENOR_MONTHS[f] for f in RATE_FACTORS])
    knot_days = add_months(np.full(len(months), v), months) - v
    y = np.array([par_yields_pct.get(f, np.nan) for f in RATE_FACTORS], dtype=np.float64)
    ok = np.isfinite(y)
    if not ok.any():
        raise ValueError(f"no Treasury par yield at {val}")
    y = np.interp(months, months[ok], y[ok]) / 100.0
    kt = knot_days / DAYS_PER_YEAR
    z = np.zeros(len(months))
    for k, (m, T, yk) in enumerate(zip(months, kt, y, strict=True)):
        if m <= 12:
            # zero-coupon, semiannual compounding
            z[k] = 2.0 * np.log1p(yk / 2.0)
            continue
        coupon_days = add_months(np.full(m // 6, v), m - 6 * np.arange(1, m // 6 + 1)) - v
        ct = coupon_days[coupon_days > 0] / DAYS_PER_YEAR  # coupon times before maturity

        def price(zk: float, k: int = k, T: float = T, ct: FloatArray = ct, yk: float = yk) -> float:
            zz = z.copy()
            zz[k] = zk
            rates = np.interp(ct, kt[: k + 1], zz[: k + 1])
            return float(yk / 2.0 * np.exp(-rates * ct).sum() + (1 + yk / 2.0) * np.exp(-zk * T) - 1.0)

        # Newton with a numerical derivative: price is smooth and monotone in zk
        zk = z[k - 1]
        for _ in range(50):
            f = price(zk)
            h = 1e-7
            step = f / ((price(zk + h) - price(zk - h)) / (2 * h))
            zk -= step
            if abs(step) < 1e-15:
                break
        z[k] = zk
    return ZeroCurve(val, knot_days.astype(np.int64), z, RATE_FACTORS, y * 100.0)


@lru_cache(maxsize=8)
def _treasury_curve_cached(valuation_date: str | None, path: str | None) -> ZeroCurve:
    from risk_dagster.market.loaders import load_treasury_curve

    frame = load_treasury_curve(path)
    if valuation_date is not None:
        frame = frame[frame["date"] <= pd.Timestamp(valuation_date)]
        if frame.empty:
            raise ValueError(f"no Treasury curve on or before {valuation_date}")
    row = frame.iloc[-1]
    curve_date = pd.Timestamp(row["date"]).date()
    par = {f: float(row[col]) for f, col in _TREASURY_COLUMN.items()}
    val = pd.Timestamp(valuation_date).date() if valuation_date is not None else curve_date
    return bootstrap_par_curve(val, par)


def treasury_zero_curve(valuation_date: dt.date | str | None = None, path: str | Path | None = None) -> ZeroCurve:
    """The base zero curve bootstrapped from the shipped Treasury par curve.

    Parameters
    ----------
    valuation_date
        Curve reference date; the par yields are those of the last published day on or before
        it. ``None`` takes the last day in the file (2024-12-31 for the shipped file).
    path
        Alternative CSV in the Treasury's layout.
    """
    key = None if valuation_date is None else str(pd.Timestamp(valuation_date).date())
    return _treasury_curve_cached(key, None if path is None else str(path))
