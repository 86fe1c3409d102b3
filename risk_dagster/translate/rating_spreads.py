"""Credit spreads by rating bucket (AAA ... CCC), derived from the scenario's BBB-10y spread.

The Fed's scenarios fix one credit spread, the BBB corporate yield less the 10-year Treasury
(catalog factor ``credit.spread.bbb_10y``, quarterly averages), and the shipped market history
has only the Moody's Aaa and Baa spreads besides it. A book holds bonds from AAA to CCC, and high
yield widens several times as much as investment grade in a crisis. This module adds one spread
factor per rating bucket the book can hold, ``credit.spread.rating.<bucket>`` for
:data:`RATING_BUCKETS` (option-adjusted spread over Treasuries, percent; shocks in bp), to every
translator's ShockSet (:func:`add_rating_spreads`, called by
:func:`~risk_dagster.translate.assembly.assemble_shockset` after consistency and coherence).
They are derived factors of the catalog (``source: derived``): no history, no training, no
plausibility move limits.

**Multiplier model.** Bucket ``r`` moves ``m_r`` times the scenario's BBB-10y move:

* *Stress multiples* ``m_r = dOAS_r / dBBB_fed`` over a crisis episode, the change of the ICE
  BofA US corporate option-adjusted spread of the bucket over the change of the Fed's BBB-10y
  spread, both as QUARTERLY AVERAGES (the Fed's convention; the ICE averages are of the daily
  values, :data:`ICE_OAS_QUARTERLY`). Two episodes (:data:`EPISODES`): 2008, from 2007Q2 (the
  last quarter before the August 2007 credit turmoil) to 2008Q4 (the Fed's peak), and 2020, from
  2019Q4 to 2020Q2, the pair of quarters with the largest move of the Fed's BBB-10y spread in
  2019-2021. :func:`rating_multipliers` computes them from these constants and the shipped Fed
  history; ``python scripts/rating_multipliers.py`` prints the table. The Fed's spread is
  published to 0.1 percentage point, so the 2020 move (the smaller) carries about 8% rounding
  uncertainty in its multiples.
* *One draw of the episode mix per sample*: ``m_r(u) = m_r^2020 + u (m_r^2008 - m_r^2020)``,
  ``u`` in ``[0, 1]`` the same for every bucket of a sample (comonotone), so the multiples stay
  ordered in every sample (both episodes' multiples increase from AAA to CCC, hence every convex
  combination does). ``u`` comes from the generated credit stress (:func:`stress_rank`): the rank
  among the set's samples (mid-rank empirical CDF, ``(rank - 0.5) / n``) of each sample's average
  over the horizon of the Baa-10y less BBB-10y basis (``credit.spread.baa_10y`` minus
  ``credit.spread.bbb_10y``, both in the ShockSet), so the rating spreads move with the
  translator's own open credit factor: a sample whose Baa spread runs wide of the BBB path takes
  the 2008 pattern, one that runs tight the 2020 one (2008 has the larger multiple for every
  bucket but BB, whose 2020 multiple is a little larger). Without the Baa factor, ``u = 0.5`` for
  all. ``u`` is ranked within the set it is derived for: a synthetic-tail set drawn path by path
  ranks each path's samples among themselves.
* *Jump-off* ``s_r(0)``: the bucket's ICE quarterly average of :data:`JUMP_OFF_REFERENCE`
  (2024Q4) times ``BBB(jump-off) / BBB_fed(2024Q4)``, the ShockSet's BBB-10y jump-off level
  over the Fed's 2024Q4 value (a bucket's spread is about proportional to the BBB spread in calm
  markets). The quarterly average rather than the December month, because the ratio divides by
  the Fed's quarterly average of the same quarter.
* *Levels* ``s_r(t) = floor_r + w softplus((s_r(0) + m_r(u) dBBB(t) - floor_r) / w)``, the soft
  floor of :func:`risk_dagster.translate.coherence._soft_floor` (width ``w`` =
  :data:`SOFT_FLOOR_WIDTH`), applied to the jump-off too, so a path that does not move has a zero
  shock. ``floor_r`` is the bucket's all-time minimum (:data:`ICE_OAS_MINIMUM`), NOT scaled by
  the jump-off ratio: the floor is a historical fact (no spread below its historical floor),
  while the ratio only places today's level.
* *Ordering*: AAA <= AA <= A <= BBB <= BB <= B <= CCC is enforced on the levels, sample by sample
  and quarter by quarter, by a cumulative maximum across buckets. It binds only in tightening
  paths: when the BBB spread widens, every bucket starts ordered and the worse one moves by the
  larger multiple; when it tightens, the larger multiple falls faster and could cross (the floors
  are ordered too, so the soft floor keeps an ordered pair ordered).

**Source.** ICE BofA US corporate index option-adjusted spreads by rating, FRED series
BAMLC0A1CAAA (AAA), BAMLC0A2CAA (AA), BAMLC0A3CA (A), BAMLC0A4CBBB (BBB), BAMLH0A1HYBB (BB),
BAMLH0A2HYB (B), BAMLH0A3HYC (CCC and lower), daily, percent; transcribed from the public GitHub
file ``simdara/simdara.github.io`` ``Data/USOAS.txt`` (commit
a3b71eda0462bfac4ca7f213050c3ddd38e5856b, one column per series) and cross-checked against the
per-series FRED files for the months 2007-06, 2008-12, 2020-02 to 2020-04 and 2024-12. Quarterly
averages are the means of every daily observation of the quarter as published (FRED includes a
few month-end weekend days), rounded to 0.001. The ICE data may not be redistributed: only these
few derived numbers are shipped, never the series. The Fed BBB-10y spread is the Fed historic
table (``bbb_yield`` minus ``treasury_10y``) shipped with the package
(:func:`risk_dagster.scenarios.registry.load_fed_history`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.translate.coherence import _soft_floor
from risk_dagster.translate.shockset import FloatArray, ShockSet, levels_from_shocks, record_jump_off

__all__ = [
    "ANCHOR_FACTOR",
    "BASIS_FACTOR",
    "EPISODES",
    "ICE_OAS_MINIMUM",
    "ICE_OAS_QUARTERLY",
    "JUMP_OFF_REFERENCE",
    "RATING_BUCKETS",
    "RATING_FACTORS",
    "SOFT_FLOOR_WIDTH",
    "RatingMultipliers",
    "add_rating_spreads",
    "rating_bucket",
    "rating_factor",
    "rating_multipliers",
    "rating_spread_levels",
    "rating_spread_violations",
    "stress_rank",
    "violation_count",
]

RATING_BUCKETS: tuple[str, ...] = ("aaa", "aa", "a", "bbb", "bb", "b", "ccc")
"""Rating buckets, best first (the ICE BofA US corporate rating indices; ``ccc`` is CCC and lower)."""

RATING_FACTORS: tuple[str, ...] = tuple(f"credit.spread.rating.{b}" for b in RATING_BUCKETS)
"""Catalog ids of the bucket spreads, in :data:`RATING_BUCKETS` order."""

ANCHOR_FACTOR = "credit.spread.bbb_10y"
"""The spread the buckets move with: the Fed's BBB yield less the 10-year Treasury."""

