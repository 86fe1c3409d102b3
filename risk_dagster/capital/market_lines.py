"""Trading, securities and other loss lines of the capital projection (DESIGN.md "Capital").

The engine revalues; this module turns its results into the Fed's loss lines, by accounting book
(the portfolio contract's ``accounting_book``):

* **Trading and counterparty** (:func:`trading_loss`): the trading book is revalued as an
  *instantaneous* shock of the jump-off book (``revalue(..., age_book=False)``) under each of the
  sample's first four quarters, and the largest loss of the four is the sample's global-market-shock
  loss, booked once in PQ1 and not reversed (the Fed's global market shock is an instantaneous
  shock; the four-quarter window is this project's reading of "the worst point of the first year",
  configurable). A sample whose four quarters all gain books that (negative) gain.
  *Counterparty*: the mark-to-market of the book's derivatives is in the revaluation; the default
  of the largest counterparty and CVA losses are **not modelled** (the portfolio contract carries
  no counterparty, netting set or collateral), so the counterparty line is zero and said to be.
* **AFS securities** (:func:`afs_fair_value_change`): revalued on each quarter's date along the
  aged path (``age_book=True``), and compared with the same book aged along an unshocked path
  (every factor at its jump-off level): ``FV_q(scenario) - FV_q(unshocked)``. Both paths receive the
  same scheduled cash (coupons, redemptions, MBS flows at base speeds), so the difference is the
  scenario's fair-value change alone, without the carry and pull to par the book earns anyway
  (that carry is net interest income). It goes through OCI; the credit part is not split off into
  income (the same CET1 effect when AOCI counts and taxes are at one rate).
* **HTM securities** (:func:`htm_credit_losses`): credit losses only, on the corporate bonds and FRNs
  held to maturity (Treasuries, agencies and agency MBS: none, government or agency guaranteed), as
  provisions = expected charge-offs + CECL allowance build. With ``PD_0`` the long-run one-year
  default rate of the bond's rating (:data:`RATING_DEFAULT_RATES`) and ``PD_q = PD_0 x s_q / s_0`` the
  stressed rate (default intensity proportional to the bond's spread: ``s_0`` the engine's base
  spread of the rating, ``s_q`` that plus the shock of the bond's credit curve, floored at zero), the
  quarter's charge-offs are ``N x LGD x PD_q / 4`` and the allowance at its end
  ``N x LGD x [1 - (1 - PD_q)^min(T, R) (1 - PD_0)^max(T - R, 0)]``, ``T`` the remaining life and
  ``R`` = :data:`HTM_FORECAST_YEARS` the reasonable-and-supportable forecast period. Under the
  constant balance sheet a bond that matures or defaults is replaced by the same bond, so ``T`` is
  held at its jump-off value. An unshocked path therefore loses the normal expected loss
  ``N x LGD x PD_0 / 4`` a quarter; a widening builds the allowance and raises the charge-offs; a
  tightening releases the allowance.
* **Other** (:func:`operational_losses`): operational-risk losses at the balance sheet's stated
  charge per quarter (the Fed projects them inside PPNR; here they are their own line).

Losses are positive, USD; arrays are ``[samples, quarters]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from risk_dagster.engine.kernels import base_spread_bp
from risk_dagster.engine.revalue import StressResult
from risk_dagster.translate.shockset import ShockSet

HORIZON = 9
TRADING_SHOCK_QUARTERS = 4
"""The trading book's shock is the worst instantaneous loss over the sample's first four quarters."""

HTM_LGD = 0.60
"""Loss given default of a senior unsecured bond: about 40% average recovery (Moody's annual default
studies, senior unsecured bonds, long-run average of post-default trading prices ~37-40%)."""

HTM_FORECAST_YEARS = 2.0
"""The reasonable-and-supportable forecast period of the CECL allowance (two years, a common choice of
US banks; the long-run default rate applies after it, without a reversion period)."""

RATING_DEFAULT_RATES: dict[str, float] = {
    "AAA": 0.0000, "AA": 0.0002, "A": 0.0005, "BBB": 0.0015, "BB": 0.0060, "B": 0.0320, "CCC": 0.2650,
}  # fmt: skip
"""Long-run average one-year corporate default rates by rating class (decimal), approximately S&P Global
Ratings' Annual Global Corporate Default and Rating Transition Study (1981-2023 averages: AAA 0.00%,
AA 0.02%, A 0.05%, BBB 0.15%, BB 0.6%, B 3.2%, CCC/C 26.5%, rounded). Notches (+/-) take their class."""

GUARANTEED_SEGMENTS = ("ust", "agency")
"""Segments with no credit loss (US government or agency guaranteed)."""


# ------------------------------------------------------------------------------- books
def positions_in(positions: pd.DataFrame, book: str) -> pd.DataFrame:
    """The rows of one accounting book (``trading``, ``afs``, ``htm``, ``loan``), attrs kept."""
    rows = positions[positions["accounting_book"].astype(str) == book]
    out = rows.reset_index(drop=True)
    out.attrs = dict(positions.attrs)
    return out


def unshocked(shockset: ShockSet, quarters: int | None = None) -> ShockSet:
    """One sample with every factor at its jump-off level (zero shocks), the same factors and quarters."""
    n_q = len(shockset.quarters) if quarters is None else quarters
    return ShockSet(
        shocks=np.zeros((1, n_q, len(shockset.factor_ids))),
        jump_off=shockset.jump_off.copy(),
        factor_ids=list(shockset.factor_ids),
        shock_types=list(shockset.shock_types),
        quarters=list(shockset.quarters[:n_q]),
        scenario_id=f"{shockset.scenario_id}:unshocked",
        model_id="unshocked",
        model_version="",
        seed=0,
        metadata={k: shockset.metadata[k] for k in ("jump_off_quarter", "jump_off_asof") if k in shockset.metadata},
    )


# ------------------------------------------------------------------------------- trading
@dataclass(frozen=True)
class TradingLoss:
    """Per sample: the trading book's global-market-shock loss and the quarter (1-based) it came from."""

    loss: np.ndarray
    quarter: np.ndarray
    by_segment: pd.DataFrame
    """``[samples, segments]`` loss of each segment in the chosen quarter."""


