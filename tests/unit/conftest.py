"""Session-wide fixtures of the unit tests (translation, conservativeness): the shipped data is read, and the satellite
fitted, once per session."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from risk_dagster.market.history import FactorHistory, build_factor_history
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.scenarios.registry import load_fed_history, load_scenario
from risk_dagster.translate.base import TrainingSet, build_training_set
from risk_dagster.translate.plausibility import PlausibilityFilter
from risk_dagster.translate.satellite import SatelliteTranslator
from risk_dagster.translate.shockset import ShockSet
from translate._support import N  # tests/unit is on sys.path (rootdir conftest, no __init__)

if TYPE_CHECKING:  # imported lazily below: torch/transformers only for the tests that need them
    from risk_dagster.translate.transformer import TransformerTranslator


@pytest.fixture(scope="session")
def fed_history_2026() -> MacroScenario:
    return load_fed_history("2026")


@pytest.fixture(scope="session")
def factor_history(fed_history_2026: MacroScenario) -> FactorHistory:
    return build_factor_history(fed_history_2026.wide())


@pytest.fixture(scope="session")
def training_set(factor_history: FactorHistory, fed_history_2026: MacroScenario) -> TrainingSet:
    return build_training_set(factor_history, fed_history_2026)


@pytest.fixture(scope="session")
def satellite(training_set: TrainingSet) -> SatelliteTranslator:
    return SatelliteTranslator().fit(training_set)


@pytest.fixture(scope="session")
def severely_adverse() -> MacroScenario:
    return load_scenario("fed-2026-severely-adverse")


@pytest.fixture(scope="session")
def baseline() -> MacroScenario:
    return load_scenario("fed-2026-baseline")


@pytest.fixture(scope="session")
def transformer_small(training_set: TrainingSet) -> TransformerTranslator:
    """The transformer translator, small preset (tiny model, few epochs), fitted once."""
    from risk_dagster.translate.transformer import TransformerConfig, TransformerTranslator

    return TransformerTranslator(TransformerConfig.small()).fit(training_set)


@pytest.fixture(scope="session")
def filt(factor_history: FactorHistory) -> PlausibilityFilter:
    """The plausibility filter fitted on the shipped history (seed 0)."""
    return PlausibilityFilter().fit(factor_history, seed=0)


@pytest.fixture(scope="session")
def sa_set(satellite: SatelliteTranslator, severely_adverse: MacroScenario, fed_history_2026: MacroScenario) -> ShockSet:
    """N satellite samples of the 2026 severely adverse scenario (unfiltered)."""
    return satellite.sample(severely_adverse, N, 1, history=fed_history_2026)


@pytest.fixture(scope="session")
def bl_set(satellite: SatelliteTranslator, baseline: MacroScenario, fed_history_2026: MacroScenario) -> ShockSet:
    """N satellite samples of the 2026 baseline (unfiltered)."""
    return satellite.sample(baseline, N, 2, history=fed_history_2026)
