"""Sensitivity of the capital result to its key assumptions (SR 15-18: sensitivity analysis).

One scenario set (the submitted AI set) is projected again with one assumption moved at a time,
everything else as in the run:

* **deposit beta** -- the share of a 3-month rate change passed to depositors (balance sheet
  ``deposit_beta``); it moves net interest income only, through the repricing gap;
* **allowance horizon** -- how many quarters of future net charge-offs the allowance covers
  (the Fed's assumption is four); it moves provisions;
* **trading shock window** -- the trading shock is the worst instantaneous loss over the first
  ``q`` quarters (the run's setting); ``q = 1`` is the Fed's global market shock at jump-off only.

The loan losses and the securities lines are the run's: the variants change what the assumption
changes and nothing else, so each row's difference to the base is that assumption's effect.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from risk_dagster.capital.balance_sheet import BalanceSheet
from risk_dagster.capital.market_lines import MarketLines, Revaluer, positions_in, trading_loss
from risk_dagster.capital.scenario_capital import SetCapital
from risk_dagster.capital.set_evaluation import SetEvaluator
from risk_dagster.translate.shockset import ShockSet

DEPOSIT_BETA_STEPS: tuple[float, ...] = (-0.15, 0.15)
"""Deposit-beta moves around the balance sheet's (clipped to [0, 1]): illustrative, not fitted (the
sample bank's 0.30 is itself illustrative). A bank sets them from its own measured repricing."""
ALLOWANCE_QUARTERS: tuple[int, ...] = (2, 8)
"""Allowance horizons tried beside the run's (the Fed: 4 quarters; 8 approaches a lifetime view)."""
TRADING_WINDOWS: tuple[int, ...] = (1, 9)
"""Trading-shock windows tried beside the run's: jump-off only, and the whole horizon."""

EvaluatorFactory = Callable[[BalanceSheet, int], SetEvaluator]
"""``(balance sheet, allowance coverage quarters) -> SetEvaluator`` of the scenario."""


@dataclass(frozen=True)
class Variant:
    """One assumption moved: its name, the value used and the run's value."""

    assumption: str
    value: float
    base_value: float
    unit: str

    @property
    def label(self) -> str:
        return f"{self.assumption} = {_fmt(self.value)} (run: {_fmt(self.base_value)})"


def capital_sensitivities(
    base: SetCapital,
    shocks: ShockSet,
    balance_sheet: BalanceSheet,
    make_evaluator: EvaluatorFactory,
    *,
    allowance_quarters: int,
    trading_quarters: int,
    portfolio: pd.DataFrame,
    revaluer: Revaluer | None,
    deposit_beta_steps: Sequence[float] = DEPOSIT_BETA_STEPS,
    allowance_options: Sequence[int] = ALLOWANCE_QUARTERS,
    trading_windows: Sequence[int] = TRADING_WINDOWS,
) -> pd.DataFrame:
    """The base row and one row per moved assumption.

    Parameters
    ----------
    base
        The run's projection of the set (its market lines are reused).
    shocks
        The set itself (NII reprices on it).
    make_evaluator
        Builds the scenario's evaluator for a balance sheet and an allowance horizon.
    allowance_quarters, trading_quarters
        The run's values of the two settings.
    revaluer
        The engine, to revalue the trading book over the longest window tried; ``None`` skips the
        trading-window rows (no engine: nothing to revalue).

    Returns
    -------
    pandas.DataFrame
        One row per variant (the first is ``base``): ``assumption``, ``value``, ``base_value``,
        ``unit``, ``cet1_min_median`` (percent), ``cet1_min_p05`` (percent), ``scb`` (percent),
        ``loss_9q_median`` (USD bn), ``ppnr_9q_median`` (USD bn) and the change of the minimum
        against the base in percentage points (``delta_cet1_min_pp``).
    """
    rows = [_row(Variant("run as configured", np.nan, np.nan, ""), base)]
    base_beta = float(balance_sheet.deposit_beta)
    for step in deposit_beta_steps:
        beta = float(np.clip(base_beta + step, 0.0, 1.0))
        if beta == base_beta:
            continue
        sheet = dataclasses.replace(balance_sheet, deposit_beta=beta)
        capital = make_evaluator(sheet, allowance_quarters).capital(base.label, shocks, base.market)
        rows.append(_row(Variant("deposit beta", beta, base_beta, "share"), capital))
    for quarters in allowance_options:
        if quarters == allowance_quarters:
            continue
        capital = make_evaluator(balance_sheet, quarters).capital(base.label, shocks, base.market)
        rows.append(_row(Variant("allowance horizon", quarters, allowance_quarters, "quarters"), capital))
    windows = [q for q in trading_windows if q != trading_quarters and q <= len(shocks.quarters)]
    trading_book = positions_in(portfolio, "trading")
    if revaluer is not None and windows and len(trading_book):
        longest = max(max(windows), trading_quarters)
        instantaneous = revaluer(trading_book, shocks, list(range(longest)), False)
        evaluator = make_evaluator(balance_sheet, allowance_quarters)
        for quarters in windows:
            market = with_trading_window(base.market, trading_loss(instantaneous, quarters))
            capital = evaluator.capital(base.label, shocks, market)
            rows.append(_row(Variant("trading shock window", quarters, trading_quarters, "quarters"), capital))
    frame = pd.DataFrame(rows)
    frame["delta_cet1_min_pp"] = frame["cet1_min_median"] - frame["cet1_min_median"].iloc[0]
    return frame


