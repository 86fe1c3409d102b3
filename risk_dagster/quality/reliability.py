"""Per-source reliability weights that fall automatically when a source's data misbehaves.

Every publishing source has a prior weight fixed by its class in ``data_contracts/sources.yaml``
(official/exchange 0.85, vendor 0.4-0.75, alternative/sentiment 0.15). Four detectors look at
what the source actually delivered:

``stale_runs``
    a value repeated for more than *N* consecutive observations in a series that usually
    moves, while its peers (or, without peers, the other columns of its frame) move;
``robust_jumps``
    changes beyond a robust z limit (median and a tail-robust scale of the changes, so the
    crises in the sample do not widen the yardstick that judges them);
``gaps``
    missing observations inside the span a series is observed on (daily series on a
    business-day calendar, a few consecutive missing days -- holidays -- tolerated);
``disagreement``
    the same quantity from several sources differing beyond a per-quantity tolerance once
    aligned on their overlap; the source furthest from the weighted consensus of the
    *others* takes the full finding.

Penalties are sized by *how much of the data* a finding affects, not by how many findings
there are: each rule turns its findings into a share-equivalent ``severity`` (the share of a
column's observations in unexcused stale runs, jump episodes or gaps, summed over columns; for
disagreement the share of compared periods beyond tolerance, each weighted by how far beyond),
and::

    factor(rule) = max(rule_floor, 1 - penalty_per_share[rule] * severity)
    weight       = max(floor, prior * prod(factor(rule)))

so one unconfirmed outlier in 40 years of quarters costs a little, a year of bad data a lot.

The detectors must not cry wolf on real data. What is *excused* (recorded in
:attr:`SourceAssessment.notes`, no penalty):

* binary and categorical columns (a 0/1 recession dummy) are not checked for jumps or stale
  runs -- they move in steps by nature;
* a jump confirmed by a peer source of the same quantity (at the coarser of the two
  frequencies: a daily series is averaged over the peer's months or quarters first), by
  co-movement of other columns of the same frame, by a turbulent stretch of the series itself
  (other large moves around it: a crisis comes with company, a typo in calm water), by a
  gradual reversion afterwards, or because it undoes an excused jump shortly before (the end
  of a strike);
* a stale run a peer shares, at the zero lower bound, of an administered rate (the policy
  rate held for a year), or with no peer and nothing else in the frame moving;
* missing business days in runs of at most a few days (market holidays), a lower native
  frequency early in a series (a monthly series published quarterly in its first years), and
  a missing span longer than ``structural_gap_years`` (a tenor discontinued and reissued:
  a documented structural absence, noted but not penalised).

:func:`blend_sources` is the one place weights are applied to data: a weighted mean per index
value over the sources present there.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence, Iterable, Mapping
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
_FREQ_RANK = {"daily": 0, "weekly": 1, "monthly": 2, "quarterly": 3, "annual": 4}
_PERIOD_CODE = {"weekly": "W", "monthly": "M", "quarterly": "Q", "annual": "Y"}


# --------------------------------------------------------------------------------- policy
def _by_frequency(mapping: Mapping[str, Any], frequency: str | None, fallback: Any) -> Any:
    return mapping.get(frequency or "default", mapping.get("default", fallback))


@dataclass(frozen=True)
class AnomalyPolicy:
    """Detector thresholds and penalty sizes (the ``penalties`` block of ``sources.yaml``).

    Attributes
    ----------
    robust_z_limit
        Per frequency (``default`` for the rest): a change whose robust z exceeds this is a
        jump. Higher for daily data, whose extremes are both more numerous and fatter.
    confirm_z_limit
        A peer source or another column moving beyond this z confirms a jump; moves beyond it
        (but below the jump limit) around a jump make a turbulent stretch.
    confirm_window
        Confirmation may come this many observations (of the coarser series) before or after.
    confirm_min_columns
        Number of *other* columns of the same frame that must move for a co-movement excuse.
    jump_cluster_gap
        Per frequency: jumps at most this many observations apart are one episode (a spike and
        its reversal, or the whole of a block of mis-scaled values).
    turbulence_window
        Per frequency: observations on each side of a jump episode searched for turbulence,
        gradual reversion, or an excused jump it undoes.
    turbulence_min_moves
        Moves beyond ``confirm_z_limit`` (and below the jump limit) in the window that make
        the stretch turbulent.
    reversion_share
        A directional jump is excused when ordinary moves in the window after it take back at
        least this share of it.
    indicator_max_levels
        A column of integer values with at most this many distinct values is categorical (a
        0/1 dummy): no jump or stale-run checks.
    stale_run_length
        Per frequency (``quarterly``, ``monthly``, ``weekly``, ``daily``, ``default``): a value
        repeated for more than this many consecutive observations is stale.
    stale_min_move_share
        Only series whose changes (outside runs longer than the limit) are at least this share
        non-zero are checked.
    stale_floor_band
        Runs at a value within this of zero are not stale (a rate at the zero lower bound).
    stale_peer_tolerance
        A stale run is excused when a peer source's range over the same span is within this.
    administered_rates
        Column names of administered / policy rates (a plateau is a decision, not staleness).
    gap_tolerance
        Missing observations (after the excuses) allowed per series before gaps count.
    holiday_gap_days
        Daily series: runs of at most this many missing business days are holidays.
    structural_gap_years
        A missing span longer than this is a structural absence (noted, not penalised).
    disagreement_tolerance
        Absolute tolerance per quantity name; key ``default`` for the rest.
    disagreement_secondary_share
        Weight of a secondary (not the furthest) disagreement finding.
    disagreement_excess_cap
        A period beyond tolerance counts ``min(cap, |diff| / tolerance)`` periods.
    penalty_per_share
        Per rule: weight lost per unit of severity (share-equivalent of affected data).
    rule_floor
        Lowest factor a single rule can impose.
    floor
        Lowest weight a source can fall to.
    """

    robust_z_limit: Mapping[str, float] = field(default_factory=lambda: {"default": 8.0, "weekly": 10.0, "daily": 12.0})
    confirm_z_limit: float = 4.0
    confirm_window: int = 1
    confirm_min_columns: int = 1
    jump_cluster_gap: Mapping[str, int] = field(default_factory=lambda: {"default": 2, "daily": 5})
    turbulence_window: Mapping[str, int] = field(
        default_factory=lambda: {"default": 4, "quarterly": 4, "monthly": 6, "weekly": 8, "daily": 10}
    )
    turbulence_min_moves: int = 2
    reversion_share: float = 0.25
    indicator_max_levels: int = 5
    stale_run_length: Mapping[str, int] = field(
        default_factory=lambda: {"default": 4, "quarterly": 4, "monthly": 9, "weekly": 10, "daily": 15}
    )
    stale_min_move_share: float = 0.8
    stale_floor_band: float = 0.25
    stale_peer_tolerance: float = 0.05
    administered_rates: tuple[str, ...] = ()
    gap_tolerance: int = 0
    holiday_gap_days: int = 3
    structural_gap_years: float = 1.5
    disagreement_tolerance: Mapping[str, float] = field(default_factory=lambda: {"default": 0.25})
    disagreement_secondary_share: float = 0.25
    disagreement_excess_cap: float = 4.0
    penalty_per_share: Mapping[str, float] = field(
        default_factory=lambda: {"stale_runs": 6.0, "robust_jumps": 15.0, "gaps": 15.0, "disagreement": 40.0}
    )
    rule_floor: float = 0.5
    floor: float = 0.05

    def tolerance_for(self, quantity: str) -> float:
        """Disagreement tolerance for ``quantity`` (falls back to ``default``)."""
        tol = self.disagreement_tolerance
        return float(tol.get(quantity, tol.get("default", 0.25)))

    def z_limit_for(self, frequency: str | None) -> float:
        """Jump threshold for a frequency (``default`` when unknown)."""
        return float(_by_frequency(self.robust_z_limit, frequency, 8.0))

    def stale_length_for(self, frequency: str | None) -> int:
        """Stale-run limit for a frequency (``default`` when unknown)."""
        return int(_by_frequency(self.stale_run_length, frequency, 4))

    def cluster_gap_for(self, frequency: str | None) -> int:
        """Largest distance (observations) between jumps of one episode."""
        return int(_by_frequency(self.jump_cluster_gap, frequency, 2))

    def turbulence_window_for(self, frequency: str | None) -> int:
        """Observations searched on each side of a jump episode."""
        return int(_by_frequency(self.turbulence_window, frequency, 4))

    def factor(self, rule: str, severity: float) -> float:
        """Multiplicative factor for a rule's ``severity`` (share-equivalent of affected data)."""
        if severity <= 0:
            return 1.0
        slope = float(self.penalty_per_share.get(rule, 15.0))
        return max(self.rule_floor, 1.0 - slope * severity)


