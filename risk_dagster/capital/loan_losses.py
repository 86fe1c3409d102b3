"""Loan losses of the book along a scenario: the industry satellites scaled to the book (DESIGN.md "Capital").

The satellites (:class:`~risk_dagster.capital.loss_rates.LossRateSatellite`) give the industry's
quarterly net charge-off rate of each Fed loan segment along the scenario's macro path. This
module turns them into the book's losses:

1. **Segments.** Each loan of the book is mapped to the Fed segment it is reported under
   (:data:`BOOK_TO_FED_SEGMENT`): ``home_equity`` -> ``junior_lien_heloc`` (HELOCs and closed-end
   junior liens), ``auto`` -> ``other_consumer`` (the Fed reports auto loans inside "other
   consumer"), the others by name; a loan segment the map does not know is refused.
2. **Balances.** A loan's balance is its ``drawn_amount`` when given (revolvers: cards, HELOCs,
   C&I lines), else its ``ead`` (term loans are fully drawn). Under the Fed's constant balance
   sheet the balance of each segment is held at jump-off over PQ1-PQ9 (run-off is replaced by new
   loans of the same kind), so the loss rate's denominator, *average loans*, is the jump-off balance.
3. **Scaling to the book** (:func:`book_scaling`). The industry rate is multiplied by
   ``k_s = EL_book,s / r_industry,s``, where ``EL_book,s = sum(balance x pd x lgd) / sum(balance)``
   is the book's balance-weighted one-year expected loss rate (the contract's ``pd`` is a one-year,
   through-the-cycle PD and ``lgd`` the loss given default) and ``r_industry,s`` is the segment's
   long-run average annual net charge-off rate over the whole shipped history (all quarters of
   :func:`~risk_dagster.capital.loss_rates.load_charge_off_rates`; negative quarters count as
   they are). Both are average annual loss rates, so a book with the industry's average credit
   quality gets ``k = 1``, a riskier book (higher PD or LGD) loses proportionally more in every
   quarter, a safer one less. The scaled quarterly rate is capped at 1 (a segment cannot lose more
   than its balance in a quarter). Assumption: the book's risk differs from the industry's by a
   constant factor through the cycle (no change of cyclicality); the factor is reported.
4. **Paths.** :meth:`LossRateSatellite.sample` draws the residual with common random numbers, so
   every scenario set of the same scenario (AI, traditional) gets the same loan losses sample by
   sample: loan losses follow the supervisor's fixed macro path, not the generated factors.
   Quarters after PQ9 (the Fed's files carry 13) feed the allowance only.

Losses are positive, USD.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.capital.loss_rates import SEGMENTS, LossRateSatellite

HORIZON = 9

BOOK_TO_FED_SEGMENT: dict[str, str] = {
    "first_lien_mortgage": "first_lien_mortgage",
    "home_equity": "junior_lien_heloc",
    "junior_lien_heloc": "junior_lien_heloc",
    "c_and_i": "c_and_i",
    "cre": "cre",
    "credit_card": "credit_card",
    "auto": "other_consumer",
    "other_consumer": "other_consumer",
    "other_loans": "other_loans",
}
"""Book loan segment -> the Fed loan segment it is reported and projected under."""


@dataclass(frozen=True, eq=False)
class FittedLossRates:
    """The fitted satellites with the charge-off history they were fitted on (annualized %)."""

    satellite: LossRateSatellite
    rates: pd.DataFrame
    history_id: str = ""


@dataclass(frozen=True)
class LoanSegments:
    """The book's loans aggregated by Fed segment (every segment of :data:`SEGMENTS`, zero when absent).

    Attributes
    ----------
    balance
        USD balance per segment (drawn amount, else EAD).
    expected_loss_rate
        Balance-weighted ``pd x lgd`` (one-year, decimal); NaN for a segment without loans.
    n_loans
        Loans per segment.
    """

    balance: pd.Series
    expected_loss_rate: pd.Series
    n_loans: pd.Series

    @property
    def total_balance(self) -> float:
        return float(self.balance.sum())


def loan_balance(loans: pd.DataFrame) -> pd.Series:
    """Each loan's balance: ``drawn_amount`` when given, else ``ead`` (USD).

    Raises
    ------
    ValueError
        For a loan without a positive balance, naming up to five.
    """
    drawn = pd.to_numeric(loans["drawn_amount"], errors="coerce") if "drawn_amount" in loans else pd.Series(np.nan, loans.index)
    balance = drawn.where(drawn.notna(), pd.to_numeric(loans["ead"], errors="coerce")).astype(float)
    if (~(balance > 0)).any():
        bad = loans.loc[~(balance > 0), "position_id"].astype(str).tolist()[:5]
        raise ValueError(f"loans without a positive balance (drawn_amount or ead): {bad}")
    return balance


def loan_segments(positions: pd.DataFrame) -> LoanSegments:
    """Aggregate the book's ``instrument_type == "loan"`` rows by Fed segment.

    Raises
    ------
    ValueError
        For a loan segment not in :data:`BOOK_TO_FED_SEGMENT`, or a loan without a positive balance.
    """
    loans = positions[positions["instrument_type"].astype(str) == "loan"]
    unknown = sorted(set(loans["segment"].astype(str)) - set(BOOK_TO_FED_SEGMENT))
    if unknown:
        raise ValueError(f"loan segments {unknown} have no Fed segment (known: {sorted(BOOK_TO_FED_SEGMENT)})")
    balance = loan_balance(loans)
    frame = pd.DataFrame({
        "fed": loans["segment"].astype(str).map(BOOK_TO_FED_SEGMENT),
        "balance": balance,
        "el": balance * loans["pd"].astype(float) * loans["lgd"].astype(float),
    })  # fmt: skip
    grouped = frame.groupby("fed")
    bal = grouped["balance"].sum().reindex(SEGMENTS, fill_value=0.0)
    el = grouped["el"].sum().reindex(SEGMENTS, fill_value=0.0)
    n = grouped.size().reindex(SEGMENTS, fill_value=0)
    return LoanSegments(
        balance=bal.astype(float),
        expected_loss_rate=(el / bal.where(bal > 0)).astype(float),
        n_loans=n.astype(int),
    )


def industry_loss_rates(rates: pd.DataFrame) -> pd.Series:
    """Each segment's long-run average annual net charge-off rate (decimal) over its whole history."""
    return (rates.reindex(columns=list(SEGMENTS)).mean(axis=0) / 100.0).astype(float)