def trading_window_violations(frame: pd.DataFrame, tolerance_pp: float = 1e-9) -> list[str]:
    """What breaks the trading-window ordering in a :func:`capital_sensitivities` table.

    The window's loss is the worst over its quarters, so per sample it cannot fall as the window
    grows, and the median CET1 minimum cannot rise: ordered by window (the run's value included),
    ``cet1_min_median`` must not increase. Returns one line per broken pair (empty: ordered).
    """
    rows = frame[frame["assumption"] == "trading shock window"]
    if rows.empty:
        return []
    base = frame.iloc[0]
    points = sorted([(float(rows["base_value"].iloc[0]), float(base["cet1_min_median"]))]
                    + [(float(v), float(c)) for v, c in zip(rows["value"], rows["cet1_min_median"], strict=True)])  # fmt: skip
    return [
        f"CET1 minimum {c2:.4f}% with a {w2:.0f}-quarter window is above {c1:.4f}% with {w1:.0f}"
        for (w1, c1), (w2, c2) in zip(points, points[1:])
        if c2 > c1 + tolerance_pp
    ]


def with_trading_window(market: MarketLines, trading: object) -> MarketLines:
    """The market lines with another trading shock (a :class:`~risk_dagster.capital.market_lines.TradingLoss`)."""
    return dataclasses.replace(market, trading=trading)


def _row(variant: Variant, capital: SetCapital) -> dict[str, object]:
    p = capital.projection
    lines = capital.loss_lines()
    return {
        "assumption": variant.assumption,
        "value": variant.value,
        "base_value": variant.base_value,
        "unit": variant.unit,
        "cet1_min_median": 100.0 * float(np.median(p.min_ratio)),
        "cet1_min_p05": 100.0 * float(np.quantile(p.min_ratio, 0.05)),
        "scb": 100.0 * float(np.median(p.scb)),
        "loss_9q_median": float(np.median(lines["total"])) / 1e9,
        "ppnr_9q_median": float(np.median(p.ppnr.sum(axis=1))) / 1e9,
    }


def _fmt(x: float) -> str:
    return "" if not np.isfinite(x) else (f"{x:.0f}" if float(x).is_integer() else f"{x:.2f}")


__all__ = [
    "ALLOWANCE_QUARTERS",
    "DEPOSIT_BETA_STEPS",
    "TRADING_WINDOWS",
    "Variant",
    "capital_sensitivities",
    "trading_window_violations",
    "with_trading_window",
]
