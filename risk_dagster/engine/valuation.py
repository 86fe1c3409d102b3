"""The valuation date and base market of a revaluation: the scenario's jump-off, stated input by input.

A ShockSet's shocks are changes from its jump-off quarter (``2025Q4`` for the Fed's 2026
scenarios), so the book is valued at the **end of the jump-off quarter**, on a base market as
close to that date as the shipped data allow:

- **Treasury curve**: the shipped daily par curve ends on 2024-12-31. Where the supervisor fixes
  Treasury tenors at the jump-off quarter (the Fed: 3m, 5y, 10y; ``jump_off_basis`` ``fed`` in the
  ShockSet's metadata), the last shipped curve is moved to those levels: each knot's par yield
  moves by the change at the fixed tenors, interpolated linearly in tenor between them and flat
  outside (the 20y and 30y move with the 10y, the 1m with the 3m), then the zero curve is
  bootstrapped on the jump-off date. A set moved onto an intraday market snapshot
  (:mod:`risk_dagster.market.snapshot`) has basis ``snapshot`` at the tenors the desk observed and
  states its ``jump_off_date`` (the snapshot's): the curve is anchored on those levels, that day. The Fed's jump-off values are quarterly averages, not a
  day's close: a stated approximation. A ShockSet without fixed Treasury tenors at its jump-off
  is valued on the last shipped curve, on that curve's date.
- **A book in another currency** (the euro-area bank's, EUR) is priced on that currency's swap
  curve at the EBA starting point (end-2024, :func:`~risk_dagster.engine.foreign_curves.swap_zero_curve`),
  its knots shocked by ``rates.swap.<ccy>.<tenor>``; the same anchoring applies to those factors,
  where the scenario states their jump-off (basis ``scenario``: the EBA's 2024 starting point).
  :func:`book_currency` says which curve a book gets: one currency per book (FX forwards aside).
- **Foreign curves** (FX forwards): the EBA's starting-point swap curves (end-2024), as
  differentials to the pricing currency's swap curve (:mod:`~risk_dagster.engine.foreign_curves`).
- **Spots** (equity index levels, FX spots) are the book's own (``spot`` per position): the
  book states them at its as-of date (the shipped sample book: 2025-12-31).

:func:`valuation_context` returns the date, the curve and an ``as_of`` table saying which date
every input is from; the stress result carries it in its metadata.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from risk_dagster.engine.curves import ZeroCurve, bootstrap_par_curve, implied_par_yields, tenor_months, treasury_zero_curve
from risk_dagster.engine.foreign_curves import FOREIGN_CURVE_AS_OF, swap_zero_curve
from risk_dagster.translate.shockset import ShockSet

__all__ = [
    "ValuationContext",
    "base_mortgage_rate",
    "book_currency",
    "jump_off_date",
    "jump_off_mortgage_rate",
    "pricing_curve",
    "valuation_context",
]


def book_currency(positions: pd.DataFrame) -> str:
    """The currency a book is priced in: that of every position but its FX forwards (default USD).

    An FX forward's ``currency`` is its foreign leg's; every other position must share one
    currency, since the engine discounts a book on one pricing curve (a bank's books are run one
    reporting currency at a time here; the euro-area bank's is EUR throughout).

    Raises
    ------
    ValueError
        Positions in more than one currency, naming a position of each.
    """
    if "currency" not in positions.columns or positions.empty:
        return "USD"
    own = positions[positions["instrument_type"].astype(str) != "fx_forward"] if "instrument_type" in positions.columns else positions
    codes = own["currency"].astype(str).str.upper()
    found = sorted(codes.unique())
    if len(found) > 1:
        ids = own["position_id"] if "position_id" in own.columns else pd.Series(own.index, index=own.index)
        example = {c: str(ids[codes == c].iloc[0]) for c in found}
        raise ValueError(f"the book mixes currencies {found} (e.g. positions {example}); the engine prices a book "
                         "on one currency's curve: split it by currency")
    return found[0] if found else "USD"


def pricing_curve(currency: str = "USD", valuation_date: dt.date | str | None = None) -> ZeroCurve:
    """The base curve of a book in ``currency``: the shipped Treasury curve (USD) or the EBA starting-point swap curve."""
    if currency.upper() == "USD":
        return treasury_zero_curve(valuation_date)
    return swap_zero_curve(currency, valuation_date)


def jump_off_mortgage_rate(shockset: ShockSet) -> float:
    """The ShockSet's jump-off ``rates.mortgage30`` level (percent), else the last shipped one."""
    f = "rates.mortgage30"
    if f in shockset.factor_ids and np.isfinite(shockset.jump_off[shockset.factor_ids.index(f)]):
        return float(shockset.jump_off[shockset.factor_ids.index(f)])
    return base_mortgage_rate()[0]


@lru_cache(maxsize=1)
def base_mortgage_rate() -> tuple[float, str]:
    """The last shipped primary 30y mortgage rate (percent, FRED-QD ``MORTGAGE30US``) and its quarter."""
    from risk_dagster.market.loaders import load_fred_qd

    q = load_fred_qd()[["date", "MORTGAGE30US"]].dropna()
    row = q.iloc[-1]
    return float(row["MORTGAGE30US"]), str(pd.Period(pd.Timestamp(row["date"]), "Q"))


@dataclass(frozen=True)
class ValuationContext:
    """Valuation date, base Treasury curve and the as-of date of each input."""

    valuation_date: dt.date
    curve: ZeroCurve
    as_of: dict[str, str] = field(default_factory=dict)
    mortgage_rate_pct: float | None = None
    """Base primary 30y mortgage rate (percent) for MBS prepayments."""


ANCHORING_BASES = ("fed", "snapshot", "scenario")
"""``jump_off_basis`` values whose levels anchor the base curve: the Fed's jump-off (``fed``), the
scenario file's own jump-off row (``scenario``: the EBA's 2024 starting point, for factors without
history) or an intraday market snapshot (``snapshot``, :mod:`risk_dagster.market.snapshot`); ``market``
(the last historical observation) does not anchor it."""


def jump_off_date(shockset: ShockSet) -> dt.date:
    """Last day of the quarter before the ShockSet's first projection quarter (its jump-off), or the
    ``jump_off_date`` its metadata states (a set moved onto an intraday snapshot)."""
    if shockset.metadata.get("jump_off_date"):
        return dt.date.fromisoformat(str(shockset.metadata["jump_off_date"]))
    jump = pd.Period(shockset.metadata.get("jump_off_quarter") or (pd.Period(shockset.quarters[0], "Q") - 1), "Q")
    return jump.end_time.date()


def valuation_context(shockset: ShockSet, base: ZeroCurve | None = None, *, book_as_of: str | None = None,
                      currency: str = "USD") -> ValuationContext:
    """Value at the ShockSet's jump-off: the last shipped curve moved to the supervisor's jump-off tenors.

    Parameters
    ----------
    shockset
        Its ``jump_off`` levels of the ``rates.ust.*`` factors whose ``jump_off_basis`` is ``fed``
        anchor the curve.
    base
        The latest curve available (default: :func:`pricing_curve` of ``currency``: the shipped
        Treasury file's last day for USD).
    currency
        The book's pricing currency (:func:`book_currency`); its curve's knot factors are the ones
        anchored.
    book_as_of
        The book's own as-of date, when known (reported; spots are the book's).
    """
    base = base or pricing_curve(currency)
    knots = base.factor_ids
    name = "treasury curve" if base.currency == "USD" else f"{base.currency} swap curve"
    basis = shockset.metadata.get("jump_off_basis") or {}
    par0 = implied_par_yields(base)
    months = np.array([tenor_months(f) for f in knots], dtype=float)
    fixed = [k for k, f in enumerate(knots)
             if f in shockset.factor_ids and basis.get(f) in ANCHORING_BASES and np.isfinite(shockset.jump_off[shockset.factor_ids.index(f)])]
    as_of = {"book": book_as_of or "as stated in the book (remaining terms and spot per position)",
             "foreign curves": FOREIGN_CURVE_AS_OF}
    mortgage = jump_off_mortgage_rate(shockset)
    f = "rates.mortgage30"
    as_of["mortgage rate"] = (f"{shockset.metadata.get('jump_off_quarter', '')} (the scenario's jump-off level)"
                              if f in shockset.factor_ids else f"{base_mortgage_rate()[1]} (last shipped FRED-QD MORTGAGE30US)")
    source = ("last shipped Treasury par curve" if base.currency == "USD"
              else f"the EBA 2025 stress test's starting-point {base.currency} swap curve")
    if not fixed:
        as_of[name] = f"{base.valuation_date} ({source}; the scenario fixes no tenor at its jump-off)"
        return ValuationContext(base.valuation_date, base, as_of, mortgage)
    date = jump_off_date(shockset)
    moves = np.array([shockset.jump_off[shockset.factor_ids.index(knots[k])] - par0[k] for k in fixed])
    par = par0 + np.interp(months, months[fixed], moves)
    curve = bootstrap_par_curve(date, dict(zip(knots, par, strict=True)), knots)
    tenors = ", ".join(knots[k].rsplit(".", 1)[1] for k in fixed)
    snapshot = shockset.metadata.get("market_snapshot")
    whose = (f"the market snapshot's levels ({snapshot.get('file')}, {snapshot.get('as_of')})" if snapshot
             else "the supervisor's jump-off levels")  # fmt: skip
    as_of[name] = (f"{date} (jump-off {shockset.metadata.get('jump_off_quarter', '')}): the {base.valuation_date} "
                   f"{source} moved to {whose} at {tenors}, interpolated in tenor")
    return ValuationContext(date, curve, as_of, mortgage)
