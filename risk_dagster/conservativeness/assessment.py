"""The whole conservativeness test of a scenario: 25 statistics per lane, the lane ranking, the overlay.

:func:`assess_set` tests one AI set against the traditional set on all 25 statistics (1-20 from the
sets' samples, :mod:`.statistics`; 21-25 from the translators' calibration on history,
:mod:`.calibration`). :func:`assess_scenario` does that for every registry lane's set, ranks the
lanes (most statistics passed, then the lowest median CET1 minimum), and, when the submitted lane's
set fails any statistic, searches the conservative overlay (:mod:`.overlay`): the smallest
multiplier ``m`` on the AI's open-factor changes, in the scenario's samples and in the calibration
draws, after which all 25 pass, re-running the engine and the capital projection on each scaled set.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from risk_dagster.conservativeness.bootstrap import MIN_RESAMPLES, StatisticTest, bootstrap_test, calibration_test, results_frame
from risk_dagster.conservativeness.calibration import (
    AI_MODEL,
    TRADITIONAL_MODEL,
    CalibrationDraws,
    QuarterCalibration,
    quarter_calibration,
)
from risk_dagster.conservativeness.overlay import (
    OVERLAY_CAP,
    ScaledSet,
    multiplier_grid,
    rescreen,
    scale_open_factors,
    smallest_passing,
)
from risk_dagster.conservativeness.registry import STATISTICS
from risk_dagster.conservativeness.statistics import CapitalOutcomes, SetOutcomes, set_outcomes
from risk_dagster.engine.sensitivities import delta_vector
from risk_dagster.translate.shockset import ShockSet

OverlayStatus = Literal["not_needed", "applied", "not_found"]


@dataclass(frozen=True)
class SetAssessment:
    """All 25 statistics of one AI set against the traditional set."""

    label: str
    multiplier: float
    shocks: ShockSet
    capital: CapitalOutcomes
    outcomes: SetOutcomes
    calibration: QuarterCalibration
    tests: list[StatisticTest]

    @property
    def passed(self) -> int:
        return sum(t.passed for t in self.tests)

    @property
    def all_passed(self) -> bool:
        return self.passed == len(STATISTICS) and len(self.tests) == len(STATISTICS)

    @property
    def cet1_min_median(self) -> float:
        return float(np.median(self.outcomes.min_ratio))

    def table(self) -> pd.DataFrame:
        return results_frame(self.tests)


@dataclass(frozen=True)
class TraditionalBasis:
    """What every AI set is tested against: the traditional set's outcomes and calibration."""

    outcomes: SetOutcomes
    calibration: QuarterCalibration
    jump_off_cet1_capital: float


def calibration_delta(sensitivities: pd.DataFrame, draws: CalibrationDraws) -> np.ndarray:
    """The book's deltas (market scope, total) on the calibration's open factors."""
    return delta_vector(sensitivities, list(draws.factor_ids))


def traditional_basis(
    capital: CapitalOutcomes, shocks: ShockSet, sensitivities: pd.DataFrame, draws: CalibrationDraws
) -> TraditionalBasis:
    delta = calibration_delta(sensitivities, draws)
    return TraditionalBasis(
        outcomes=set_outcomes(capital, shocks, sensitivities),
        calibration=quarter_calibration(draws.draws[TRADITIONAL_MODEL], draws.realized, delta),
        jump_off_cet1_capital=float(capital.start_cet1_capital),
    )


def assess_set(
    label: str,
    capital: CapitalOutcomes,
    shocks: ShockSet,
    basis: TraditionalBasis,
    sensitivities: pd.DataFrame,
    draws: CalibrationDraws,
    *,
    multiplier: float = 1.0,
    seed: int = 0,
    n_resamples: int = MIN_RESAMPLES,
) -> SetAssessment:
    """Test one AI set (its transformer calibration draws scaled by ``multiplier``) on all 25."""
    outcomes = set_outcomes(capital, shocks, sensitivities)
    ai_draws = draws.draws[AI_MODEL] * float(multiplier)
    calibration = quarter_calibration(ai_draws, draws.realized, calibration_delta(sensitivities, draws))
    tests = bootstrap_test(outcomes, basis.outcomes, basis.jump_off_cet1_capital, n_resamples=n_resamples, seed=seed)
    tests += calibration_test(calibration, basis.calibration, basis.jump_off_cet1_capital, n_resamples=n_resamples, seed=seed)
    return SetAssessment(label, float(multiplier), shocks, capital, outcomes, calibration, tests)


@dataclass(frozen=True)
class ConservativenessReport:
    """What the ``conservativeness`` asset hands downstream (light: no sets, no capital paths)."""

    scenario_id: str
    table: pd.DataFrame
    """The submitted set's 25 tests (:func:`~risk_dagster.conservativeness.bootstrap.results_frame`)."""
    raw_table: pd.DataFrame
    """The chosen lane's set before any overlay."""
    lanes: pd.DataFrame
    summary: dict[str, Any]

    @property
    def passed(self) -> int:
        return int(self.table["passed"].sum())

    @property
    def verdict(self) -> str:
        return str(self.summary["verdict"])


