"""Open factors against their fixed siblings: per quarter, the generated ratio or basis beside
the range history shows.

A Fed scenario fixes the BBB-10y spread and the 3m / 5y / 10y yields; the translators generate
the Baa-10y and Aaa-10y spreads, the 20y and 30y yields, fed funds and the 1m bill. Each pair
below is the open factor measured against its fixed sibling, as a ratio (spreads) or a basis in
percentage points (rates). :func:`pair_table` gives, per pair and projected quarter, the median
and the 5-95% band over samples next to the historical range of the same quantity (quarterly
levels of the factor history, every quarter where both exist). :func:`pairs_outside_history`
lists the quarters whose *median* leaves that range: the ``open_factors_follow_fixed_siblings``
asset check fails on any.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from risk_dagster.translate.shockset import ShockSet

__all__ = ["OPEN_FIXED_PAIRS", "OpenFixedPair", "pair_summary", "pair_table", "pairs_outside_history"]


@dataclass(frozen=True)
class OpenFixedPair:
    """An open factor and the fixed factor it is measured against.

    Attributes
    ----------
    open, fixed
        Factor ids.
    kind
        ``ratio`` (``open / fixed``) or ``basis`` (``open - fixed``, percentage points).
    """

    open: str
    fixed: str
    kind: str

    @property
    def label(self) -> str:
        op = "/" if self.kind == "ratio" else "-"
        return f"{self.open} {op} {self.fixed}"

    def value(self, open_level: np.ndarray, fixed_level: np.ndarray) -> np.ndarray:
        """The pair's ratio or basis from the two levels (percent)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return open_level / fixed_level if self.kind == "ratio" else open_level - fixed_level


OPEN_FIXED_PAIRS: tuple[OpenFixedPair, ...] = (
    OpenFixedPair("credit.spread.baa_10y", "credit.spread.bbb_10y", "ratio"),
    OpenFixedPair("credit.spread.aaa_10y", "credit.spread.bbb_10y", "ratio"),
    OpenFixedPair("rates.ust.20y", "rates.ust.10y", "basis"),
    OpenFixedPair("rates.ust.30y", "rates.ust.10y", "basis"),
    OpenFixedPair("rates.fedfunds", "rates.ust.3m", "basis"),
    OpenFixedPair("rates.ust.1m", "rates.ust.3m", "basis"),
)
"""The pairs shown and checked (a pair whose factors a ShockSet lacks is left out)."""


def _history_range(levels: pd.DataFrame, pair: OpenFixedPair) -> tuple[float, float, int]:
    both = levels[[pair.open, pair.fixed]].dropna()
    values = pd.Series(pair.value(both[pair.open].to_numpy(), both[pair.fixed].to_numpy())).replace(
        [np.inf, -np.inf], np.nan
    ).dropna()
    if values.empty:
        return float("nan"), float("nan"), 0
    return float(values.min()), float(values.max()), int(len(values))


def pair_table(
    shockset: ShockSet, history_levels: pd.DataFrame, pairs: Sequence[OpenFixedPair] = OPEN_FIXED_PAIRS
) -> pd.DataFrame:
    """Per pair and quarter: median, 5% and 95% over samples, the historical range, inside or not.

    Parameters
    ----------
    shockset
        Generated set (levels in percent for rates and spreads).
    history_levels
        Quarterly factor levels (:attr:`~risk_dagster.market.history.FactorHistory.levels`).
    pairs
        Pairs to tabulate.

    Returns
    -------
    pandas.DataFrame
        Columns ``pair, kind, quarter, median, p05, p95, history_min, history_max,
        history_quarters, median_inside``; the jump-off quarter is not a row (it is today's
        market, not generated).
    """
    rows = []
    levels = shockset.levels
    fixed = set(shockset.metadata.get("fixed_factors", []))
    for pair in pairs:
        if pair.open not in shockset.factor_ids or pair.fixed not in shockset.factor_ids:
            continue
        if pair.open not in history_levels.columns or pair.fixed not in history_levels.columns:
            continue
        lo, hi, n = _history_range(history_levels, pair)
        # a Fed set fixes every sibling; another supervisor's may leave both open (the EBA's U.S. 3m)
        sibling_fixed = pair.fixed in fixed or not fixed
        values = pair.value(levels[:, :, shockset.factor_index(pair.open)], levels[:, :, shockset.factor_index(pair.fixed)])
        for q, quarter in enumerate(shockset.quarters):
            column = values[:, q]
            column = column[np.isfinite(column)]
            med, p05, p95 = (np.quantile(column, [0.5, 0.05, 0.95]) if column.size else (np.nan,) * 3)
            rows.append(
                {
                    "pair": pair.label,
                    "kind": pair.kind,
                    "quarter": str(quarter),
                    "median": float(med),
                    "p05": float(p05),
                    "p95": float(p95),
                    "history_min": lo,
                    "history_max": hi,
                    "history_quarters": n,
                    # A median that cannot be computed is no evidence of coherence.
                    "median_inside": bool(np.isfinite(med) and lo <= med <= hi),
                    "sibling_fixed": sibling_fixed,
                }
            )
    return pd.DataFrame(
        rows,
        columns=["pair", "kind", "quarter", "median", "p05", "p95", "history_min", "history_max",
                 "history_quarters", "median_inside", "sibling_fixed"],
    )


def pairs_outside_history(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of :func:`pair_table` whose median lies outside the historical range, among the pairs whose
    sibling the set fixes (the check's definition: an open factor against a *fixed* one). A pair whose
    two factors are both open (the EBA's scenario fixes the U.S. 10-year yield, not the 3-month) stays
    in the table, marked ``sibling_fixed`` false, and is not a failure."""
    sibling = table["sibling_fixed"] if "sibling_fixed" in table else pd.Series(True, index=table.index)
    return table[~table["median_inside"] & sibling.astype(bool)].reset_index(drop=True)


def pair_summary(table: pd.DataFrame) -> pd.DataFrame:
    """One row per pair: the range of its per-quarter medians and 5-95% bands beside history."""
    if table.empty:
        return pd.DataFrame(columns=["pair", "median_min", "median_max", "p05_min", "p95_max", "history", "inside", "sibling_fixed"])
    grouped = table.groupby("pair", sort=False)
    return pd.DataFrame(
        {
            "median_min": grouped["median"].min(),
            "median_max": grouped["median"].max(),
            "p05_min": grouped["p05"].min(),
            "p95_max": grouped["p95"].max(),
            "history": grouped.apply(lambda g: f"{g['history_min'].iloc[0]:.2f} to {g['history_max'].iloc[0]:.2f}"),
            "inside": grouped["median_inside"].all(),
            "sibling_fixed": grouped["sibling_fixed"].all() if "sibling_fixed" in table else True,
        }
    ).reset_index()
