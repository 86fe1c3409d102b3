"""First-order sensitivities of the book to every risk factor it depends on, by bump-and-reprice.

``delta_f`` is the book's **loss** (positive = loss) per unit move of factor ``f`` at the
valuation date, in the factor's *shock* units (the risk-factor catalog's ``shock_type``):

============  ==================  ===============  =================================
shock type    unit of ``delta``   default bump h   reader measure (``per_reader_unit``)
============  ==================  ===============  =================================
absolute_bp   USD per bp          1 bp             DV01 (rates) / CS01 (credit): loss per +1bp
log_return    USD per 1.00 log    0.01             delta per +1%: ``delta * 0.01``
vol_points    USD per vol point   1 vol point      vega: loss per +1 vol point
absolute      USD per index unit  0.01             loss per +1 index unit
============  ==================  ===============  =================================

``dv01`` is the Treasury curve's (``rates.ust.*``); another rate curve the engine prices (the FX
forwards' foreign swap curves, ``rates.swap.<ccy>.<tenor>``, outside the catalog so far) is
``dv01_swap``.

Method: the engine's own full revaluation (:func:`~risk_dagster.engine.kernels.prepare_book`,
:meth:`~risk_dagster.engine.kernels.TorchBook.segment_pnl`), one scenario matrix with a zero row
and one ``+h`` and one ``-h`` row per factor (central differences, every other factor at zero)::

    delta_f = -(P(+h) - P(-h)) / (2 h)          gamma_f = -(P(+h) + P(-h) - 2 P(0)) / h^2

with ``P`` the P&L (gain positive) by segment; ``gamma`` (loss per unit squared, the diagonal
second-order term from the same three points) is for a reader. The linearised loss of a move
``Delta`` is ``sum_f delta_f * Delta_f`` (:func:`linearised_loss`, the conservativeness
statistics 16-20). Only the public :class:`~risk_dagster.engine.kernels.TorchBook` API is used,
so however the engine maps a factor shock to the curve (zero-knot shift or par-yield shock
re-bootstrapped), these are the sensitivities of *that* mapping.

Two scopes, never summed together:

- ``market``: every position the market kernels revalue (bonds, FRNs, swaps, equities, FX
  forwards, equity options), by segment and ``total``. This is what :func:`linearised_loss`
  uses by default.
- ``loan_el_1q``: loans, separately. The engine's loan kernel is a *path* model of expected
  credit loss (:func:`~risk_dagster.engine.kernels.loan_losses`), not a value; these rows are the
  sensitivity of the **first quarter's** expected credit loss to an instantaneous factor move (a
  one-quarter path), per loan segment and ``total``: informational, a stand-in until the capital
  issue's loss-rate satellites replace the kernel. Loan losses follow the supervisor's macro path
  in the capital projection and are not part of the market sensitivities.

Every factor of the prepared book's ``factor_ids`` gets a row per segment of each scope (a
factor that only loans depend on has market rows of zero, and vice versa).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from risk_dagster.engine.curves import ZeroCurve


def book_date_curve(positions: pd.DataFrame) -> ZeroCurve:
    """The base curve on the book's as-of date (``attrs["as_of"]``): the book currency's base curve (the
    last shipped Treasury par curve for USD, :func:`~risk_dagster.engine.valuation.pricing_curve`) at its
    constant maturities on that date (:func:`~risk_dagster.engine.aging.aged_curve`), or that curve on its
    own date when the book states none."""
    from risk_dagster.engine.aging import aged_curve
    from risk_dagster.engine.valuation import book_currency, pricing_curve

    base = pricing_curve(book_currency(positions))
    as_of = positions.attrs.get("as_of")
    if not as_of:
        return base
    return aged_curve(base, pd.Timestamp(as_of).date())
from risk_dagster.engine.kernels import (
    PreparedBook,
    TorchBook,
    loan_losses,
    prepare_book,
)
from risk_dagster.engine.precision import DTYPES, resolve_device
from risk_dagster.market.catalog import RiskFactorCatalog, load_risk_factor_catalog

__all__ = [
    "BUMP_REL_TOL",
    "COLUMNS",
    "DEFAULT_BUMPS",
    "LOAN_SCOPE",
    "MARKET_SCOPE",
    "READER_MEASURES",
    "ROUNDING_ULPS",
    "TOTAL",
    "ConsistencyResult",
    "book_sensitivities",
    "delta_vector",
    "linearised_loss",
    "segment_summary",
    "sensitivity_consistency",
    "top_factors",
]

FloatArray = npt.NDArray[np.float64]

MARKET_SCOPE = "market"
LOAN_SCOPE = "loan_el_1q"
TOTAL = "total"

DEFAULT_BUMPS: dict[str, float] = {"absolute_bp": 1.0, "log_return": 0.01, "vol_points": 1.0, "absolute": 0.01}
"""Bump ``h`` by shock type, in shock units: 1bp, 0.01 of log return, 1 vol point, 0.01 index unit."""

UNITS: dict[str, str] = {"absolute_bp": "bp", "log_return": "log_return", "vol_points": "vol_point",
                         "absolute": "index_unit"}  # fmt: skip
"""Label of a factor's shock unit (``delta`` is USD of loss per one of these)."""