def trading_loss(instantaneous: StressResult, quarters: int = TRADING_SHOCK_QUARTERS) -> TradingLoss:
    """The worst instantaneous loss of the trading book over the first ``quarters`` quarters.

    ``instantaneous`` is the trading book revalued with ``age_book=False`` (at least ``quarters``
    quarters, the first ones of the ShockSet).
    """
    total = instantaneous.total_loss
    if total.shape[1] < quarters:
        raise ValueError(f"trading_loss: {total.shape[1]} quarters revalued, {quarters} needed")
    window = total[:, :quarters]
    worst = np.argmax(window, axis=1)
    rows = np.arange(window.shape[0])
    by_segment = pd.DataFrame(instantaneous.loss[rows, worst, :], columns=list(instantaneous.segments))
    return TradingLoss(loss=window[rows, worst], quarter=worst + 1, by_segment=by_segment)


# ------------------------------------------------------------------------------- AFS
def afs_fair_value_change(aged: StressResult, unshocked_aged: StressResult, horizon: int = HORIZON) -> np.ndarray:
    """``[S, horizon]`` cumulative AFS fair-value change (gain positive) of the scenario over the unshocked path.

    Both results are of the same AFS positions aged along the path (quarters 1..horizon); the
    unshocked one has one sample (:func:`unshocked`).
    """
    if aged.position_ids != unshocked_aged.position_ids:
        raise ValueError("afs_fair_value_change: the scenario and the unshocked revaluations are of different books")
    if len(aged.quarters) < horizon or len(unshocked_aged.quarters) < horizon:
        raise ValueError(f"afs_fair_value_change: {horizon} quarters needed")
    scenario = aged.pnl.sum(axis=-1)[:, :horizon]
    reference = unshocked_aged.pnl.sum(axis=-1)[:1, :horizon]
    return scenario - reference


def quarterly_changes(cumulative: np.ndarray) -> np.ndarray:
    """Per-quarter changes of a cumulative ``[S, Q]`` path (the first from zero)."""
    return np.diff(cumulative, axis=1, prepend=0.0)