BASIS_FACTOR = "credit.spread.baa_10y"
"""The generated open credit spread whose basis to the anchor sets each sample's episode mix."""

EPISODES: dict[str, tuple[str, str]] = {"2008": ("2007Q2", "2008Q4"), "2020": ("2019Q4", "2020Q2")}
"""Episode -> (start, end) quarter of the stress multiples (reasons in the module docstring)."""

JUMP_OFF_REFERENCE = "2024Q4"
"""Quarter whose ICE levels, scaled by the BBB-10y ratio, place the jump-off levels."""

ICE_OAS_QUARTERLY: dict[str, tuple[float, ...]] = {
    "2007Q2": (0.610, 0.687, 0.889, 1.203, 1.887, 2.615, 4.469),
    "2008Q4": (3.841, 4.767, 6.121, 7.016, 12.374, 17.681, 30.915),
    "2019Q4": (0.588, 0.582, 0.858, 1.447, 2.214, 4.102, 10.779),
    "2020Q2": (0.955, 1.182, 1.561, 2.714, 5.054, 7.537, 16.200),
    "2024Q4": (0.327, 0.468, 0.683, 1.032, 1.727, 2.771, 7.441),
}
"""Quarterly averages of the daily ICE BofA US corporate OAS, percent, AAA ... CCC (source: module
docstring). In 2019Q4 the AAA average sits just above the AA one (a thin, long-duration AAA
index); only the episode *changes* are used from it."""