@dataclass
class ScenarioAssessment:
    """Every lane's test, the ranking, the overlay and the set submitted."""

    scenario_id: str
    lanes: dict[str, SetAssessment]
    chosen_lane: str
    most_conservative_lane: str
    submitted: SetAssessment
    """The chosen lane's set, or its overlay when one was needed and found."""
    overlay_status: OverlayStatus
    overlay_trials: list[dict[str, Any]] = field(default_factory=list)
    screening: ScaledSet | None = None
    """The submitted overlay set's re-screening (``None`` without an overlay)."""
    cap: float = OVERLAY_CAP
    overlay_reason: str = ""
    """Why no overlay was found (``not_found``), or what the one applied needed."""

    @property
    def raw(self) -> SetAssessment:
        """The chosen lane's set before any overlay."""
        return self.lanes[self.chosen_lane]

    @property
    def multiplier(self) -> float:
        return self.submitted.multiplier

    @property
    def verdict(self) -> Literal["submission", "draft"]:
        return "submission" if self.submitted.all_passed else "draft"

    def lane_table(self) -> pd.DataFrame:
        return pd.DataFrame(
            [{"lane": lane, "passed": a.passed, "total": len(a.tests), "cet1_min_median_pct": 100 * a.cet1_min_median,
              "samples": a.shocks.n_samples, "failed": ", ".join(t.id for t in a.tests if not t.passed),
              "chosen": lane == self.chosen_lane, "most_conservative": lane == self.most_conservative_lane}
             for lane, a in self.lanes.items()]
        ).set_index("lane")  # fmt: skip

    def report(self) -> ConservativenessReport:
        return ConservativenessReport(self.scenario_id, self.submitted.table(), self.raw.table(), self.lane_table(),
                                      self.summary())  # fmt: skip

    def summary(self) -> dict[str, Any]:
        return {
            "scenario_id": self.scenario_id,
            "passed": self.submitted.passed,
            "total": len(STATISTICS),
            "verdict": self.verdict,
            "chosen_lane": self.chosen_lane,
            "most_conservative_lane": self.most_conservative_lane,
            "overlay_multiplier": self.multiplier,
            "overlay_status": self.overlay_status,
            "overlay_cap": self.cap,
            "overlay_reason": self.overlay_reason,
            "raw_passed": self.raw.passed,
            "lanes": {lane: {"passed": a.passed, "cet1_min_median_pct": round(100 * a.cet1_min_median, 4),
                             "failed": [t.id for t in a.tests if not t.passed]} for lane, a in self.lanes.items()},
            "overlay_trials": self.overlay_trials,
            "screening": None if self.screening is None else self.screening.summary(),
        }  # fmt: skip


def most_conservative(lanes: Mapping[str, SetAssessment]) -> str:
    """The lane passing most statistics; ties broken by the lowest median CET1 minimum."""
    return min(lanes, key=lambda lane: (-lanes[lane].passed, lanes[lane].cet1_min_median))


