"""Translate one macro scenario with every registry lane, filter, and keep the most conservative set.

This is the one place the translation steps are chained (draw, plausibility filter, severity,
choice), shared by the Dagster assets and the ``risk-dagster translate`` command.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from risk_dagster.market.history import FactorHistory
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.base import Translator
from risk_dagster.translate.conditioning import condition_on, conditioning_info, to_canonical
from risk_dagster.translate.features import check_conditioning
from risk_dagster.translate.training import TrainingSet, build_training_set
from risk_dagster.translate.plausibility import PlausibilityFilter, PlausibilityReport
from risk_dagster.translate.registry import factor_severity, most_conservative
from risk_dagster.translate.shockset import ShockSet

Severity = Callable[[ShockSet], float]


@dataclass
class LaneDraw:
    """What one translator drew for a scenario, after the plausibility filter."""

    lane: str
    shockset: ShockSet
    report: PlausibilityReport
    severity: float

    def row(self) -> dict[str, Any]:
        return {
            "lane": self.lane,
            "model": self.shockset.model_id,
            "version": self.shockset.model_version,
            "drawn": self.report.n_samples,
            "accepted": self.shockset.n_samples,
            "rejection_rate": round(1.0 - self.report.acceptance_rate, 4),
            "severity": round(float(self.severity), 4),
        }


@dataclass
class TranslationOutcome:
    """Every lane's filtered draws for one scenario and the lane chosen for use downstream."""

    scenario_id: str
    draws: dict[str, LaneDraw]
    chosen_lane: str
    chosen: ShockSet

    def table(self) -> pd.DataFrame:
        frame = pd.DataFrame([d.row() for d in self.draws.values()])
        frame["used"] = frame["lane"] == self.chosen_lane
        return frame

    def summary(self) -> dict[str, Any]:
        """Plain-JSON summary for ``run_summary.json``."""
        chosen = self.draws[self.chosen_lane]
        return {
            "chosen_lane": self.chosen_lane,
            "translator": {"model_id": chosen.shockset.model_id, "version": chosen.shockset.model_version},
            "lanes": {lane: d.row() for lane, d in self.draws.items()},
            "plausibility_rejection_rate": round(1.0 - chosen.report.acceptance_rate, 4),
            "n_samples": chosen.shockset.n_samples,
        }


def draw_filtered(
    translator: Translator,
    scenario: MacroScenario,
    history: MacroScenario,
    plausibility: PlausibilityFilter,
    *,
    n_samples: int,
    seed: int,
    factor_history: FactorHistory | None = None,
    training: TrainingSet | None = None,
) -> tuple[ShockSet, PlausibilityReport]:
    """Draw ``n_samples`` joint paths and keep those the plausibility filter accepts.

    The scenario is first put on the canonical variables and the translator conditioned on
    what it gives (:mod:`risk_dagster.translate.conditioning`): a Fed scenario goes through
    unchanged; one that gives only some inputs is translated by the same model fitted on
    those (``training``, or the history's own training set with unit reliability weights),
    which the drawn set's ``metadata["conditioning"]`` records.
    """
    canonical = to_canonical(scenario, history)
    check_conditioning(canonical)
    info = conditioning_info(translator, canonical)
    if info["restricted"] and training is None:
        if factor_history is None:
            raise ValueError(f"{scenario.scenario_id}: conditioning on a subset of inputs needs the factor history")
        training = build_training_set(factor_history, history)
        info["training"] = "the factor history with unit reliability weights"
    model = condition_on(translator, canonical, training)
    drawn = model.sample(canonical, n_samples, seed, history=history, factor_history=factor_history)  # type: ignore[call-arg]
    drawn.metadata["conditioning"] = info
    report = plausibility.apply(drawn)
    return report.accepted, report


def translate_lanes(
    scenario: MacroScenario,
    history: MacroScenario,
    translators: Mapping[str, Translator],
    plausibility: PlausibilityFilter,
    *,
    n_samples: int,
    seed: int,
    factor_history: FactorHistory | None = None,
    severity: Severity = factor_severity,
    training: TrainingSet | None = None,
) -> TranslationOutcome:
    """Run every lane's translator on the scenario; the most conservative accepted set is used.

    All lanes draw with the same seed so their differences come from the models, not the noise.
    A lane whose samples were all rejected is reported but cannot be chosen.
    """
    if not translators:
        raise ValueError(f"{scenario.scenario_id}: no translator to run")
    draws: dict[str, LaneDraw] = {}
    for lane, translator in translators.items():
        accepted, report = draw_filtered(
            translator, scenario, history, plausibility, n_samples=n_samples, seed=seed,
            factor_history=factor_history, training=training,
        )
        score = severity(accepted) if accepted.n_samples else float("-inf")
        draws[lane] = LaneDraw(lane=lane, shockset=accepted, report=report, severity=score)
    usable = {lane: d.shockset for lane, d in draws.items() if d.shockset.n_samples}
    if not usable:
        raise ValueError(f"{scenario.scenario_id}: the plausibility filter rejected every sample of every lane")
    chosen_lane, chosen = most_conservative(usable, severity=severity)
    return TranslationOutcome(scenario_id=scenario.scenario_id, draws=draws, chosen_lane=chosen_lane, chosen=chosen)
