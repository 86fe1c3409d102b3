"""The history every model is fitted on, assembled in one place for the assets and the CLI.

Loads the shipped history sources and the Fed's historic tables, assesses each source's
reliability weight, and builds the quarterly factor history blended by those weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from risk_dagster.market.history import (
    FactorHistory,
    build_factor_history,
    load_history_sources,
    overlapping_quantities,
    source_frames,
)
from risk_dagster.market.loaders import HISTORY_SOURCES
from risk_dagster.quality.contracts import load_contract
from risk_dagster.quality.reliability import SourceAssessment, assess_sources
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.scenarios.registry import load_fed_history

FED_HISTORY_VINTAGE = "2026"


def contract_priors() -> dict[str, float]:
    """Prior reliability weight of each source, as its datasets' contracts state it."""
    priors = {"fed": load_contract("fed_scenario_domestic").reliability_weight}
    for spec in HISTORY_SOURCES.values():
        priors[spec.source] = load_contract(spec.contract).reliability_weight
    return priors


def assess_history(
    fed_wide: pd.DataFrame,
    sources: Mapping[str, pd.DataFrame],
    contract_failures: Mapping[str, Sequence[tuple[str, int, int]]] | None = None,
) -> dict[str, SourceAssessment]:
    """Reliability assessment of every history source (Fed tables included), keyed by source id."""
    return assess_sources(
        source_frames(fed_wide, sources),
        overlapping_quantities(fed_wide, sources),
        priors=contract_priors(),
        contract_failures=contract_failures,
    )


@dataclass
class HistoryInputs:
    """Fed history, history sources, their reliability and the factor history built from them."""

    fed_history: MacroScenario
    sources: dict[str, pd.DataFrame]
    assessments: dict[str, SourceAssessment]
    factor_history: FactorHistory

    @property
    def weights(self) -> dict[str, float]:
        return {name: float(a.weight) for name, a in self.assessments.items()}


def load_history_inputs(vintage: str = FED_HISTORY_VINTAGE) -> HistoryInputs:
    """Everything the translators are fitted on, from the shipped files (no Dagster needed)."""
    fed_history = load_fed_history(vintage)
    sources = load_history_sources()
    assessments = assess_history(fed_history.wide(), sources)
    weights = {name: float(a.weight) for name, a in assessments.items()}
    factor_history = build_factor_history(fed_history.wide(), sources=sources, weights=weights)
    return HistoryInputs(fed_history, sources, assessments, factor_history)
