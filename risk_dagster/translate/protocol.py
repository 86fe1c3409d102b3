"""The :class:`Translator` protocol: what the satellite and the transformer both offer.

A ShockSet holds *cumulative* changes from the jump-off quarter; models predict *one-quarter*
changes and cumulate them (:mod:`risk_dagster.translate.assembly`)."""

from __future__ import annotations

from typing import Protocol, Self, runtime_checkable

import pandas as pd

from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.shockset import FloatArray, ShockSet
from risk_dagster.translate.training import TrainingSet


# =============================================================================== the protocol
@runtime_checkable
class Translator(Protocol):
    """What the satellite and the transformer both offer; each is a drop-in for the other."""

    model_id: str
    version: str

    def fit(self, training: TrainingSet) -> Self:
        """Fit on a training set; returns ``self``."""
        ...

    def sample(self, scenario: MacroScenario, n_samples: int, seed: int, *, history: MacroScenario) -> ShockSet:
        """Joint shocks ``[n_samples, quarters, factors]``: cumulative changes from the jump-off
        quarter for every projected quarter, consistent with what the scenario fixes."""
        ...

    def predictive_changes(
        self, X: pd.DataFrame, n_samples: int, seed: int, *, context: pd.DataFrame | None = None
    ) -> FloatArray:
        """``[n_samples, len(X), factors]`` one-quarter changes given features ``X`` (rows: the
        quarters to predict); ``context`` holds earlier quarters' features for lags/windows."""
        ...