def assess_scenario(
    scenario_id: str,
    lane_sets: Mapping[str, ShockSet],
    chosen_lane: str,
    chosen_capital: CapitalOutcomes,
    basis: TraditionalBasis,
    sensitivities: pd.DataFrame,
    draws: CalibrationDraws,
    evaluate: Callable[[str, ShockSet], CapitalOutcomes],
    *,
    rules: Any,
    history_levels: pd.DataFrame,
    seed: int = 0,
    n_resamples: int = MIN_RESAMPLES,
    cap: float = OVERLAY_CAP,
    progress: Callable[[str], None] | None = None,
) -> ScenarioAssessment:
    """Test every lane, rank them, and overlay the chosen lane's set when it fails.

    Parameters
    ----------
    lane_sets
        Lane -> its accepted AI set (the chosen lane's is the one the engine and capital ran on).
    chosen_capital
        The chosen lane's capital projection (reused, not recomputed).
    evaluate
        ``(label, shocks) -> CapitalOutcomes``: the engine and capital on one more set
        (:meth:`~risk_dagster.capital.set_evaluation.SetEvaluator.evaluate`).
    rules, history_levels
        The plausibility filter's hard rules and the factor history's levels (re-screening).
    """
    say = progress or (lambda _m: None)
    if chosen_lane not in lane_sets:
        raise ValueError(f"{scenario_id}: chosen lane {chosen_lane!r} not among {sorted(lane_sets)}")
    kw = {"seed": seed, "n_resamples": n_resamples}
    lanes: dict[str, SetAssessment] = {}
    for lane, shocks in lane_sets.items():
        if shocks.n_samples == 0:
            continue
        capital = chosen_capital if lane == chosen_lane else evaluate(f"ai_{lane}", shocks)
        lanes[lane] = assess_set(lane, capital, shocks, basis, sensitivities, draws, **kw)
        say(f"conservativeness {scenario_id}: lane {lane} passes {lanes[lane].passed}/{len(STATISTICS)}")
    raw = lanes[chosen_lane]
    best = most_conservative(lanes)
    if raw.all_passed:
        return ScenarioAssessment(scenario_id, lanes, chosen_lane, best, raw, "not_needed")

    delta = calibration_delta(sensitivities, draws)
    trials: list[dict[str, Any]] = []

    def calibration_passes(m: float) -> bool:
        ai = quarter_calibration(draws.draws[AI_MODEL] * m, draws.realized, delta)
        tests = calibration_test(ai, basis.calibration, basis.jump_off_cet1_capital, n_resamples=n_resamples, seed=seed)
        return all(t.passed for t in tests)

    grid = multiplier_grid(cap)
    candidates = [m for m in grid if calibration_passes(m)]
    trials.append({"stage": "calibration (21-25)", "grid": f"{grid[0]:.2f} to {grid[-1]:.2f} by 0.01",
                   "passing": _ranges(candidates)})  # fmt: skip
    if not candidates:
        reason = f"statistics 21-25 do not all pass at any multiplier up to the cap {cap:.2f}"
        say(f"conservativeness {scenario_id}: {reason}")
        return ScenarioAssessment(scenario_id, lanes, chosen_lane, best, raw, "not_found", trials, None, cap, reason)
    m_calibration = candidates[0]

    evaluated: dict[float, tuple[SetAssessment | None, ScaledSet]] = {}

    def passes(m: float) -> bool | None:
        if m == 1.0:
            evaluated[m] = (raw, rescreen(raw.shocks, rules, history_levels, 1.0))
            ok: bool | None = raw.all_passed
            result: SetAssessment | None = raw
            screened = evaluated[m][1]
        else:
            screened = rescreen(scale_open_factors(raw.shocks, m), rules, history_levels, m)
            result = None
            if screened.admissible:
                capital = evaluate(f"ai_overlay_{m:.2f}", screened.shocks)
                result = assess_set(f"overlay {m:.2f}", capital, screened.shocks, basis, sensitivities, draws,
                                    multiplier=m, **kw)  # fmt: skip
            evaluated[m] = (result, screened)
            ok = None if result is None else result.all_passed
        trials.append({"stage": "all 25", "multiplier": m, "passed": None if result is None else result.passed,
                       "of": len(STATISTICS), "all_passed": bool(ok), "admissible": screened.admissible,
                       "failed": [] if result is None else [t.id for t in result.tests if not t.passed],
                       **{k: v for k, v in screened.summary().items() if k != "multiplier"}})  # fmt: skip
        say(f"conservativeness {scenario_id}: overlay m={m:.2f} -> {trials[-1]['passed']} passed")
        return ok

    m, searched = smallest_passing(candidates, passes)
    if m is None:
        last, outcome = searched[-1]
        reason = (
            f"the set scaled by {last:.2f} is inadmissible ({_inadmissible(evaluated[last][1])}) before all 25 pass"
            if outcome is None else f"no multiplier where 21-25 pass ({m_calibration:.2f} to {candidates[-1]:.2f}) passes all 25"
        )  # fmt: skip
        say(f"conservativeness {scenario_id}: no overlay: {reason}")
        return ScenarioAssessment(scenario_id, lanes, chosen_lane, best, raw, "not_found", trials, None, cap, reason)
    final, screened = evaluated[m]
    if final is None:  # passes(m) held, so m was evaluated; raised, not asserted (python -O)
        raise RuntimeError(f"{scenario_id}: overlay m={m} passed without an assessment")
    reason = (f"statistics 21-25 pass from {m_calibration:.2f} ({len(candidates)} of the grid's multipliers); all 25 "
              f"from {m:.2f} ({screened.rejected} samples rejected)")  # fmt: skip
    return ScenarioAssessment(scenario_id, lanes, chosen_lane, best, final, "applied", trials, screened, cap, reason)


def _ranges(values: list[float], step: float = 0.01) -> list[str]:
    """``[1.02, 1.03, 1.04, 1.2]`` -> ``["1.02-1.04", "1.20"]``."""
    out: list[list[float]] = []
    for v in values:
        if out and abs(v - out[-1][-1] - step) < step / 2:
            out[-1].append(v)
        else:
            out.append([v])
    return [f"{r[0]:.2f}" if len(r) == 1 else f"{r[0]:.2f}-{r[-1]:.2f}" for r in out]


def _inadmissible(screened: ScaledSet) -> str:
    if screened.shocks.n_samples == 0:
        return f"every sample breaks a hard rule: {screened.summary()['rejected_by_rule']}"
    return f"{screened.pairs_outside} open-fixed pair-quarters outside history, e.g. {'; '.join(screened.pair_notes[:2])}"


__all__ = [
    "ConservativenessReport",
    "ScenarioAssessment",
    "SetAssessment",
    "TraditionalBasis",
    "assess_scenario",
    "assess_set",
    "calibration_delta",
    "most_conservative",
    "traditional_basis",
]