@dataclass(frozen=True)
class SourceInfo:
    """One entry of ``sources.yaml``: id, readable name, class and prior weight."""

    id: str
    name: str
    source_class: str
    prior: float


@dataclass(frozen=True)
class SourcePolicy:
    """``sources.yaml`` parsed: classes, sources, the anomaly policy and the peer columns.

    ``peer_columns`` maps a quantity to {source id -> column of that source's frame}: columns
    that measure the same thing, used to confirm jumps and excuse stale runs across sources.
    """

    classes: Mapping[str, Mapping[str, Any]]
    sources: Mapping[str, SourceInfo]
    penalties: AnomalyPolicy
    path: Path
    peer_columns: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

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


_MAPPING_PARAMS = (
    "penalty_per_share",
    "stale_run_length",
    "disagreement_tolerance",
    "robust_z_limit",
    "jump_cluster_gap",
    "turbulence_window",
)


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
    for key in _MAPPING_PARAMS:
        if key in pen:  # a partial mapping in the file overrides the defaults key by key
            if not isinstance(pen[key], dict):
                raise _policy_error(path, f"penalties.{key} must be a mapping")
            pen[key] = {**getattr(defaults, key), **pen[key]}
    if "administered_rates" in pen:
        if not isinstance(pen["administered_rates"], list):
            raise _policy_error(path, "penalties.administered_rates must be a list of column names")
        pen["administered_rates"] = tuple(str(c) for c in pen["administered_rates"])
    try:
        penalties = AnomalyPolicy(**pen)
    except TypeError as exc:  # pragma: no cover - guarded by the unknown-key check
        raise _policy_error(path, str(exc)) from exc
    peer_columns: dict[str, dict[str, str]] = {}
    for quantity, members in (raw.get("peer_columns") or {}).items():
        if not isinstance(members, dict) or any(s not in sources for s in members):
            raise _policy_error(path, f"peer_columns.{quantity}: expected a mapping of known source ids to column names")
        peer_columns[str(quantity)] = {str(s): str(c) for s, c in members.items()}
    return SourcePolicy(classes=classes, sources=sources, penalties=penalties, path=path, peer_columns=peer_columns)


