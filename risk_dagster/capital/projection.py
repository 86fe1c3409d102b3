"""CET1 capital over the nine projection quarters PQ1-PQ9, per sample (DESIGN.md "Capital").

The arithmetic of the Federal Reserve's supervisory stress test, on numpy float64 arrays shaped
``[samples, quarters]``, one small function per step:

1. :func:`allowance_path` - the allowance for credit losses at the end of quarter q covers the
   projected loan losses (net charge-offs) of the next four quarters q+1..q+4. Losses beyond the
   last quarter supplied are held at the last supplied quarter's amount (with the balance sheet
   held constant, the same loss rate). Supply more than nine quarters (e.g. the Fed scenario's
   13) and quarters PQ10-PQ13 are used for the allowance only.
2. :func:`provisions` - net charge-offs + allowance build (allowance_q - allowance_{q-1}), the
   first build from the jump-off allowance: a jump-off allowance below four quarters of stressed
   losses is built in PQ1; one above them is released.
3. :func:`pre_tax_net_income` - PPNR - provisions - trading and counterparty losses (booked once,
   in PQ1, :func:`booked_in_first_quarter`) - securities losses through income (HTM credit
   losses; AFS credit impairments when given) - operational losses.
4. :func:`taxes` - ``tax_rate x pre-tax income``, symmetric by default: a loss gives a tax
   benefit (a deferred tax asset), as the Fed applies one consistent rate to pre-tax income. The
   regulatory-capital limit on DTAs (the threshold deduction) is NOT modelled, which flatters a
   deep-loss path; ``tax_benefit_on_losses=False`` is the conservative alternative (no benefit).
5. :func:`other_comprehensive_income` - the quarter's change in AFS fair value (excluding any
   credit impairment booked through income), net of tax at the same rate by default (AOCI is
   reported net of tax); into CET1 only when the balance sheet's ``aoci_in_cet1``.
6. Dividends - the Fed's capital-action assumption in the supervisory stress test (e.g. 12 CFR
   238.132(d) for savings and loan holding companies; Regulation YY has the same for bank holding
   companies) is that the bank pays NO dividends on CET1 instruments over the horizon, and four
   quarters of planned dividends enter the stress capital buffer instead; so by default none are deducted from the path
   (``dividends_in_path=True`` deducts the planned dividends every quarter, a capital-plan view).
7. :func:`cet1_path` - CET1_q = CET1_0 + cumulative (net income - dividends + OCI if counted).
8. :func:`rwa_path` - ``constant`` (Fed): RWA held at jump-off; ``static`` (EBA): no balance
   sheet growth, RWA from a supplied path (e.g. credit-risk migration) or else at jump-off.
9. :func:`stress_capital_buffer` - per path: minimum ratio and its quarter (1-based PQ), SCB =
   start ratio - minimum + four quarters of planned dividends / RWA in the minimum's quarter,
   floored at 2.5% (12 CFR 225.8; not rounded), and whether the path breaches the 4.5% minimum.

:func:`project_capital` chains them into a :class:`CapitalProjection`. Sign conventions: losses
are positive numbers (a USD 5bn loss is ``5e9``); ``afs_value_change`` is a change in fair value
(negative = a loss). Money in USD.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from risk_dagster.capital.balance_sheet import BalanceSheet

HORIZON = 9  # PQ1-PQ9
ALLOWANCE_COVERAGE_QUARTERS = 4
DIVIDEND_ADD_ON_QUARTERS = 4  # planned dividends of PQ4-PQ7 in the SCB rule
SCB_FLOOR = 0.025
PPNR_PARTS = ("net_interest_income", "noninterest_income", "noninterest_expense")

FloatArray = np.ndarray


# ------------------------------------------------------------------------------ input shapes
def _as_paths(value: Any, samples: int, horizon: int, name: str, *, min_quarters: int | None = None) -> FloatArray:
    """Broadcast a scalar, ``[Q]`` or ``[S, Q]`` input to ``[S, horizon]`` float64 (Q >= horizon is cut)."""
    arr = np.asarray(value, dtype=np.float64)
    need = horizon if min_quarters is None else min_quarters
    if arr.ndim == 0:
        arr = np.full((samples, horizon), float(arr))
    elif arr.ndim == 1:
        if arr.shape[0] < need:
            raise ValueError(f"{name}: {arr.shape[0]} quarters given, at least {need} needed")
        arr = np.broadcast_to(arr[:horizon], (samples, horizon))
    elif arr.ndim == 2:
        if arr.shape[0] != samples:
            raise ValueError(f"{name}: {arr.shape[0]} samples, expected {samples}")
        if arr.shape[1] < need:
            raise ValueError(f"{name}: {arr.shape[1]} quarters given, at least {need} needed")
        arr = arr[:, :horizon]
    else:
        raise ValueError(f"{name}: expected a scalar, [quarters] or [samples, quarters], got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return np.array(arr, dtype=np.float64)  # a writable copy


def _as_samples(value: Any, samples: int, name: str) -> FloatArray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(samples, float(arr))
    if arr.shape != (samples,):
        raise ValueError(f"{name}: expected shape ({samples},) (one value per sample), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr.astype(np.float64, copy=True)


# --------------------------------------------------------------------------------- the steps
def extend_losses(loan_losses: FloatArray, quarters: int) -> FloatArray:
    """Loan losses ``[S, Q]`` extended to ``quarters`` columns by holding the last column's amount.

    The allowance at the end of PQ9 needs losses of PQ10-PQ13; where they are not supplied the
    last supplied quarter's amount (the same loss rate, with a constant balance sheet) is held.
    """
    losses = np.asarray(loan_losses, dtype=np.float64)
    if losses.shape[1] >= quarters:
        return losses[:, :quarters].copy()
    tail = np.repeat(losses[:, -1:], quarters - losses.shape[1], axis=1)
    return np.concatenate([losses, tail], axis=1)


def allowance_path(
    loan_losses: FloatArray, horizon: int = HORIZON, coverage: int = ALLOWANCE_COVERAGE_QUARTERS
) -> FloatArray:
    """Allowance at the end of each quarter 1..horizon: the sum of the next ``coverage`` quarters' losses.

    ``loan_losses`` is ``[S, Q]`` with ``Q >= horizon``; columns after ``horizon`` are used for the
    look-ahead, and beyond the last one the last quarter's amount is held (:func:`extend_losses`).
    """
    ext = extend_losses(loan_losses, horizon + coverage)
    csum = np.concatenate([np.zeros((ext.shape[0], 1)), np.cumsum(ext, axis=1)], axis=1)
    q = np.arange(1, horizon + 1)  # end of quarter q (1-based) covers 0-based columns q .. q+coverage-1
    return csum[:, q + coverage] - csum[:, q]


def provisions(net_charge_offs: FloatArray, allowance: FloatArray, jump_off_allowance: float) -> FloatArray:
    """Provisions = net charge-offs + allowance build, the first build from the jump-off allowance."""
    previous = np.concatenate([np.full((allowance.shape[0], 1), float(jump_off_allowance)), allowance[:, :-1]], axis=1)
    return net_charge_offs + (allowance - previous)


def booked_in_first_quarter(loss: FloatArray, horizon: int = HORIZON) -> FloatArray:
    """A one-off loss per sample ``[S]`` as a ``[S, horizon]`` path: all in PQ1, not reversed."""
    out = np.zeros((loss.shape[0], horizon))
    out[:, 0] = loss
    return out


def pre_tax_net_income(
    ppnr: FloatArray,
    provision: FloatArray,
    trading_and_counterparty: FloatArray,
    securities_losses: FloatArray,
    operational_losses: FloatArray,
) -> FloatArray:
    """PPNR - provisions - trading & counterparty losses - securities losses through income - operational losses."""
    return ppnr - provision - trading_and_counterparty - securities_losses - operational_losses


def taxes(pre_tax: FloatArray, tax_rate: float, *, tax_benefit_on_losses: bool = True) -> FloatArray:
    """Taxes on pre-tax income (positive = an expense).

    ``tax_benefit_on_losses=True`` (the Fed's simplification): ``tax_rate x pre_tax`` also when
    it is negative, a tax benefit (a deferred tax asset, counted in full). ``False``: no benefit,
    ``tax_rate x max(pre_tax, 0)``.
    """
    base = pre_tax if tax_benefit_on_losses else np.maximum(pre_tax, 0.0)
    return tax_rate * base


def other_comprehensive_income(afs_value_change: FloatArray, tax_rate: float, *, after_tax: bool = True) -> FloatArray:
    """OCI of the quarter: the change in AFS fair value, net of tax at ``tax_rate`` when ``after_tax``."""
    return afs_value_change * (1.0 - tax_rate) if after_tax else afs_value_change.copy()


def cet1_path(
    start: float, net_income: FloatArray, dividends: FloatArray, oci: FloatArray, *, aoci_in_cet1: bool
) -> FloatArray:
    """CET1 capital at the end of each quarter: start + cumulative (net income - dividends + OCI if counted)."""
    flow = net_income - dividends + (oci if aoci_in_cet1 else 0.0)
    return float(start) + np.cumsum(flow, axis=1)


def rwa_path(balance_sheet: BalanceSheet, samples: int, horizon: int = HORIZON, rwa: Any = None) -> FloatArray:
    """RWA per sample and quarter.

    ``constant`` (Fed): RWA held at jump-off (a supplied ``rwa`` is refused). ``static`` (EBA):
    the supplied ``rwa`` path (scalar, ``[Q]`` or ``[S, Q]``), else RWA held at jump-off.
    """
    if balance_sheet.balance_sheet_assumption == "constant":
        if rwa is not None:
            raise ValueError("rwa: a supplied RWA path needs balance_sheet_assumption 'static'; 'constant' holds jump-off RWA")
        return np.full((samples, horizon), balance_sheet.rwa)
    if rwa is None:
        return np.full((samples, horizon), balance_sheet.rwa)
    out = _as_paths(rwa, samples, horizon, "rwa")
    if np.any(out <= 0):
        raise ValueError("rwa: RWA must be positive")
    return out


@dataclass(frozen=True)
class BufferResult:
    """Per path: minimum ratio, its quarter (1-based), SCB, and whether it breaches the minimum."""

    min_ratio: FloatArray
    min_quarter: np.ndarray
    scb: FloatArray
    breach: np.ndarray


def stress_capital_buffer(
    start_ratio: float,
    ratio: FloatArray,
    rwa: FloatArray,
    planned_dividends_per_quarter: float,
    *,
    minimum_ratio: float = 0.045,
    floor: float = SCB_FLOOR,
    dividend_quarters: int = DIVIDEND_ADD_ON_QUARTERS,
) -> BufferResult:
    """SCB per path = max(floor, start - min ratio + four quarters of planned dividends / RWA at the minimum).

    ``breach``: the path's ratio falls below ``minimum_ratio`` in some quarter.
    """
    idx = np.argmin(ratio, axis=1)
    rows = np.arange(ratio.shape[0])
    min_ratio = ratio[rows, idx]
    add_on = dividend_quarters * planned_dividends_per_quarter / rwa[rows, idx]
    scb = np.maximum(floor, start_ratio - min_ratio + add_on)
    return BufferResult(min_ratio=min_ratio, min_quarter=idx + 1, scb=scb, breach=min_ratio < minimum_ratio)


# ------------------------------------------------------------------------------- the result
def _jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


@dataclass(frozen=True, eq=False)
class CapitalProjection:
    """The capital projection, per sample x quarter (``[S, Q]`` float64, USD; ratios decimal).

    Losses are positive. ``trading_loss`` and ``counterparty_loss`` sit in PQ1.
    ``loan_losses_by_segment`` is ``[S, Q, G]`` (with ``segments``) when losses were given by
    segment. The PPNR parts are ``None`` when a total PPNR path was supplied. ``dividends`` holds
    what was deducted (zeros under the Fed's assumption, see the module docstring);
    ``planned_dividends_per_quarter`` is what the SCB's add-on uses.
    """

    quarters: tuple[str, ...]
    loan_losses: FloatArray
    trading_loss: FloatArray
    counterparty_loss: FloatArray
    htm_credit_loss: FloatArray
    afs_credit_loss: FloatArray
    operational_loss: FloatArray
    ppnr: FloatArray
    net_interest_income: FloatArray | None
    noninterest_income: FloatArray | None
    noninterest_expense: FloatArray | None
    allowance: FloatArray
    provisions: FloatArray
    pre_tax_net_income: FloatArray
    taxes: FloatArray
    net_income: FloatArray
    oci: FloatArray
    dividends: FloatArray
    cet1_capital: FloatArray
    rwa: FloatArray
    cet1_ratio: FloatArray
    start_cet1_capital: float
    start_rwa: float
    start_allowance: float
    planned_dividends_per_quarter: float
    minimum_ratio: float
    aoci_in_cet1: bool
    balance_sheet_assumption: str
    tax_benefit_on_losses: bool
    dividends_in_path: bool
    oci_after_tax: bool
    loan_losses_by_segment: FloatArray | None = None
    segments: tuple[str, ...] | None = None
    allowance_coverage_quarters: int = ALLOWANCE_COVERAGE_QUARTERS
    _buffer: BufferResult | None = field(default=None, repr=False)

    # per path --------------------------------------------------------------------------
    @property
    def samples(self) -> int:
        return int(self.cet1_ratio.shape[0])

    @property
    def start_ratio(self) -> float:
        """CET1 ratio at jump-off."""
        return self.start_cet1_capital / self.start_rwa

    @property
    def buffer(self) -> BufferResult:
        if self._buffer is None:  # computed once (frozen: set through object.__setattr__)
            object.__setattr__(
                self,
                "_buffer",
                stress_capital_buffer(
                    self.start_ratio, self.cet1_ratio, self.rwa, self.planned_dividends_per_quarter,
                    minimum_ratio=self.minimum_ratio,
                ),
            )
        assert self._buffer is not None
        return self._buffer

    @property
    def min_ratio(self) -> FloatArray:
        """Per path: the lowest CET1 ratio over PQ1-PQ9."""
        return self.buffer.min_ratio

    @property
    def min_quarter(self) -> np.ndarray:
        """Per path: the quarter (1 = PQ1) of the lowest ratio."""
        return self.buffer.min_quarter

    @property
    def scb(self) -> FloatArray:
        """Per path: the stress capital buffer (decimal, floored at 2.5%)."""
        return self.buffer.scb

    @property
    def breach(self) -> np.ndarray:
        """Per path: True when the ratio falls below the minimum (4.5%) in some quarter."""
        return self.buffer.breach

    # summary ---------------------------------------------------------------------------
    @property
    def median_ratio(self) -> FloatArray:
        """Per quarter: the median CET1 ratio across samples (the 'median path')."""
        return np.median(self.cet1_ratio, axis=0)

    @property
    def band(self) -> tuple[FloatArray, FloatArray]:
        """Per quarter: the 5% and 95% quantiles of the CET1 ratio across samples."""
        lo, hi = np.quantile(self.cet1_ratio, [0.05, 0.95], axis=0)
        return lo, hi

    @property
    def trough(self) -> float:
        """Median of the per-path minimum ratios."""
        return float(np.median(self.min_ratio))

    @property
    def trough_quarter(self) -> int:
        """Quarter (1 = PQ1) where the median path is lowest."""
        return int(np.argmin(self.median_ratio)) + 1

    @property
    def scb_median_path(self) -> float:
        """SCB of the median path (its minimum, the median RWA in that quarter)."""
        q = self.trough_quarter - 1
        rwa = float(np.median(self.rwa[:, q]))
        add_on = DIVIDEND_ADD_ON_QUARTERS * self.planned_dividends_per_quarter / rwa
        return float(max(SCB_FLOOR, self.start_ratio - float(self.median_ratio[q]) + add_on))

    @property
    def share_below_minimum(self) -> float:
        """Share of paths whose ratio falls below the minimum in some quarter."""
        return float(np.mean(self.breach))

    def summary(self) -> dict[str, Any]:
        lo, hi = self.band
        cumulative = {
            name: float(np.median(getattr(self, name).sum(axis=1)))
            for name in (
                "loan_losses", "trading_loss", "counterparty_loss", "htm_credit_loss", "afs_credit_loss",
                "operational_loss", "ppnr", "provisions", "pre_tax_net_income", "taxes", "net_income", "oci", "dividends",
            )
        }
        return {
            "samples": self.samples,
            "quarters": list(self.quarters),
            "start_cet1_ratio": self.start_ratio,
            "median_cet1_ratio": self.median_ratio,
            "p05_cet1_ratio": lo,
            "p95_cet1_ratio": hi,
            "trough": self.trough,
            "trough_quarter": self.trough_quarter,
            "scb_median_path": self.scb_median_path,
            "scb_per_path": {
                "median": float(np.median(self.scb)),
                "p05": float(np.quantile(self.scb, 0.05)),
                "p95": float(np.quantile(self.scb, 0.95)),
            },
            "minimum_cet1_ratio": self.minimum_ratio,
            "share_below_minimum": self.share_below_minimum,
            "median_nine_quarter_totals_usd": cumulative,
            "assumptions": {
                "aoci_in_cet1": self.aoci_in_cet1,
                "balance_sheet_assumption": self.balance_sheet_assumption,
                "tax_benefit_on_losses": self.tax_benefit_on_losses,
                "dividends_in_path": self.dividends_in_path,
                "oci_after_tax": self.oci_after_tax,
                "allowance_coverage_quarters": self.allowance_coverage_quarters,
                "scb_floor": SCB_FLOOR,
            },
        }

    def to_json(self, *, include_paths: bool = False, indent: int | None = None) -> str:
        """The summary as JSON (NaN as null); ``include_paths`` adds every ``[S, Q]`` array and the per-path results."""
        out = self.summary()
        if include_paths:
            paths = {
                name: getattr(self, name)
                for name in (
                    "loan_losses", "trading_loss", "counterparty_loss", "htm_credit_loss", "afs_credit_loss",
                    "operational_loss", "ppnr", "net_interest_income", "noninterest_income", "noninterest_expense",
                    "allowance", "provisions", "pre_tax_net_income", "taxes", "net_income", "oci", "dividends",
                    "cet1_capital", "rwa", "cet1_ratio",
                )
            }
            if self.loan_losses_by_segment is not None:
                paths["loan_losses_by_segment"] = self.loan_losses_by_segment
                out["segments"] = list(self.segments or ())
            out["paths"] = paths
            out["per_path"] = {
                "min_ratio": self.min_ratio, "min_quarter": self.min_quarter, "scb": self.scb, "breach": self.breach,
            }
        return json.dumps(_jsonable(out), indent=indent)


# ----------------------------------------------------------------------------- the pipeline
def project_capital(
    balance_sheet: BalanceSheet,
    loan_losses: Any,
    trading_loss: Any = 0.0,
    afs_value_change: Any = 0.0,
    htm_credit_loss: Any = 0.0,
    ppnr: Any = None,
    *,
    afs_credit_loss: Any = 0.0,
    counterparty_loss: Any = 0.0,
    operational_loss: Any = None,
    rwa: Any = None,
    segments: Sequence[str] | None = None,
    quarters: Sequence[str] | None = None,
    horizon: int = HORIZON,
    tax_benefit_on_losses: bool = True,
    dividends_in_path: bool = False,
    oci_after_tax: bool = True,
    allowance_coverage_quarters: int = ALLOWANCE_COVERAGE_QUARTERS,
) -> CapitalProjection:
    """Project CET1 capital and ratio over PQ1..PQ``horizon`` for every sample.

    Parameters
    ----------
    balance_sheet
        The jump-off :class:`BalanceSheet`.
    loan_losses
        Net charge-offs, USD, ``[S, Q]`` or by segment ``[S, Q, G]`` (summed over G), ``Q >= horizon``;
        quarters after ``horizon`` feed the allowance's four-quarter look-ahead only. Must be >= 0.
    trading_loss, counterparty_loss
        One-off losses per sample ``[S]`` (or a scalar), booked in PQ1.
    afs_value_change
        Change in AFS fair value per quarter (negative = loss), ``[S, Q]``, ``[Q]`` or scalar;
        excludes credit impairments booked through income (``afs_credit_loss``).
    htm_credit_loss, afs_credit_loss
        Securities credit losses through income per quarter (positive = loss).
    ppnr
        ``None``: the balance sheet's run-rates every quarter; an array: total PPNR per quarter;
        a mapping with ``net_interest_income``, ``noninterest_income``, ``noninterest_expense``
        (each scalar, ``[Q]`` or ``[S, Q]``; a missing part takes the run-rate).
    operational_loss
        Per quarter; ``None``: the balance sheet's ``operational_loss_per_quarter``.
    rwa
        RWA path, only with ``balance_sheet_assumption: static`` (see :func:`rwa_path`).
    segments
        Names of the G segments of a ``[S, Q, G]`` ``loan_losses``.
    quarters
        Labels of the ``horizon`` quarters (default ``PQ1``..``PQ9``).
    tax_benefit_on_losses, dividends_in_path, oci_after_tax
        See :func:`taxes`, the module docstring (step 6) and :func:`other_comprehensive_income`.
    allowance_coverage_quarters
        How many quarters of future net charge-offs the allowance covers (:func:`allowance_path`);
        4 is the Fed's assumption, a sensitivity can move it.
    """
    if allowance_coverage_quarters < 1:
        raise ValueError(f"allowance_coverage_quarters must be >= 1, got {allowance_coverage_quarters}")
    bs = balance_sheet
    ll = np.asarray(loan_losses, dtype=np.float64)
    by_segment: FloatArray | None = None
    if ll.ndim == 3:
        if segments is not None and len(segments) != ll.shape[2]:
            raise ValueError(f"segments: {len(segments)} names for {ll.shape[2]} loan-loss segments")
        by_segment = ll[:, :horizon, :].copy()
        ll = ll.sum(axis=2)
    elif ll.ndim != 2:
        raise ValueError(f"loan_losses: expected [samples, quarters] or [samples, quarters, segments], got shape {ll.shape}")
    samples = ll.shape[0]
    if samples < 1:
        raise ValueError("loan_losses: no samples")
    if ll.shape[1] < horizon:
        raise ValueError(f"loan_losses: {ll.shape[1]} quarters given, at least {horizon} needed")
    if not np.all(np.isfinite(ll)):
        raise ValueError("loan_losses: contains NaN or infinite values")
    if np.any(ll < 0):
        raise ValueError("loan_losses: net charge-offs must be >= 0 (losses are positive numbers)")
    if by_segment is not None and not np.all(np.isfinite(by_segment)):
        raise ValueError("loan_losses: contains NaN or infinite values")

    labels = tuple(quarters) if quarters is not None else tuple(f"PQ{q}" for q in range(1, horizon + 1))
    if len(labels) != horizon:
        raise ValueError(f"quarters: {len(labels)} labels for a horizon of {horizon}")

    # losses by line
    nco = ll[:, :horizon].copy()
    trading = booked_in_first_quarter(_as_samples(trading_loss, samples, "trading_loss"), horizon)
    counterparty = booked_in_first_quarter(_as_samples(counterparty_loss, samples, "counterparty_loss"), horizon)
    htm = _as_paths(htm_credit_loss, samples, horizon, "htm_credit_loss")
    afs_credit = _as_paths(afs_credit_loss, samples, horizon, "afs_credit_loss")
    op_loss = _as_paths(bs.operational_loss_per_quarter if operational_loss is None else operational_loss, samples, horizon, "operational_loss")
    afs_change = _as_paths(afs_value_change, samples, horizon, "afs_value_change")

    # PPNR
    parts: dict[str, FloatArray] | None
    if ppnr is None or isinstance(ppnr, Mapping):
        given = dict(ppnr or {})
        unknown = set(given) - set(PPNR_PARTS)
        if unknown:
            raise ValueError(f"ppnr: unknown parts {sorted(unknown)} (known: {', '.join(PPNR_PARTS)})")
        parts = {p: _as_paths(given.get(p, getattr(bs, p)), samples, horizon, f"ppnr[{p}]") for p in PPNR_PARTS}
        ppnr_total = parts["net_interest_income"] + parts["noninterest_income"] - parts["noninterest_expense"]
    else:
        parts = None
        ppnr_total = _as_paths(ppnr, samples, horizon, "ppnr")

    # allowance, provisions, income, taxes
    allowance = allowance_path(ll, horizon, allowance_coverage_quarters)
    provision = provisions(nco, allowance, bs.allowance)
    pre_tax = pre_tax_net_income(ppnr_total, provision, trading + counterparty, htm + afs_credit, op_loss)
    tax = taxes(pre_tax, bs.tax_rate, tax_benefit_on_losses=tax_benefit_on_losses)
    net_income = pre_tax - tax
    dividends = np.full((samples, horizon), bs.planned_dividends_per_quarter if dividends_in_path else 0.0)
    oci = other_comprehensive_income(afs_change, bs.tax_rate, after_tax=oci_after_tax)

    # capital and ratio
    cet1 = cet1_path(bs.cet1_capital, net_income, dividends, oci, aoci_in_cet1=bs.aoci_in_cet1)
    rwa_q = rwa_path(bs, samples, horizon, rwa)
    ratio = cet1 / rwa_q

    return CapitalProjection(
        quarters=labels,
        loan_losses=nco,
        trading_loss=trading,
        counterparty_loss=counterparty,
        htm_credit_loss=htm,
        afs_credit_loss=afs_credit,
        operational_loss=op_loss,
        ppnr=ppnr_total,
        net_interest_income=None if parts is None else parts["net_interest_income"],
        noninterest_income=None if parts is None else parts["noninterest_income"],
        noninterest_expense=None if parts is None else parts["noninterest_expense"],
        allowance=allowance,
        provisions=provision,
        pre_tax_net_income=pre_tax,
        taxes=tax,
        net_income=net_income,
        oci=oci,
        dividends=dividends,
        cet1_capital=cet1,
        rwa=rwa_q,
        cet1_ratio=ratio,
        start_cet1_capital=bs.cet1_capital,
        start_rwa=bs.rwa,
        start_allowance=bs.allowance,
        planned_dividends_per_quarter=bs.planned_dividends_per_quarter,
        minimum_ratio=bs.minimum_cet1_ratio,
        aoci_in_cet1=bs.aoci_in_cet1,
        balance_sheet_assumption=bs.balance_sheet_assumption,
        tax_benefit_on_losses=tax_benefit_on_losses,
        dividends_in_path=dividends_in_path,
        oci_after_tax=oci_after_tax,
        loan_losses_by_segment=by_segment,
        segments=tuple(segments) if segments is not None else None,
        allowance_coverage_quarters=int(allowance_coverage_quarters),
    )


__all__ = [
    "ALLOWANCE_COVERAGE_QUARTERS",
    "DIVIDEND_ADD_ON_QUARTERS",
    "HORIZON",
    "PPNR_PARTS",
    "SCB_FLOOR",
    "BufferResult",
    "CapitalProjection",
    "allowance_path",
    "booked_in_first_quarter",
    "cet1_path",
    "extend_losses",
    "other_comprehensive_income",
    "pre_tax_net_income",
    "project_capital",
    "provisions",
    "rwa_path",
    "stress_capital_buffer",
    "taxes",
]