READER_MEASURES: dict[str, tuple[str, float, str]] = {
    "rates": ("dv01", 1.0, "USD loss per +1bp"),
    "credit": ("cs01", 1.0, "USD loss per +1bp"),
    "equity": ("equity_delta_1pct", 0.01, "USD loss per +1% (0.01 log return)"),
    "fx": ("fx_delta_1pct", 0.01, "USD loss per +1% (0.01 log return)"),
    "commodity": ("commodity_delta_1pct", 0.01, "USD loss per +1% (0.01 log return)"),
    "real_estate": ("real_estate_delta_1pct", 0.01, "USD loss per +1% (0.01 log return)"),
    "volatility": ("vega", 1.0, "USD loss per +1 vol point"),
    "conditions": ("delta", 1.0, "USD loss per +1 index unit"),
}
"""Asset class -> (measure name, reader unit in shock units, label): ``per_reader_unit = delta * unit``
(the label's USD is the book's currency in the output: EUR for the euro-area bank)."""

COLUMNS: tuple[str, ...] = (
    "scope", "factor_id", "factor_class", "unit", "segment", "delta", "gamma", "bump", "loss_up", "loss_down",
    "reader_measure", "per_reader_unit", "reader_unit", "in_catalog",
)  # fmt: skip
"""Columns of :func:`book_sensitivities`' frame, in order."""


