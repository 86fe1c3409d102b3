"""CET1 capital under the EBA's method: a static balance sheet, annual steps, the year-end CET1 ratio.

The EBA's EU-wide stress test projects three calendar years from the end of the starting year
(2025-2027 from end-2024) on a **static balance sheet**: no growth, no change of business mix, no
management action; risk exposure amounts (RWA) are held at the starting point here (the EBA lets
IRB credit RWA move with the PDs; that is not modelled, a stated simplification that flatters the
ratio in a stress). Each year ``y`` (:func:`project_eba_capital`):

* ``net_interest_income``: the bank's projection for the year, capped in the adverse scenario at
  the starting point's annual NII (the EBA does not let the adverse scenario *raise* NII: higher
  rates are assumed to be passed to depositors at least as fast as to borrowers). In the baseline
  the projection is used as given;
* ``noninterest_income`` and ``noninterest_expense``: the starting run-rates (four quarters of the
  balance sheet's quarterly figures), fees held flat, expenses not cut;
* ``impairments``: the IFRS 9 charge of the year (:mod:`risk_dagster.capital.ifrs9`);
* ``market_risk_loss``: the trading book's instantaneous revaluation loss, booked once in the first
  year and not reversed (the EBA's market-risk shock; the Fed's global market shock likewise);
* ``operational_losses``: four quarters of the balance sheet's stressed operational losses;
* ``taxes``: the stated rate on a positive profit before tax; a loss earns no tax credit (no
  deferred tax asset is recognised in CET1, a conservative simplification);
* ``dividends``: the payout of the year's positive net profit, none after a loss;
* ``oci``: fair-value changes of FVOCI securities, in CET1 when the balance sheet says AOCI counts.

``CET1_y = CET1_{y-1} + net profit_y - dividends_y + OCI_y`` (OCI only when it counts), the ratio
``CET1_y / RWA``; the **depletion** is the starting ratio minus the lowest year-end ratio (the EBA
reports the depletion to the end of the horizon and to the minimum; both are in the table).
Amounts are in the balance sheet's currency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from risk_dagster.capital.balance_sheet import BalanceSheet

__all__ = ["EbaCapitalProjection", "project_eba_capital"]

Kind = Literal["adverse", "baseline"]


@dataclass(frozen=True)
class EbaCapitalProjection:
    """Year-end capital path of :func:`project_eba_capital`.

    Attributes
    ----------
    table
        One row per year (the starting year first, then each projected year): the income lines,
        ``pre_tax_profit``, ``taxes``, ``net_profit``, ``dividends``, ``oci``, ``cet1_capital``,
        ``rwa``, ``cet1_ratio``.
    currency
        The balance sheet's currency.
    """

    table: pd.DataFrame
    currency: str

    @property
    def start_ratio(self) -> float:
        return float(self.table["cet1_ratio"].iloc[0])

    @property
    def end_ratio(self) -> float:
        return float(self.table["cet1_ratio"].iloc[-1])

    @property
    def min_ratio(self) -> float:
        return float(self.table["cet1_ratio"].min())

    @property
    def depletion(self) -> float:
        """Starting CET1 ratio less the lowest year-end ratio (fraction; 0.037 = 370 bp)."""
        return self.start_ratio - self.min_ratio

    @property
    def depletion_to_end(self) -> float:
        """Starting CET1 ratio less the last year-end ratio."""
        return self.start_ratio - self.end_ratio


def _per_year(name: str, values: Sequence[float], n: int) -> np.ndarray:
    out = np.asarray(values, dtype=np.float64)
    if out.shape != (n,) or not np.isfinite(out).all():
        raise ValueError(f"project_eba_capital: {name} needs {n} finite yearly values, got {list(out)}")
    return out


def project_eba_capital(
    balance_sheet: BalanceSheet,
    *,
    years: Sequence[int],
    kind: Kind,
    net_interest_income: Sequence[float],
    impairments: Sequence[float],
    market_risk_loss: float,
    oci: Sequence[float] | None = None,
    payout_ratio: float = 0.0,
) -> EbaCapitalProjection:
    """The CET1 path over ``years`` (module docstring).

    Parameters
    ----------
    balance_sheet
        The starting point (its ``as_of`` year precedes ``years[0]``); quarterly run-rates are
        annualised (x4).
    years
        The projected calendar years, consecutive (2025, 2026, 2027).
    kind
        ``adverse`` (NII capped at the starting point) or ``baseline``.
    net_interest_income
        Projected NII of each year, before the cap.
    impairments
        IFRS 9 impairment charge of each year (positive = a cost).
    market_risk_loss
        Instantaneous trading-book loss (positive = a loss), booked in the first year.
    oci
        Fair-value change of FVOCI securities each year (negative = a loss); none by default.
    payout_ratio
        Share of a positive net profit paid out, in [0, 1].
    """
    n = len(years)
    if n == 0 or list(years) != list(range(years[0], years[0] + n)):
        raise ValueError(f"project_eba_capital: years must be consecutive, got {list(years)}")
    if balance_sheet.as_of.year >= years[0]:
        raise ValueError(f"project_eba_capital: the starting point {balance_sheet.as_of} is not before {years[0]}")
    if kind not in ("adverse", "baseline"):
        raise ValueError(f"project_eba_capital: kind must be adverse or baseline, got {kind!r}")
    if not 0.0 <= payout_ratio <= 1.0 or not np.isfinite(market_risk_loss):
        raise ValueError("project_eba_capital: payout_ratio in [0, 1] and a finite market_risk_loss are needed")
    nii_start = 4.0 * balance_sheet.net_interest_income
    nii = _per_year("net_interest_income", net_interest_income, n)
    if kind == "adverse":
        nii = np.minimum(nii, nii_start)
    impairment = _per_year("impairments", impairments, n)
    oci_path = _per_year("oci", oci, n) if oci is not None else np.zeros(n)
    fees, expenses = 4.0 * balance_sheet.noninterest_income, 4.0 * balance_sheet.noninterest_expense
    op_losses = 4.0 * balance_sheet.operational_loss_per_quarter
    rwa = balance_sheet.rwa
    cet1 = balance_sheet.cet1_capital
    rows = [{"year": balance_sheet.as_of.year, "net_interest_income": nii_start, "noninterest_income": fees,
             "noninterest_expense": expenses, "impairments": 0.0, "market_risk_loss": 0.0, "operational_losses": 0.0,
             "pre_tax_profit": np.nan, "taxes": np.nan, "net_profit": np.nan, "dividends": np.nan, "oci": 0.0,
             "cet1_capital": cet1, "rwa": rwa, "cet1_ratio": cet1 / rwa}]  # fmt: skip
    for i, year in enumerate(years):
        market = float(market_risk_loss) if i == 0 else 0.0
        pre_tax = nii[i] + fees - expenses - impairment[i] - market - op_losses
        taxes = balance_sheet.tax_rate * max(pre_tax, 0.0)
        net = pre_tax - taxes
        dividends = payout_ratio * max(net, 0.0)
        counted_oci = oci_path[i] if balance_sheet.aoci_in_cet1 else 0.0
        cet1 = cet1 + net - dividends + counted_oci
        rows.append({"year": year, "net_interest_income": nii[i], "noninterest_income": fees,
                     "noninterest_expense": expenses, "impairments": impairment[i], "market_risk_loss": market,
                     "operational_losses": op_losses, "pre_tax_profit": pre_tax, "taxes": taxes, "net_profit": net,
                     "dividends": dividends, "oci": counted_oci, "cet1_capital": cet1, "rwa": rwa,
                     "cet1_ratio": cet1 / rwa})  # fmt: skip
    return EbaCapitalProjection(pd.DataFrame(rows), currency=balance_sheet.currency)
