"""One scenario set's capital: the loss lines, PPNR and the CET1 projection together (DESIGN.md "Capital").

:func:`set_capital` chains the pieces of the other capital modules for one scenario set (AI or
traditional) of one scenario:

- loan losses by Fed segment (:mod:`~risk_dagster.capital.loan_losses`, shared by the two sets of a
  scenario: the macro path and the residual draws are the same);
- trading and counterparty, AFS, HTM and operational lines (:mod:`~risk_dagster.capital.market_lines`);
- PPNR: net interest income from repricing (:mod:`~risk_dagster.capital.net_interest_income`) or
  the balance sheet's run-rate moved by the NIM satellite's ratio path; noninterest income at its
  stated run-rate, the equity-linked fee share moving with the market (:func:`noninterest_income_path`),
  noninterest expense at its run-rate (no noninterest income or expense history is shipped to fit a
  satellite on: PROVENANCE.md, "Not found");
- the CET1 arithmetic (:func:`~risk_dagster.capital.projection.project_capital`).

:class:`SetCapital` gives what ``stress_results``, ``capital_projection``, ``run_summary.json`` and
``risk-dagster capital`` report: loss lines per sample (nine-quarter cumulative, positive), loan loss
rates (percent of average loans), and the capital summary. Ratios in the JSON are in percent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.capital.balance_sheet import BalanceSheet
from risk_dagster.capital.loan_losses import LoanLossProjection
from risk_dagster.capital.market_lines import (
    TRADING_SHOCK_QUARTERS,
    MarketLines,
    Revaluer,
    quarterly_changes,
    revalue_market_lines,
)
from risk_dagster.capital.net_interest_income import NetInterestIncome
from risk_dagster.capital.projection import (
    ALLOWANCE_COVERAGE_QUARTERS,
    DIVIDEND_ADD_ON_QUARTERS,
    HORIZON,
    CapitalProjection,
    project_capital,
)
from risk_dagster.engine.revalue import StressResult
from risk_dagster.translate.shockset import ShockSet

LOSS_LINES: tuple[str, ...] = (
    "loan_losses", "trading_and_counterparty", "securities_afs", "securities_htm", "other_losses", "total",
)  # fmt: skip
"""Lines of :meth:`SetCapital.loss_lines` (USD, nine-quarter cumulative per sample, positive = loss):
loan net charge-offs; the trading book's global-market-shock loss (counterparty default not modelled);
the AFS fair-value loss at PQ9 (through OCI); HTM credit losses; operational-risk losses; the total L."""

LOSS_LINE_NOTES: dict[str, str] = {
    "loan_losses": "net charge-offs PQ1-PQ9, all segments (loss-rate satellites scaled to the book)",
    "trading_and_counterparty": "worst instantaneous trading-book loss over the first four quarters, booked in PQ1; "
    "counterparty default and CVA not modelled",
    "securities_afs": "AFS fair-value loss at PQ9 over the unshocked aged book, through OCI",
    "securities_htm": "HTM credit losses (CECL allowance build on corporate bonds and FRNs)",
    "other_losses": "operational-risk losses at the balance sheet's stated charge",
    "total": "sum of the lines",
}


def loss_lines(loans: LoanLossProjection, market: MarketLines, horizon: int = HORIZON) -> pd.DataFrame:
    """Per sample of ``market``: nine-quarter cumulative loss by line (USD, positive), columns :data:`LOSS_LINES`.

    Loan losses are the first ``market.samples`` samples of ``loans`` (common random numbers).
    """
    n = market.samples
    lines = pd.DataFrame({
        "loan_losses": loans.head(n).total(horizon).sum(axis=1),
        "trading_and_counterparty": market.trading.loss + market.counterparty,
        "securities_afs": market.afs_value_change[:, horizon - 1] * -1.0,
        "securities_htm": market.htm_credit[:, :horizon].sum(axis=1),
        "other_losses": market.operational[:, :horizon].sum(axis=1),
    })  # fmt: skip
    lines["total"] = lines.sum(axis=1)
    return lines


def distribution(values: np.ndarray) -> dict[str, float]:
    """Mean, median, 95%/99% quantiles, 97.5%/99% expected shortfall and max of a loss sample (USD)."""
    v = np.sort(np.asarray(values, dtype=float))

    def es(level: float) -> float:
        return float(v[v >= np.quantile(v, level)].mean())

    return {
        "mean": float(v.mean()), "median": float(np.median(v)), "var_95": float(np.quantile(v, 0.95)),
        "var_99": float(np.quantile(v, 0.99)), "es_97_5": es(0.975), "es_99": es(0.99), "max": float(v[-1]),
    }  # fmt: skip


@dataclass(frozen=True)
class ScenarioStress:
    """The loss lines of one scenario: the loan losses (shared) and each set's market lines."""

    scenario_id: str
    loans: LoanLossProjection
    market: dict[str, MarketLines]
    engine: dict[str, Any]

    def loss_lines(self, label: str, horizon: int = HORIZON) -> pd.DataFrame:
        return loss_lines(self.loans, self.market[label], horizon)

    def summary(self, label: str, horizon: int = HORIZON) -> dict[str, Any]:
        """Per line the median (USD bn); the total loss's distribution (USD bn); loan loss rates (percent)."""
        lines = self.loss_lines(label, horizon)
        rates = self.loans.head(self.market[label].samples).cumulative_rates(horizon)
        return {
            "samples": int(len(lines)),
            "losses": {k: float(np.median(lines[k])) / 1e9 for k in LOSS_LINES},
            "loss_distribution": {k: v / 1e9 for k, v in distribution(lines["total"].to_numpy()).items()},
            "loss_rates": {k: (None if not np.isfinite(v) else float(v)) for k, v in rates.median(axis=0).items()},
            "units": "USD bn, nine-quarter cumulative (PQ1-PQ9), losses positive; loss_rates percent of average loans",
        }