# --------------------------------------------------------------------------- pricing passes
@dataclass
class _Pricer:
    """A prepared book on a device: losses by segment of each scope for a ``[C, F]`` shock matrix."""

    book: PreparedBook
    torch_book: TorchBook
    scopes: dict[str, list[str]]  # scope -> its segment names (sorted)
    _market_codes: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    _loan_seg: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    @classmethod
    def build(cls, positions: pd.DataFrame, curve: ZeroCurve | None, dtype: Any, device: Any) -> _Pricer:
        curve = curve or book_date_curve(positions)
        book = prepare_book(positions, curve)
        tb = TorchBook(book, _dtype(dtype), resolve_device(device))
        codes = book.segment_codes
        market = np.unique(codes[book.market_rows])
        loans = book.loan["rows"]
        loan_codes = np.unique(codes[loans])
        scopes = {MARKET_SCOPE: [book.segments[i] for i in market]}
        if len(loans):
            scopes[LOAN_SCOPE] = [book.segments[i] for i in loan_codes]
        loan_seg = np.searchsorted(loan_codes, codes[loans]) if len(loans) else np.zeros(0, np.int64)
        return cls(book, tb, scopes, market, loan_seg.astype(np.int64))

    @property
    def factor_ids(self) -> list[str]:
        return list(self.book.factor_ids)

    def losses(self, X: FloatArray, chunk: int = 256) -> dict[str, FloatArray]:
        """Scope -> ``[segments, C]`` float64 loss (positive = loss) of the shock rows ``X`` ``[C, F]``.

        Market: ``-segment_pnl(X)``. Loans: expected credit loss of the first quarter of a
        one-quarter path at ``X`` minus that at zero shock.
        """
        tb = self.torch_book
        out: dict[str, list[FloatArray]] = {s: [] for s in self.scopes}
        loan_base = None
        for lo in range(0, max(len(X), 1), chunk):
            x = torch.as_tensor(np.ascontiguousarray(X[lo: lo + chunk]), dtype=tb.dtype, device=tb.device)
            with torch.no_grad():
                pnl = tb.segment_pnl(x).cpu().numpy()
                out[MARKET_SCOPE].append(-pnl[self._market_codes])
                if LOAN_SCOPE in self.scopes:
                    if loan_base is None:
                        zero = torch.zeros((1, 1, x.shape[1]), dtype=tb.dtype, device=tb.device)
                        loan_base = self._loan_segments(loan_losses(self.book, zero)[:, 0, :])
                    el = self._loan_segments(loan_losses(self.book, x.unsqueeze(1))[:, 0, :])
                    out[LOAN_SCOPE].append(el - loan_base)
        return {s: np.concatenate(v, axis=1) for s, v in out.items()}

    def gross_values(self) -> dict[str, float]:
        """Scope -> gross value (USD): sum of ``|value|`` of the market positions at zero shock, EAD of the loans."""
        tb = self.torch_book
        x = torch.zeros((1, len(self.book.factor_ids)), dtype=tb.dtype, device=tb.device)
        with torch.no_grad():
            market = sum(float(v.abs().to(torch.float64).sum()) for _, v, _ in tb.values(x))
        out = {MARKET_SCOPE: market}
        if LOAN_SCOPE in self.scopes:
            out[LOAN_SCOPE] = float(np.abs(self.book.loan["ead"]).sum())
        return out

    def _loan_segments(self, el: torch.Tensor) -> FloatArray:
        """``[C, loans]`` -> ``[loan segments, C]`` float64 sums."""
        n = len(self.scopes[LOAN_SCOPE])
        e = el.to(torch.float64).cpu().numpy()
        m = np.zeros((n, len(self._loan_seg)))
        m[self._loan_seg, np.arange(len(self._loan_seg))] = 1.0
        return m @ e.T


def _dtype(value: str | torch.dtype) -> torch.dtype:
    """A pricing dtype from a name (``float64``/``fp64``, ``float32``/``fp32``) or a torch dtype."""
    dt = value if isinstance(value, torch.dtype) else DTYPES.get(str(value).lower())
    if dt not in (torch.float64, torch.float32):
        raise ValueError(f"pricing dtype must be float64 or float32, not {value!r}")
    return dt


_PREFIX_META: dict[str, tuple[str, str]] = {
    "rates": ("rates", "absolute_bp"), "credit": ("credit", "absolute_bp"), "equity": ("equity", "log_return"),
    "fx": ("fx", "log_return"), "vol": ("volatility", "vol_points"), "commodity": ("commodity", "log_return"),
    "realestate": ("real_estate", "log_return"), "conditions": ("conditions", "absolute"),
}  # fmt: skip
"""(asset class, shock type) by id prefix, for engine factors outside the catalog (``rates.swap.eur.10y``)."""


def _factor_meta(factor_ids: Sequence[str], catalog: RiskFactorCatalog) -> list[tuple[str, str, bool]]:
    """(asset class, shock type, in catalog) of every factor.

    The catalog says; a factor the engine prices but the catalog lacks (the foreign swap curves'
    ``rates.swap.<ccy>.<tenor>``, which no translator generates yet) is classed by its id prefix
    the way the catalog classes its own; an id with an unknown prefix is an error naming it.
    """
    out = []
    for fid in factor_ids:
        if fid in catalog:
            f = catalog.get(fid)
            out.append((f.asset_class, f.shock_type, True))
            continue
        prefix = fid.split(".", 1)[0]
        if prefix not in _PREFIX_META:
            raise KeyError(f"risk factor {fid!r} of the book is neither in the risk-factor catalog "
                           f"({catalog.path}) nor of a known class (prefix one of {sorted(_PREFIX_META)})")
        out.append((*_PREFIX_META[prefix], False))
    return out


