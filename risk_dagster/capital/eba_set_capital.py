"""One EBA scenario set through the euro-area bank: market-risk and FVOCI losses per sample, NII, CET1 path.

The EBA's method (:mod:`~risk_dagster.capital.eba_projection`) gives one CET1 path for one macro
path; a translated ShockSet gives many joint market paths consistent with it. Each sample here is
one projection of the bank, so the conservativeness statistics compare distributions as for the Fed:

* **market-risk loss** (trading book: swaps, equities; accounting ``trading``): the jump-off book
  revalued instantaneously (``age_book=False``) under each of the first year's quarterly shocks, in
  the quarter where the trading and FVOCI losses together are worst per sample (the EBA applies its
  market-risk shock instantaneously and books it in year 1, not reversed);
* **FVOCI loss** (accounting ``afs``: the sovereign and corporate bonds at fair value through OCI):
  the same instantaneous revaluation in the same quarter, taken to OCI in year 1 and so to
  CET1 (the balance sheet's ``aoci_in_cet1``: the CRR counts unrealised gains and losses). Bonds at
  amortised cost (``htm``) are not revalued; sovereign credit losses are not modelled (stated);
* **credit impairments**: the IFRS 9 stage projection (:mod:`~risk_dagster.capital.ifrs9`), driven
  by the macro path only, so the same for every sample;
* **NII**: :mod:`~risk_dagster.capital.euro_nii` on each sample's short-rate path, the EBA's adverse
  cap applied in the projection.

Money in the balance sheet's currency (EUR); losses positive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.capital.balance_sheet import BalanceSheet
from risk_dagster.capital.eba_capital import EBA_2025_PUBLISHED, EbaCapitalRun
from risk_dagster.capital.eba_projection import project_eba_capital
from risk_dagster.capital.euro_nii import EuroNii, euro_nii_projection
from risk_dagster.capital.market_lines import Revaluer
from risk_dagster.engine.revalue import StressResult
from risk_dagster.translate.shockset import ShockSet

__all__ = [
    "MARKET_RISK_QUARTERS",
    "NOT_MODELLED",
    "eba_capital_text",
    "EbaMarketLosses",
    "EbaSetCapital",
    "eba_market_losses",
    "eba_set_capital",
]

NOT_MODELLED: tuple[str, ...] = (
    "RWA: static at the starting point (IRB credit RWA would rise with the PDs)",
    "sovereign credit losses: none (bonds at amortised cost are not revalued; FVOCI ones are, at fair value)",
    "NII: a repricing-gap model on the EUR 3M rate (capital.euro_nii); no margin compression on new business",
    "counterparty credit risk (CVA) and the EBA's separate market-risk scenario: not modelled; the macro-financial "
    "path's first-year market moves are the instantaneous shock",
)
"""What the set projection takes as given rather than computes (shown beside every result)."""

MARKET_RISK_QUARTERS = 4
"""The first year's quarters whose instantaneous revaluation the market-risk and FVOCI losses take the worst of."""



@dataclass(frozen=True)
class EbaMarketLosses:
    """Per-sample instantaneous losses of the euro book's fair-valued positions.

    Attributes
    ----------
    trading, fvoci
        ``[S]`` first-year loss of the trading book and of the FVOCI securities (positive = loss), both
        in the sample's worst quarter for their sum.
    by_segment
        Samples x segments: each segment's loss in that quarter.
    worst_quarter
        ``[S]`` the quarter (0-based) of the worst combined (trading + FVOCI) loss.
    results
        The engine's results by book (``trading``, ``fvoci``), for reports.
    """

    trading: np.ndarray
    fvoci: np.ndarray
    by_segment: pd.DataFrame
    worst_quarter: np.ndarray
    results: dict[str, StressResult] = field(default_factory=dict, repr=False)

    @property
    def samples(self) -> int:
        return int(self.trading.shape[0])


