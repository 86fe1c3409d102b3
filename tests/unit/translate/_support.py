"""Helpers shared by the translator tests."""

from __future__ import annotations

import numpy as np

from risk_dagster.translate.shockset import ShockSet, shocks_from_levels

N = 200
"""Samples drawn in the translator tests (small: 2 shared cores)."""


def with_level(ss: ShockSet, sample: int, factor: str, quarter: int, level: float) -> None:
    """Set one sample's level of ``factor`` in ``quarter`` (by rewriting its shock), in place."""
    j = ss.factor_index(factor)
    ss.shocks[sample, quarter, j] = shocks_from_levels(
        ss.jump_off[j : j + 1], np.array([level]), [ss.shock_types[j]]
    )[0]