def book_scaling(segments: LoanSegments, industry: pd.Series) -> pd.Series:
    """``k_s = EL_book,s / r_industry,s`` per segment; 1.0 for a segment without loans (no effect)."""
    k = segments.expected_loss_rate / industry.reindex(segments.expected_loss_rate.index)
    return k.where(segments.balance > 0, 1.0).astype(float)


@dataclass(frozen=True)
class LoanLossProjection:
    """The book's loan losses per sample, quarter and Fed segment.

    Attributes
    ----------
    segments
        :data:`SEGMENTS`.
    quarters
        Quarter labels of every column (13 for a Fed file; PQ1-PQ9 are the first nine).
    losses
        ``[S, Q, G]`` USD net charge-offs (positive).
    rates
        ``[S, Q, G]`` quarterly loss rate of the book (decimal, scaled and capped).
    balance, scaling, industry_rate
        Per segment: balance (USD), the book's scaling factor ``k``, the industry's long-run rate.
    clamped
        Driver values clamped to their historical range by the satellites (rows: segment), if reported.
    """

    segments: tuple[str, ...]
    quarters: tuple[str, ...]
    losses: np.ndarray
    rates: np.ndarray
    balance: pd.Series
    scaling: pd.Series
    industry_rate: pd.Series
    expected_loss_rate: pd.Series
    clamped: pd.DataFrame | None = None

    @property
    def samples(self) -> int:
        return int(self.losses.shape[0])

    def total(self, horizon: int = HORIZON) -> np.ndarray:
        """``[S, horizon]`` loan losses of all segments."""
        return self.losses[:, :horizon, :].sum(axis=2)

    def cumulative_rates(self, horizon: int = HORIZON) -> pd.DataFrame:
        """``[S, segments + total]`` nine-quarter cumulative loss rate, percent of average loans.

        A segment without loans gets NaN; ``total`` is all losses over all loans.
        """
        cum = self.losses[:, :horizon, :].sum(axis=1)
        bal = self.balance.reindex(self.segments).to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(bal > 0, 100.0 * cum / bal, np.nan)
        out = pd.DataFrame(pct, columns=list(self.segments))
        out["total"] = 100.0 * cum.sum(axis=1) / bal.sum()
        return out

    def head(self, n: int) -> LoanLossProjection:
        """The first ``n`` samples (common random numbers: sample ``i`` is the same draw for any size)."""
        if n > self.samples:
            raise ValueError(f"{n} samples asked, {self.samples} projected")
        return LoanLossProjection(
            self.segments, self.quarters, self.losses[:n], self.rates[:n], self.balance, self.scaling,
            self.industry_rate, self.expected_loss_rate, self.clamped,
        )  # fmt: skip

    def summary(self, horizon: int = HORIZON) -> pd.DataFrame:
        """Per segment: balance, k, median and 5-95% nine-quarter loss rate, median loss (USD bn)."""
        rates = self.cumulative_rates(horizon)
        cum = self.losses[:, :horizon, :].sum(axis=1)
        rows = {}
        for j, seg in enumerate([*self.segments, "total"]):
            r = rates[seg]
            rows[seg] = {
                "balance_usd_bn": (self.balance.sum() if seg == "total" else self.balance[seg]) / 1e9,
                "book_el_rate_pct": 100.0 * (np.nan if seg == "total" else self.expected_loss_rate[seg]),
                "industry_rate_pct": 100.0 * (np.nan if seg == "total" else self.industry_rate[seg]),
                "scaling_k": np.nan if seg == "total" else self.scaling[seg],
                "loss_rate_9q_median_pct": float(r.median()) if r.notna().any() else np.nan,
                "loss_rate_9q_p05_pct": float(r.quantile(0.05)) if r.notna().any() else np.nan,
                "loss_rate_9q_p95_pct": float(r.quantile(0.95)) if r.notna().any() else np.nan,
                "loss_9q_median_usd_bn": float(np.median(cum.sum(axis=1) if seg == "total" else cum[:, j])) / 1e9,
            }
        return pd.DataFrame(rows).T.rename_axis("segment")