@dataclass(frozen=True)
class SetCapital:
    """Capital of one scenario set: its inputs by line and the projection."""

    label: str
    scenario_id: str
    loans: LoanLossProjection
    market: MarketLines
    nii: NetInterestIncome
    nii_method: str
    projection: CapitalProjection

    @property
    def samples(self) -> int:
        return self.projection.samples

    @property
    def horizon_quarters(self) -> int:
        """The Fed's nine quarters (PQ1-PQ9), over which the statistics read the projection."""
        return HORIZON

    @property
    def start_cet1_capital(self) -> float:
        return float(self.projection.start_cet1_capital)

    def per_sample_outcomes(self) -> dict[str, np.ndarray]:
        """The capital-side inputs of statistics 1-15 (:mod:`risk_dagster.conservativeness.statistics`), ``[S]`` each."""
        p, horizon = self.projection, HORIZON
        lines = self.loss_lines(horizon)
        rows = np.arange(p.samples)
        q_min = p.min_quarter - 1
        scb = p.start_ratio - p.min_ratio + DIVIDEND_ADD_ON_QUARTERS * p.planned_dividends_per_quarter / p.rwa[rows, q_min]
        return {
            "total_loss": lines["total"].to_numpy(),
            "min_ratio": p.min_ratio.copy(),
            "end_ratio": p.cet1_ratio[:, horizon - 1].copy(),
            "scb_unfloored": scb,
            "pretax_income": p.pre_tax_net_income[:, :horizon].sum(axis=1),
            "trading_loss": lines["trading_and_counterparty"].to_numpy(),
            "securities_loss": self.market.afs_worst_loss + self.market.htm_credit[:, :horizon].sum(axis=1),
            "ppnr": p.ppnr[:, :horizon].sum(axis=1),
        }

    def loss_lines(self, horizon: int = HORIZON) -> pd.DataFrame:
        """Per sample: nine-quarter cumulative loss by line (USD, positive = loss), columns :data:`LOSS_LINES`."""
        return loss_lines(self.loans, self.market, horizon)

    def loss_rates(self, horizon: int = HORIZON) -> pd.DataFrame:
        """Per sample: nine-quarter loan loss rate by segment and total, percent of average loans."""
        return self.loans.cumulative_rates(horizon)

    def quarterly_table(self) -> pd.DataFrame:
        """Median over samples of every quarterly line of the projection, USD bn (ratio in percent)."""
        p = self.projection
        rows: dict[str, np.ndarray] = {}
        parts = (
            ("net interest income", p.net_interest_income), ("noninterest income", p.noninterest_income),
            ("noninterest expense", p.noninterest_expense), ("PPNR", p.ppnr), ("loan losses (net charge-offs)", p.loan_losses),
            ("allowance", p.allowance), ("provisions", p.provisions), ("trading and counterparty", p.trading_loss + p.counterparty_loss),
            ("HTM credit losses", p.htm_credit_loss), ("operational losses", p.operational_loss),
            ("pre-tax net income", p.pre_tax_net_income), ("taxes", p.taxes), ("net income", p.net_income),
            ("OCI (after tax)", p.oci), ("dividends", p.dividends), ("CET1 capital", p.cet1_capital), ("RWA", p.rwa),
        )  # fmt: skip
        for name, arr in parts:
            if arr is not None:
                rows[name] = np.median(arr, axis=0) / 1e9
        rows["CET1 ratio (%)"] = 100.0 * p.median_ratio
        return pd.DataFrame(rows, index=list(p.quarters)).T

    def summary(self, horizon: int = HORIZON) -> dict[str, Any]:
        """The ``--json`` / ``run_summary.json`` view (ratios and rates in percent, money in USD bn)."""
        p = self.projection
        lines = self.loss_lines(horizon)
        rates = self.loss_rates(horizon)
        lo, hi = p.band
        return {
            "scenario": self.scenario_id,
            "set": self.label,
            "samples": self.samples,
            "units": {"ratios": "percent of RWA", "loss_rates": "percent of average loans, nine-quarter cumulative",
                      "losses": "USD bn, nine-quarter cumulative, median over samples (lines need not add to the total)"},
            "cet1_start": 100.0 * p.start_ratio,
            "cet1_trough": 100.0 * p.trough,
            "cet1_trough_p05": 100.0 * float(np.quantile(p.min_ratio, 0.05)),
            "trough_quarter": p.trough_quarter,
            "scb": 100.0 * float(np.median(p.scb)),
            "scb_median_path": 100.0 * p.scb_median_path,
            "below_minimum_share": p.share_below_minimum,
            "path": [100.0 * float(x) for x in p.median_ratio],
            "path_p05": [100.0 * float(x) for x in lo],
            "path_p95": [100.0 * float(x) for x in hi],
            "quarters": list(p.quarters),
            "loss_rates": {k: (None if not np.isfinite(v) else float(v)) for k, v in rates.median(axis=0).items()},
            "losses": {k: float(np.median(lines[k])) / 1e9 for k in LOSS_LINES},
            "ppnr": {
                "total": float(np.median(p.ppnr[:, :horizon].sum(axis=1))) / 1e9,
                "net_interest_income": float(np.median(p.net_interest_income[:, :horizon].sum(axis=1))) / 1e9
                if p.net_interest_income is not None else None,
                "nii_method": self.nii_method,
            },
            "pre_tax_net_income": float(np.median(p.pre_tax_net_income[:, :horizon].sum(axis=1))) / 1e9,
        }