def _bump_sizes(factor_ids: Sequence[str], meta: Sequence[tuple[str, str, bool]], bump: Mapping[str, float] | None) -> FloatArray:
    """``h`` per factor: ``bump[factor id]``, else ``bump[asset class]``, else ``bump[shock type]``, else the default."""
    bump = dict(bump or {})
    h = np.empty(len(factor_ids))
    for i, (fid, (cls, shock, _)) in enumerate(zip(factor_ids, meta, strict=True)):
        value = bump.get(fid, bump.get(cls, bump.get(shock, DEFAULT_BUMPS[shock])))
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"bump of {fid!r} must be a positive number of {UNITS[shock]}, got {value!r}")
        h[i] = float(value)
    return h


def book_sensitivities(
    positions: pd.DataFrame,
    curve: ZeroCurve | None = None,
    *,
    dtype: str | torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
    bump: Mapping[str, float] | None = None,
    catalog: RiskFactorCatalog | None = None,
) -> pd.DataFrame:
    """Delta and gamma of the book's loss to every factor it depends on, by segment and total.

    Parameters
    ----------
    positions
        Book in the portfolio contract's columns.
    curve
        Base zero curve (default: :func:`book_date_curve`, on the book's as-of date).
    dtype, device
        Pricing dtype (float64 default; float32 selectable) and device (``"auto"``, ``"cpu"``,
        ``"cuda"``). Aggregates are float64 either way.
    bump
        Bump sizes overriding :data:`DEFAULT_BUMPS`, keyed by factor id, asset class or shock
        type (most specific wins), in shock units.
    catalog
        Risk-factor catalog (default: the shipped one) giving each factor's class and unit.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`, one row per ``(scope, factor, segment)`` plus ``segment ==
        "total"`` per scope and factor (the sum over the scope's segments). ``delta`` in USD of
        loss per shock unit; ``gamma`` in USD per unit squared; ``loss_up`` / ``loss_down`` the
        full-revaluation losses at ``+h`` / ``-h``; ``per_reader_unit`` = ``delta`` times the reader
        unit of :data:`READER_MEASURES` (DV01, CS01, delta per +1%, vega); ``in_catalog`` False for an
        engine factor the risk-factor catalog lacks (classed by its prefix). Loans are the separate
        scope ``loan_el_1q`` (see the module docstring). ``attrs`` carries the valuation date,
        dtype and device.
    """
    catalog = catalog or load_risk_factor_catalog()
    pricer = _Pricer.build(positions, curve, dtype, device)
    fids = pricer.factor_ids
    meta = _factor_meta(fids, catalog)
    h = _bump_sizes(fids, meta, bump)
    F = len(fids)
    X = np.zeros((2 * F + 1, F))
    X[1 + np.arange(F), np.arange(F)] = h
    X[1 + F + np.arange(F), np.arange(F)] = -h
    losses = pricer.losses(X)
    frames = []
    for scope, segments in pricer.scopes.items():
        loss = losses[scope]  # [segments, 2F+1]
        base, up, down = loss[:, :1], loss[:, 1: F + 1], loss[:, F + 1:]
        delta = (up - down) / (2.0 * h)
        gamma = (up + down - 2.0 * base) / h**2
        # the total row is the sum of the segment rows (of the derivatives, so it adds up exactly)
        delta, gamma, up, down = (np.concatenate([a, a.sum(axis=0, keepdims=True)]) for a in (delta, gamma, up, down))
        seg_names = [*segments, TOTAL]
        n_seg = len(seg_names)
        frames.append(pd.DataFrame({
            "scope": scope,
            "factor_id": np.tile(np.asarray(fids, dtype=object), n_seg),
            "segment": np.repeat(np.asarray(seg_names, dtype=object), F),
            "delta": delta.reshape(-1), "gamma": gamma.reshape(-1), "bump": np.tile(h, n_seg),
            "loss_up": up.reshape(-1), "loss_down": down.reshape(-1),
        }))  # fmt: skip
    out = pd.concat(frames, ignore_index=True)
    cls_of = dict(zip(fids, (m[0] for m in meta), strict=True))
    unit_of = dict(zip(fids, (UNITS[m[1]] for m in meta), strict=True))
    out["factor_class"] = out["factor_id"].map(cls_of)
    out["unit"] = out["factor_id"].map(unit_of)
    out["in_catalog"] = out["factor_id"].map(dict(zip(fids, (m[2] for m in meta), strict=True))).astype(bool)
    reader = out["factor_class"].map(READER_MEASURES)
    # DV01 is the Treasury curve's; another rate curve's is named after it (rates.swap.eur.10y: dv01_swap)
    other_rates = (out["factor_class"] == "rates") & ~out["factor_id"].str.startswith("rates.ust.")
    out["reader_measure"] = reader.str[0].where(~other_rates, "dv01_" + out["factor_id"].str.split(".").str[1])
    out["per_reader_unit"] = out["delta"] * reader.str[1].astype(float)
    from risk_dagster.engine.valuation import book_currency

    out["reader_unit"] = reader.str[2].str.replace("USD", book_currency(positions), regex=False)  # the book's currency
    out = out[list(COLUMNS)]
    out.attrs.update({
        "valuation_date": str(pricer.book.curve.valuation_date),
        "dtype": str(pricer.torch_book.dtype).replace("torch.", ""),
        "device": str(pricer.torch_book.device),
        "n_positions": int(pricer.book.n_positions),
        "n_loans": len(pricer.book.loan["rows"]),
    })  # fmt: skip
    return out