def _quarter_losses(result: StressResult | None, n: int, q: int) -> tuple[np.ndarray, np.ndarray | None]:
    """``[S, Q]`` total loss and ``[S, Q, segments]`` loss of one book (zeros without positions)."""
    if result is None:
        return np.zeros((n, q)), None
    return -result.pnl.sum(axis=2), -result.pnl


def eba_market_losses(book: pd.DataFrame, shocks: ShockSet, revaluer: Revaluer,
                      quarters: int = MARKET_RISK_QUARTERS) -> EbaMarketLosses:  # fmt: skip
    """The trading and FVOCI losses of every sample (module docstring).

    Both books are taken in the same quarter of each sample, the one where their sum is worst: one
    instantaneous market state for the whole fair-valued book, so the swaps that hedge the bonds'
    rate risk offset it, as the EBA's hedge-inclusive revaluation does.
    """
    accounting = book["accounting_book"].astype(str)
    qs = list(range(min(quarters, len(shocks.quarters))))
    results: dict[str, StressResult] = {}
    for name, mask in (("trading", accounting == "trading"), ("fvoci", accounting == "afs")):
        part = book[mask.to_numpy() & (book["instrument_type"].astype(str) != "loan").to_numpy()]
        if len(part):
            part = part.copy()
            part.attrs = dict(book.attrs)
            results[name] = revaluer(part, shocks, qs, False)
    n = shocks.n_samples
    trading_q, seg_t = _quarter_losses(results.get("trading"), n, len(qs))
    fvoci_q, seg_f = _quarter_losses(results.get("fvoci"), n, len(qs))
    q = np.argmax(trading_q + fvoci_q, axis=1) if len(qs) else np.zeros(n, dtype=np.int64)
    rows = np.arange(n)
    parts = []
    for name, seg in (("trading", seg_t), ("fvoci", seg_f)):
        if seg is not None:
            parts.append(pd.DataFrame(seg[rows, q, :], columns=list(results[name].segments)))
    by_segment = pd.concat(parts, axis=1).T.groupby(level=0).sum().T if parts else pd.DataFrame(index=rows)
    return EbaMarketLosses(trading=trading_q[rows, q], fvoci=fvoci_q[rows, q], by_segment=by_segment,
                           worst_quarter=q, results=results)  # fmt: skip