def load_source_policy(path: str | Path | None = None) -> SourcePolicy:
    """Read ``data_contracts/sources.yaml`` (cached).

    Parameters
    ----------
    path
        Another file in the same layout; defaults to the shipped one.

    Returns
    -------
    SourcePolicy
        Classes with their prior ranges, sources with class and prior, the
        :class:`AnomalyPolicy` and the peer columns.

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
        Number of findings behind the factor (runs, jump episodes, gaps, periods).
    severity
        Share-equivalent of the data the findings affect (see the module docstring).
    """

    rule: str
    detail: str
    factor: float
    n_findings: int
    severity: float = 0.0

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
    """``n_missing`` missing observations from ``start`` to ``end`` inside the observed span.

    ``kind`` is ``gap`` (penalised), ``holiday`` (a few missing business days of a daily
    series), ``coarser_sampling`` (a stretch observed at a lower frequency, e.g. every third
    month) or ``structural`` (longer than the structural limit: a discontinued series).
    """

    start: Any
    end: Any
    n_missing: int
    kind: str = "gap"


@dataclass(frozen=True)
class Disagreement:
    """One source's disagreement with the weighted consensus of the others.

    ``primary`` labels where it was the furthest source beyond tolerance, ``secondary`` where
    it was beyond tolerance but another source was further; ``max_abs_diff`` the largest gap;
    ``primary_excess`` / ``secondary_excess`` the same periods weighted by
    ``min(cap, |diff| / tolerance)``.
    """

    source: str
    primary: tuple[Any, ...]
    secondary: tuple[Any, ...]
    max_abs_diff: float
    n_compared: int
    primary_excess: float = 0.0
    secondary_excess: float = 0.0


def _numeric(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("float64")


def is_indicator(series: pd.Series, *, max_levels: int = 5) -> bool:
    """True for a binary or categorical column: integer values with at most ``max_levels`` levels.

    A 0/1 recession dummy moves in steps and repeats for years by nature; neither is a jump
    nor a stale value.
    """
    v = _numeric(series).dropna().to_numpy()
    if v.size == 0:
        return False
    levels = np.unique(v)
    return len(levels) <= max_levels and bool(np.all(levels == np.round(levels)))


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start positions and lengths of runs of equal consecutive values."""
    if values.size == 0:
        return np.array([], dtype=int), np.array([], dtype=int)
    change = np.flatnonzero(values[1:] != values[:-1]) + 1
    starts = np.concatenate(([0], change))
    lengths = np.diff(np.concatenate((starts, [values.size])))
    return starts, lengths


def stale_runs(
    series: pd.Series, *, min_run: int = 4, min_move_share: float = 0.8, floor_band: float = 0.0
) -> list[StaleRun]:
    """Runs of more than ``min_run`` identical consecutive observations in a moving series.

    Missing values are dropped first (a gap is :func:`gaps`' business, not a repeat). A series
    that does not usually move -- fewer than ``min_move_share`` of its changes non-zero, such as
    an index published once a year in a monthly frame -- has no stale runs by definition. The
    share is taken outside the candidate runs themselves, so a long freeze does not hide itself
    by lowering its series' move share; and a run is reported only when the series moves (at
    least ``min_move_share`` of its changes) in the stretches of the run's length (at least
    ``4 * min_run``) before and after it.

    Parameters
    ----------
    series
        Observations in time order.
    min_run
        A run longer than this (``> min_run`` observations) is stale.
    min_move_share
        Share of non-zero changes (outside runs longer than ``min_run``) below which the series
        is not checked.
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
    values = x.to_numpy()
    starts, lengths = _runs(values)
    long = lengths > min_run
    # changes outside long runs: every run boundary is a move; short runs contribute their
    # (length - 1) zero changes
    n_moves = len(starts) - 1
    n_zero_short = int((lengths[~long] - 1).sum())
    denominator = n_moves + n_zero_short
    if denominator == 0 or n_moves / denominator < min_move_share:
        return []
    moves = np.concatenate(([False], values[1:] != values[:-1]))
    out: list[StaleRun] = []
    for s, n in zip(starts[long], lengths[long], strict=True):
        value = float(values[s])
        if abs(value) <= floor_band:
            continue
        # ... and only where the series moves around the run: a stretch of administered
        # prices (oil before 1973 in FRED-MD) has flat runs one after the other
        reach = max(int(n), 4 * min_run)
        around = np.concatenate((moves[max(1, s - reach + 1) : s + 1], moves[s + n : s + n + reach]))
        if around.size and float(around.mean()) < min_move_share:
            continue
        out.append(StaleRun(x.index[s], x.index[s + n - 1], int(n), value))
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


def _z_of_changes(d: pd.Series) -> pd.Series:
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
    return _z_of_changes(_changes(series, transform))