# --------------------------------------------------------------------------- linearised loss
def delta_vector(sens: pd.DataFrame, factor_ids: Sequence[str], *, scope: str = MARKET_SCOPE,
                 segment: str = TOTAL, factors: Sequence[str] | None = None) -> FloatArray:
    """``[len(factor_ids)]`` deltas of one scope and segment in ``factor_ids`` order.

    A factor of ``factor_ids`` the book does not depend on (no row) gets 0; with ``factors``
    only those factor ids count (the others get 0), e.g. the open rate factors of statistic 16.
    A factor with several rows for the scope and segment is an error (a corrupt frame).
    """
    rows = sens[(sens["scope"] == scope) & (sens["segment"] == segment)]
    if rows["factor_id"].duplicated().any():
        dup = sorted(rows.loc[rows["factor_id"].duplicated(), "factor_id"].unique())[:5]
        raise ValueError(f"sensitivities hold several {scope}/{segment} rows for factor(s) {dup}")
    d = rows.set_index("factor_id")["delta"]
    if factors is not None:
        d = d[d.index.isin(list(factors))]
    return d.reindex(list(factor_ids)).fillna(0.0).to_numpy(dtype=np.float64)


def linearised_loss(sens: pd.DataFrame, shocks: npt.ArrayLike, factor_ids: Sequence[str], *,
                    scope: str = MARKET_SCOPE, factors: Sequence[str] | None = None) -> FloatArray:
    """``[S, Q]`` linearised loss ``sum_f delta_f * Delta_f`` of the scope's total (market by default).

    Parameters
    ----------
    sens
        Frame of :func:`book_sensitivities`.
    shocks
        ``[S, Q, F]`` factor changes from jump-off (a ShockSet's ``shocks``), shock units; any
        shape ``[..., F]`` works.
    factor_ids
        The ``F`` factor ids of ``shocks``. Book factors absent from them count as unmoved.
    factors
        Optional subset of factor ids to linearise over (the others are ignored).
    """
    x = np.asarray(shocks, dtype=np.float64)
    if x.shape[-1] != len(factor_ids):
        raise ValueError(f"shocks have {x.shape[-1]} factors but {len(factor_ids)} factor ids were given")
    return x @ delta_vector(sens, factor_ids, scope=scope, factors=factors)


# --------------------------------------------------------------------------- reader tables
def segment_summary(sens: pd.DataFrame) -> pd.DataFrame:
    """Per scope and segment, the sum of ``per_reader_unit`` over the factors of each measure.

    Columns are the measures present (``dv01``: a parallel +1bp of every Treasury knot; ``dv01_swap``:
    the same on the foreign swap curves of the FX forwards, all currencies together; ``cs01``:
    +1bp of every credit curve; ``equity_delta_1pct``: +1% of every equity factor; ``fx_delta_1pct``:
    +1% of every FX quote *as quoted* (``fx.usdjpy`` up is a stronger dollar, ``fx.eurusd`` up a
    weaker one); ``vega``: +1 vol point), USD of loss; index ``(scope, segment)``.
    """
    order = [m for m, _, _ in READER_MEASURES.values()]
    order = order[:1] + sorted(m for m in set(sens["reader_measure"]) if m.startswith("dv01_")) + order[1:]
    table = sens.pivot_table(index=["scope", "segment"], columns="reader_measure", values="per_reader_unit",
                             aggfunc="sum", observed=True)
    table = table[[m for m in order if m in table.columns]]
    scopes = [MARKET_SCOPE, LOAN_SCOPE, *sorted(set(sens["scope"]) - {MARKET_SCOPE, LOAN_SCOPE})]
    rows = sorted(table.index, key=lambda k: (scopes.index(k[0]), k[1] == TOTAL, k[1]))
    return table.loc[rows]