# ------------------------------------------------------------------------------- HTM
def _rating_class(rating: object) -> str:
    text = str(rating).upper().rstrip("+-")
    return text if text in RATING_DEFAULT_RATES else ""


def htm_credit_losses(
    positions: pd.DataFrame,
    shockset: ShockSet,
    horizon: int = HORIZON,
    *,
    lgd: float = HTM_LGD,
    forecast_years: float = HTM_FORECAST_YEARS,
) -> tuple[np.ndarray, np.ndarray]:
    """Credit losses of the held-to-maturity corporate bonds and FRNs: ``([S, horizon] losses, [S, horizon] allowance)``.

    See the module docstring for the allowance. ``positions`` are the HTM rows; others with a
    guaranteed segment get no allowance. The jump-off allowance is the same formula at zero shock,
    so an unshocked scenario loses only the normal expected loss.

    Raises
    ------
    KeyError
        When a bond's credit curve is not a factor of ``shockset``.
    ValueError
        For a rating without a default rate.
    """
    n_s = shockset.n_samples
    itype = positions["instrument_type"].astype(str).to_numpy()
    segment = positions["segment"].astype(str).to_numpy()
    rows = np.flatnonzero(np.isin(itype, ("fixed_bond", "frn")) & ~np.isin(segment, GUARANTEED_SEGMENTS))
    if len(rows) == 0 or horizon == 0:
        return np.zeros((n_s, horizon)), np.zeros((n_s, horizon))
    sub = positions.iloc[rows]
    ratings = sub["rating"].astype(str).to_numpy()
    classes = np.array([_rating_class(r) for r in ratings])
    if (classes == "").any():
        raise ValueError(f"htm_credit_losses: ratings without a default rate: {sorted(set(ratings[classes == '']))}")
    pd0 = np.array([RATING_DEFAULT_RATES[c] for c in classes])
    s0 = np.array([base_spread_bp(r) for r in ratings], dtype=np.float64)
    curves = sub["credit_curve"].astype(str).to_numpy()
    index = {f: i for i, f in enumerate(shockset.factor_ids)}
    missing = sorted({c for c in curves if c not in index})
    if missing:
        raise KeyError(f"htm_credit_losses: credit curves {missing} are not factors of {shockset.scenario_id}")
    col = np.array([index[c] for c in curves])
    shocks_bp = shockset.shocks[:, :horizon, :][:, :, col]  # [S, Q, B]
    spread = np.maximum(s0[None, None, :] + shocks_bp, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(s0[None, None, :] > 0, spread / s0[None, None, :], 1.0)
    pd_q = np.clip(pd0[None, None, :] * ratio, 0.0, 1.0)
    notional = (sub["notional"].astype(float) * sub["direction"].astype(float).where(lambda d: d > 0, 0.0)).to_numpy()
    # Constant balance sheet: a bond that matures or defaults is replaced by the same bond, so each
    # position keeps its jump-off remaining life over the horizon.
    remaining = np.maximum(sub["maturity_years"].astype(float).to_numpy(), 0.0)

    def allowance(pd_stressed: np.ndarray) -> np.ndarray:
        near = np.minimum(remaining, forecast_years)
        far = np.maximum(remaining - forecast_years, 0.0)
        survive = (1.0 - pd_stressed) ** near * (1.0 - pd0) ** far
        return notional * lgd * (1.0 - survive)

    allow = allowance(pd_q).sum(axis=2)  # [S, Q]
    start = float(allowance(pd0).sum())
    charge_offs = (notional * lgd * pd_q / 4.0).sum(axis=2)  # the quarter's expected defaults
    previous = np.concatenate([np.full((n_s, 1), start), allow[:, :-1]], axis=1)
    losses = charge_offs + (allow - previous)
    return losses, allow


# ------------------------------------------------------------------------------- other
def operational_losses(per_quarter: float, samples: int, horizon: int = HORIZON) -> np.ndarray:
    """``[S, horizon]`` the stated operational-risk charge every quarter."""
    return np.full((samples, horizon), float(per_quarter))


@dataclass(frozen=True)
class MarketLines:
    """The non-loan loss lines of one scenario set, per sample (USD; losses positive).

    ``afs_value_change`` is cumulative fair-value change through OCI (gain positive), the others
    per quarter; ``trading`` is the PQ1 one-off per sample.
    """

    trading: TradingLoss
    counterparty: np.ndarray
    afs_value_change: np.ndarray
    htm_credit: np.ndarray
    htm_allowance: np.ndarray
    operational: np.ndarray

    @property
    def samples(self) -> int:
        return int(self.trading.loss.shape[0])

    @property
    def afs_loss_9q(self) -> np.ndarray:
        """Per sample: the AFS fair-value loss at PQ9 (positive = loss)."""
        return -self.afs_value_change[:, -1]

    @property
    def afs_worst_loss(self) -> np.ndarray:
        """Per sample: the largest AFS fair-value loss over the horizon (positive = loss; 0 if it only gains)."""
        return np.maximum(-self.afs_value_change.min(axis=1), 0.0)

    def securities_loss(self) -> np.ndarray:
        """Per sample: AFS fair-value loss at PQ9 + nine quarters of HTM credit losses."""
        return self.afs_loss_9q + self.htm_credit.sum(axis=1)


Revaluer = Callable[[pd.DataFrame, ShockSet, Sequence[int], bool], StressResult]
"""``(positions, shockset, quarter indexes, age_book) -> StressResult``: the configured engine."""


def revalue_market_lines(
    positions: pd.DataFrame,
    shockset: ShockSet,
    revaluer: Revaluer,
    operational_per_quarter: float,
    *,
    horizon: int = HORIZON,
    trading_quarters: int = TRADING_SHOCK_QUARTERS,
    afs_unshocked: StressResult | None = None,
) -> tuple[MarketLines, dict[str, StressResult]]:
    """Revalue the trading book (instantaneous, first ``trading_quarters``) and the AFS book (aged,
    PQ1..PQ``horizon``, and unshocked unless ``afs_unshocked`` is given: it does not depend on the
    set), then assemble the lines. Returns the lines and the engine results by name."""
    n = shockset.n_samples
    if len(shockset.quarters) < max(horizon, trading_quarters):
        raise ValueError(f"{shockset.scenario_id}: {len(shockset.quarters)} quarters, {horizon} needed")
    results: dict[str, StressResult] = {}
    trading_book = positions_in(positions, "trading")
    if len(trading_book):
        results["trading"] = revaluer(trading_book, shockset, list(range(trading_quarters)), False)
        trading = trading_loss(results["trading"], trading_quarters)
    else:
        trading = TradingLoss(loss=np.zeros(n), quarter=np.ones(n, dtype=int), by_segment=pd.DataFrame(index=range(n)))
    afs_book = positions_in(positions, "afs")
    if len(afs_book):
        results["afs"] = revaluer(afs_book, shockset, list(range(horizon)), True)
        if afs_unshocked is None:
            afs_unshocked = revaluer(afs_book, unshocked(shockset), list(range(horizon)), True)
        results["afs_unshocked"] = afs_unshocked
        afs_change = afs_fair_value_change(results["afs"], afs_unshocked, horizon)
    else:
        afs_change = np.zeros((n, horizon))
    htm, allowance = htm_credit_losses(positions_in(positions, "htm"), shockset, horizon)
    lines = MarketLines(
        trading=trading,
        counterparty=np.zeros(n),
        afs_value_change=afs_change,
        htm_credit=htm,
        htm_allowance=allowance,
        operational=operational_losses(operational_per_quarter, n, horizon),
    )
    return lines, results


__all__ = [
    "GUARANTEED_SEGMENTS",
    "HTM_FORECAST_YEARS",
    "HTM_LGD",
    "RATING_DEFAULT_RATES",
    "TRADING_SHOCK_QUARTERS",
    "MarketLines",
    "TradingLoss",
    "afs_fair_value_change",
    "htm_credit_losses",
    "Revaluer",
    "revalue_market_lines",
    "operational_losses",
    "positions_in",
    "quarterly_changes",
    "trading_loss",
    "unshocked",
]