def scenario_stress(
    scenario_id: str,
    positions: pd.DataFrame,
    sets: dict[str, ShockSet],
    loans: LoanLossProjection,
    revaluer: Revaluer,
    balance_sheet: BalanceSheet,
    *,
    trading_quarters: int = TRADING_SHOCK_QUARTERS,
    horizon: int = HORIZON,
) -> tuple[ScenarioStress, dict[str, dict[str, StressResult]]]:
    """The loss lines of every set of a scenario (the unshocked AFS path revalued once, shared).

    ``loans`` must hold at least as many samples as the largest set and the same quarters.
    """
    results: dict[str, dict[str, StressResult]] = {}
    market: dict[str, MarketLines] = {}
    afs_unshocked: StressResult | None = None
    for label, shocks in sets.items():
        if shocks.n_samples > loans.samples:
            raise ValueError(f"{label}: {shocks.n_samples} samples, loan losses projected for {loans.samples}")
        if list(shocks.quarters[:horizon]) != list(loans.quarters[:horizon]):
            raise ValueError(
                f"{label}: ShockSet quarters {shocks.quarters[:horizon]} differ from the scenario's {loans.quarters[:horizon]}"
            )
        market[label], results[label] = revalue_market_lines(
            positions, shocks, revaluer, balance_sheet.operational_loss_per_quarter,
            horizon=horizon, trading_quarters=trading_quarters, afs_unshocked=afs_unshocked,
        )  # fmt: skip
        afs_unshocked = results[label].get("afs_unshocked", afs_unshocked)
    engine: dict[str, Any] = {}
    for label, res in results.items():
        for book, result in res.items():
            meta = result.metadata
            engine[f"{label}/{book}"] = {k: meta.get(k) for k in ("dtype", "device", "aged", "revaluations_per_s") if k in meta}
    return ScenarioStress(scenario_id=scenario_id, loans=loans, market=market, engine=engine), results


EQUITY_MARKET_FACTOR = "equity.total_market"


def noninterest_income_path(balance_sheet: BalanceSheet, shockset: ShockSet, horizon: int = HORIZON) -> np.ndarray:
    """``[S, horizon]`` noninterest income: the run-rate, its equity-linked share moving with the market.

    ``NonII_q = run-rate x (1 - w + w x P_q / P_0)``, ``w = fee_income_equity_share`` and ``P`` the
    total-market equity index (the ShockSet's ``equity.total_market`` log return). Without that factor,
    or with ``w = 0``, the run-rate. Noninterest expense stays at its run-rate: no noninterest income or
    expense history is shipped to fit a satellite on.
    """
    run = balance_sheet.noninterest_income
    w = balance_sheet.fee_income_equity_share
    if w == 0.0 or EQUITY_MARKET_FACTOR not in shockset.factor_ids:
        return np.full((shockset.n_samples, horizon), run)
    i = shockset.factor_ids.index(EQUITY_MARKET_FACTOR)
    if shockset.shock_types[i] != "log_return":
        raise ValueError(f"{EQUITY_MARKET_FACTOR}: shock type {shockset.shock_types[i]}, expected log_return")
    level = np.exp(shockset.shocks[:, :horizon, i])
    return run * (1.0 - w + w * level)