def top_factors(sens: pd.DataFrame, n_per_class: int = 5, *, scope: str = MARKET_SCOPE) -> pd.DataFrame:
    """The ``n_per_class`` factors of each class with the largest ``|per_reader_unit|`` (scope total)."""
    tot = sens[(sens["scope"] == scope) & (sens["segment"] == TOTAL)].copy()
    tot["abs"] = tot["per_reader_unit"].abs()
    # rounding noise of a factor the scope does not depend on (e.g. 1e-7 USD) is not a top factor
    tot = tot[(tot["delta"] * tot["bump"]).abs() > 1e-9 * (tot["delta"] * tot["bump"]).abs().max()]
    classes = list(READER_MEASURES)
    tot["class_order"] = tot["factor_class"].map({c: i for i, c in enumerate(classes)})
    tot = tot.sort_values(["class_order", "abs"], ascending=[True, False]).groupby("factor_class", sort=False).head(n_per_class)
    return tot[["factor_id", "factor_class", "reader_measure", "per_reader_unit", "reader_unit", "delta", "unit"]].reset_index(drop=True)


# --------------------------------------------------------------------------- consistency check
@dataclass
class ConsistencyResult:
    """Outcome of :func:`sensitivity_consistency`; ``passed`` when every part holds.

    Attributes
    ----------
    segment_sum_max_rel_error
        Largest ``|sum over segments - total| / sum |segment|`` over scopes, factors, delta and gamma.
    linear_max_rel_error
        Largest ``|sum_f delta_f Delta_f - odd part of the full loss| / sum_f |delta_f Delta_f|`` over
        the joint random moves (the blocking comparison; see :func:`sensitivity_consistency`).
    linearisation_max_rel_error
        The same against the full loss itself, ``|linearised - full| / sum_f |delta_f Delta_f|``:
        what linearising costs at moves of this size (curvature included), for a reader.
    factor_max_rel_error
        Largest error of ``delta h`` (odd part) and ``gamma h^2 / 2`` (even part) against full
        revaluation of single-factor moves ``+-h`` (the bumps, recomputed), relative to
        ``|delta h| + |gamma| h^2 / 2``.
    worst_tolerance_ratio
        Largest error divided by what is allowed: passes at <= 1.
    failures
        Readable lines naming what failed (empty when passed).

    Relative errors are taken over the moves whose tolerance exceeds the rounding allowance.
    """

    passed: bool
    segment_sum_max_rel_error: float
    linear_max_rel_error: float
    linearisation_max_rel_error: float
    factor_max_rel_error: float
    worst_tolerance_ratio: float
    n_joint_shocks: int
    failures: list[str] = field(default_factory=list)
    tolerances: dict[str, float] = field(default_factory=dict)

    def to_metadata(self) -> dict[str, Any]:
        """Plain JSON (a NaN, from a check that stopped early, becomes null)."""
        num = lambda x: None if not np.isfinite(x) else float(x)
        return {
            "passed": self.passed,
            "segment_sum_max_rel_error": num(self.segment_sum_max_rel_error),
            "linear_max_rel_error": num(self.linear_max_rel_error),
            "linearisation_max_rel_error": num(self.linearisation_max_rel_error),
            "factor_max_rel_error": num(self.factor_max_rel_error),
            "worst_tolerance_ratio": num(self.worst_tolerance_ratio),
            "n_joint_shocks": self.n_joint_shocks,
            "tolerances": self.tolerances,
            "failures": self.failures[:20],
        }


