"""Per-source reliability weights that fall automatically when a source's data misbehaves.

Every publishing source has a prior weight fixed by its class in ``data_contracts/sources.yaml``
(official/exchange 0.85, vendor 0.4-0.75, alternative/sentiment 0.15). Four detectors look at
what the source actually delivered:

``stale_runs``
    a value repeated for more than *N* consecutive observations in a series that usually moves;
``robust_jumps``
    changes beyond a robust z limit (median and MAD of the changes, so the crises in the
    sample do not widen the yardstick that judges them);
``gaps``
    missing observations inside the span a series is observed on;
``disagreement``
    the same quantity from several sources differing beyond a tolerance once aligned on
    their overlap; the source furthest from the weighted consensus of the *others* takes the
    full finding.

Each finding multiplies the prior by a per-rule factor (``penalty_per_finding ** n``, never
below ``rule_floor`` per rule), and the weight never falls below ``floor``::

    weight = max(floor, prior * prod(rule factors))

The detectors are meant to run on real data without crying wolf: a jump is *excused* (recorded
in :attr:`SourceAssessment.notes`, no penalty) when a second source of the same quantity, or
several other columns of the same frame, move sharply in the same period -- a crisis (2008 Q4,
2020 Q2) moves everything at once, a typo moves one cell of one source. Likewise a stale run
that a peer source also shows (the zero lower bound) is excused.

:func:`blend_sources` is the one place weights are applied to data: a weighted mean per index
value over the sources present there.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from risk_dagster.errors import InputFileError
from risk_dagster.paths import contracts_dir

RULES: tuple[str, ...] = ("stale_runs", "robust_jumps", "gaps", "disagreement")
_MAD_TO_SIGMA = 1.4826  # MAD of a normal sample times this estimates its standard deviation
_P95_RANGE_TO_SIGMA = 3.2897  # the 5-95% range of a normal sample is 3.29 standard deviations


# --------------------------------------------------------------------------------- policy
@dataclass(frozen=True)
class AnomalyPolicy:
    """Detector thresholds and penalty sizes (the ``penalties`` block of ``sources.yaml``).

    Attributes
    ----------
    robust_z_limit
        Per frequency (``default`` for the rest): a change whose robust z exceeds this is a
        jump. Higher for daily data, whose extremes are both more numerous and fatter.
    confirm_z_limit
        A peer source or another column moving beyond this z confirms a jump.
    confirm_window
        Confirmation may come this many observations before or after the jump.
    confirm_min_columns
        Number of *other* columns of the same frame that must move for a co-movement excuse.
    stale_run_length
        Per frequency (``quarterly``, ``monthly``, ``weekly``, ``daily``, ``default``): a value
        repeated for more than this many consecutive observations is stale.
    stale_min_move_share
        Only series whose non-zero changes are at least this share of all changes are checked.
    stale_floor_band
        Runs at a value within this of zero are not stale (a rate at the zero lower bound).
    stale_peer_tolerance
        A stale run is excused when a peer source's range over the same span is within this.
    gap_tolerance
        Missing observations allowed inside a series' span before gaps are penalised.
    disagreement_tolerance
        Absolute tolerance per quantity name; key ``default`` for the rest.
    disagreement_secondary_share
        Weight of a secondary (not the furthest) disagreement finding.
    penalty_per_finding
        Multiplicative factor per finding, per rule.
    rule_floor
        Lowest factor a single rule can impose.
    floor
        Lowest weight a source can fall to.
    """

    robust_z_limit: Mapping[str, float] = field(default_factory=lambda: {"default": 8.0, "weekly": 10.0, "daily": 12.0})
    confirm_z_limit: float = 4.0
    confirm_window: int = 1
    confirm_min_columns: int = 1
    stale_run_length: Mapping[str, int] = field(
        default_factory=lambda: {"default": 4, "quarterly": 4, "monthly": 9, "weekly": 10, "daily": 15}
    )
    stale_min_move_share: float = 0.8
    stale_floor_band: float = 0.25
    stale_peer_tolerance: float = 0.05
    gap_tolerance: int = 0
    disagreement_tolerance: Mapping[str, float] = field(default_factory=lambda: {"default": 0.25})
    disagreement_secondary_share: float = 0.25
    penalty_per_finding: Mapping[str, float] = field(
        default_factory=lambda: {"stale_runs": 0.9, "robust_jumps": 0.85, "gaps": 0.95, "disagreement": 0.9}
    )
    rule_floor: float = 0.5
    floor: float = 0.05

    def tolerance_for(self, quantity: str) -> float:
        """Disagreement tolerance for ``quantity`` (falls back to ``default``)."""
        tol = self.disagreement_tolerance
        return float(tol.get(quantity, tol.get("default", 0.25)))

    def z_limit_for(self, frequency: str | None) -> float:
        """Jump threshold for a frequency (``default`` when unknown)."""
        limits = self.robust_z_limit
        return float(limits.get(frequency or "default", limits.get("default", 8.0)))

    def stale_length_for(self, frequency: str | None) -> int:
        """Stale-run limit for a frequency (``default`` when unknown)."""
        lengths = self.stale_run_length
        return int(lengths.get(frequency or "default", lengths.get("default", 4)))

    def factor(self, rule: str, n_effective: float) -> float:
        """Multiplicative factor for ``n_effective`` findings of ``rule``."""
        if n_effective <= 0:
            return 1.0
        per = float(self.penalty_per_finding.get(rule, 0.9))
        return max(self.rule_floor, per**n_effective)


@dataclass(frozen=True)
class SourceInfo:
    """One entry of ``sources.yaml``: id, readable name, class and prior weight."""

    id: str
    name: str
    source_class: str
    prior: float


@dataclass(frozen=True)
class SourcePolicy:
    """``sources.yaml`` parsed: classes, sources and the anomaly policy."""

    classes: Mapping[str, Mapping[str, Any]]
    sources: Mapping[str, SourceInfo]
    penalties: AnomalyPolicy
    path: Path

    def prior(self, source: str) -> float:
        """Prior weight of ``source``; ``KeyError`` naming the file when it is unknown."""
        try:
            return self.sources[source].prior
        except KeyError:
            raise KeyError(
                f"unknown source {source!r}: not in {self.path} (known: {', '.join(sorted(self.sources))})"
            ) from None


def _policy_error(path: Path, message: str) -> InputFileError:
    return InputFileError(path, "invalid_source_policy", message)


@functools.lru_cache(maxsize=8)
def _load_source_policy(path: Path) -> SourcePolicy:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise _policy_error(path, f"not valid YAML: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("classes"), dict) or not isinstance(raw.get("sources"), dict):
        raise _policy_error(path, "expected mappings 'classes' and 'sources'")
    classes: dict[str, dict[str, Any]] = {}
    for name, spec in raw["classes"].items():
        prior = float(spec["prior"])
        lo, hi = (float(x) for x in spec.get("allowed", [prior, prior]))
        if not lo <= prior <= hi:
            raise _policy_error(path, f"class {name!r}: prior {prior} outside allowed [{lo}, {hi}]")
        classes[name] = {"prior": prior, "allowed": (lo, hi), "description": spec.get("description", "")}
    sources: dict[str, SourceInfo] = {}
    for sid, spec in raw["sources"].items():
        cls = spec.get("class")
        if cls not in classes:
            raise _policy_error(path, f"source {sid!r}: unknown class {cls!r} (known: {', '.join(classes)})")
        prior = float(spec.get("prior", classes[cls]["prior"]))
        lo, hi = classes[cls]["allowed"]
        if not lo <= prior <= hi:
            raise _policy_error(path, f"source {sid!r}: prior {prior} outside its class {cls!r} range [{lo}, {hi}]")
        sources[sid] = SourceInfo(id=sid, name=str(spec.get("name", sid)), source_class=cls, prior=prior)
    pen = dict(raw.get("penalties") or {})
    known = set(AnomalyPolicy.__dataclass_fields__)
    unknown = set(pen) - known
    if unknown:
        raise _policy_error(path, f"unknown penalty parameters {sorted(unknown)}")
    defaults = AnomalyPolicy()
    for key in ("penalty_per_finding", "stale_run_length", "disagreement_tolerance", "robust_z_limit"):
        if key in pen:  # a partial mapping in the file overrides the defaults key by key
            if not isinstance(pen[key], dict):
                raise _policy_error(path, f"penalties.{key} must be a mapping")
            pen[key] = {**getattr(defaults, key), **pen[key]}
    try:
        penalties = AnomalyPolicy(**pen)
    except TypeError as exc:  # pragma: no cover - guarded by the unknown-key check
        raise _policy_error(path, str(exc)) from exc
    return SourcePolicy(classes=classes, sources=sources, penalties=penalties, path=path)


def load_source_policy(path: str | Path | None = None) -> SourcePolicy:
    """Read ``data_contracts/sources.yaml`` (cached).

    Parameters
    ----------
    path
        Another file in the same layout; defaults to the shipped one.

    Returns
    -------
    SourcePolicy
        Classes with their prior ranges, sources with class and prior, and the
        :class:`AnomalyPolicy`.

    Raises
    ------
    InputFileError
        Rule ``invalid_source_policy`` when the file is malformed or a prior lies outside
        its class's allowed range.
    """
    resolved = Path(path) if path is not None else contracts_dir() / "sources.yaml"
    return _load_source_policy(resolved.resolve())


# --------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Penalty:
    """One rule's findings for one source and the factor they cost.

    Attributes
    ----------
    rule
        ``stale_runs``, ``robust_jumps``, ``gaps`` or ``disagreement``.
    detail
        Where and what, in words (columns, periods, sizes).
    factor
        Multiplicative factor applied to the prior (in ``[rule_floor, 1)``).
    n_findings
        Number of findings behind the factor.
    """

    rule: str
    detail: str
    factor: float
    n_findings: int


@dataclass
class SourceAssessment:
    """Prior and assessed weight of one source, with the penalties that explain the difference.

    Attributes
    ----------
    source
        Source id (``sources.yaml``).
    dataset
        Dataset the frame came from (or the source id when unknown).
    prior_weight
        Prior from the source's class.
    weight
        ``max(floor, prior_weight * prod(p.factor for p in penalties))``.
    penalties
        One :class:`Penalty` per rule that found something.
    notes
        Findings that were excused (confirmed jumps, stale runs a peer shares), for the report.
    """

    source: str
    dataset: str
    prior_weight: float
    weight: float
    penalties: list[Penalty] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def reasons(self) -> str:
        """The penalties in one line (empty when the prior was kept)."""
        return "; ".join(f"{p.rule} x{p.factor:.3f}: {p.detail}" for p in self.penalties)


def _combine(prior: float, penalties: Iterable[Penalty], floor: float) -> float:
    product = math.prod(p.factor for p in penalties)
    return max(floor, prior * product)


# --------------------------------------------------------------------------------- blending
def blend_sources(series_by_source: Mapping[str, pd.Series], weights: Mapping[str, float]) -> pd.Series:
    """Weighted mean of several sources of one quantity, per index value.

    At each index value the mean runs over the sources that have a (non-missing) value there,
    with their weights renormalised over those present::

        blend[t] = sum_s w_s * x_s[t] / sum_s w_s        (s with x_s[t] not NaN)

    so a source that starts late, or skips a period, neither drags the blend towards zero nor
    changes the other sources' relative say. Where no source has a value the result is NaN,
    and where every present source has weight 0 it is NaN too (no information).

    Parameters
    ----------
    series_by_source
        Source id -> series of the same quantity in the same units, indexed the same way
        (e.g. a quarterly ``PeriodIndex``). Each index must be unique.
    weights
        Source id -> non-negative weight (typically :attr:`SourceAssessment.weight`).

    Returns
    -------
    pd.Series
        Float series on the sorted union of the indexes; named like the inputs when they
        share a name.

    Raises
    ------
    KeyError
        When a source has no weight.
    ValueError
        For a negative or non-finite weight, or a duplicated index in one source.

    Examples
    --------
    >>> a = pd.Series([1.0, 2.0, np.nan], index=[1, 2, 3])
    >>> b = pd.Series([3.0, 4.0, 5.0], index=[1, 2, 3])
    >>> blend_sources({"a": a, "b": b}, {"a": 0.75, "b": 0.25}).tolist()
    [1.5, 2.5, 5.0]
    """
    if not series_by_source:
        return pd.Series(dtype="float64")
    missing = [s for s in series_by_source if s not in weights]
    if missing:
        raise KeyError(f"blend_sources: no weight for source(s) {missing}")
    for s in series_by_source:
        w = float(weights[s])
        if not math.isfinite(w) or w < 0:
            raise ValueError(f"blend_sources: weight of {s!r} must be finite and >= 0, got {w}")
        if not series_by_source[s].index.is_unique:
            raise ValueError(f"blend_sources: the index of source {s!r} has duplicates")
    values = pd.concat(
        {s: pd.to_numeric(series, errors="coerce").astype("float64") for s, series in series_by_source.items()},
        axis=1,
        sort=True,
    )
    w = pd.Series({s: float(weights[s]) for s in values.columns}, dtype="float64")
    present = values.notna()
    numerator = values.fillna(0.0).mul(w, axis=1).sum(axis=1)
    denominator = present.mul(w, axis=1).sum(axis=1)
    blended = numerator / denominator.where(denominator > 0)
    blended = blended.where(present.any(axis=1))
    names = {getattr(sr, "name", None) for sr in series_by_source.values()}
    blended.name = names.pop() if len(names) == 1 else None
    return blended.astype("float64")


# --------------------------------------------------------------------------------- detectors
@dataclass(frozen=True)
class StaleRun:
    """``length`` consecutive identical observations of ``value`` from ``start`` to ``end``."""

    start: Any
    end: Any
    length: int
    value: float


@dataclass(frozen=True)
class Jump:
    """A change at ``label`` of ``change`` units (log units for ``logdiff``), robust z ``z``."""

    label: Any
    change: float
    z: float


@dataclass(frozen=True)
class Gap:
    """``n_missing`` missing observations from ``start`` to ``end`` inside the observed span."""

    start: Any
    end: Any
    n_missing: int


@dataclass(frozen=True)
class Disagreement:
    """One source's disagreement with the weighted consensus of the others.

    ``primary`` labels where it was the furthest source beyond tolerance, ``secondary`` where
    it was beyond tolerance but another source was further; ``max_abs_diff`` the largest gap.
    """

    source: str
    primary: tuple[Any, ...]
    secondary: tuple[Any, ...]
    max_abs_diff: float
    n_compared: int


def _numeric(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("float64")


def stale_runs(
    series: pd.Series, *, min_run: int = 4, min_move_share: float = 0.8, floor_band: float = 0.0
) -> list[StaleRun]:
    """Runs of more than ``min_run`` identical consecutive observations in a moving series.

    Missing values are dropped first (a gap is :func:`gaps`' business, not a repeat). A series
    that does not usually move -- fewer than ``min_move_share`` of its changes non-zero, such as
    an indicator or a rate parked at a floor for years -- has no stale runs by definition.

    Parameters
    ----------
    series
        Observations in time order.
    min_run
        A run longer than this (``> min_run`` observations) is stale.
    min_move_share
        Share of non-zero changes below which the series is not checked.
    floor_band
        Runs at a value with ``|value| <= floor_band`` are not reported (a rate at the zero
        lower bound is flat for a reason).

    Returns
    -------
    list[StaleRun]
        The runs, in time order.
    """
    x = _numeric(series).dropna()
    if len(x) <= min_run + 1:
        return []
    changes = x.diff().iloc[1:]
    if float((changes != 0).mean()) < min_move_share:
        return []
    run_id = (x != x.shift()).cumsum()
    out: list[StaleRun] = []
    for _, run in x.groupby(run_id, sort=False):
        if len(run) > min_run and abs(float(run.iloc[0])) > floor_band:
            out.append(StaleRun(run.index[0], run.index[-1], int(len(run)), float(run.iloc[0])))
    return out


def _changes(series: pd.Series, transform: Literal["auto", "diff", "logdiff"]) -> pd.Series:
    x = _numeric(series).dropna()
    if transform == "auto":
        # a price level spanning decades of growth moves in proportion to its level: judge it
        # on log changes, or its recent (bigger) moves all look like outliers. Not a rate near
        # zero (values below 1), whose log changes explode at the zero lower bound.
        level_like = len(x) > 0 and bool((x >= 1).all())
        transform = "logdiff" if level_like and float(x.max() / x.min()) > 5 else "diff"
    # differences on the full series, so no change is taken across a gap (a tenor that was
    # discontinued and reissued is not a jump)
    full = _numeric(series)
    if transform == "logdiff":
        return np.log(full.where(full > 0)).diff().dropna()
    return full.diff().dropna()


def robust_z(series: pd.Series, *, transform: Literal["auto", "diff", "logdiff"] = "auto") -> pd.Series:
    """Robust z-scores of a series' changes: ``(d - median(d)) / scale``.

    ``scale`` is the larger of ``1.4826 * MAD(d)`` and the 5-95% range of ``d`` divided by
    3.29 (both equal the standard deviation for normal data). The MAD alone reads ordinary fat
    tails, and rounding to a grid (daily bills at the zero lower bound move by 0.01), as
    outliers; the 5-95% range still ignores the crises in the top 5% of moves, so they do not
    widen the yardstick that judges them. When both are 0 the mean absolute deviation is
    used, and a series that never moves gets z = 0 everywhere.

    Returns
    -------
    pd.Series
        One z per change, labelled with the later observation's index value.
    """
    d = _changes(series, transform)
    if d.empty:
        return d
    med = float(d.median())
    mad = float((d - med).abs().median()) * _MAD_TO_SIGMA
    spread = float(d.quantile(0.95) - d.quantile(0.05)) / _P95_RANGE_TO_SIGMA
    scale = max(mad, spread)
    if scale == 0.0:
        scale = float((d - med).abs().mean()) * math.sqrt(math.pi / 2)
    if scale == 0.0:
        return pd.Series(0.0, index=d.index)
    return (d - med) / scale


def robust_jumps(
    series: pd.Series,
    *,
    z_limit: float = 8.0,
    transform: Literal["auto", "diff", "logdiff"] = "auto",
) -> list[Jump]:
    """Changes whose robust z exceeds ``z_limit`` (see :func:`robust_z`).

    A single bad cell shows as two jumps (there and back); both are returned, and
    :func:`assess_source` counts neighbouring jumps as one event.

    Parameters
    ----------
    series
        Observations in time order (missing values dropped).
    z_limit
        Threshold on ``|z|``.
    transform
        ``diff``, ``logdiff`` or ``auto`` (log changes for a series at or above 1 whose
        max/min exceeds 5, e.g. an equity or house-price index; plain changes otherwise).

    Returns
    -------
    list[Jump]
    """
    d = _changes(series, transform)
    z = robust_z(series, transform=transform)
    hits = z[z.abs() > z_limit]
    return [Jump(label, float(d.loc[label]), float(hits.loc[label])) for label in hits.index]


def gaps(series: pd.Series, *, tolerance: int = 0) -> list[Gap]:
    """Missing observations inside the span from the first to the last observed value.

    Missing means a NaN value, and for a ``PeriodIndex`` also a period absent from the index
    (e.g. 2008Q3 skipped). Values before the first or after the last observation are not gaps
    (a series that starts late, or a ragged edge).

    Parameters
    ----------
    series
        Observations in time order.
    tolerance
        When the total number of missing observations is at most this, nothing is reported.

    Returns
    -------
    list[Gap]
        Runs of missing observations.
    """
    x = _numeric(series)
    if isinstance(x.index, pd.PeriodIndex) and len(x.index) > 0 and x.index.is_unique:
        full = pd.period_range(x.index.min(), x.index.max(), freq=x.index.freq)
        x = x.sort_index().reindex(full)
    valid = x.notna().to_numpy()
    if not valid.any():
        return []
    first, last = int(np.argmax(valid)), int(len(valid) - 1 - np.argmax(valid[::-1]))
    inside = x.iloc[first : last + 1]
    missing = inside.isna()
    if int(missing.sum()) <= tolerance:
        return []
    run_id = (missing != missing.shift()).cumsum()
    out = []
    for _, run in inside[missing].groupby(run_id[missing], sort=False):
        out.append(Gap(run.index[0], run.index[-1], int(len(run))))
    return out


def disagreement(
    series_by_source: Mapping[str, pd.Series],
    weights: Mapping[str, float] | None = None,
    *,
    tolerance: float = 0.25,
) -> dict[str, Disagreement]:
    """Who disagrees with whom on the same quantity.

    For each source and each index value where it and at least one other source are observed,
    its difference to the weighted mean of the *others* (:func:`blend_sources`) is compared
    with ``tolerance``. Where several sources are beyond tolerance in the same period, the one
    furthest from its consensus takes a *primary* finding and the rest a *secondary* one; a
    tie (always the case with two sources) goes to the lower-weight source, and with equal
    weights both take a primary finding -- two sources alone cannot tell who is right.

    Parameters
    ----------
    series_by_source
        Source id -> series of the quantity, same units and index (e.g. quarterly averages).
    weights
        Source id -> weight for the consensus; equal weights when ``None``.
    tolerance
        Absolute tolerance in the quantity's units.

    Returns
    -------
    dict[str, Disagreement]
        One entry per source (empty findings when it agrees).
    """
    sources = list(series_by_source)
    w = {s: float(weights[s]) if weights is not None else 1.0 for s in sources}
    if len(sources) < 2:
        return {s: Disagreement(s, (), (), 0.0, 0) for s in sources}
    values = pd.concat({s: _numeric(series_by_source[s]) for s in sources}, axis=1, sort=True)
    dev = pd.DataFrame(index=values.index, columns=sources, dtype="float64")
    for s in sources:
        others = [o for o in sources if o != s]
        consensus = blend_sources({o: values[o] for o in others}, {o: w[o] for o in others})
        dev[s] = values[s] - consensus.reindex(values.index)
    absdev = dev.abs()
    beyond = absdev > tolerance
    primary: dict[str, list[Any]] = {s: [] for s in sources}
    secondary: dict[str, list[Any]] = {s: [] for s in sources}
    for label, row in absdev[beyond.any(axis=1)].iterrows():
        out = row[beyond.loc[label]]
        top = float(out.max())
        tied = [s for s in out.index if math.isclose(float(out[s]), top, rel_tol=1e-9, abs_tol=1e-12)]
        min_w = min(w[s] for s in tied)
        blamed = {s for s in tied if math.isclose(w[s], min_w)}
        for s in out.index:
            (primary if s in blamed else secondary)[s].append(label)
    return {
        s: Disagreement(
            source=s,
            primary=tuple(primary[s]),
            secondary=tuple(secondary[s]),
            max_abs_diff=float(absdev[s].max()) if absdev[s].notna().any() else 0.0,
            n_compared=int(dev[s].notna().sum()),
        )
        for s in sources
    }


# --------------------------------------------------------------------------------- assessment
def _fmt(label: Any) -> str:
    if isinstance(label, pd.Timestamp):
        return label.date().isoformat() if label == label.normalize() else label.isoformat()
    return str(label)


def _short(items: list[str], limit: int = 6) -> str:
    return ", ".join(items[:limit]) + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def _as_frame(frame: pd.DataFrame | pd.Series) -> pd.DataFrame:
    if isinstance(frame, pd.Series):
        return frame.to_frame(name=frame.name if frame.name is not None else "value")
    return frame


def _numeric_columns(frame: pd.DataFrame) -> list[Any]:
    cols = []
    for c in frame.columns:
        if pd.api.types.is_bool_dtype(frame[c]):
            continue  # indicators (recession dummies) repeat by nature
        if pd.api.types.is_numeric_dtype(frame[c]) or _numeric(frame[c]).notna().sum() > 0.5 * frame[c].notna().sum() > 0:
            cols.append(c)
    return cols


def infer_frequency(index: pd.Index) -> str | None:
    """``daily``, ``weekly``, ``monthly``, ``quarterly`` or ``annual`` from an index, else ``None``.

    A ``PeriodIndex`` gives its frequency; a ``DatetimeIndex`` the median spacing of its dates.
    """
    if isinstance(index, pd.PeriodIndex):
        code = index.freqstr[0].upper()
        return {"D": "daily", "B": "daily", "W": "weekly", "M": "monthly", "Q": "quarterly", "A": "annual", "Y": "annual"}.get(code)
    if isinstance(index, pd.DatetimeIndex) and len(index) > 2:
        days = float(np.median(np.diff(index.sort_values().asi8)) / 86_400e9)
        for limit, name in ((4, "daily"), (10, "weekly"), (45, "monthly"), (135, "quarterly"), (400, "annual")):
            if days <= limit:
                return name
    return None


def _nearby(index: pd.Index, label: Any, window: int) -> pd.Index:
    """Labels of ``index`` within ``window`` positions of ``label`` (empty if not comparable)."""
    try:
        pos = int(index.searchsorted(label))
    except (TypeError, ValueError):
        return index[:0]
    lo, hi = max(0, pos - window), min(len(index), pos + window + 1)
    return index[lo:hi]


def _jump_events(jumps: list[Jump], index: pd.Index) -> list[list[Jump]]:
    """Group jumps on neighbouring observations (a spike and its reversal) into one event."""
    positions = {label: int(index.get_loc(label)) for label in (j.label for j in jumps)}
    events: list[list[Jump]] = []
    for j in sorted(jumps, key=lambda j: positions[j.label]):
        if events and positions[j.label] - positions[events[-1][-1].label] <= 1:
            events[-1].append(j)
        else:
            events.append([j])
    return events


def assess_source(
    source: str,
    dataset: str,
    frame: pd.DataFrame | pd.Series,
    prior_weight: float | None = None,
    policy: AnomalyPolicy | None = None,
    *,
    peers: Mapping[str, Mapping[str, pd.Series]] | None = None,
    extra_penalties: Iterable[Penalty] = (),
) -> SourceAssessment:
    """Run the stale-run, jump and gap detectors on every numeric column of a source's frame.

    Parameters
    ----------
    source
        Source id (``sources.yaml``).
    dataset
        Dataset name, for the report.
    frame
        Observations in time order, one column per series (a Series is taken as one column).
        Non-numeric and boolean columns are skipped.
    prior_weight
        Prior; ``None`` reads it from ``sources.yaml``.
    policy
        Thresholds; ``None`` reads them from ``sources.yaml``.
    peers
        Column name -> {other source id -> series of the same quantity, same index type}.
        A jump a peer confirms, or a stale run a peer shares, is excused.
    extra_penalties
        Penalties found elsewhere (e.g. :func:`disagreement` via :func:`assess_sources`).

    Returns
    -------
    SourceAssessment
    """
    if policy is None or prior_weight is None:
        loaded = load_source_policy()
        policy = policy if policy is not None else loaded.penalties
        prior_weight = prior_weight if prior_weight is not None else loaded.prior(source)
    frame = _as_frame(frame)
    peers = peers or {}
    columns = _numeric_columns(frame)
    notes: list[str] = []
    frequency = infer_frequency(frame.index)
    min_run = policy.stale_length_for(frequency)
    z_limit = policy.z_limit_for(frequency)

    # z-scores of every column once, for co-movement confirmation
    zs = {c: robust_z(frame[c]) for c in columns}

    stale_found: list[str] = []
    jump_found: list[str] = []
    gap_found: list[str] = []
    gap_starts: set[Any] = set()  # one blank row across every column is one finding, not one per column
    for c in columns:
        series = _numeric(frame[c])
        col_peers = peers.get(str(c), {})

        # -- stale runs
        for run in stale_runs(
            series, min_run=min_run, min_move_share=policy.stale_min_move_share, floor_band=policy.stale_floor_band
        ):
            where = f"{c} {_fmt(run.start)}..{_fmt(run.end)} ({run.length} x {run.value:g})"
            shared_by = []
            for peer, ps in col_peers.items():
                seg = _numeric(ps).loc[lambda s, a=run.start, b=run.end: (s.index >= a) & (s.index <= b)].dropna()
                if len(seg) >= 2 and float(seg.max() - seg.min()) <= policy.stale_peer_tolerance:
                    shared_by.append(peer)
            if shared_by:
                notes.append(f"stale run excused, also flat at {'/'.join(shared_by)}: {where}")
            else:
                stale_found.append(where)

        # -- jumps, grouped into events; an event is excused when confirmed
        jumps = robust_jumps(series, z_limit=z_limit)
        if jumps:
            observed = series.dropna().index
            for event in _jump_events(jumps, observed):
                lead = max(event, key=lambda j: abs(j.z))
                where = f"{c} {_fmt(lead.label)} (change {lead.change:+.3g}, z {lead.z:+.1f})"
                confirmed_by = []
                for peer, ps in col_peers.items():
                    pz = robust_z(ps)
                    near = pz.loc[_nearby(pz.index, lead.label, policy.confirm_window)]
                    if ((near.abs() >= policy.confirm_z_limit) & (np.sign(near) == np.sign(lead.z))).any():
                        confirmed_by.append(peer)
                comoving = []
                for other, oz in zs.items():
                    if other == c or oz.empty:
                        continue
                    near = oz.loc[_nearby(oz.index, lead.label, policy.confirm_window)]
                    if (near.abs() >= policy.confirm_z_limit).any():
                        comoving.append(str(other))
                if confirmed_by:
                    notes.append(f"jump excused, confirmed by {'/'.join(confirmed_by)}: {where}")
                elif len(comoving) >= policy.confirm_min_columns:
                    notes.append(f"jump excused, {len(comoving)} other columns moved too: {where}")
                else:
                    jump_found.append(where)

        # -- gaps
        found = gaps(series, tolerance=policy.gap_tolerance)
        if found:
            gap_starts.update(g.start for g in found)
            total = sum(g.n_missing for g in found)
            gap_found.append(f"{c}: {total} missing in {len(found)} gap(s) from {_fmt(found[0].start)}")

    penalties: list[Penalty] = []
    if stale_found:
        penalties.append(
            Penalty("stale_runs", _short(stale_found), policy.factor("stale_runs", len(stale_found)), len(stale_found))
        )
    if jump_found:
        penalties.append(
            Penalty("robust_jumps", _short(jump_found), policy.factor("robust_jumps", len(jump_found)), len(jump_found))
        )
    if gap_found:
        n_gaps = len(gap_starts)
        penalties.append(Penalty("gaps", _short(gap_found), policy.factor("gaps", n_gaps), n_gaps))
    penalties.extend(extra_penalties)
    return SourceAssessment(
        source=source,
        dataset=dataset,
        prior_weight=float(prior_weight),
        weight=_combine(float(prior_weight), penalties, policy.floor),
        penalties=penalties,
        notes=notes,
    )


def assess_sources(
    frames: Mapping[str, pd.DataFrame | pd.Series],
    overlaps: Mapping[str, Mapping[str, pd.Series]],
    priors: Mapping[str, float] | None = None,
    *,
    policy: AnomalyPolicy | None = None,
) -> dict[str, SourceAssessment]:
    """Assess every source: its own frame's anomalies plus disagreement with its peers.

    Parameters
    ----------
    frames
        Source id -> that source's frame (a ``dataset`` entry in ``frame.attrs`` names the
        dataset for the report; otherwise the source id is used).
    overlaps
        Quantity name -> {source id -> series of that quantity}, aligned the same way (e.g.
        quarterly averages on a ``PeriodIndex``). E.g. ``{"treasury_10y": {"fed": ...,
        "treasury": ..., "fred_md": ...}}``. A frame column named like a quantity gets the
        other sources' series as peers for jump/stale confirmation. A source that appears only
        here is assessed on its overlap series.
    priors
        Source id -> prior weight; missing ones come from ``sources.yaml``.
    policy
        Thresholds; ``None`` reads them from ``sources.yaml``.

    Returns
    -------
    dict[str, SourceAssessment]
        One assessment per source, in the order first seen.
    """
    loaded = None
    if policy is None or priors is None or any(s not in (priors or {}) for s in _all_sources(frames, overlaps)):
        loaded = load_source_policy()
    policy = policy if policy is not None else loaded.penalties  # type: ignore[union-attr]
    prior_of = {
        s: float(priors[s]) if priors is not None and s in priors else loaded.prior(s)  # type: ignore[union-attr]
        for s in _all_sources(frames, overlaps)
    }

    # disagreement per quantity, attributed to sources: (primary, secondary) counts + details
    counts: dict[str, list[int]] = {s: [0, 0] for s in prior_of}
    details: dict[str, list[str]] = {s: [] for s in prior_of}
    for quantity, by_source in overlaps.items():
        if len(by_source) < 2:
            continue
        result = disagreement(by_source, prior_of, tolerance=policy.tolerance_for(quantity))
        for s, d in result.items():
            if not (d.primary or d.secondary):
                continue
            counts[s][0] += len(d.primary)
            counts[s][1] += len(d.secondary)
            first = _fmt((d.primary or d.secondary)[0])
            details[s].append(
                f"{quantity}: off the consensus of the others in {len(d.primary)} period(s)"
                f" (+{len(d.secondary)} secondary), max |diff| {d.max_abs_diff:.3g}, first {first}"
            )

    out: dict[str, SourceAssessment] = {}
    for s in prior_of:
        frame = frames.get(s)
        if frame is None:
            frame = pd.concat({q: by[s] for q, by in overlaps.items() if s in by}, axis=1)
        frame = _as_frame(frame)
        dataset = str(frame.attrs.get("dataset", s))
        peers = {q: {o: ser for o, ser in by.items() if o != s} for q, by in overlaps.items() if s in by}
        extra = []
        n_p, n_s = counts[s]
        if n_p or n_s:
            effective = n_p + policy.disagreement_secondary_share * n_s
            extra.append(Penalty("disagreement", _short(details[s]), policy.factor("disagreement", effective), n_p + n_s))
        out[s] = assess_source(s, dataset, frame, prior_of[s], policy, peers=peers, extra_penalties=extra)
    return out


def _all_sources(frames: Mapping[str, Any], overlaps: Mapping[str, Mapping[str, Any]]) -> list[str]:
    seen = dict.fromkeys(frames)
    for by in overlaps.values():
        seen.update(dict.fromkeys(by))
    return list(seen)


# --------------------------------------------------------------------------------- reporting
def reliability_table(assessments: Mapping[str, SourceAssessment] | Iterable[SourceAssessment]) -> pd.DataFrame:
    """One row per source: ``source, dataset, prior, weight, reasons`` (and excused ``notes``)."""
    items = list(assessments.values()) if isinstance(assessments, Mapping) else list(assessments)
    return pd.DataFrame(
        {
            "source": [a.source for a in items],
            "dataset": [a.dataset for a in items],
            "prior": [a.prior_weight for a in items],
            "weight": [a.weight for a in items],
            "reasons": [a.reasons for a in items],
            "notes": ["; ".join(a.notes) for a in items],
        },
        columns=["source", "dataset", "prior", "weight", "reasons", "notes"],
    )
