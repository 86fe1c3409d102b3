"""Foreign-currency discount curves for FX forwards, from the EBA 2025 scenario's starting-point swap curves.

An FX forward's value needs the foreign currency's discount curve as well as the dollar's: with
one curve for both, a forward carries no forward points and no rate sensitivity. The shipped data
with a curve per currency is the EBA/ESRB 2025 EU-wide stress test scenario
(``risk_dagster/data/eba/eba2025_macro.csv``, PROVENANCE section 6): its ``swap_rate`` rows give
the starting-point (2024) interest-rate swap curve of 27 currencies at 1M, 3M, 1Y, 2Y, 3Y, 5Y, 7Y,
10Y, 20Y and 30Y (percent; the EBA's ``starting_point`` rows, not the ``starting_point_average``
ones).

Construction (conventions of :mod:`~risk_dagster.engine.curves`):

- each currency's swap par rates, on the Treasury knots (the missing 6M interpolated linearly in
  tenor between 3M and 1Y), are bootstrapped like the Treasury curve (semiannual par convention: an
  approximation for annual-fixed EUR swaps, the same for every currency, so it cancels in the
  differential below to first order);
- the **foreign zero curve** is the Treasury zero curve plus the currency's swap zero curve minus
  the USD swap zero curve (both EBA, same date and method): the forward points then come from the
  rate differential of like-for-like swap curves, anchored on the engine's USD discounting;
- scenario shocks move the foreign curve's par yields by the factors ``rates.swap.<ccy>.<tenor>``
  (bp) and re-bootstrap it (:class:`~risk_dagster.engine.curves.ParBootstrap`). No Fed scenario
  and no translator generates foreign rates yet (the ECB/EBA leg adds euro-area factors), so a
  ShockSet without them leaves the foreign curve at its base; the stress result names those
  factors (``unshocked_factors`` in its metadata) rather than dropping them silently. USD rate
  shocks do not move foreign curves.

As-of date: the EBA's starting point is the end of 2024 (the scenario's 2024 rows; the file
gives no day), the same date as the shipped Treasury curve (2024-12-31).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from risk_dagster.engine.curves import RATE_FACTORS, ZeroCurve, bootstrap_par_curve, knot_factor_ids, swap_knot_factor_ids
from risk_dagster.paths import data_dir

__all__ = [
    "EBA_SWAP_FILE",
    "FOREIGN_CURVE_AS_OF",
    "foreign_factor_ids",
    "foreign_zero_curve",
    "swap_par_yields",
    "swap_zero_curve",
]

EBA_SWAP_FILE: Path = data_dir() / "eba" / "eba2025_macro.csv"
FOREIGN_CURVE_AS_OF = "2024 (EBA 2025 stress test starting point)"
EBA_CURVE_DATE = "2024-12-31"
"""The date the EBA's starting-point curves are placed on (the 2024 year end)."""
_EBA_TENOR = {"1M": "1m", "3M": "3m", "1Y": "1y", "2Y": "2y", "3Y": "3y", "5Y": "5y", "7Y": "7y", "10Y": "10y",
              "20Y": "20y", "30Y": "30y"}  # fmt: skip


def foreign_factor_ids(currency: str) -> list[str]:
    """Shock factors of a currency's swap curve, one per Treasury knot: ``rates.swap.eur.10y`` ..."""
    return list(swap_knot_factor_ids(currency))


def swap_zero_curve(currency: str, valuation_date: dt.date | str | None = None, path: str | Path | None = None) -> ZeroCurve:
    """The currency's own swap zero curve at the EBA starting point, on its knot factors.

    The pricing curve of a book in that currency (``knot_factor_ids``: ``rates.swap.eur.*`` for
    EUR), bootstrapped with the Treasury conventions (semiannual par; EUR swaps pay annual fixed
    against 6M Euribor, an approximation of a few tenths of a basis point in the zero rates at these
    levels, stated rather than modelled). ``valuation_date`` defaults to 2024-12-31, the EBA's
    starting point (the file gives the year only).
    """
    ids = knot_factor_ids(currency)
    par = swap_par_yields(currency, path)
    return bootstrap_par_curve(valuation_date or EBA_CURVE_DATE, dict(zip(ids, (par[f] for f in RATE_FACTORS), strict=True)), ids)


@lru_cache(maxsize=4)
def _swap_table(path: str) -> pd.DataFrame:
    frame = pd.read_csv(path)
    sel = frame[(frame["variable"] == "swap_rate") & (frame["scenario"] == "starting_point")]
    return sel.pivot_table(index="key", columns="tenor", values="value", aggfunc="first")


def swap_par_yields(currency: str, path: str | Path | None = None) -> dict[str, float]:
    """The currency's EBA starting-point swap par rates (percent) on the Treasury knot ids (6M NaN)."""
    table = _swap_table(str(path or EBA_SWAP_FILE))
    code = currency.upper()
    if code not in table.index:
        raise ValueError(
            f"no swap curve for currency {currency!r} in {path or EBA_SWAP_FILE} (EBA starting point); "
            f"currencies with one: {sorted(table.index)}"
        )
    row = table.loc[code]
    out = {f: np.nan for f in RATE_FACTORS}
    for tenor, knot in _EBA_TENOR.items():
        if tenor in row.index and np.isfinite(row[tenor]):
            out[f"rates.ust.{knot}"] = float(row[tenor])
    return out


def foreign_zero_curve(currency: str, domestic: ZeroCurve, path: str | Path | None = None) -> ZeroCurve:
    """Base zero curve of ``currency``: ``domestic`` + (its swap zero curve - the domestic currency's swap zero curve).

    On the domestic curve's valuation date and knots (see the module docstring); the domestic
    currency is the pricing curve's own (:attr:`ZeroCurve.currency`: USD for the Treasury curve, EUR
    for a euro book's swap curve, where the differential is zero by construction for EUR itself).
    """
    own = bootstrap_par_curve(domestic.valuation_date, swap_par_yields(currency, path))
    home = bootstrap_par_curve(domestic.valuation_date, swap_par_yields(domestic.currency, path))
    z = domestic.zero_rates + own.zero_rates - home.zero_rates
    return ZeroCurve(domestic.valuation_date, domestic.knot_days, z, knot_factor_ids(currency))
