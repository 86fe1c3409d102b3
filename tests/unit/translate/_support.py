"""Helpers shared by the translator tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.shockset import ShockSet, shocks_from_levels

N = 200
"""Samples drawn in the translator tests (small: 2 shared cores)."""


def with_level(ss: ShockSet, sample: int, factor: str, quarter: int, level: float) -> None:
    """Set one sample's level of ``factor`` in ``quarter`` (by rewriting its shock), in place."""
    j = ss.factor_index(factor)
    ss.shocks[sample, quarter, j] = shocks_from_levels(
        ss.jump_off[j : j + 1], np.array([level]), [ss.shock_types[j]]
    )[0]


def tiny_history() -> MacroScenario:
    """A four-quarter Fed history ending at the EBA's 2024Q4 jump-off (the 10y only)."""
    index = pd.period_range("2024Q1", "2024Q4", freq="Q-DEC", name="quarter")
    return MacroScenario.from_wide("h", pd.DataFrame({"treasury_10y": [4.0, 4.1, 4.2, 4.3]}, index=index),
                                   source="fed", kind="historic", name="h")  # fmt: skip


def tiny_eba_scenario(given: dict[str, list[float]]) -> MacroScenario:
    """An EBA-like scenario jumping off in 2024Q4 with two projected quarters of the ``given`` canonical variables."""
    index = pd.period_range("2024Q4", "2025Q2", freq="Q-DEC", name="quarter")
    return MacroScenario.from_wide("s", pd.DataFrame(given, index=index), source="eba", kind="adverse", name="s",
                                   jump_off=pd.Period("2024Q4", freq="Q-DEC"))  # fmt: skip
