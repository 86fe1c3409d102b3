"""The conservative overlay: scale the AI set's open-factor changes by ``m`` until all 25 pass.

**Scaling.** Every factor the scenario leaves open (not in ``metadata["fixed_factors"]``) has its
change from jump-off multiplied by ``m`` in every sample and quarter; the supervisor's factors are
untouched. The seven rating-bucket spreads are derived factors (a function of the BBB-10y spread
and the rank of the Baa basis, :mod:`risk_dagster.translate.rating_spreads`): they are not scaled
themselves but follow their anchor (:func:`scale_open_factors`), so their ordering and floors hold
by construction. In the
calibration statistics (21-25) the transformer's one-quarter predictive draws are scaled by the same
``m`` (:meth:`~risk_dagster.conservativeness.calibration.CalibrationDraws.scaled`).

**Re-screening.** The coherence step of translation (mean-reverting spreads, the soft zero lower
bound, the envelope of h-quarter moves) is a transform of the draws; applying it again would undo
part of the scaling, so it is re-applied as what it guarantees instead: every hard rule of the
plausibility filter (floors, curve coherence, move limits scaled by the scenario's own severity) is
re-applied to each scaled sample and a sample that breaks one is rejected and counted, and the
open-fixed pair envelope (the medians of open-fixed ratios and bases within history) must still
hold for the set, else ``m`` is not admissible. The discriminator is not re-applied: a scaled
sample is deliberately further from history than the model's.

**Search.** Two groups of statistics answer to ``m`` differently. Statistics 21-25 need no engine
run (the calibration draws scale directly) but are not monotone in ``m``: scaling a model's
one-quarter draws scales their mean with their spread, so past some ``m`` the intervals move off
the realized changes and coverage falls again. Every multiplier of the grid ``1.00, 1.01, ..., cap``
is therefore tried on 21-25 (cheap), which gives the candidates where they pass. Statistics 1-20
need the engine and capital re-run; they are taken as monotone in ``m`` (scaling the open changes up
moves losses and capital the way that hurts the bank), so :func:`smallest_passing` searches the
candidates in doubling strides, then bisects. A candidate whose scaled set is inadmissible (every
sample rejected, or the pair envelope broken) bounds the search from above: larger ones break more.
The ``m`` returned was itself evaluated and passed all 25. Statistics on a class where the book
*gains* (e.g. statistic 16 when the open rates' moves earn the book money in every quarter) move
against the overlay; a set failing such a statistic may have no ``m``, and is then a draft.
``cap`` (:data:`OVERLAY_CAP`, 3.0) bounds the search: beyond three times the model's own moves the
set is no longer the model's scenario but the overlay's, and a run that needs more is a draft.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.conservativeness.statistics import open_factors
from risk_dagster.translate.pair_envelope import pair_table, pairs_outside_history
from risk_dagster.translate.plausibility.rules import hard_rule_violations
from risk_dagster.translate.rating_spreads import ANCHOR_FACTOR, RATING_FACTORS, rating_spread_levels, stress_rank
from risk_dagster.translate.shockset import ShockSet

OVERLAY_CAP = 3.0
"""Largest multiplier searched."""
OVERLAY_STEP = 0.01
"""Resolution of the multiplier."""


def scale_open_factors(shocks: ShockSet, multiplier: float) -> ShockSet:
    """A copy of ``shocks`` with every open factor's change multiplied by ``multiplier``.

    Fixed factors are untouched. The rating-bucket spreads are a function of the BBB-10y anchor's
    path and of each sample's rank ``u`` of its Baa-10y basis: with the anchor fixed (every Fed
    scenario) uniform scaling keeps both (the basis moves by ``m`` times the open Baa change, the
    same monotone map for every sample), so the buckets are left as they are; with an open anchor
    they are re-derived from the scaled anchor, ``u`` re-ranked on the scaled set.
    ``multiplier = 1`` gives the input back in the first case.
    """
    m = float(multiplier)
    x = shocks.shocks.copy()
    derived = [f for f in RATING_FACTORS if f in shocks.factor_ids]
    opened = set(open_factors(shocks)) - set(derived)
    cols = [k for k, f in enumerate(shocks.factor_ids) if f in opened]
    x[:, :, cols] *= m
    meta = dict(shocks.metadata)
    meta["overlay_multiplier"] = m
    if derived and ANCHOR_FACTOR in opened:
        if len(derived) != len(RATING_FACTORS):
            raise ValueError(f"{shocks.scenario_id}: some rating buckets but not all {list(RATING_FACTORS)}")
        j = shocks.factor_index(ANCHOR_FACTOR)
        u, _how = stress_rank(replace(shocks, shocks=x))
        jump, levels, _raised = rating_spread_levels(float(shocks.jump_off[j]), x[:, :, j], u)
        idx = [shocks.factor_index(f) for f in RATING_FACTORS]
        with np.errstate(invalid="ignore"):
            x[:, :, idx] = (levels - jump[None, None, :]) * 100.0
    return ShockSet(
        shocks=x, jump_off=shocks.jump_off.copy(), factor_ids=list(shocks.factor_ids),
        shock_types=list(shocks.shock_types), quarters=list(shocks.quarters), scenario_id=shocks.scenario_id,
        model_id=shocks.model_id, model_version=f"{shocks.model_version}+overlay{m:.2f}", seed=shocks.seed,
        metadata=meta,
    )  # fmt: skip


@dataclass(frozen=True)
class ScaledSet:
    """A scaled set after re-screening."""

    multiplier: float
    shocks: ShockSet
    """The accepted samples."""
    samples_before: int
    rejected_by_rule: dict[str, int]
    """Hard rule -> samples that break it (a sample may break several)."""
    pairs_outside: int
    """Pair-quarters whose median lies outside history (0 for an admissible ``m``)."""
    pair_notes: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return self.samples_before - self.shocks.n_samples

    @property
    def admissible(self) -> bool:
        return self.shocks.n_samples > 0 and self.pairs_outside == 0

    def summary(self) -> dict[str, Any]:
        return {
            "multiplier": self.multiplier,
            "samples": self.shocks.n_samples,
            "rejected": self.rejected,
            "rejected_by_rule": {k: v for k, v in self.rejected_by_rule.items() if v},
            "pairs_outside_history": self.pairs_outside,
            "pair_notes": self.pair_notes,
        }


def rescreen(scaled: ShockSet, rules: Any, history_levels: pd.DataFrame, multiplier: float) -> ScaledSet:
    """Reject the samples of ``scaled`` that break a hard rule; measure the pair envelope."""
    n = scaled.n_samples
    violations = hard_rule_violations(scaled, rules)
    bad = np.zeros(n, dtype=bool)
    for v in violations.values():
        bad |= np.asarray(v, dtype=bool)
    accepted = scaled.select(~bad)
    outside = pairs_outside_history(pair_table(accepted, history_levels)) if accepted.n_samples else pd.DataFrame()
    notes = [f"{r.pair} {r.quarter} median {r.median:.2f} (history {r.history_min:.2f} to {r.history_max:.2f})"
             for r in outside.head(5).itertuples()]  # fmt: skip
    return ScaledSet(
        multiplier=float(multiplier), shocks=accepted, samples_before=n,
        rejected_by_rule={r: int(np.asarray(v).sum()) for r, v in violations.items()},
        pairs_outside=int(len(outside)), pair_notes=notes,
    )  # fmt: skip


def multiplier_grid(cap: float = OVERLAY_CAP, step: float = OVERLAY_STEP) -> list[float]:
    """``1.00, 1.01, ..., cap``."""
    return [round(k * step, 10) for k in range(round(1.0 / step), round(cap / step) + 1)]


def smallest_passing(
    candidates: Sequence[float], evaluate: Callable[[float], bool | None]
) -> tuple[float | None, list[tuple[float, bool | None]]]:
    """The first of the ascending ``candidates`` where ``evaluate`` is true, in few evaluations.

    ``evaluate`` returns ``True`` (passes), ``False`` (fails) or ``None`` (inadmissible: the scaled
    set breaks the rules, and so would any larger multiplier). From the first candidate the search
    goes up in strides that double (1, 2, 4, ... candidates); a stride that lands on an inadmissible
    one is bisected back below it; once one passes it bisects between the last failure and that
    pass. It assumes that what passes at ``m`` passes at any larger admissible candidate (see the
    module notes). The ``m`` returned was itself evaluated and passed.

    Returns
    -------
    tuple
        ``m`` (``None`` when no admissible candidate passes) and every ``(m, outcome)`` evaluated,
        in order.
    """
    trials: list[tuple[float, bool | None]] = []

    def test(i: int) -> bool | None:
        outcome = evaluate(candidates[i])
        trials.append((candidates[i], outcome))
        return outcome

    if not candidates:
        return None, trials
    first = test(0)
    if first:
        return candidates[0], trials
    if first is None:
        return None, trials
    fail, ceiling = 0, len(candidates)  # ceiling: the first index known inadmissible (or past the end)
    stride, passed = 1, None
    while passed is None:
        if ceiling - fail <= 1:
            return None, trials
        i = fail + stride if fail + stride < ceiling else (fail + ceiling) // 2
        outcome = test(i)
        if outcome is None:
            ceiling = i  # too far: bisect below it
        elif outcome:
            passed = i
        else:
            fail, stride = i, 2 * stride
    while passed - fail > 1:  # invariant: fail fails, passed passes
        mid = (fail + passed) // 2
        if test(mid):
            passed = mid
        else:
            fail = mid
    return candidates[passed], trials


__all__ = [
    "OVERLAY_CAP",
    "OVERLAY_STEP",
    "ScaledSet",
    "multiplier_grid",
    "rescreen",
    "scale_open_factors",
    "smallest_passing",
]