ICE_OAS_MINIMUM: dict[str, tuple[float, str]] = {
    "aaa": (0.19, "1997-07-29"),
    "aa": (0.36, "1997-10-09"),
    "a": (0.48, "1997-10-03"),
    "bbb": (0.72, "1997-08-08"),
    "bb": (1.36, "1997-08-08"),
    "b": (2.36, "2007-06-01"),
    "ccc": (4.14, "2007-06-05"),
}
"""Bucket -> (all-time minimum of the daily ICE OAS since the series start (31 Dec 1996), percent,
first date it was reached): the floors (same source as :data:`ICE_OAS_QUARTERLY`)."""

SOFT_FLOOR_WIDTH = 0.02
"""Width (percentage points) of the soft floor: within 0.01 bp of the unfloored level from 0.12 pp
above the floor (the 2024Q4 AA level is 0.11 pp above its minimum: a wider floor would lift it)."""

_FLOOR_MARGIN = 1e-9
"""Percentage points added to every floor before the soft floor (far below any reported digit)."""

_RULE = (
    "s_r(t) = softfloor_r(s_r(0) + m_r(u) x dBBB(t)), m_r(u) = m_r[2020] + u (m_r[2008] - m_r[2020]), "
    "m_r[e] = dOAS_r / dBBB_fed over episode e (quarterly averages), u = mid-rank of the sample's "
    "average Baa-10y minus BBB-10y basis (0.5 without Baa), s_r(0) = ICE_r(2024Q4) x BBB(jump-off) / "
    "BBB_fed(2024Q4), floors = ICE all-time minima, ordering by cumulative maximum AAA..CCC"
)

_NOTCH = {"AAA": "aaa", "AA": "aa", "A": "a", "BBB": "bbb", "BB": "bb", "B": "b", "CCC": "ccc", "CC": "ccc", "C": "ccc"}


# =============================================================================== ratings
def rating_bucket(rating: str) -> str:
    """The bucket of a letter rating: ``AA+``/``AA``/``AA-`` -> ``aa``, ``CCC+``...``C`` -> ``ccc``.

    Raises
    ------
    ValueError
        For anything but an S&P-style rating AAA ... C (with an optional ``+`` / ``-``).
    """
    text = str(rating).strip().upper()
    core = text[:-1] if text[-1:] in "+-" and len(text) > 1 else text
    if core not in _NOTCH or (core == "AAA" and core != text):
        raise ValueError(f"unknown rating {rating!r}; expected AAA, AA+ ... CCC-, CC or C")
    return _NOTCH[core]


def rating_factor(rating: str) -> str:
    """The catalog id of a rating's bucket spread (``BBB-`` -> ``credit.spread.rating.bbb``)."""
    return f"credit.spread.rating.{rating_bucket(rating)}"


# =============================================================================== multipliers
@dataclass(frozen=True)
class RatingMultipliers:
    """Stress multiples of each bucket over each episode, and the jump-off reference.

    Attributes
    ----------
    multiples
        Episode (``2008``, ``2020``) -> ``[buckets]`` ``dOAS_r / dBBB_fed``.
    fed_bbb
        Quarter -> the Fed's BBB-10y spread (percent) of every quarter used (episode ends and
        :data:`JUMP_OFF_REFERENCE`).
    """

    multiples: dict[str, FloatArray]
    fed_bbb: dict[str, float]

    def at(self, u: FloatArray) -> FloatArray:
        """``[samples, buckets]`` multiples for episode mixes ``u`` (``[samples]``, 0 = 2020, 1 = 2008)."""
        u = np.clip(np.asarray(u, dtype=np.float64), 0.0, 1.0)[:, None]
        low, high = self.multiples["2020"][None, :], self.multiples["2008"][None, :]
        return low + u * (high - low)

    @property
    def reference_bbb(self) -> float:
        """The Fed's BBB-10y spread in :data:`JUMP_OFF_REFERENCE`."""
        return self.fed_bbb[JUMP_OFF_REFERENCE]

    def table(self) -> pd.DataFrame:
        """One row per bucket: the ICE averages used, each episode's multiple and its ratio to BBB's."""
        rows: dict[str, dict[str, float]] = {}
        bbb = RATING_BUCKETS.index("bbb")
        for k, b in enumerate(RATING_BUCKETS):
            row: dict[str, float] = {}
            for episode, (start, end) in EPISODES.items():
                row[f"oas_{start}"] = ICE_OAS_QUARTERLY[start][k]
                row[f"oas_{end}"] = ICE_OAS_QUARTERLY[end][k]
                row[f"m_{episode}"] = float(self.multiples[episode][k])
                row[f"m_{episode}/bbb"] = float(self.multiples[episode][k] / self.multiples[episode][bbb])
            row[f"oas_{JUMP_OFF_REFERENCE}"] = ICE_OAS_QUARTERLY[JUMP_OFF_REFERENCE][k]
            row["floor"] = ICE_OAS_MINIMUM[b][0]
            rows[b] = row
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "bucket"
        return out

    def summary(self) -> dict[str, Any]:
        """Plain-JSON form for ShockSet metadata."""
        return {
            "episodes": {
                e: {"start": s, "end": t, "fed_bbb_start": self.fed_bbb[s], "fed_bbb_end": self.fed_bbb[t]}
                for e, (s, t) in EPISODES.items()
            },
            "multiples": {e: dict(zip(RATING_BUCKETS, np.round(m, 4).tolist(), strict=True)) for e, m in self.multiples.items()},
            "jump_off_reference": {"quarter": JUMP_OFF_REFERENCE, "fed_bbb": self.reference_bbb},
        }


