"""Net interest income of the euro-area bank under an EBA scenario: a repricing-gap model on its book.

The EBA's 2025 methodology (chapter 5, NII) asks banks to project NII on a static balance sheet, with
constraints; this module computes the bank's own projection, the constraints the EBA imposes on it
are applied in :func:`~risk_dagster.capital.eba_projection.project_eba_capital` (the adverse cap at
the starting point's NII).

Each projected year ``y`` (1, 2, 3), per scenario sample:

``NII_y = NII_0 + dr_y x (A_y - beta_dep x deposits - beta_fund x other funding) - lost_y``

* ``NII_0``: four quarters of the balance sheet's NII (the starting run-rate);
* ``dr_y``: the change of the EUR 3-month rate (``rates.swap.eur.3m``: the EBA's 3M point, the
  Euribor-indexed short rate) from the jump-off, averaged over the year's four quarters (bp to
  decimal);
* ``A_y``: the assets that reprice within ``y`` years (the static balance sheet replaces what
  matures at the new rates): central-bank reserves (``cash_and_reserves``) fully; loans to
  corporates, SMEs and commercial real estate fully (taken as floating, Euribor-indexed: the
  euro-area norm for business lending, a stated simplification) and floating-rate notes held fully;
  residential mortgages, consumer loans and fixed-rate bonds held by the share that matures, ``min(1, y / remaining life)`` per position; the
  swaps' floating legs (a payer receives floating: ``-direction x notional``);
* ``beta_dep``, ``beta_fund``: the balance sheet's deposit and wholesale-funding pass-through
  (``deposit_beta``, ``funding_beta``; illustrative values stated there);
* ``lost_y``: interest no longer earned on loans that defaulted since the jump-off (the EBA
  excludes interest income on newly non-performing exposures): the growth of the stage-3 EAD of
  the IFRS 9 projection times the segment's average ``loan_rate``.

Scope: EUR only (the book is), no basis between the 3M swap point and Euribor, no behavioural
deposit model beyond the beta, no margin compression on new business. These are stated
simplifications, shown in the capital asset's metadata.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from risk_dagster.capital.balance_sheet import BalanceSheet
from risk_dagster.capital.ifrs9 import Ifrs9Projection
from risk_dagster.translate.shockset import ShockSet

__all__ = ["FLOATING_LOAN_SEGMENTS", "SHORT_RATE_FACTOR", "EuroNii", "euro_nii_projection", "repricing_assets"]

SHORT_RATE_FACTOR = "rates.swap.eur.3m"
FLOATING_LOAN_SEGMENTS: tuple[str, ...] = ("corporate", "sme", "commercial_real_estate")
"""Euro loan segments taken as floating-rate (repricing within the year)."""


@dataclass(frozen=True)
class EuroNii:
    """Annual NII per sample and its parts.

    Attributes
    ----------
    nii
        ``[S, Y]`` projected NII of each year (before the EBA's cap), the balance sheet's currency.
    rate_change
        ``[S, Y]`` the year's average change of the 3-month rate (decimal).
    repricing_gap
        ``[Y]`` assets repricing within each year less the deposits' and funding's pass-through.
    lost_interest
        ``[Y]`` interest not earned on loans defaulted since the jump-off.
    start
        The starting annual NII.
    """

    nii: np.ndarray
    rate_change: np.ndarray
    repricing_gap: np.ndarray
    lost_interest: np.ndarray
    start: float


def repricing_assets(book: pd.DataFrame, sheet: BalanceSheet, years: int) -> np.ndarray:
    """``[years]`` assets that reprice within 1..``years`` years (module docstring), the book's currency."""
    itype = book["instrument_type"].astype(str).to_numpy()
    segment = book["segment"].astype(str).to_numpy()
    notional = book["notional"].to_numpy(dtype=np.float64)
    life = np.maximum(np.nan_to_num(book["maturity_years"].to_numpy(dtype=np.float64), nan=0.0), 1e-9)
    direction = book["direction"].to_numpy(dtype=np.float64)
    loans = itype == "loan"
    held = direction > 0
    floating = (loans & np.isin(segment, FLOATING_LOAN_SEGMENTS)) | ((itype == "frn") & held)
    fixed_assets = (loans & ~np.isin(segment, FLOATING_LOAN_SEGMENTS)) | ((itype == "fixed_bond") & held)
    swaps = itype == "irs"
    out = np.zeros(years)
    for y in range(1, years + 1):
        share = np.minimum(1.0, y / life)
        out[y - 1] = (sheet.cash_and_reserves + notional[floating].sum() + (notional[fixed_assets] * share[fixed_assets]).sum()
                      - (direction[swaps] * notional[swaps]).sum())  # fmt: skip
    return out


def euro_nii_projection(
    sheet: BalanceSheet, book: pd.DataFrame, shocks: ShockSet, credit: Ifrs9Projection, years: int = 3
) -> EuroNii:
    """The NII of each projected year for every sample of ``shocks`` (module docstring).

    Raises
    ------
    ValueError
        The set lacks :data:`SHORT_RATE_FACTOR` or covers fewer than ``4 x years`` quarters.
    """
    if SHORT_RATE_FACTOR not in shocks.factor_ids:
        raise ValueError(f"euro NII: the ShockSet has no {SHORT_RATE_FACTOR} (the EUR short rate the book reprices on)")
    path = shocks.factor(SHORT_RATE_FACTOR).astype(np.float64) / 1e4  # [S, Q] bp -> decimal
    if path.shape[1] < 4 * years:
        raise ValueError(f"euro NII: {path.shape[1]} quarters in the set, {4 * years} needed")
    rate_change = path[:, : 4 * years].reshape(path.shape[0], years, 4).mean(axis=2)
    gap = repricing_assets(book, sheet, years) - sheet.deposit_beta * sheet.deposits - sheet.funding_beta * sheet.other_funding
    table = credit.table
    loans = book[book["instrument_type"].astype(str) == "loan"]
    rate = (loans.assign(w=loans["loan_rate"] * loans["notional"]).groupby("segment")["w"].sum()
            / loans.groupby("segment")["notional"].sum())  # fmt: skip
    s3 = table.pivot(index="year", columns="segment", values="ead_3")
    new_defaults = (s3.loc[1:years] - s3.loc[0]).clip(lower=0.0)
    lost = (new_defaults * rate.reindex(new_defaults.columns).fillna(rate.mean())).sum(axis=1).to_numpy()
    start = 4.0 * sheet.net_interest_income
    nii = start + rate_change * gap[None, :] - lost[None, :]
    return EuroNii(nii=nii, rate_change=rate_change, repricing_gap=gap, lost_interest=lost, start=start)