def project_loan_losses(
    satellite: LossRateSatellite,
    drivers_path: pd.DataFrame,
    positions: pd.DataFrame,
    rates_history: pd.DataFrame,
    n_samples: int,
    seed: int | np.random.SeedSequence,
    *,
    jump_off: pd.Period | None = None,
    sample_kwargs: Mapping[str, Any] | None = None,
) -> LoanLossProjection:
    """The book's loan losses along ``drivers_path`` (:func:`~risk_dagster.capital.loss_rates.scenario_drivers`).

    Parameters
    ----------
    satellite
        Fitted on ``rates_history`` (every segment of :data:`SEGMENTS`).
    drivers_path
        Drivers over the scenario's projected quarters.
    positions
        The book (portfolio contract).
    rates_history
        The charge-off history the satellite was fitted on (annualized %), for the industry rate.
    n_samples, seed
        Paths and the seed of the residual draws (common random numbers: same seed, same draws).
    jump_off
        The scenario's jump-off quarter, passed to the satellite (its residual starts from the last
        fitted one, decayed), when the satellite supports it.
    """
    segs = loan_segments(positions)
    industry = industry_loss_rates(rates_history)
    k = book_scaling(segs, industry)
    kwargs = dict(sample_kwargs or {})
    if jump_off is not None:
        kwargs["jump_off"] = jump_off
    drawn = satellite.sample(drivers_path, n_samples, seed, segments=list(SEGMENTS), **kwargs)
    n_q = len(drivers_path)
    industry_q = np.stack([drawn[s].to_numpy().reshape(n_samples, n_q) for s in SEGMENTS], axis=2)
    rates = np.minimum(industry_q * k.reindex(SEGMENTS).to_numpy()[None, None, :], 1.0)
    losses = rates * segs.balance.reindex(SEGMENTS).to_numpy()[None, None, :]
    clamped = satellite.clamped(drivers_path) if hasattr(satellite, "clamped") else None
    return LoanLossProjection(
        segments=tuple(SEGMENTS),
        quarters=tuple(str(q) for q in drivers_path.index),
        losses=losses,
        rates=rates,
        balance=segs.balance,
        scaling=k,
        industry_rate=industry,
        expected_loss_rate=segs.expected_loss_rate,
        clamped=clamped,
    )


__all__ = [
    "BOOK_TO_FED_SEGMENT",
    "FittedLossRates",
    "LoanLossProjection",
    "LoanSegments",
    "book_scaling",
    "industry_loss_rates",
    "loan_balance",
    "loan_segments",
    "project_loan_losses",
]