def _fed_bbb(fed_history: pd.DataFrame) -> pd.Series:
    wide = fed_history
    missing = [c for c in ("bbb_yield", "treasury_10y") if c not in wide.columns]
    if missing:
        raise KeyError(f"rating_multipliers: the Fed history has no {missing}")
    spread = (wide["bbb_yield"] - wide["treasury_10y"]).astype("float64")
    spread.index = pd.PeriodIndex(spread.index, freq="Q-DEC")
    return spread


def rating_multipliers(fed_history: pd.DataFrame | None = None) -> RatingMultipliers:
    """The stress multiples from :data:`ICE_OAS_QUARTERLY` and the Fed's BBB-10y spread.

    Parameters
    ----------
    fed_history
        The Fed historic table as a wide frame (quarter x canonical variable, ``bbb_yield`` and
        ``treasury_10y`` needed); the shipped 2026 vintage by default (cached).

    Returns
    -------
    RatingMultipliers

    Raises
    ------
    ValueError
        When a quarter used is missing from the history or an episode's Fed move is not positive.
    """
    if fed_history is None:
        return _shipped_multipliers()
    spread = _fed_bbb(fed_history)
    quarters = sorted({q for pair in EPISODES.values() for q in pair} | {JUMP_OFF_REFERENCE})
    fed: dict[str, float] = {}
    for q in quarters:
        p = pd.Period(q, freq="Q-DEC")
        value = float(spread.get(p, np.nan))
        if not np.isfinite(value):
            raise ValueError(f"rating_multipliers: the Fed history has no BBB-10y spread in {q}")
        fed[q] = round(value, 6)  # the Fed publishes 0.1 pp: drop the float noise of the difference
    multiples: dict[str, FloatArray] = {}
    for episode, (start, end) in EPISODES.items():
        move = fed[end] - fed[start]
        if not move > 0:
            raise ValueError(f"rating_multipliers: the Fed BBB-10y spread does not widen over {start}-{end}")
        d_oas = np.asarray(ICE_OAS_QUARTERLY[end]) - np.asarray(ICE_OAS_QUARTERLY[start])
        multiples[episode] = (d_oas / move).astype(np.float64)
    return RatingMultipliers(multiples=multiples, fed_bbb=fed)


@lru_cache(maxsize=1)
def _shipped_multipliers() -> RatingMultipliers:
    from risk_dagster.scenarios.registry import load_fed_history

    return rating_multipliers(load_fed_history("2026").wide())