@dataclass(frozen=True)
class EbaSetCapital:
    """One set's projections under the EBA method, one per sample.

    Attributes
    ----------
    label, scenario_id, currency
        The set (``ai``, ``traditional``, a lane), the scenario, the balance sheet's currency.
    years
        The projected years (2025, 2026, 2027).
    base
        The macro path's own run (credit losses by stage, PD multipliers, the published comparison).
    market
        The market-risk and FVOCI losses per sample.
    nii
        The NII projection per sample.
    cet1_ratio, cet1_capital
        ``[S, Y + 1]`` year-end values, the starting point first.
    pre_tax_profit, ppnr, net_interest_income, dividends, net_profit, oci
        ``[S, Y]`` per year (NII after the EBA's cap; OCI as counted in CET1).
    rwa
        Risk exposure amount (static).
    planned_dividends_per_year
        Four quarters of the balance sheet's planned dividends (for the SCB-style statistic).
    """

    label: str
    scenario_id: str
    currency: str
    years: list[int]
    base: EbaCapitalRun
    market: EbaMarketLosses
    nii: EuroNii
    cet1_ratio: np.ndarray
    cet1_capital: np.ndarray
    pre_tax_profit: np.ndarray
    ppnr: np.ndarray
    net_interest_income: np.ndarray
    dividends: np.ndarray
    net_profit: np.ndarray
    oci: np.ndarray
    rwa: float
    planned_dividends_per_year: float

    @property
    def samples(self) -> int:
        return int(self.cet1_ratio.shape[0])

    @property
    def horizon_quarters(self) -> int:
        """Quarters the statistics' open-factor losses look over: the three projected years."""
        return 4 * len(self.years)

    @property
    def start_cet1_capital(self) -> float:
        return float(self.cet1_capital[0, 0])

    @property
    def impairments(self) -> np.ndarray:
        """``[Y]`` IFRS 9 impairment charges (the same for every sample)."""
        return self.base.credit.yearly_impairments(len(self.years))

    @property
    def min_ratio(self) -> np.ndarray:
        return self.cet1_ratio[:, 1:].min(axis=1)

    @property
    def depletion(self) -> np.ndarray:
        """``[S]`` starting ratio less the lowest year-end ratio (the EBA's depletion to the minimum)."""
        return self.cet1_ratio[:, 0] - self.min_ratio

    def per_sample_outcomes(self) -> dict[str, np.ndarray]:
        """The capital-side inputs of statistics 1-15 (:mod:`risk_dagster.conservativeness.statistics`), EBA reading:
        total loss = impairments + market-risk loss + FVOCI loss over the three years; the SCB-style buffer =
        start - min + the year's planned dividends / RWA."""
        n = self.samples
        credit = float(self.impairments.sum())
        return {
            "total_loss": credit + self.market.trading + self.market.fvoci,
            "min_ratio": self.min_ratio,
            "end_ratio": self.cet1_ratio[:, -1].copy(),
            "scb_unfloored": self.depletion + self.planned_dividends_per_year / self.rwa,
            "pretax_income": self.pre_tax_profit.sum(axis=1),
            "trading_loss": self.market.trading.copy(),
            "securities_loss": np.maximum(self.market.fvoci, 0.0),
            "ppnr": self.ppnr.sum(axis=1) if n else np.zeros(0),
        }

    def cet1_walk(self) -> pd.DataFrame:
        """The CET1 ratio from the start to the end of the horizon by line, in bp of RWA (RWA is static).

        Per sample, each line's three-year sum over RWA: NII (after the cap), fees less expenses, credit
        impairments, the market-risk loss, operational losses, taxes, dividends and the FVOCI OCI; they
        add up to the end ratio less the start exactly. Columns: the median over samples, and the lines
        of the sample whose end ratio is the median one (which add up).
        """
        table = self.base.capital.table.iloc[1:]
        fees = float((table["noninterest_income"] - table["noninterest_expense"]).sum())
        ops = float(table["operational_losses"].sum())
        taxes = self.pre_tax_profit - self.net_profit
        lines = {
            "net interest income (after the EBA cap)": self.net_interest_income.sum(axis=1),
            "fees less expenses": np.full(self.samples, fees),
            "credit impairments (IFRS 9)": np.full(self.samples, -float(self.impairments.sum())),
            "market-risk loss (trading)": -self.market.trading,
            "operational losses": np.full(self.samples, -ops),
            "taxes": -taxes.sum(axis=1),
            "dividends": -self.dividends.sum(axis=1),
            "FVOCI revaluation (OCI)": self.oci.sum(axis=1),
        }
        bp = {k: 1e4 * v / self.rwa for k, v in lines.items()}
        total = 1e4 * (self.cet1_ratio[:, -1] - self.cet1_ratio[:, 0])
        central = int(np.argsort(total)[len(total) // 2]) if len(total) else 0
        frame = pd.DataFrame({"median (bp)": {k: float(np.median(v)) for k, v in bp.items()},
                              "central sample (bp)": {k: float(v[central]) for k, v in bp.items()}})  # fmt: skip
        frame.loc["change of the CET1 ratio"] = [float(np.median(total)), float(total[central])]
        return frame

    def year_table(self) -> pd.DataFrame:
        """Median over samples of each year's lines (currency bn; the ratio in percent)."""
        idx = [self.years[0] - 1, *self.years]
        impair = np.concatenate([[0.0], self.impairments])
        market = np.zeros(len(idx))
        market[1] = float(np.median(self.market.trading))
        oci = np.zeros(len(idx))
        oci[1] = -float(np.median(self.market.fvoci))
        rows = {
            "net interest income (after the EBA cap)": np.concatenate([[self.nii.start], np.median(self.net_interest_income, axis=0)]),
            "PPNR": np.concatenate([[np.nan], np.median(self.ppnr, axis=0)]),
            "credit impairments (IFRS 9)": impair,
            "market-risk loss (trading, instantaneous)": market,
            "FVOCI revaluation (OCI)": oci,
            "pre-tax profit": np.concatenate([[np.nan], np.median(self.pre_tax_profit, axis=0)]),
            "dividends": np.concatenate([[np.nan], np.median(self.dividends, axis=0)]),
            "CET1 capital": np.median(self.cet1_capital, axis=0),
        }
        out = pd.DataFrame({k: v / 1e9 for k, v in rows.items()}, index=idx).T
        out.loc["CET1 ratio (%)"] = 100.0 * np.median(self.cet1_ratio, axis=0)
        return out

    def summary(self) -> dict[str, Any]:
        """Plain-JSON summary (medians over samples, the published EBA aggregate beside)."""
        dep = self.depletion
        return {
            "label": self.label,
            "scenario_id": self.scenario_id,
            "currency": self.currency,
            "samples": self.samples,
            "years": self.years,
            "cet1_ratio_start": round(float(self.cet1_ratio[0, 0]), 6),
            "cet1_ratio_min_median": round(float(np.median(self.min_ratio)), 6),
            "cet1_ratio_min_p05": round(float(np.quantile(self.min_ratio, 0.05)), 6),
            "cet1_ratio_end_median": round(float(np.median(self.cet1_ratio[:, -1])), 6),
            "cet1_depletion_bp_median": round(1e4 * float(np.median(dep)), 1),
            "cet1_depletion_bp_p95": round(1e4 * float(np.quantile(dep, 0.95)), 1),
            "path_median_pct": [round(100.0 * float(x), 4) for x in np.median(self.cet1_ratio, axis=0)],
            "path_p05_pct": [round(100.0 * float(x), 4) for x in np.quantile(self.cet1_ratio, 0.05, axis=0)],
            "path_p95_pct": [round(100.0 * float(x), 4) for x in np.quantile(self.cet1_ratio, 0.95, axis=0)],
            "pd_multipliers": {k: [round(float(v), 4) for v in p] for k, p in self.base.multipliers.items()},
            "impairments_bn": round(float(self.impairments.sum()) / 1e9, 3),
            "market_risk_loss_bn_median": round(float(np.median(self.market.trading)) / 1e9, 3),
            "fvoci_loss_bn_median": round(float(np.median(self.market.fvoci)) / 1e9, 3),
            "nii_bn_median": [round(float(x) / 1e9, 3) for x in np.median(self.net_interest_income, axis=0)],
            "cet1_walk_bp": {k: round(float(v), 1) for k, v in self.cet1_walk()["central sample (bp)"].items()},
            "eba_2025_published": EBA_2025_PUBLISHED,
            "not_modelled": list(NOT_MODELLED),
        }


def eba_set_capital(
    label: str,
    base: EbaCapitalRun,
    shocks: ShockSet,
    book: pd.DataFrame,
    sheet: BalanceSheet,
    revaluer: Revaluer,
    *,
    kind: str,
    payout_ratio: float = 0.5,
    market: EbaMarketLosses | None = None,
) -> EbaSetCapital:
    """Every sample of ``shocks`` through the bank under the EBA method (module docstring).

    Parameters
    ----------
    base
        The macro path's run (:func:`~risk_dagster.capital.eba_capital.eba_capital_run`): its IFRS 9
        projection is every sample's credit loss.
    kind
        ``adverse`` (the EBA's NII cap) or ``baseline``.
    market
        The set's market losses when already computed (:func:`eba_market_losses`); else computed here.
    """
    years = [int(y) for y in base.capital.table["year"].iloc[1:]]
    market = market if market is not None else eba_market_losses(book, shocks, revaluer)
    if market.samples != shocks.n_samples:
        raise ValueError(f"{label}: {market.samples} market-loss samples for {shocks.n_samples} scenario samples")
    nii = euro_nii_projection(sheet, book, shocks, base.credit, years=len(years))
    impairments = base.credit.yearly_impairments(len(years))
    n, y = shocks.n_samples, len(years)
    ratio, capital = np.zeros((n, y + 1)), np.zeros((n, y + 1))
    pre_tax, ppnr, nii_capped, dividends, net, oci_counted = (np.zeros((n, y)) for _ in range(6))
    for s in range(n):
        oci = np.zeros(y)
        oci[0] = -float(market.fvoci[s])
        p = project_eba_capital(sheet, years=years, kind="adverse" if kind == "adverse" else "baseline",
                                net_interest_income=nii.nii[s], impairments=impairments,
                                market_risk_loss=float(market.trading[s]), oci=oci, payout_ratio=payout_ratio).table  # fmt: skip
        ratio[s], capital[s] = p["cet1_ratio"].to_numpy(), p["cet1_capital"].to_numpy()
        rows = p.iloc[1:]
        pre_tax[s], dividends[s] = rows["pre_tax_profit"].to_numpy(), rows["dividends"].to_numpy()
        nii_capped[s] = rows["net_interest_income"].to_numpy()
        net[s], oci_counted[s] = rows["net_profit"].to_numpy(), rows["oci"].to_numpy()
        ppnr[s] = (rows["net_interest_income"] + rows["noninterest_income"] - rows["noninterest_expense"]).to_numpy()
    return EbaSetCapital(
        label=label, scenario_id=base.scenario_id, currency=sheet.currency, years=years, base=base, market=market,
        nii=nii, cet1_ratio=ratio, cet1_capital=capital, pre_tax_profit=pre_tax, ppnr=ppnr,
        net_interest_income=nii_capped, dividends=dividends, net_profit=net, oci=oci_counted, rwa=float(sheet.rwa),
        planned_dividends_per_year=4.0 * float(sheet.planned_dividends_per_quarter),
    )  # fmt: skip


def eba_capital_text(summary: dict[str, Any]) -> str:
    """A reader's view of :meth:`EbaSetCapital.summary`: the year-end path, the depletion beside the EBA's figure."""
    cur = summary["currency"]
    pub = summary["eba_2025_published"]
    lines = [
        f"{summary['scenario_id']} ({summary['label']} set, {summary['samples']} samples), EBA method, {cur}",
        f"CET1 ratio: start {100 * summary['cet1_ratio_start']:.2f}%, minimum {100 * summary['cet1_ratio_min_median']:.2f}% "
        f"(median; 5% quantile {100 * summary['cet1_ratio_min_p05']:.2f}%), end {100 * summary['cet1_ratio_end_median']:.2f}%",
        f"depletion: {summary['cet1_depletion_bp_median']:.0f} bp (median; 95% quantile {summary['cet1_depletion_bp_p95']:.0f} bp); "
        f"EBA 2025 published: {pub['cet1_depletion_bp']} bp for {pub['banks']} banks (adverse)",
        "",
        "year end  median   5%      95%",
    ]
    years = [summary["years"][0] - 1, *summary["years"]]
    for y, m, lo, hi in zip(years, summary["path_median_pct"], summary["path_p05_pct"], summary["path_p95_pct"], strict=True):
        lines.append(f"{y:<9} {m:6.2f}  {lo:6.2f}  {hi:6.2f}")
    lines += ["", f"losses, {cur} bn (median): credit impairments (IFRS 9, 3 years) {summary['impairments_bn']:.2f}; "
              f"market risk (year 1) {summary['market_risk_loss_bn_median']:.2f}; FVOCI (year 1) {summary['fvoci_loss_bn_median']:.2f}",
              f"NII by year, {cur} bn (median, after the EBA cap): " + ", ".join(f"{x:.2f}" for x in summary["nii_bn_median"]),
              ""]
    if summary.get("cet1_walk_bp"):
        lines += ["CET1 ratio walk 2024-2027, bp of RWA (the median sample):",
                  *[f"  {k:<42} {v:8.1f}" for k, v in summary["cet1_walk_bp"].items()], ""]
    lines += ["taken as given:", *[f"  - {x}" for x in summary["not_modelled"]]]
    return "\n".join(lines)