BUMP_REL_TOL = 1e-6
"""Tolerance of the recomputed single-factor bumps (relative; they are the same revaluations)."""

ROUNDING_ULPS = 8.0
"""Rounding allowance of a full revaluation: this many units of roundoff of the pricing dtype times
the book's gross value (sum of |value| of the market positions, of EAD for the loans)."""


def sensitivity_consistency(
    sens: pd.DataFrame,
    positions: pd.DataFrame,
    curve: ZeroCurve | None = None,
    *,
    n_shocks: int = 32,
    shock_scale: float = 0.5,
    rel_tol: float = 0.02,
    sum_rel_tol: float = 1e-9,
    seed: int = 0,
    dtype: str | torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
) -> ConsistencyResult:
    """Recompute what a sensitivities frame asserts, from the frame and the book.

    1. **Segments add up**: per scope and factor, the segment rows' ``delta`` and ``gamma`` sum to
       the ``total`` row to ``sum_rel_tol`` (1e-9) relative.
    2. **Linearised loss = full revaluation for small moves**: ``n_shocks`` joint random moves of
       every factor, ``Delta_f ~ N(0, (shock_scale * h_f)^2)`` (half a bump: 0.5bp, 0.005 log
       return, 0.5 vol point), each fully revalued at ``+Delta`` and ``-Delta`` by the engine;
       ``|sum_f delta_f Delta_f - (L(Delta) - L(-Delta)) / 2| <= rel_tol * sum_f |delta_f Delta_f|``
       (2%), per scope (total). The antithetic pair cancels every even-order term (gamma and the
       cross-gammas an option book has, e.g. equity x vol), so what is compared is exactly what
       a first-order sensitivity asserts, up to third order; how far the plain linearised loss is
       from ``L(Delta)`` at these moves is reported (``linearisation_max_rel_error``), not gated:
       for a book of options it is the book's curvature, not an error of the deltas.
    3. **Each factor on its own, recomputed**: the moves ``+-h_f`` of each factor alone, fully
       revalued again: the odd part must be ``delta h`` and the even part ``gamma h^2 / 2``, each to
       :data:`BUMP_REL_TOL` (1e-6) of ``|delta h| + |gamma| h^2 / 2``: the frame holds the engine's
       numbers, for every factor whatever the size of the others (a wrong sign or scale of a small
       factor's delta is invisible in the joint moves).

    Every comparison also allows :data:`ROUNDING_ULPS` roundoffs of the book's gross value (about
    2e-6 USD per USD bn of gross value in float64, 1,000 USD per bn in float32). Full losses are taken
    against a zero-shock row of the same batch. The frame's ``bump`` column gives ``h``; the
    factors and segments must be exactly the prepared book's.
    """
    failures: list[str] = []
    pricer = _Pricer.build(positions, curve, dtype, device)
    fids = pricer.factor_ids
    F = len(fids)
    eps = float(torch.finfo(pricer.torch_book.dtype).eps)
    tolerances = {"sum_rel_tol": sum_rel_tol, "rel_tol": rel_tol, "shock_scale": shock_scale,
                  "rounding_ulps": ROUNDING_ULPS, "eps": eps}
    nan = float("nan")

    # which rows must be there
    have = set(zip(sens["scope"], sens["factor_id"], sens["segment"], strict=True))
    want = {(s, f, g) for s, segs in pricer.scopes.items() for f in fids for g in [*segs, TOTAL]}
    if missing := sorted(want - have):
        failures.append(f"{len(missing)} (scope, factor, segment) row(s) missing, e.g. {missing[:3]}")
    if extra := sorted(have - want):
        failures.append(f"{len(extra)} row(s) for factors/segments the book does not have, e.g. {extra[:3]}")
    if sens.duplicated(["scope", "factor_id", "segment"]).any():
        failures.append("duplicate (scope, factor, segment) rows")
    if failures:
        return ConsistencyResult(False, nan, nan, nan, nan, nan, 0, failures, tolerances)

    # 1. segments add up to the total
    sum_err = 0.0
    for scope, segs in pricer.scopes.items():
        part = sens[sens["scope"] == scope]
        for column in ("delta", "gamma"):
            wide = part.pivot(index="factor_id", columns="segment", values=column).reindex(fids)
            parts = wide[segs].to_numpy(dtype=np.float64)
            total = wide[TOTAL].to_numpy(dtype=np.float64)
            err = np.abs(parts.sum(axis=1) - total)
            scale = np.abs(parts).sum(axis=1)
            ok = err <= sum_rel_tol * scale
            rel = np.where(ok, err / np.maximum(scale, 1e-300), np.inf)
            sum_err = max(sum_err, float(np.max(rel, initial=0.0)))
            for i in np.flatnonzero(~ok)[:5]:
                failures.append(f"{scope} {column} of {fids[i]}: segments sum to {parts[i].sum():.6g}, "
                                f"total row says {total[i]:.6g}")

    # 2. joint small random moves (antithetic pairs), 3. each factor's bumps +-h again
    h = sens[(sens["scope"] == MARKET_SCOPE) & (sens["segment"] == TOTAL)].set_index("factor_id")["bump"]
    h = h.reindex(fids).to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(h) & (h > 0)):
        failures.append("bump sizes missing or not positive")
        return ConsistencyResult(False, sum_err, nan, nan, nan, nan, 0, failures, tolerances)
    rng = np.random.default_rng(seed)
    joint = rng.standard_normal((n_shocks, F)) * (shock_scale * h)
    single = np.diag(h)
    X = np.concatenate([np.zeros((1, F)), joint, -joint, single, -single], axis=0)
    losses = pricer.losses(X)
    gross_value = pricer.gross_values()
    lin_err = raw_err = fac_err = worst = 0.0
    for scope in pricer.scopes:
        rows = sens[(sens["scope"] == scope) & (sens["segment"] == TOTAL)].set_index("factor_id").reindex(fids)
        d = rows["delta"].to_numpy(dtype=np.float64)
        g = rows["gamma"].to_numpy(dtype=np.float64)
        full = losses[scope].sum(axis=0)
        full = full[1:] - full[0]
        up, down = full[:n_shocks], full[n_shocks: 2 * n_shocks]
        s_up, s_down = full[2 * n_shocks: 2 * n_shocks + F], full[2 * n_shocks + F:]
        abs_tol = ROUNDING_ULPS * eps * gross_value[scope]
        s = h
        lin = joint @ d
        gross1 = np.abs(joint * d).sum(axis=1)
        gross_f = np.abs(d * s) + 0.5 * np.abs(g) * s**2
        big = gross1 * rel_tol > abs_tol
        raw_err = max(raw_err, float(np.max(np.abs(lin - up)[big] / gross1[big], initial=0.0)))
        checks = (
            ("joint", lin, (up - down) / 2.0, gross1, rel_tol),
            ("odd", d * s, (s_up - s_down) / 2.0, gross_f, BUMP_REL_TOL),
            ("even", 0.5 * g * s**2, (s_up + s_down) / 2.0, gross_f, BUMP_REL_TOL),
        )
        for kind, pred, got, gross, tol in checks:
            err = np.abs(pred - got)
            ratio = err / np.maximum(tol * gross + abs_tol, 1e-300)
            worst = max(worst, float(np.max(ratio, initial=0.0)))
            big = gross * tol > abs_tol
            rel = float(np.max(err[big] / gross[big], initial=0.0))
            if kind == "joint":
                lin_err = max(lin_err, rel)
            else:
                fac_err = max(fac_err, rel)
            for k in np.flatnonzero(~(ratio <= 1.0))[:5]:
                if kind == "joint":
                    what = f"joint move {k}: linearised loss {pred[k]:.6g}, full revaluation (odd part) {got[k]:.6g}"
                else:
                    term = "delta s" if kind == "odd" else "gamma s^2/2"
                    what = (f"{fids[k]} moved +-{s[k]:.4g} {rows['unit'].iloc[k]}: {term} = {pred[k]:.6g}, full "
                            f"revaluation ({kind} part) {got[k]:.6g}")
                failures.append(f"{scope} {what}: off by {err[k]:.3g}, allowed {tol:.0e} x {gross[k]:.3g} "
                                f"+ {abs_tol:.3g}")
    return ConsistencyResult(not failures, sum_err, lin_err, raw_err, fac_err, worst, n_shocks, failures, tolerances)