# =============================================================================== the model
def stress_rank(shockset: ShockSet) -> tuple[FloatArray, str]:
    """``[samples]`` episode mix ``u`` of each sample, and how it was obtained.

    The mid-rank empirical CDF ``(rank - 0.5) / n`` (ties share their average rank) of each
    sample's average over the quarters of the Baa-10y less BBB-10y basis (levels, percent). A
    sample whose basis is not finite in every quarter, and every sample of a set without
    :data:`BASIS_FACTOR`, gets ``u = 0.5``.
    """
    n = shockset.n_samples
    if BASIS_FACTOR not in shockset.factor_ids or ANCHOR_FACTOR not in shockset.factor_ids or n == 0:
        return np.full(n, 0.5), "none: no Baa-10y factor, u = 0.5"
    idx = [shockset.factor_index(BASIS_FACTOR), shockset.factor_index(ANCHOR_FACTOR)]
    with np.errstate(invalid="ignore", over="ignore"):
        lv = levels_from_shocks(shockset.jump_off[idx], shockset.shocks[:, :, idx], [shockset.shock_types[i] for i in idx])
    basis = (lv[:, :, 0] - lv[:, :, 1]).mean(axis=1)
    u = np.full(n, 0.5)
    ok = np.isfinite(basis)
    if ok.any():
        from scipy.stats import rankdata

        u[ok] = (rankdata(basis[ok], method="average") - 0.5) / int(ok.sum())
    return u, f"mid-rank of the average {BASIS_FACTOR} - {ANCHOR_FACTOR} basis over {len(shockset.quarters)} quarters"


def rating_spread_levels(
    bbb_jump_off: float,
    bbb_shocks: FloatArray,
    u: FloatArray,
    multipliers: RatingMultipliers | None = None,
) -> tuple[FloatArray, FloatArray, int]:
    """Jump-off and path levels of every bucket (the model of the module docstring).

    Parameters
    ----------
    bbb_jump_off
        BBB-10y spread at the jump-off, percent.
    bbb_shocks
        ``[samples, quarters]`` cumulative BBB-10y shocks, bp.
    u
        ``[samples]`` episode mix in ``[0, 1]``.
    multipliers
        :func:`rating_multipliers` (the shipped ones by default).

    Returns
    -------
    tuple
        ``[buckets]`` jump-off levels, ``[samples, quarters, buckets]`` levels (percent), and the
        number of (sample, quarter, bucket) cells the ordering raised.
    """
    mult = multipliers if multipliers is not None else rating_multipliers()
    # 1e-9 pp above the floor: levels recomputed from the bp shocks (jump-off + shock / 100) keep
    # float rounding on the right side of the floor
    floors = np.array([ICE_OAS_MINIMUM[b][0] for b in RATING_BUCKETS]) + _FLOOR_MARGIN
    scale = float(bbb_jump_off) / mult.reference_bbb
    raw0 = np.asarray(ICE_OAS_QUARTERLY[JUMP_OFF_REFERENCE], dtype=np.float64) * scale
    d_bbb = np.asarray(bbb_shocks, dtype=np.float64) / 100.0
    raw = raw0[None, None, :] + mult.at(u)[:, None, :] * d_bbb[:, :, None]
    jump = np.maximum.accumulate(_soft_floor(raw0, floors, SOFT_FLOOR_WIDTH))  # type: ignore[arg-type]
    soft = _soft_floor(raw, floors[None, None, :], SOFT_FLOOR_WIDTH)  # type: ignore[arg-type]
    with np.errstate(invalid="ignore"):
        levels = np.maximum.accumulate(soft, axis=-1)
        raised = int((levels > soft).sum())
    return jump, levels, raised


