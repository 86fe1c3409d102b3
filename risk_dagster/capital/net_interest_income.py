"""Net interest income from the book's repricing under the scenario's rate path (DESIGN.md "Capital").

``NII_q = NII_0 + dNII_q``: the balance sheet's jump-off run-rate (which carries the bank's
existing margins) plus the change the rate path makes as assets and liabilities reprice. With the
Fed's constant balance sheet, what matures or amortises is replaced by the same kind of asset at
the market rate of its quarter, and funding keeps its size.

Repricing, per position of the banking book (``accounting_book`` afs, htm, loan; the trading book's
carry is trading revenue, not NII) and per sample of the ShockSet:

* **Floating** (reset within the quarter): FRNs and C&I loans on the 3-month rate
  (``rates.ust.3m``, a SOFR stand-in), credit cards and home-equity lines on the prime rate
  (``rates.prime``); their yield moves one for one with the index from PQ1.
* **Fixed**: coupons are kept; the principal that has matured or amortised by the end of quarter q
  (:func:`repricing_share`) is reinvested at the index's change: fixed-rate bonds and CRE, auto
  and other consumer loans on the 5-year Treasury (``rates.ust.5y``), first-lien mortgages and
  agency MBS on the 30-year mortgage rate (``rates.mortgage30``). Bonds repay at maturity;
  installment loans amortise (:func:`~risk_dagster.engine.kernels.loan_balance_factor`); MBS pools
  pay down at the engine's base prepayment speeds at the jump-off mortgage rate (the faster
  prepayment a falling-rate path brings is not in NII: a stated simplification).
* **Banking-book swaps** (``irs`` not in the trading book): the floating leg reprices on the
  3-month rate; a receiver (``direction = +1``) pays it, so its NII falls when rates rise.
* **Cash and reserves** (balance sheet ``cash_and_reserves``): the 3-month rate, one for one.
* **Funding**: deposits reprice by ``deposit_beta`` and other funding by ``funding_beta`` times the
  change of the 3-month rate (betas from the balance sheet; symmetric in rising and falling rates,
  with no floor: the Fed's 3-month path stays at or above zero).

The quarter's income uses the average of the index's change at the start and the end of the
quarter (the change is zero at jump-off). Index changes are the ShockSet's ``absolute_bp`` shocks;
an index missing from a ShockSet is replaced by the 3-month rate and reported in
:attr:`NetInterestIncome.substituted`. USD per quarter, ``[samples, quarters]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from risk_dagster.capital.balance_sheet import BalanceSheet
from risk_dagster.capital.loan_losses import loan_balance
from risk_dagster.engine.curves import ZeroCurve
from risk_dagster.engine.kernels import ENGINE_PREPAYMENT, loan_balance_factor, prepare_book
from risk_dagster.translate.shockset import ShockSet

HORIZON = 9
SHORT_RATE = "rates.ust.3m"
FLOATING_LOAN_INDEX: dict[str, str] = {"c_and_i": SHORT_RATE, "credit_card": "rates.prime", "home_equity": "rates.prime"}
"""Floating-rate loan segments and their index."""
FIXED_LOAN_INDEX: dict[str, str] = {
    "first_lien_mortgage": "rates.mortgage30", "cre": "rates.ust.5y", "auto": "rates.ust.5y",
    "other_consumer": "rates.ust.5y", "junior_lien_heloc": "rates.prime", "other_loans": "rates.ust.5y",
}  # fmt: skip
"""Fixed-rate loan segments and the rate their run-off is replaced at."""
SECURITY_INDEX: dict[str, str] = {"frn": SHORT_RATE, "fixed_bond": "rates.ust.5y", "agency_mbs": "rates.mortgage30"}
SECURITY_LABEL = {"fixed_bond": "fixed-rate bonds, run-off", "agency_mbs": "agency MBS, run-off"}
BANKING_BOOKS = ("afs", "htm", "loan")


@dataclass(frozen=True)
class RepricingGap:
    """The banking book as repricing lines: amount (USD, signed: an asset positive), index, share repriced.

    ``share`` is ``[lines, quarters]``: the part of the amount earning the index's new level by the
    end of each quarter (1 for floating lines).
    """

    label: list[str]
    amount: np.ndarray
    index: list[str]
    share: np.ndarray

    def table(self) -> pd.DataFrame:
        """Amount repricing by index and line kind, USD bn, at PQ1, PQ4 and PQ9 (for the reader)."""
        frame = pd.DataFrame({"line": self.label, "index": self.index})
        for q in (1, 4, 9):
            if q <= self.share.shape[1]:
                frame[f"PQ{q}"] = self.amount * self.share[:, q - 1] / 1e9
        return frame.groupby(["line", "index"]).sum().round(1)


def repricing_share(positions: pd.DataFrame, curve: ZeroCurve, horizon: int = HORIZON) -> np.ndarray:
    """``[positions, horizon]`` share of each fixed-rate position's principal repaid by the end of each quarter.

    Bonds: 1 from maturity. Loans: ``1 - loan_balance_factor`` (installment loans amortise,
    others repay at maturity). Agency MBS: cumulative principal over the face at base speeds and
    the jump-off mortgage rate. Other rows: 0.
    """
    frame = positions.reset_index(drop=True)
    n = len(frame)
    out = np.zeros((n, horizon))
    if n == 0:
        return out
    years = np.arange(1, horizon + 1) * 0.25
    itype = frame["instrument_type"].astype(str).to_numpy()
    maturity = pd.to_numeric(frame["maturity_years"], errors="coerce").fillna(0.0).to_numpy()
    bonds = np.flatnonzero(itype == "fixed_bond")
    out[bonds] = (maturity[bonds, None] <= years[None, :] + 1e-9).astype(float)
    loans = np.flatnonzero(itype == "loan")
    if len(loans):
        sub = frame.iloc[loans].reset_index(drop=True)
        sub.attrs = dict(positions.attrs)
        book = prepare_book(sub, curve)
        out[loans] = 1.0 - loan_balance_factor(book, years).T
    pools = np.flatnonzero(itype == "agency_mbs")
    if len(pools):
        from risk_dagster.engine.mbs import mbs_cash_flows
        from risk_dagster.engine.valuation import base_mortgage_rate

        sub = frame.iloc[pools]
        wam = np.maximum(np.rint(sub["maturity_years"].astype(float).to_numpy() * 12.0), 1).astype(np.int64)
        age = np.rint(sub["loan_age_months"].astype(float).to_numpy()).astype(np.int64)
        notional = sub["notional"].astype(float).to_numpy()
        cf = mbs_cash_flows(notional, sub["coupon_rate"].astype(float).to_numpy(), sub["wac"].astype(float).to_numpy(),
                            wam, age, base_mortgage_rate()[0] / 100.0, model=ENGINE_PREPAYMENT, n_months=3 * horizon)
        paid = np.cumsum(cf.principal, axis=1)[:, 2::3][:, :horizon]
        out[pools] = np.clip(paid / notional[:, None], 0.0, 1.0)
    return out


def repricing_gap(positions: pd.DataFrame, balance_sheet: BalanceSheet, curve: ZeroCurve, horizon: int = HORIZON) -> RepricingGap:
    """The banking book and the balance sheet's funding as repricing lines (see the module docstring)."""
    frame = positions[positions["accounting_book"].astype(str).isin(BANKING_BOOKS)].reset_index(drop=True)
    frame.attrs = dict(positions.attrs)
    itype = frame["instrument_type"].astype(str).to_numpy()
    segment = frame["segment"].astype(str).to_numpy()
    direction = pd.to_numeric(frame["direction"], errors="coerce").fillna(1.0).to_numpy()
    notional = pd.to_numeric(frame["notional"], errors="coerce").fillna(0.0).to_numpy()
    amount = notional * direction
    loans = itype == "loan"
    if loans.any():
        amount[loans] = loan_balance(frame[loans]).to_numpy()
    share = repricing_share(frame, curve, horizon)
    labels, index = [], []
    keep = np.zeros(len(frame), dtype=bool)
    for i, (kind, seg) in enumerate(zip(itype, segment, strict=True)):
        if kind == "loan":
            if seg in FLOATING_LOAN_INDEX:
                labels.append(f"floating loans ({seg})"), index.append(FLOATING_LOAN_INDEX[seg])
                share[i] = 1.0
            else:
                labels.append(f"fixed loans ({seg}), run-off"), index.append(FIXED_LOAN_INDEX.get(seg, "rates.ust.5y"))
        elif kind in SECURITY_INDEX:
            if kind == "frn":
                share[i] = 1.0
                labels.append("floating-rate notes")
            else:
                labels.append(SECURITY_LABEL[kind])
            index.append(SECURITY_INDEX[kind])
        elif kind == "irs":
            amount[i] = -amount[i]  # a receiver pays the floating leg
            share[i] = 1.0
            labels.append("banking-book swaps, floating leg"), index.append(SHORT_RATE)
        else:
            continue
        keep[i] = True
    lines_amount = [amount[keep]]
    lines_share = [share[keep]]
    ones = np.ones((1, horizon))
    for label, value in (
        ("cash and reserves", balance_sheet.cash_and_reserves),
        ("deposits", -balance_sheet.deposits * balance_sheet.deposit_beta),
        ("other funding", -balance_sheet.other_funding * balance_sheet.funding_beta),
    ):
        labels.append(label), index.append(SHORT_RATE)
        lines_amount.append(np.array([value], dtype=float))
        lines_share.append(ones)
    return RepricingGap(label=labels, amount=np.concatenate(lines_amount), index=index,
                        share=np.concatenate(lines_share, axis=0))