def set_capital(
    label: str,
    scenario_id: str,
    balance_sheet: BalanceSheet,
    loans: LoanLossProjection,
    market: MarketLines,
    nii: NetInterestIncome,
    *,
    nii_ratio: np.ndarray | None = None,
    noninterest_income: np.ndarray | None = None,
    tax_benefit_on_losses: bool = True,
    dividends_in_path: bool = False,
    horizon: int = HORIZON,
    allowance_coverage_quarters: int = ALLOWANCE_COVERAGE_QUARTERS,
) -> SetCapital:
    """Project one set's capital.

    Parameters
    ----------
    loans
        The scenario's loan losses; its first ``market.samples`` samples are used (common random
        numbers: sample ``i`` is the same draw in every set).
    nii
        Repricing NII of this set (:func:`~risk_dagster.capital.net_interest_income.project_net_interest_income`).
    noninterest_income
        ``[S, horizon]`` (:func:`noninterest_income_path`); default the run-rate.
    nii_ratio
        When given (``[horizon]``, the NIM satellite's NIM_q / NIM_0), NII = run-rate x ratio
        instead of the repricing result (``nii_method = "nim_satellite"``).
    """
    n = market.samples
    if nii.nii.shape[0] != n:
        raise ValueError(f"{label}: NII has {nii.nii.shape[0]} samples, the market lines {n}")
    loan = loans.head(n)
    if nii_ratio is None:
        nii_path, method = nii.nii[:, :horizon], "repricing"
    else:
        ratio = np.asarray(nii_ratio, dtype=float)[:horizon]
        nii_path, method = np.broadcast_to(balance_sheet.net_interest_income * ratio, (n, horizon)), "nim_satellite"
    projection = project_capital(
        balance_sheet,
        loan.losses,
        trading_loss=market.trading.loss,
        afs_value_change=quarterly_changes(market.afs_value_change),
        htm_credit_loss=market.htm_credit,
        ppnr={"net_interest_income": nii_path} | ({} if noninterest_income is None else {"noninterest_income": noninterest_income}),
        counterparty_loss=market.counterparty,
        operational_loss=market.operational,
        segments=loan.segments,
        quarters=loan.quarters[:horizon],
        horizon=horizon,
        tax_benefit_on_losses=tax_benefit_on_losses,
        dividends_in_path=dividends_in_path,
        allowance_coverage_quarters=allowance_coverage_quarters,
    )
    return SetCapital(label=label, scenario_id=scenario_id, loans=loan, market=market, nii=nii, nii_method=method,
                      projection=projection)


def capital_text(summary: dict[str, Any]) -> str:
    """A reader's view of :meth:`SetCapital.summary`: the path, the buffer, losses and loss rates."""
    lines = [
        f"{summary['scenario']} ({summary['set']} set, {summary['samples']} samples)",
        f"CET1 ratio: start {summary['cet1_start']:.2f}%, minimum {summary['cet1_trough']:.2f}% (median of the paths' "
        f"minima; 5% quantile {summary['cet1_trough_p05']:.2f}%), median path lowest in PQ{summary['trough_quarter']}",
        f"stress capital buffer: {summary['scb']:.2f}% (median over paths, floor 2.5%); paths below the minimum: "
        f"{100 * summary['below_minimum_share']:.1f}%",
        "",
        "quarter   median   5%      95%",
    ]
    for q, m, lo, hi in zip(summary["quarters"], summary["path"], summary["path_p05"], summary["path_p95"], strict=True):
        lines.append(f"{q:<9} {m:6.2f}  {lo:6.2f}  {hi:6.2f}")
    lines += ["", "losses PQ1-PQ9, USD bn (median per line):"]
    lines += [f"  {k:<26} {v:9.2f}" for k, v in summary["losses"].items()]
    lines += ["", "loan loss rates PQ1-PQ9, % of average loans (median):"]
    lines += [f"  {k:<26} {'n/a' if v is None else f'{v:9.2f}'}" for k, v in summary["loss_rates"].items()]
    lines += ["", f"PPNR PQ1-PQ9: USD {summary['ppnr']['total']:.1f} bn (NII by {summary['ppnr']['nii_method']}); "
              f"pre-tax net income USD {summary['pre_tax_net_income']:.1f} bn"]
    return "\n".join(lines)


__all__ = ["LOSS_LINES", "LOSS_LINE_NOTES", "capital_text", "ScenarioStress", "SetCapital", "distribution", "loss_lines", "noninterest_income_path", "scenario_stress", "set_capital"]
