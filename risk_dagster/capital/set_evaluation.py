"""One more scenario set through the engine and the capital projection, on the scenario's fixed parts.

``stress_results`` and ``capital_projection`` evaluate the AI and the traditional set of a
scenario. The conservativeness test evaluates more sets of the same scenario: each registry lane's
and the conservative overlay's scaled sets. :class:`SetEvaluator` holds what does not depend on the
set -- the book, the balance sheet, the scenario's loan losses (common random numbers: sample ``i``
is the same loan-loss draw in every set), the repricing gap and the curve, the NIM satellite's
path, the unshocked AFS revaluation -- so that every set goes through exactly the same steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.capital.balance_sheet import BalanceSheet
from risk_dagster.capital.loan_losses import LoanLossProjection
from risk_dagster.capital.market_lines import MarketLines, Revaluer, revalue_market_lines
from risk_dagster.capital.net_interest_income import project_net_interest_income, repricing_gap
from risk_dagster.capital.projection import ALLOWANCE_COVERAGE_QUARTERS, HORIZON
from risk_dagster.capital.scenario_capital import SetCapital, noninterest_income_path, set_capital
from risk_dagster.engine.revalue import StressResult
from risk_dagster.engine.valuation import valuation_context
from risk_dagster.translate.shockset import ShockSet


def earning_assets_nim(nii_run_rate: float, gap_amounts: np.ndarray) -> float:
    """The bank's own NIM at jump-off (percent): annualised NII over its interest-earning assets."""
    assets = float(gap_amounts[gap_amounts > 0].sum())
    return 400.0 * nii_run_rate / assets if assets > 0 else float("nan")


@dataclass
class SetEvaluator:
    """The scenario's set-independent inputs; :meth:`capital` and :meth:`evaluate` take a set.

    Attributes
    ----------
    curve, gap
        The valuation curve and the book's repricing gap
        (:func:`~risk_dagster.capital.net_interest_income.repricing_gap`).
    nii_ratio
        The NIM satellite's ``NIM_q / NIM_0`` path when NII follows it, else ``None`` (repricing).
    revaluer
        The engine (needed by :meth:`evaluate` only).
    """

    scenario_id: str
    portfolio: pd.DataFrame
    balance_sheet: BalanceSheet
    loans: LoanLossProjection
    curve: Any
    gap: Any
    nii_ratio: np.ndarray | None = None
    revaluer: Revaluer | None = None
    trading_quarters: int = 4
    tax_benefit_on_losses: bool = True
    dividends_in_path: bool = False
    allowance_coverage_quarters: int = ALLOWANCE_COVERAGE_QUARTERS
    horizon: int = HORIZON
    own_nim: float = float("nan")
    """The bank's jump-off NIM (percent) the NIM satellite's path starts from."""
    nim_satellite_ratio: np.ndarray | None = None
    """The NIM satellite's ``NIM_q / NIM_0`` path whether or not NII follows it (a benchmark)."""
    _afs_unshocked: StressResult | None = field(default=None, repr=False)

    @classmethod
    def for_scenario(
        cls,
        scenario_id: str,
        portfolio: pd.DataFrame,
        balance_sheet: BalanceSheet,
        loans: LoanLossProjection,
        shocks: ShockSet,
        *,
        nim_satellite: Any,
        scenario: Any,
        fed_history: Any,
        nii_method: str = "repricing",
        **options: Any,
    ) -> SetEvaluator:
        """The evaluator of a scenario: the valuation curve at the set's jump-off (``shocks`` is any
        set of the scenario), the book's repricing gap on it, and the NIM satellite's path from the
        bank's own jump-off NIM (used for NII when ``nii_method == "nim_satellite"``)."""
        curve = valuation_context(shocks, book_as_of=portfolio.attrs.get("as_of")).curve
        gap = repricing_gap(portfolio, balance_sheet, curve)
        own_nim = earning_assets_nim(balance_sheet.net_interest_income, gap.amount)
        ratio = np.asarray(nim_satellite.nii_ratio(scenario, fed_history, own_nim).to_numpy(), dtype=float)
        return cls(
            scenario_id=scenario_id, portfolio=portfolio, balance_sheet=balance_sheet, loans=loans, curve=curve,
            gap=gap, nii_ratio=ratio if nii_method == "nim_satellite" else None, own_nim=own_nim,
            nim_satellite_ratio=ratio, **options,
        )  # fmt: skip

    def capital(self, label: str, shocks: ShockSet, market: MarketLines) -> SetCapital:
        """The capital projection of a set whose market lines are known."""
        nii = project_net_interest_income(self.portfolio, self.balance_sheet, shocks, self.curve, gap=self.gap)
        return set_capital(
            label, self.scenario_id, self.balance_sheet, self.loans, market, nii, nii_ratio=self.nii_ratio,
            noninterest_income=noninterest_income_path(self.balance_sheet, shocks, self.horizon),
            tax_benefit_on_losses=self.tax_benefit_on_losses, dividends_in_path=self.dividends_in_path,
            horizon=self.horizon, allowance_coverage_quarters=self.allowance_coverage_quarters,
        )  # fmt: skip

    def market_lines(self, shocks: ShockSet) -> MarketLines:
        """The engine's market lines of a set (trading, AFS, HTM, operational)."""
        if self.revaluer is None:
            raise ValueError(f"{self.scenario_id}: SetEvaluator without an engine cannot revalue a set")
        if shocks.n_samples > self.loans.samples:
            raise ValueError(f"{shocks.n_samples} samples, loan losses projected for {self.loans.samples}")
        market, results = revalue_market_lines(
            self.portfolio, shocks, self.revaluer, self.balance_sheet.operational_loss_per_quarter,
            horizon=self.horizon, trading_quarters=self.trading_quarters, afs_unshocked=self._afs_unshocked,
        )  # fmt: skip
        self._afs_unshocked = results.get("afs_unshocked", self._afs_unshocked)
        return market

    def evaluate(self, label: str, shocks: ShockSet) -> SetCapital:
        """Engine and capital projection of one more set."""
        return self.capital(label, shocks, self.market_lines(shocks))


__all__ = ["SetEvaluator", "earning_assets_nim"]