def add_rating_spreads(shockset: ShockSet, *, multipliers: RatingMultipliers | None = None) -> ShockSet:
    """A copy of ``shockset`` with the seven bucket spreads :data:`RATING_FACTORS` appended.

    Jump-off levels in percent, shocks in bp (``absolute_bp``), from the set's BBB-10y factor and
    its Baa-10y basis (:func:`stress_rank`); the model is the module docstring's. Metadata
    ``rating_spreads`` records the rule, the multiples, the jump-off scale and the episode mixes;
    ``jump_off_basis`` / ``jump_off_asof`` get ``derived`` and the BBB-10y factor's date.
    Idempotent: a set that already has all seven factors comes back as an unchanged copy.

    Parameters
    ----------
    shockset
        Any translator's set; it must hold :data:`ANCHOR_FACTOR`.
    multipliers
        :func:`rating_multipliers` (the shipped ones by default).

    Raises
    ------
    KeyError
        When the set has no BBB-10y factor.
    ValueError
        When it holds some of the bucket factors but not all.
    """
    present = [f for f in RATING_FACTORS if f in shockset.factor_ids]
    if len(present) == len(RATING_FACTORS):
        return ShockSet(
            shocks=shockset.shocks.copy(), jump_off=shockset.jump_off.copy(), factor_ids=list(shockset.factor_ids),
            shock_types=list(shockset.shock_types), quarters=list(shockset.quarters), scenario_id=shockset.scenario_id,
            model_id=shockset.model_id, model_version=shockset.model_version, seed=shockset.seed,
            metadata=dict(shockset.metadata),
        )  # fmt: skip
    if present:
        raise ValueError(f"add_rating_spreads: ShockSet {shockset.scenario_id} already has {present} but not all of {list(RATING_FACTORS)}")
    j = shockset.factor_index(ANCHOR_FACTOR)
    mult = multipliers if multipliers is not None else rating_multipliers()
    u, how = stress_rank(shockset)
    bbb0 = float(shockset.jump_off[j])
    jump, levels, raised = rating_spread_levels(bbb0, shockset.shocks[:, :, j], u, mult)
    with np.errstate(invalid="ignore"):
        shocks = (levels - jump[None, None, :]) * 100.0
    meta = dict(shockset.metadata)
    floors = {b: ICE_OAS_MINIMUM[b][0] for b in RATING_BUCKETS}
    meta["rating_spreads"] = {
        "rule": _RULE,
        "module": __name__,
        "factors": list(RATING_FACTORS),
        "anchor": ANCHOR_FACTOR,
        "episode_mix": how,
        **mult.summary(),
        "jump_off_scale": round(bbb0 / mult.reference_bbb, 6) if np.isfinite(bbb0) else None,
        "floors": floors,
        "soft_floor_width": SOFT_FLOOR_WIDTH,
        "u": {k: round(float(f(u)), 4) for k, f in (("min", np.min), ("median", np.median), ("max", np.max))} if len(u) else {},
        "ordering_raised_cells": raised,
    }
    asof = meta.get("jump_off_asof")
    anchor_asof = asof.get(ANCHOR_FACTOR) if isinstance(asof, Mapping) else None
    record_jump_off(meta, {f: "derived" for f in RATING_FACTORS}, {f: anchor_asof for f in RATING_FACTORS})
    return shockset.with_factors(shocks, jump, list(RATING_FACTORS), ["absolute_bp"] * len(RATING_FACTORS), meta)


# =============================================================================== checks
def rating_spread_violations(shockset: ShockSet, *, tolerance: float = 1e-9) -> dict[str, Any]:
    """What the ``rating_spreads_ordered_above_floor`` check asserts, recomputed from the levels.

    Parameters
    ----------
    shockset
        A set with the bucket factors.
    tolerance
        Slack in percent for the comparisons (float rounding of shocks in bp).

    Returns
    -------
    dict
        ``missing`` (bucket factors the set lacks), ``non_finite`` (samples with a non-finite
        bucket level), ``out_of_order`` (samples where a worse bucket sits below a better one in
        some quarter, jump-off included), ``below_floor`` (bucket -> samples with a level below
        its :data:`ICE_OAS_MINIMUM`) and ``samples`` checked.
    """
    missing = [f for f in RATING_FACTORS if f not in shockset.factor_ids]
    out: dict[str, Any] = {"samples": int(shockset.n_samples), "missing": missing}
    if missing:
        return out
    idx = [shockset.factor_index(f) for f in RATING_FACTORS]
    with np.errstate(invalid="ignore", over="ignore"):
        lv = levels_from_shocks(shockset.jump_off[idx], shockset.shocks[:, :, idx], [shockset.shock_types[i] for i in idx])
    n = shockset.n_samples
    path = np.concatenate([np.broadcast_to(shockset.jump_off[idx], (n, 1, len(idx))), lv], axis=1)
    finite = np.isfinite(path).all(axis=(1, 2))
    out["non_finite"] = int((~finite).sum())
    with np.errstate(invalid="ignore"):
        out["out_of_order"] = int((np.diff(path, axis=2) < -tolerance).any(axis=(1, 2)).sum())
        floors = np.array([ICE_OAS_MINIMUM[b][0] for b in RATING_BUCKETS])
        below = (path < floors[None, None, :] - tolerance).any(axis=1)
    out["below_floor"] = {b: int(below[:, k].sum()) for k, b in enumerate(RATING_BUCKETS) if below[:, k].any()}
    return out


def violation_count(report: Mapping[str, Any]) -> int:
    """Samples (or missing factors) a :func:`rating_spread_violations` report counts against the set."""
    below: Mapping[str, int] = report.get("below_floor", {})
    return len(report.get("missing", [])) + int(report.get("non_finite", 0)) + int(report.get("out_of_order", 0)) + int(sum(below.values()))