@dataclass(frozen=True)
class NetInterestIncome:
    """NII per sample and quarter (USD), its change over the run-rate, and by repricing line."""

    nii: np.ndarray
    change: np.ndarray
    run_rate: float
    by_line: pd.DataFrame
    """Median over samples of each line's change, USD per quarter, quarters as columns."""
    gap: RepricingGap
    substituted: dict[str, str] = field(default_factory=dict)


def project_net_interest_income(
    positions: pd.DataFrame,
    balance_sheet: BalanceSheet,
    shockset: ShockSet,
    curve: ZeroCurve,
    horizon: int = HORIZON,
    gap: RepricingGap | None = None,
) -> NetInterestIncome:
    """``NII_q = NII_0 + sum_lines amount x share_q x mean index change over the quarter / 4``.

    ``gap``: the book's :func:`repricing_gap` when already built (it depends on the book, the balance
    sheet and the jump-off curve, not on the scenario set).
    """
    gap = gap if gap is not None else repricing_gap(positions, balance_sheet, curve, horizon)
    ids = {f: i for i, f in enumerate(shockset.factor_ids)}
    if SHORT_RATE not in ids:
        raise KeyError(f"{shockset.scenario_id}: the ShockSet has no {SHORT_RATE}, needed for net interest income")
    substituted = {ix: SHORT_RATE for ix in sorted(set(gap.index)) if ix not in ids}
    for ix in sorted(set(gap.index)):
        kind = shockset.shock_types[ids.get(ix, ids[SHORT_RATE])]
        if kind != "absolute_bp":
            raise ValueError(f"{ix}: shock type {kind}, expected absolute_bp")
    change_bp = shockset.shocks[:, :horizon, :]
    mean_change = 0.5 * (change_bp + np.concatenate([np.zeros_like(change_bp[:, :1]), change_bp[:, :-1]], axis=1))
    total = np.zeros((shockset.n_samples, horizon))
    by_line: dict[str, np.ndarray] = {}
    for ix in sorted(set(gap.index)):
        rows = np.array([k for k, x in enumerate(gap.index) if x == ix])
        dr = mean_change[:, :, ids.get(ix, ids[SHORT_RATE])] / 1e4 / 4.0  # [S, Q] decimal per quarter
        for label in sorted({gap.label[k] for k in rows}):
            sel = rows[[gap.label[k] == label for k in rows]]
            weight = (gap.amount[sel, None] * gap.share[sel]).sum(axis=0)  # [Q]
            part = dr * weight[None, :]
            total += part
            by_line[f"{label} [{ix}]"] = by_line.get(f"{label} [{ix}]", 0.0) + np.median(part, axis=0)
    table = pd.DataFrame(by_line, index=[f"PQ{q}" for q in range(1, horizon + 1)]).T
    return NetInterestIncome(
        nii=balance_sheet.net_interest_income + total,
        change=total,
        run_rate=balance_sheet.net_interest_income,
        by_line=table,
        gap=gap,
        substituted=substituted,
    )


__all__ = [
    "BANKING_BOOKS",
    "FIXED_LOAN_INDEX",
    "FLOATING_LOAN_INDEX",
    "SECURITY_INDEX",
    "SHORT_RATE",
    "NetInterestIncome",
    "RepricingGap",
    "project_net_interest_income",
    "repricing_gap",
    "repricing_share",
]