def robust_jumps(
    series: pd.Series,
    *,
    z_limit: float = 8.0,
    transform: Literal["auto", "diff", "logdiff"] = "auto",
) -> list[Jump]:
    """Changes whose robust z exceeds ``z_limit`` (see :func:`robust_z`).

    A single bad cell shows as two jumps (there and back); both are returned, and
    :func:`assess_source` groups neighbouring jumps into one episode.

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
    z = _z_of_changes(d)
    hits = z[z.abs() > z_limit]
    return [Jump(label, float(d.loc[label]), float(hits.loc[label])) for label in hits.index]


_OBS_PER_YEAR = {"daily": 261, "weekly": 52, "monthly": 12, "quarterly": 4, "annual": 1}


def _on_calendar(series: pd.Series, business_days: bool) -> pd.Series:
    """The series on its full calendar: missing periods of a ``PeriodIndex`` (or business days
    of a daily ``DatetimeIndex`` when ``business_days``) become NaN."""
    x = _numeric(series)
    if not x.index.is_unique or len(x.index) == 0:
        return x
    if isinstance(x.index, pd.PeriodIndex):
        full = pd.period_range(x.index.min(), x.index.max(), freq=x.index.freq)
        return x.sort_index().reindex(full)
    if business_days and isinstance(x.index, pd.DatetimeIndex):
        valid = x.dropna()
        if valid.empty:
            return x
        full = pd.bdate_range(valid.index.min().normalize(), valid.index.max().normalize())
        return x.sort_index().reindex(full)
    return x


def classify_gaps(
    series: pd.Series,
    *,
    business_days: bool = False,
    holiday_run: int = 0,
    structural_min: int | None = None,
    periodic_min_chain: int = 4,
) -> list[Gap]:
    """Every run of missing observations inside the observed span, with its ``kind``.

    Parameters
    ----------
    series
        Observations in time order.
    business_days
        Count a daily ``DatetimeIndex`` on the business-day calendar (dates absent from the
        index are missing too).
    holiday_run
        Runs of at most this many missing observations are ``holiday`` (0: none).
    structural_min
        Runs of at least this many missing observations are ``structural`` (``None``: none).
    periodic_min_chain
        At least this many equal runs, each one observation apart, are ``coarser_sampling``
        (a series observed every third month in its first years).
    """
    x = _on_calendar(series, business_days)
    valid = x.notna().to_numpy()
    if not valid.any():
        return []
    first, last = int(np.argmax(valid)), int(len(valid) - 1 - np.argmax(valid[::-1]))
    missing = ~valid[first : last + 1]
    starts, lengths = _runs(missing)
    keep = missing[starts]
    starts, lengths = starts[keep], lengths[keep]
    kinds = ["gap"] * len(starts)
    # chains of equal runs one observation apart: a lower native frequency, not lost data
    i = 0
    while i < len(starts):
        j = i
        while (
            j + 1 < len(starts)
            and lengths[j + 1] == lengths[i]
            and starts[j + 1] == starts[j] + lengths[j] + 1
        ):
            j += 1
        if j - i + 1 >= periodic_min_chain:
            for k in range(i, j + 1):
                kinds[k] = "coarser_sampling"
            # the irregular first or last steps of such a stretch belong to it too
            for k in (i - 1, j + 1):
                near = starts[i] if k < i else starts[j]
                if 0 <= k < len(starts) and lengths[k] <= 2 * lengths[i] and (
                    starts[k] + lengths[k] + 1 == near or near + lengths[j] + 1 == starts[k]
                ):
                    kinds[k] = "coarser_sampling"
        i = j + 1
    out = []
    index = x.index[first : last + 1]
    for k, (s, n) in enumerate(zip(starts, lengths, strict=True)):
        kind = kinds[k]
        if kind == "gap" and holiday_run and n <= holiday_run:
            kind = "holiday"
        elif kind == "gap" and structural_min is not None and n >= structural_min:
            kind = "structural"
        out.append(Gap(index[s], index[s + n - 1], int(n), kind))
    return out


def gaps(
    series: pd.Series,
    *,
    tolerance: int = 0,
    business_days: bool = False,
    holiday_run: int = 0,
    structural_min: int | None = None,
) -> list[Gap]:
    """Missing observations inside the span from the first to the last observed value.

    Missing means a NaN value, and for a ``PeriodIndex`` also a period absent from the index
    (e.g. 2008Q3 skipped), for a daily series with ``business_days`` a business day absent.
    Values before the first or after the last observation are not gaps (a series that starts
    late, or a ragged edge). Holidays, stretches of coarser sampling and structural absences
    (see :func:`classify_gaps`) are not returned.

    Parameters
    ----------
    series
        Observations in time order.
    tolerance
        When the total number of missing observations is at most this, nothing is reported.
    business_days, holiday_run, structural_min
        See :func:`classify_gaps`.

    Returns
    -------
    list[Gap]
        Runs of missing observations (``kind == "gap"``).
    """
    found = [
        g
        for g in classify_gaps(
            series, business_days=business_days, holiday_run=holiday_run, structural_min=structural_min
        )
        if g.kind == "gap"
    ]
    if sum(g.n_missing for g in found) <= tolerance:
        return []
    return found


def disagreement(
    series_by_source: Mapping[str, pd.Series],
    weights: Mapping[str, float] | None = None,
    *,
    tolerance: float = 0.25,
    excess_cap: float = 4.0,
) -> dict[str, Disagreement]:
    """Who disagrees with whom on the same quantity.

    For each source and each index value where it and at least one other source are observed,
    its difference to the weighted mean of the *others* (:func:`blend_sources`) is compared
    with ``tolerance``. Where several sources are beyond tolerance in the same period, the one
    furthest from its consensus takes a *primary* finding and the rest a *secondary* one; a
    tie (always the case with two sources) goes to the lower-weight source, and with equal
    weights both take a primary finding -- two sources alone cannot tell who is right. A source
    beyond tolerance only because the blamed source drags its consensus (it agrees, within
    tolerance, with the weighted mean of the sources other than itself and the blamed ones)
    takes no finding at all.

    Parameters
    ----------
    series_by_source
        Source id -> series of the quantity, same units and index (e.g. quarterly averages).
    weights
        Source id -> weight for the consensus; equal weights when ``None``.
    tolerance
        Absolute tolerance in the quantity's units.
    excess_cap
        A period beyond tolerance weighs ``min(excess_cap, |diff| / tolerance)`` in
        ``primary_excess`` / ``secondary_excess``.

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
    excess: dict[str, list[float]] = {s: [0.0, 0.0] for s in sources}
    for label, row in absdev[beyond.any(axis=1)].iterrows():
        out = row[beyond.loc[label]]
        top = float(out.max())
        tied = [s for s in out.index if math.isclose(float(out[s]), top, rel_tol=1e-9, abs_tol=1e-12)]
        min_w = min(w[s] for s in tied)
        blamed = {s for s in tied if math.isclose(w[s], min_w)}
        for s in out.index:
            size = min(excess_cap, float(out[s]) / tolerance) if tolerance > 0 else excess_cap
            if s in blamed:
                primary[s].append(label)
                excess[s][0] += size
                continue
            # a source is off only through the blamed one when it agrees with the rest
            rest = [o for o in sources if o != s and o not in blamed and pd.notna(values.at[label, o])]
            if rest:
                consensus = sum(w[o] * float(values.at[label, o]) for o in rest) / sum(w[o] for o in rest)
                off = abs(float(values.at[label, s]) - consensus)
                if off <= tolerance:
                    continue
                size = min(excess_cap, off / tolerance) if tolerance > 0 else excess_cap
            secondary[s].append(label)
            excess[s][1] += size
    return {
        s: Disagreement(
            source=s,
            primary=tuple(primary[s]),
            secondary=tuple(secondary[s]),
            max_abs_diff=float(absdev[s].max()) if absdev[s].notna().any() else 0.0,
            n_compared=int(dev[s].notna().sum()),
            primary_excess=excess[s][0],
            secondary_excess=excess[s][1],
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


def _drop_short_gaps(series: pd.Series, max_run: int) -> pd.Series:
    """Drop NaNs in runs of at most ``max_run`` (holidays), so changes bridge them; longer runs
    stay NaN and no change is taken across them."""
    x = _numeric(series)
    if max_run <= 0:
        return x
    missing = x.isna().to_numpy()
    starts, lengths = _runs(missing)
    drop = np.zeros(len(x), dtype=bool)
    for s, n in zip(starts, lengths, strict=True):
        if missing[s] and n <= max_run:
            drop[s : s + n] = True
    return x[~drop]


def _to_period(label: Any, code: str) -> pd.Period | None:
    try:
        if isinstance(label, pd.Period):
            return label.asfreq(code, how="end")
        return pd.Timestamp(label).to_period(code)
    except (TypeError, ValueError):
        return None


def _aggregate(series: pd.Series, frequency: str) -> pd.Series:
    """Mean of a series over the periods of ``frequency`` (``PeriodIndex``); daily stays as is."""
    x = _numeric(series).dropna()
    if frequency == "daily" or frequency not in _PERIOD_CODE:
        return x
    code = _PERIOD_CODE[frequency]
    idx = x.index
    if isinstance(idx, pd.PeriodIndex):
        periods = idx.asfreq(code, how="end")
    elif isinstance(idx, pd.DatetimeIndex):
        periods = idx.to_period(code)
    else:
        return x
    out = x.groupby(periods, sort=True).mean()
    out.index = pd.PeriodIndex(out.index, freq=code)
    return out


def _span(label: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    if isinstance(label, pd.Period):
        return label.start_time, label.end_time
    ts = pd.Timestamp(label)
    return ts, ts


def _time_index(series: pd.Series) -> pd.Series:
    """The series on a ``DatetimeIndex`` (a period stands at its start)."""
    x = _numeric(series).dropna()
    if isinstance(x.index, pd.PeriodIndex):
        x.index = x.index.to_timestamp(how="start")
    return x


class _PeerZ:
    """Robust z of peer series aggregated to a frequency, computed once per (peer, frequency)."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, str], pd.Series] = {}
        self._keep: list[pd.Series] = []  # keep the keyed objects alive so ids stay unique

    def z(self, series: pd.Series, frequency: str) -> pd.Series:
        key = (id(series), frequency)
        if key not in self._cache:
            self._keep.append(series)
            self._cache[key] = robust_z(_aggregate(series, frequency))
        return self._cache[key]


def _coarser(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if _FREQ_RANK.get(a, 0) >= _FREQ_RANK.get(b, 0) else b


def _peer_confirms(
    label: Any, sign: float, frequency: str | None, peer: pd.Series, policy: AnomalyPolicy, peer_z: _PeerZ
) -> bool:
    """A peer moves beyond ``confirm_z_limit`` in the same direction in the same period, at the
    coarser of the two frequencies (``confirm_window`` periods either side)."""
    target = _coarser(frequency, infer_frequency(peer.index)) or "daily"
    pz = peer_z.z(peer, target)
    if pz.empty:
        return False
    if target in _PERIOD_CODE and isinstance(pz.index, pd.PeriodIndex):
        key = _to_period(label, _PERIOD_CODE[target])
        if key is None:
            return False
        pos = int(pz.index.searchsorted(key))
    else:
        try:
            pos = int(pz.index.searchsorted(pd.Timestamp(_span(label)[0])))
        except (TypeError, ValueError):
            return False
    lo, hi = max(0, pos - policy.confirm_window), min(len(pz), pos + policy.confirm_window + 1)
    near = pz.to_numpy()[lo:hi]
    return bool(((np.abs(near) >= policy.confirm_z_limit) & (np.sign(near) == np.sign(sign))).any())


@dataclass
class _Episode:
    first: Any
    last: Any
    lead: Jump
    net: float
    span: int
    excused: bool = False


def _jump_episodes(
    column: Any,
    d: pd.Series,
    z: pd.Series,
    col_pos: int,
    frame_index: pd.Index,
    comove: np.ndarray | None,
    peers: Mapping[str, pd.Series],
    frequency: str | None,
    policy: AnomalyPolicy,
    peer_z: _PeerZ,
    notes: list[str],
) -> list[_Episode]:
    """Group a column's jumps into episodes and excuse the ones something explains."""
    z_limit = policy.z_limit_for(frequency)
    zv, dv = z.to_numpy(), d.to_numpy()
    hits = np.flatnonzero(np.abs(zv) > z_limit)
    if hits.size == 0:
        return []
    gap = policy.cluster_gap_for(frequency)
    window = policy.turbulence_window_for(frequency)
    groups = np.split(hits, np.flatnonzero(np.diff(hits) > gap) + 1)
    episodes: list[_Episode] = []
    for g in groups:
        a, b = int(g[0]), int(g[-1])
        k = int(g[np.argmax(np.abs(zv[g]))])
        lead = Jump(z.index[k], float(dv[k]), float(zv[k]))
        net = float(dv[a : b + 1].sum())
        ep = _Episode(z.index[a], z.index[b], lead, net, max(1, b - a))
        where = f"{column} {_fmt(lead.label)} (change {lead.change:+.3g}, z {lead.z:+.1f})"
        reason = None
        confirmed = [p for p, ps in peers.items() if _peer_confirms(lead.label, lead.z, frequency, ps, policy, peer_z)]
        if confirmed:
            reason = f"confirmed by {'/'.join(confirmed)}"
        if reason is None and comove is not None:
            try:
                row = int(frame_index.get_loc(lead.label))
            except (KeyError, TypeError):
                row = -1
            if row >= 0:
                n_other = int(comove[row].sum()) - int(comove[row, col_pos])
                if n_other >= policy.confirm_min_columns:
                    reason = f"{n_other} other columns moved too"
        if reason is None:
            around = np.concatenate((zv[max(0, a - window) : a], zv[b + 1 : b + 1 + window]))
            n_moves = int(((np.abs(around) >= policy.confirm_z_limit) & (np.abs(around) <= z_limit)).sum())
            if n_moves >= policy.turbulence_min_moves:
                reason = f"turbulent stretch ({n_moves} other large moves within {window} observations)"
        if reason is None and abs(net) >= 0.5 * float(np.abs(dv[a : b + 1]).max()):
            after_z, after_d = zv[b + 1 : b + 1 + window], dv[b + 1 : b + 1 + window]
            back = -math.copysign(1.0, net) * float(after_d[np.abs(after_z) <= z_limit].sum())
            if back >= policy.reversion_share * abs(net):
                reason = f"reverted gradually ({back / abs(net):.0%} within {window} observations)"
        if reason is None:
            for prev in reversed(episodes):
                if not prev.excused or int(z.index.get_loc(prev.last)) < a - window:
                    continue
                if prev.net * net < 0 and abs(net + prev.net) <= 0.5 * abs(prev.net):
                    reason = f"undoes the excused move at {_fmt(prev.lead.label)}"
                    break
        if reason is not None:
            ep.excused = True
            notes.append(f"jump excused, {reason}: {where}")
        episodes.append(ep)
    # an unexcused shift and a later unexcused move that restores the level are one block of
    # bad values (a month off by 3 points, a stretch in the wrong units): it affects the span
    max_block = 2 * _OBS_PER_YEAR.get(frequency or "", 4)
    merged: list[_Episode] = []
    for ep in episodes:
        prev = next((m for m in reversed(merged) if not m.excused), None)
        if (
            prev is not None
            and not ep.excused
            and prev.net * ep.net < 0
            and abs(prev.net + ep.net) <= 0.25 * abs(prev.net)
            and int(z.index.get_loc(ep.last)) - int(z.index.get_loc(prev.first)) <= max_block
        ):
            start, stop = int(z.index.get_loc(prev.first)), int(z.index.get_loc(ep.last))
            lead = prev.lead if abs(prev.lead.z) >= abs(ep.lead.z) else ep.lead
            merged[merged.index(prev)] = _Episode(prev.first, ep.last, lead, prev.net + ep.net, max(1, stop - start))
            continue
        merged.append(ep)
    return merged


def assess_source(
    source: str,
    dataset: str,
    frame: pd.DataFrame | pd.Series,
    prior_weight: float | None = None,
    policy: AnomalyPolicy | None = None,
    *,
    peers: Mapping[str, Mapping[str, pd.Series]] | None = None,
    extra_penalties: Iterable[Penalty] = (),
    _peer_z: _PeerZ | None = None,
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
        Non-numeric and boolean columns are skipped; categorical ones (:func:`is_indicator`)
        are checked for gaps only.
    prior_weight
        Prior; ``None`` reads it from ``sources.yaml``.
    policy
        Thresholds; ``None`` reads them from ``sources.yaml``.
    peers
        Column name -> {peer name -> series of the same quantity, any frequency}. A jump a
        peer confirms, or a stale run a peer shares, is excused.
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
    peer_z = _peer_z if _peer_z is not None else _PeerZ()
    columns = _numeric_columns(frame)
    notes: list[str] = []
    frequency = infer_frequency(frame.index)
    daily = frequency == "daily"
    min_run = policy.stale_length_for(frequency)
    holiday_run = policy.holiday_gap_days if daily else 0
    structural_min = max(2, int(round(policy.structural_gap_years * _OBS_PER_YEAR.get(frequency or "", 4))))
    administered = set(policy.administered_rates)

    # per column: changes and their z (daily holidays bridged), and which are categorical
    numeric = {c: _numeric(frame[c]) for c in columns}
    indicator = {c: is_indicator(numeric[c], max_levels=policy.indicator_max_levels) for c in columns}
    moving = [c for c in columns if not indicator[c]]
    d_of: dict[Any, pd.Series] = {}
    z_of: dict[Any, pd.Series] = {}
    for c in moving:
        d = _changes(_drop_short_gaps(numeric[c], holiday_run), "auto")
        d_of[c], z_of[c] = d, _z_of_changes(d)
    # co-movement: |z| >= confirm_z anywhere within +-confirm_window rows, per column
    comove = None
    if len(moving) > 1 and frame.index.is_unique:
        big = np.zeros((len(frame.index), len(moving)), dtype=bool)
        for j, c in enumerate(moving):
            zc = z_of[c]
            if not zc.empty:
                big[:, j] = (zc.abs() >= policy.confirm_z_limit).reindex(frame.index, fill_value=False).to_numpy()
        w = policy.confirm_window
        if w > 0:
            big = (
                pd.DataFrame(big).rolling(2 * w + 1, center=True, min_periods=1).max().to_numpy().astype(bool)
            )
        comove = big

    stale_found: list[str] = []
    jump_found: list[str] = []
    gap_found: list[str] = []
    severity = {"stale_runs": 0.0, "robust_jumps": 0.0, "gaps": 0.0}
    counts = {"stale_runs": 0, "robust_jumps": 0, "gaps": 0}
    for c in columns:
        series = numeric[c]
        n_obs = int(series.notna().sum())
        if n_obs == 0:
            continue
        col_peers = peers.get(str(c), {})

        if not indicator[c]:
            # -- stale runs
            runs = stale_runs(
                series, min_run=min_run, min_move_share=policy.stale_min_move_share, floor_band=policy.stale_floor_band
            )
            for run in runs:
                where = f"{c} {_fmt(run.start)}..{_fmt(run.end)} ({run.length} x {run.value:g})"
                if str(c) in administered:
                    notes.append(f"stale run excused, administered rate: {where}")
                    continue
                t0, t1 = _span(run.start)[0], _span(run.end)[1]
                flat, moved = [], []
                for peer, ps in col_peers.items():
                    seg = _time_index(ps)
                    seg = seg[(seg.index >= t0) & (seg.index <= t1)]
                    if len(seg) >= 2:
                        (flat if float(seg.max() - seg.min()) <= policy.stale_peer_tolerance else moved).append(peer)
                if flat:
                    notes.append(f"stale run excused, also flat at {'/'.join(flat)}: {where}")
                    continue
                if not moved:
                    others = [o for o in moving if o != c]
                    rows = (frame.index >= run.start) & (frame.index <= run.end)
                    if others and not any(numeric[o][rows].dropna().nunique() > 1 for o in others):
                        notes.append(f"stale run excused, nothing else in the frame moved: {where}")
                        continue
                stale_found.append(where)
                severity["stale_runs"] += run.length / n_obs
                counts["stale_runs"] += 1

            # -- jumps, grouped into episodes; an episode is excused when something explains it
            z = z_of[c]
            if len(z):
                episodes = _jump_episodes(
                    c, d_of[c], z, moving.index(c), frame.index, comove, col_peers, frequency, policy, peer_z, notes
                )
                for ep in episodes:
                    if ep.excused:
                        continue
                    span = f"..{_fmt(ep.last)}" if ep.last != ep.first else ""
                    jump_found.append(
                        f"{c} {_fmt(ep.first)}{span} (change {ep.lead.change:+.3g}, z {ep.lead.z:+.1f},"
                        f" {ep.span} obs)"
                    )
                    severity["robust_jumps"] += ep.span / len(z)
                    counts["robust_jumps"] += 1

        # -- gaps (holidays, coarser sampling and structural absences are noted, not penalised)
        found = classify_gaps(series, business_days=daily, holiday_run=holiday_run, structural_min=structural_min)
        if not found:
            continue
        for g in found:
            if g.kind == "structural":
                notes.append(
                    f"structural absence, not penalised: {c} {_fmt(g.start)}..{_fmt(g.end)} ({g.n_missing} missing)"
                )
        sampled = [g for g in found if g.kind == "coarser_sampling"]
        if sampled:
            notes.append(
                f"coarser sampling, not penalised: {c} {_fmt(sampled[0].start)}..{_fmt(sampled[-1].end)}"
                f" ({len(sampled)} regular gaps)"
            )
        real = [g for g in found if g.kind == "gap"]
        total = sum(g.n_missing for g in real)
        if real and total > policy.gap_tolerance:
            span_len = len(_on_calendar(series, daily).loc[lambda s: s.notna()].index)
            span_len = max(span_len + total, 1)
            gap_found.append(f"{c}: {total} missing in {len(real)} gap(s) from {_fmt(real[0].start)}")
            severity["gaps"] += total / span_len
            counts["gaps"] += len(real)

    penalties: list[Penalty] = []
    for rule, found_list in (("stale_runs", stale_found), ("robust_jumps", jump_found), ("gaps", gap_found)):
        if found_list:
            sev = severity[rule]
            penalties.append(Penalty(rule, _short(found_list), policy.factor(rule, sev), counts[rule], sev))
    penalties.extend(extra_penalties)
    return SourceAssessment(
        source=source,
        dataset=dataset,
        prior_weight=float(prior_weight),
        weight=_combine(float(prior_weight), penalties, policy.floor),
        penalties=penalties,
        notes=notes,
    )


def _column_peers(
    frames: Mapping[str, pd.DataFrame],
    overlaps: Mapping[str, Mapping[str, pd.Series]],
    peer_columns: Mapping[str, Mapping[str, str]],
    source: str,
    frame: pd.DataFrame,
) -> dict[str, dict[str, pd.Series]]:
    """Column -> {peer name -> series} for one source: the other sources' overlap series of a
    quantity its column is named after, and the ``peer_columns`` of ``sources.yaml``."""
    out: dict[str, dict[str, pd.Series]] = {}
    for q, by in overlaps.items():
        if source in by:
            out.setdefault(q, {}).update({o: ser for o, ser in by.items() if o != source})
    for q, members in peer_columns.items():
        col = members.get(source)
        if col is None or col not in frame.columns:
            continue
        found = out.setdefault(str(col), {})
        for o, oc in members.items():
            if o == source:
                continue
            other = frames.get(o)
            if other is not None and oc in other.columns:
                found[f"{o}:{oc}"] = other[oc]
            elif q in overlaps and o in overlaps[q]:
                found.setdefault(o, overlaps[q][o])
    return {c: p for c, p in out.items() if p}


def assess_sources(
    frames: Mapping[str, pd.DataFrame | pd.Series],
    overlaps: Mapping[str, Mapping[str, pd.Series]],
    priors: Mapping[str, float] | None = None,
    *,
    policy: AnomalyPolicy | None = None,
    contract_failures: Mapping[str, Sequence[tuple[str, int, int]]] | None = None,
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
        other sources' series as peers for jump/stale confirmation, and so does a column that
        ``peer_columns`` in ``sources.yaml`` names (with the other sources' frame columns). A
        source that appears only here is assessed on its overlap series.
    priors
        Source id -> prior weight; missing ones come from ``sources.yaml``.
    policy
        Thresholds; ``None`` reads them from ``sources.yaml``.
    contract_failures
        Source id -> ``(dataset id, failed expectations, expectations)`` for each of its data
        contracts that failed its latest check: a non-blocking contract lets the data through,
        and the failure then costs weight (rule ``contract``, severity = share of the contract's
        expectations that failed).

    Returns
    -------
    dict[str, SourceAssessment]
        One assessment per source, in the order first seen.
    """
    loaded = load_source_policy()
    policy = policy if policy is not None else loaded.penalties
    prior_of = {
        s: float(priors[s]) if priors is not None and s in priors else loaded.prior(s)
        for s in _all_sources(frames, overlaps)
    }

    # disagreement per quantity: share of compared periods beyond tolerance, weighted by excess
    dis_severity: dict[str, float] = {s: 0.0 for s in prior_of}
    dis_count: dict[str, int] = {s: 0 for s in prior_of}
    details: dict[str, list[str]] = {s: [] for s in prior_of}
    for quantity, by_source in overlaps.items():
        if len(by_source) < 2:
            continue
        result = disagreement(
            by_source, prior_of, tolerance=policy.tolerance_for(quantity), excess_cap=policy.disagreement_excess_cap
        )
        for s, d in result.items():
            if not (d.primary or d.secondary) or d.n_compared == 0:
                continue
            effective = d.primary_excess + policy.disagreement_secondary_share * d.secondary_excess
            dis_severity[s] += effective / d.n_compared
            dis_count[s] += len(d.primary) + len(d.secondary)
            first = _fmt((d.primary or d.secondary)[0])
            details[s].append(
                f"{quantity}: off the consensus of the others in {len(d.primary)} of {d.n_compared} period(s)"
                f" (+{len(d.secondary)} secondary), max |diff| {d.max_abs_diff:.3g}, first {first}"
            )

    frames_df = {s: _as_frame(f) for s, f in frames.items()}
    peer_z = _PeerZ()
    out: dict[str, SourceAssessment] = {}
    for s in prior_of:
        frame = frames_df.get(s)
        if frame is None:
            frame = pd.concat({q: by[s] for q, by in overlaps.items() if s in by}, axis=1)
        dataset = str(frame.attrs.get("dataset", s))
        peers = _column_peers(frames_df, overlaps, loaded.peer_columns, s, frame)
        extra = []
        if dis_count[s]:
            sev = dis_severity[s]
            extra.append(Penalty("disagreement", _short(details[s]), policy.factor("disagreement", sev), dis_count[s], sev))
        failed = [f for f in (contract_failures or {}).get(s, ()) if f[1] > 0]
        if failed:
            sev = sum(n_failed / max(n_total, 1) for _, n_failed, n_total in failed)
            detail = ", ".join(f"{dataset_id}: {n_failed} of {n_total} expectations failed" for dataset_id, n_failed, n_total in failed)
            extra.append(Penalty("contract", detail, policy.factor("contract", sev), len(failed), sev))
        out[s] = assess_source(s, dataset, frame, prior_of[s], policy, peers=peers, extra_penalties=extra, _peer_z=peer_z)
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
