"""``risk-dagster translate``: one scenario, one model, accepted samples to an ``.npz``, no Dagster.

Uses the same pieces as the assets: the history inputs (reliability-weighted factor history),
the training set, the registry (for the transformer) and the plausibility filter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from risk_dagster.market.inputs import HistoryInputs, load_history_inputs
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.scenarios.registry import load_scenario, read_scenario_files
from risk_dagster.translate.base import TrainingSet, Translator, build_training_set
from risk_dagster.translate.pipeline import draw_filtered
from risk_dagster.translate.plausibility import PlausibilityFilter, PlausibilityReport
from risk_dagster.translate.registry import ModelRegistry, shipped_registry_dir
from risk_dagster.translate.satellite import SatelliteTranslator
from risk_dagster.translate.shockset import ShockSet

MODELS: tuple[str, ...] = ("satellite", "transformer")


@dataclass
class TranslateRun:
    """What ``translate`` drew, kept and wrote."""

    scenario: MacroScenario
    accepted: ShockSet
    report: PlausibilityReport
    model_source: str
    out: Path

    def summary(self) -> dict[str, Any]:
        return {
            "scenario_id": self.scenario.scenario_id,
            "model": self.accepted.model_id,
            "model_version": self.accepted.model_version,
            "model_source": self.model_source,
            "seed": self.accepted.seed,
            "quarters": [self.accepted.quarters[0], self.accepted.quarters[-1]] if self.accepted.quarters else [],
            "factors": len(self.accepted.factor_ids),
            "drawn": self.report.n_samples,
            "accepted": self.report.n_accepted,
            "rejected": self.report.n_rejected,
            "rejected_by_rule": dict(self.report.rejections),
            "out": str(self.out),
        }


def resolve_scenario(scenario_id: str | None, scenario_files: Sequence[str | Path]) -> MacroScenario:
    """The one scenario to translate: a shipped partition id, or the (single) scenario in the files."""
    if scenario_id and not scenario_files:
        return load_scenario(scenario_id)
    scenarios = read_scenario_files([str(p) for p in scenario_files])
    projections = [s for s in scenarios if s.kind != "historic"]
    if scenario_id:
        projections = [s for s in projections if s.scenario_id == scenario_id]
    if len(projections) != 1:
        found = ", ".join(s.scenario_id for s in projections) or "none"
        raise ValueError(f"expected one scenario projection in the file(s), found {found}; pick one with --scenario")
    return projections[0]


def translator_for(model: str, training: TrainingSet, *, registry: str | Path | None = None) -> tuple[Translator, str]:
    """A fitted translator and where it came from.

    The satellite is fitted on the spot (seconds); the transformer is the registry's ``current``
    lane (the shipped registry unless ``registry`` is given), trained on the spot only when no
    registry has one.
    """
    if model == "satellite":
        return SatelliteTranslator().fit(training), "fitted on the shipped history"
    if model == "transformer":
        root = Path(registry) if registry else shipped_registry_dir()
        version = ModelRegistry(root).lane("current") if root.exists() else None
        if version is not None:
            return ModelRegistry(root).load(version.ref), f"registry {root} lane current ({version.ref})"
        from risk_dagster.translate.transformer import TransformerTranslator

        return TransformerTranslator().fit(training), "trained on the shipped history (no registry lane)"
    raise ValueError(f"unknown model {model!r}; expected one of {MODELS}")


def translate(
    *,
    scenario_id: str | None,
    scenario_files: Sequence[str | Path],
    model: str,
    n_samples: int,
    seed: int,
    out: str | Path,
    registry: str | Path | None = None,
    inputs: HistoryInputs | None = None,
) -> TranslateRun:
    """Draw ``n_samples`` paths for the scenario, filter them and write the accepted ones."""
    if n_samples < 1:
        raise ValueError("--samples must be at least 1")
    scenario = resolve_scenario(scenario_id, scenario_files)
    inputs = inputs or load_history_inputs()
    training = build_training_set(inputs.factor_history, inputs.fed_history, inputs.weights)
    translator, source = translator_for(model, training, registry=registry)
    plausibility = PlausibilityFilter().fit(inputs.factor_history, seed=seed, quarters=(len(scenario.quarters),))
    accepted, report = draw_filtered(
        translator,
        scenario,
        inputs.fed_history,
        plausibility,
        n_samples=n_samples,
        seed=seed,
        factor_history=inputs.factor_history,
    )
    path = accepted.save_npz(out)
    return TranslateRun(scenario=scenario, accepted=accepted, report=report, model_source=source, out=path)
