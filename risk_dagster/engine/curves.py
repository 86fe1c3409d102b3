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
- **Shocks** are applied as the supervisor states them: a scenario's ``rates.ust.<tenor>`` shock
  (bp) moves that tenor's **par yield** (the Fed's and the Treasury's rates are bond-equivalent
  par yields), and the zero curve of every scenario and quarter is **re-bootstrapped** from the
  shocked par yields with the same conventions as the base curve (:class:`ParBootstrap`, batched
  in torch over scenarios: a Newton solve knot by knot, in float64 whatever the pricing dtype).
  The base par yields are the ones the base zero curve reprices exactly
  (:func:`implied_par_yields`), so a zero shock gives the base curve to rounding. Adding the par
  move to the zero knot instead (the engine's rule before Engine II) overstates a parallel
  +200bp's rate P&L by 2-2.5% and gets twists wrong by up to 100bp at the long end. Every kernel
  reads rates from this one curve through :func:`interpolation_matrix`.
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
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    import torch

__all__ = [
    "DAYS_PER_YEAR",
    "FAR_KNOT_YEARS",
    "RATE_FACTORS",
    "RATING_SPREAD_BP",
    "TENOR_MONTHS",
    "ParBootstrap",
    "ZeroCurve",
    "add_months",
    "base_spread_bp",
    "bootstrap_par_curve",
    "days_from_years",
    "implied_par_yields",
    "interpolation_matrix",
    "knot_factor_ids",
    "swap_knot_factor_ids",
    "tenor_months",
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
"""The U.S. dollar curve's knot factors (the Treasury par curve)."""


def tenor_months(factor_id: str) -> int:
    """Calendar months of a knot factor's tenor from its last id part: ``rates.swap.eur.10y`` -> 120."""
    tenor = factor_id.rsplit(".", 1)[-1]
    unit, n = tenor[-1], tenor[:-1]
    if unit not in "my" or not n.isdigit():
        raise ValueError(f"{factor_id!r}: a curve knot id ends in <n>m or <n>y")
    return int(n) * (12 if unit == "y" else 1)


def swap_knot_factor_ids(currency: str) -> tuple[str, ...]:
    """The knot factors of ``currency``'s interest-rate swap curve on the Treasury tenors: ``rates.swap.eur.1m`` ..."""
    return tuple(f"rates.swap.{currency.lower()}.{f.rsplit('.', 1)[1]}" for f in RATE_FACTORS)


def knot_factor_ids(currency: str = "USD") -> tuple[str, ...]:
    """The knot factors of ``currency``'s pricing curve: the Treasury's for USD, else its swap curve's."""
    return RATE_FACTORS if currency.upper() == "USD" else swap_knot_factor_ids(currency)


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
        ``[K]`` the factor whose shock moves each knot: ``rates.ust.*`` for the Treasury curve,
        :func:`knot_factor_ids` of the currency for another pricing curve.
    par_yields_pct
        The par yields the curve was bootstrapped from (percent), for reports.
    """

    valuation_date: dt.date
    knot_days: IntArray
    zero_rates: FloatArray
    factor_ids: tuple[str, ...] = RATE_FACTORS
    par_yields_pct: FloatArray | None = None

    @property
    def currency(self) -> str:
        """The currency whose pricing curve this is, read from its knot factors (:func:`knot_factor_ids`)."""
        if tuple(self.factor_ids) == RATE_FACTORS:
            return "USD"
        return self.factor_ids[0].split(".")[2].upper()  # rates.swap.<ccy>.<tenor>

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
        """The curve re-bootstrapped after moving each knot's *par* yield by ``shocks_bp`` (one per knot)."""
        par = implied_par_yields(self) + np.asarray(shocks_bp, dtype=np.float64) / 100.0
        out = bootstrap_par_curve(self.valuation_date, dict(zip(self.factor_ids, par, strict=True)), self.factor_ids)
        return ZeroCurve(self.valuation_date, self.knot_days, out.zero_rates, self.factor_ids, par)

    def fingerprint(self) -> str:
        """Content hash for caches."""
        import hashlib

        h = hashlib.sha256()
        h.update(str(self.valuation_date).encode())
        h.update(np.ascontiguousarray(self.knot_days, dtype=np.int64).tobytes())
        h.update(np.ascontiguousarray(self.zero_rates, dtype=np.float64).tobytes())
        return h.hexdigest()[:16]


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


def bootstrap_par_curve(valuation_date: dt.date | str, par_yields_pct: dict[str, float],
                        factor_ids: tuple[str, ...] = RATE_FACTORS) -> ZeroCurve:
    """Bootstrap continuously compounded zero rates at the knots from Treasury par yields.

    Parameters
    ----------
    valuation_date
        Reference date of the curve.
    par_yields_pct
        ``rates.ust.<tenor>`` -> par yield in percent (bond-equivalent). A missing or NaN tenor
        is filled by linear interpolation in tenor between its published neighbours (flat at the
        ends). Keyed by ``factor_ids``.
    factor_ids
        The curve's knot factors (default the Treasury's; :func:`knot_factor_ids` of another
        currency for its swap curve, bootstrapped with the same conventions).

    Returns
    -------
    ZeroCurve
        See the module docstring for the conventions.
    """
    val = pd.Timestamp(valuation_date).date()
    v = to_days(val)
    months = np.array([tenor_months(f) for f in factor_ids])
    knot_days = add_months(np.full(len(months), v), months) - v
    y = np.array([par_yields_pct.get(f, np.nan) for f in factor_ids], dtype=np.float64)
    ok = np.isfinite(y)
    if not ok.any():
        raise ValueError(f"no par yield of {factor_ids[0].rsplit('.', 1)[0]} at {val}")
    y = np.interp(months, months[ok], y[ok]) / 100.0
    kt = knot_days / DAYS_PER_YEAR
    z = np.zeros(len(months))
    for k, (m, T, yk) in enumerate(zip(months, kt, y, strict=True)):
        if m <= 12:
            # zero-coupon, semiannual compounding
            z[k] = 2.0 * np.log1p(yk / 2.0)
            continue
        ct = _coupon_times(v, int(m))  # coupon times before maturity

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
    return ZeroCurve(val, knot_days.astype(np.int64), z, tuple(factor_ids), y * 100.0)


def _coupon_times(valuation_days: int, months: int) -> FloatArray:
    """Coupon times (years) before maturity of a ``months``-tenor par bond issued at the valuation date.

    Semiannual coupons on ``maturity - 6k months`` (``k >= 1``), strictly after the valuation date.
    """
    v = int(valuation_days)
    days = add_months(np.full(months // 6, v), months - 6 * np.arange(1, months // 6 + 1)) - v
    return np.sort(days[days > 0]) / DAYS_PER_YEAR


def implied_par_yields(curve: ZeroCurve) -> FloatArray:
    """``[K]`` par yields (percent) the curve reprices exactly: the inverse of :func:`bootstrap_par_curve`.

    Tenors up to one year: ``y = 2 (DF^(-1/(2t)) - 1)``; longer: ``y = 2 (1 - DF(T)) / (sum DF(t_i) +
    DF(T))`` over the semiannual coupon times ``t_i`` (the par condition ``y/2 sum DF(t_i) + (1 + y/2)
    DF(T) = 1``).
    """
    months = np.array([tenor_months(f) for f in curve.factor_ids])
    out = np.zeros(len(months))
    for k, (m, T) in enumerate(zip(months, curve.knot_times, strict=True)):
        dft = float(curve.discount(T))
        if m <= 12:
            out[k] = 2.0 * np.expm1(curve.zero_rates[k] / 2.0)
        else:
            ct = _coupon_times(curve.valuation_days, int(m))
            out[k] = 2.0 * (1.0 - dft) / (curve.discount(ct).sum() + dft)
    return out * 100.0


class ParBootstrap:
    """Batched re-bootstrap of the zero knots from shocked par yields (torch, any device).

    Same conventions as :func:`bootstrap_par_curve` (zero-coupon yields with semiannual compounding
    up to one year, semiannual par bonds beyond, zero rates linear between knots), solved for many
    curves at once as one Newton system per curve: the par conditions ``f_k(z) = y_k/2 sum_i
    DF(t_i) + (1 + y_k/2) DF(T_k) - 1 = 0`` (bond knots) and ``z_k = 2 log(1 + y_k/2)`` (bill knots).
    Bond ``k``'s coupons fall before its maturity, so ``f_k`` depends on ``z_1 .. z_k`` only: the
    Jacobian is lower triangular and each Newton step is a batched triangular solve. A fixed number
    of steps for every curve, then more only for the rows that still miss the tolerance, in float64
    whatever the pricing dtype: the solve is small next to pricing, and fp32 pricing then starts
    from exact curves.

    Parameters
    ----------
    curve
        Base curve: its valuation date and knots define the instruments; its implied par yields
        (:func:`implied_par_yields`) are the base the shocks are added to.
    newton_steps
        Newton steps after a first chord step with the base curve's (precomputed) Jacobian from
        the base zero rates plus the par moves: four reprice every par instrument to 1e-11 of face on
        moves of +-1,000bp; the rare curves that need more (strong kinks, e.g. 200bp between the 20y
        and the 30y) get up to 20 more steps, on those rows only; a curve still off by more than
        1e-11 of face is an error naming its scenario.
    """

    def __init__(self, curve: ZeroCurve, newton_steps: int = 4) -> None:
        self.curve = curve
        self.base_par_pct = implied_par_yields(curve)
        self.newton_steps = int(newton_steps)
        kt = curve.knot_times
        self.knot_times = kt
        months = [tenor_months(f) for f in curve.factor_ids]
        K = len(months)
        # bonds issued at the valuation date share their coupon dates: one discount factor per distinct date
        sets = {k: _coupon_times(curve.valuation_days, m) for k, m in enumerate(months) if m > 12}
        t = np.unique(np.concatenate(list(sets.values()))) if sets else np.zeros(0)
        S = np.zeros((len(t), K))  # S[i, k] = 1 when date i is a coupon date of bond k
        for k, ct in sets.items():
            S[np.searchsorted(t, ct), k] = 1.0
        W = interpolation_matrix(kt, t)  # [K, n]
        bond = np.array([m > 12 for m in months])
        self._np = {"t": t, "S": S, "W": W, "T": kt.copy(), "bond": bond, "eye": np.eye(K),
                    "SW": (S[:, :, None] * W.T[:, None, :]).reshape(len(t), K * K),  # [n, K*K]: S[i,k] W[j,i]
                    "z0": curve.zero_rates.copy(), "y0": self.base_par_pct / 100.0}
        self._cache: dict[str, dict[str, torch.Tensor]] = {}
        # the Jacobian at the base curve, inverted once: the first (chord) step of every solve
        import torch

        a = self._tensors(torch.device("cpu"))
        y0 = a["y0"].unsqueeze(0)
        jac0 = self._jacobian(a["z0"].unsqueeze(0), y0 / 2.0, a)[0]
        self._np["jac0_inv_t"] = torch.linalg.inv(jac0).T.numpy().copy()
        self._cache.clear()

    def _tensors(self, device: torch.device) -> dict[str, torch.Tensor]:
        import torch

        key = str(device)
        if key not in self._cache:
            self._cache[key] = {k: torch.as_tensor(v, dtype=torch.bool if k == "bond" else torch.float64, device=device)
                                for k, v in self._np.items()}
        return self._cache[key]

    @staticmethod
    def _residual(z: torch.Tensor, half: torch.Tensor, bill: torch.Tensor, a: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Par conditions ``f [C, K]`` and the coupon discount factors ``[C, n]``."""
        import torch

        dfc = torch.exp(-(z @ a["W"]) * a["t"])
        dft = torch.exp(-z * a["T"])
        f = torch.where(a["bond"], half * (dfc @ a["S"]) + (1.0 + half) * dft - 1.0, z - bill)
        return f, dfc

    @staticmethod
    def _jacobian(z: torch.Tensor, half: torch.Tensor, a: dict[str, torch.Tensor],
                  dfc: torch.Tensor | None = None) -> torch.Tensor:
        """``[C, K, K]`` lower-triangular Jacobian ``d f_k / d z_j``."""
        import torch

        if dfc is None:
            dfc = torch.exp(-(z @ a["W"]) * a["t"])
        K = z.shape[1]
        # sum_i S[i, k] t_i DF_i W[j, i] for every (k, j): one [C, n] @ [n, K*K] product
        m = ((dfc * a["t"]) @ a["SW"]).view(-1, K, K)
        jac = -half.unsqueeze(2) * m - torch.diag_embed((1.0 + half) * a["T"] * torch.exp(-z * a["T"]))
        return torch.where(a["bond"].view(1, K, 1), jac, a["eye"])

    def zero_rates(self, par_pct: torch.Tensor) -> torch.Tensor:
        """``[C, K]`` continuously compounded zero rates (decimal, float64) from ``[C, K]`` par yields (percent)."""
        import torch

        y = par_pct.to(torch.float64) / 100.0
        a = self._tensors(y.device)
        bill = 2.0 * torch.log1p(y / 2.0)
        half = y / 2.0
        z = torch.where(a["bond"], a["z0"] + (y - a["y0"]), bill)
        # a chord step with the base curve's Jacobian, then Newton (quadratic from there)
        f, dfc = self._residual(z, half, bill, a)
        z = z - f @ a["jac0_inv_t"]
        for _ in range(self.newton_steps):
            f, dfc = self._residual(z, half, bill, a)
            jac = self._jacobian(z, half, a, dfc)
            step = torch.linalg.solve_triangular(jac, f.unsqueeze(2), upper=False).squeeze(2)
            z = z - step
        tol = 1e-11
        f, _ = self._residual(z, half, bill, a)
        bad = ~(f.abs().amax(dim=1) <= tol)  # NaN counts as not converged
        for _ in range(20):  # rare, strongly kinked curves: more steps on those rows only
            if not bool(bad.any()):
                break
            rows = torch.nonzero(bad).flatten()
            zb, hb, bb = z[rows], half[rows], bill[rows]
            fb, dfc = self._residual(zb, hb, bb, a)
            zb = zb - torch.linalg.solve_triangular(self._jacobian(zb, hb, a, dfc), fb.unsqueeze(2), upper=False).squeeze(2)
            z = z.index_copy(0, rows, zb)
            fb, _ = self._residual(zb, hb, bb, a)
            bad = bad.index_copy(0, rows, ~(fb.abs().amax(dim=1) <= tol))
        if bool(bad.any()):
            rows = torch.nonzero(bad).flatten()[:5].tolist()
            raise ValueError(
                f"par yields of {int(bad.sum())} scenario(s) (rows {rows}, ...) have no zero curve (the bootstrap "
                f"does not converge): e.g. par yields (percent) {[round(float(v), 4) for v in par_pct[rows[0]]]}"
            )
        return z

    def zero_moves_bp(self, shocks_bp: npt.ArrayLike) -> FloatArray:
        """Zero-rate moves (bp) of each knot for par shocks ``[..., K]`` (bp): for reports and tests."""
        import torch

        x = torch.as_tensor(np.atleast_2d(np.asarray(shocks_bp, dtype=np.float64)))
        z = self.zero_rates(torch.as_tensor(self.base_par_pct) + x / 100.0).numpy()
        return (z - self.curve.zero_rates) * 1e4


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
