"""The 25 conservativeness statistics: the one table the code, the UI and the pack read (DESIGN.md).

Each :class:`StatisticSpec` states its id, number, name, the direction that hurts the bank
(``+1``: larger is more conservative, ``-1``: smaller is), its unit and its group. The tolerance
of the test is ``max(5% of |traditional|, floor)``, the floor by unit (:func:`tolerance_floor`):
0.1% of jump-off CET1 capital for USD amounts, 0.05 percentage points for ratios and rates
(decimal ``0.0005``), 0.01 for shares and quantiles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["usd", "ratio", "share"]
Group = Literal["loss", "capital", "lines", "linearised", "backtest"]

RELATIVE_TOLERANCE = 0.05
"""The tolerance's relative part: 5% of the traditional set's value."""
RATIO_FLOOR = 0.0005
"""0.05 percentage points, for ratios and rates held as decimals."""
SHARE_FLOOR = 0.01
"""For shares and quantiles."""
USD_FLOOR_SHARE_OF_CET1 = 0.001
"""0.1% of jump-off CET1 capital, for USD amounts."""


@dataclass(frozen=True)
class StatisticSpec:
    """One statistic of the table."""

    number: int
    id: str
    name: str
    direction: int
    unit: Unit
    group: Group
    definition: str

    @property
    def arrow(self) -> str:
        return "↑" if self.direction > 0 else "↓"


STATISTICS: tuple[StatisticSpec, ...] = (
    StatisticSpec(1, "loss_mean", "mean total loss", 1, "usd", "loss", "mean of total stress loss L (loan + trading/counterparty + securities + other), PQ1-PQ9"),
    StatisticSpec(2, "loss_median", "median total loss", 1, "usd", "loss", "median of L"),
    StatisticSpec(3, "loss_var_95", "95% loss quantile", 1, "usd", "loss", "95% quantile of L"),
    StatisticSpec(4, "loss_var_99", "99% loss quantile", 1, "usd", "loss", "99% quantile of L"),
    StatisticSpec(5, "loss_es_97_5", "97.5% expected shortfall", 1, "usd", "loss", "mean of L beyond its 97.5% quantile"),
    StatisticSpec(6, "loss_es_99", "99% expected shortfall", 1, "usd", "loss", "mean of L beyond its 99% quantile"),
    StatisticSpec(7, "cet1_min_median", "median CET1 minimum", -1, "ratio", "capital", "median over samples of each path's minimum CET1 ratio"),
    StatisticSpec(8, "cet1_min_p05", "5% CET1 minimum", -1, "ratio", "capital", "5% quantile of the per-path minimum CET1 ratio"),
    StatisticSpec(9, "cet1_end_median", "median CET1 at PQ9", -1, "ratio", "capital", "median CET1 ratio at PQ9"),
    StatisticSpec(10, "scb_median", "median unfloored SCB", 1, "ratio", "capital", "median unfloored SCB: start - min + 4 quarters of dividends / RWA"),
    StatisticSpec(11, "pretax_income_median", "median pre-tax income", -1, "usd", "capital", "median nine-quarter pre-tax net income"),
    StatisticSpec(12, "trading_loss_median", "median trading loss", 1, "usd", "lines", "median trading and counterparty loss"),
    StatisticSpec(13, "trading_loss_es_97_5", "trading loss ES 97.5%", 1, "usd", "lines", "ES 97.5% of the trading and counterparty loss"),
    StatisticSpec(14, "securities_loss_median", "median securities loss", 1, "usd", "lines", "median of the largest AFS fair-value loss over the horizon + HTM credit losses"),
    StatisticSpec(15, "ppnr_median", "median PPNR", -1, "usd", "lines", "median nine-quarter PPNR"),
    StatisticSpec(16, "open_rates_stress_median", "open rates stress", 1, "usd", "linearised", "median of the largest (over PQ1-PQ9) linearised loss sum_f delta_f Delta_f over open rate factors"),
    StatisticSpec(17, "open_credit_stress_median", "open credit stress", 1, "usd", "linearised", "the same over open credit factors"),
    StatisticSpec(18, "open_equity_stress_median", "open equity stress", 1, "usd", "linearised", "the same over open equity factors"),
    StatisticSpec(19, "open_other_stress_median", "open other stress", 1, "usd", "linearised", "the same over open FX, commodity, volatility and real-estate factors"),
    StatisticSpec(20, "open_total_stress_es_97_5", "open total stress ES 97.5%", 1, "usd", "linearised", "ES 97.5% of the largest linearised loss over all open factors"),
    StatisticSpec(21, "crisis_coverage_90", "backtest 90% coverage", 1, "share", "backtest", "share of realized open-factor moves inside the model's central 90% interval"),
    StatisticSpec(22, "crisis_coverage_99", "backtest 99% coverage", 1, "share", "backtest", "the same for the 99% interval"),
    StatisticSpec(23, "crisis_adverse_miss", "backtest adverse misses", -1, "share", "backtest", "share of realized moves beyond the model's 1% quantile on the side that hurts the book"),
    StatisticSpec(24, "crisis_book_loss_pit", "backtest book-loss PIT", -1, "share", "backtest", "mean quantile of today's book's realized linearised loss within the model's predictive loss distribution"),
    StatisticSpec(25, "crisis_book_loss_exceed_95", "backtest 95% loss exceedances", -1, "share", "backtest", "share of quarters where that realized loss exceeds the model's 95% loss quantile"),
)  # fmt: skip
"""The table (DESIGN.md "The 25 conservativeness statistics")."""

BY_ID: dict[str, StatisticSpec] = {s.id: s for s in STATISTICS}


def tolerance_floor(unit: Unit, jump_off_cet1_capital: float) -> float:
    """The unit's floor of the tolerance."""
    if unit == "usd":
        return USD_FLOOR_SHARE_OF_CET1 * float(jump_off_cet1_capital)
    if unit == "ratio":
        return RATIO_FLOOR
    return SHARE_FLOOR


def tolerance(spec: StatisticSpec, traditional_value: float, jump_off_cet1_capital: float) -> float:
    """``max(5% of |traditional|, the unit's floor)``."""
    return max(RELATIVE_TOLERANCE * abs(float(traditional_value)), tolerance_floor(spec.unit, jump_off_cet1_capital))


__all__ = ["BY_ID", "STATISTICS", "StatisticSpec", "tolerance", "tolerance_floor"]
