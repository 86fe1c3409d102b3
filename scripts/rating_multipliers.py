"""Print the stress multiples of the spreads by rating bucket (``risk_dagster.translate.rating_spreads``).

Works from the module's cited ICE BofA quarterly averages (``ICE_OAS_QUARTERLY``, the ICE data
itself is not shipped) and the Fed BBB-10y spread of the shipped 2026 Fed history: per bucket the
quarterly-average OAS at both ends of each episode, the multiple ``dOAS / dBBB_fed``, its ratio to
BBB's, the 2024Q4 reference level and the floor; then the Fed values used and the jump-off levels
the 2026 scenarios get (BBB-10y 2025Q4).

Run from the repository root: ``python scripts/rating_multipliers.py``.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from risk_dagster.scenarios.registry import load_fed_history
from risk_dagster.translate.rating_spreads import (
    EPISODES,
    RATING_BUCKETS,
    rating_multipliers,
    rating_spread_levels,
)


def main() -> int:
    history = load_fed_history("2026")
    wide = history.wide()
    mult = rating_multipliers(wide)
    pd.set_option("display.width", 160)
    print("Stress multiples m = dOAS(ICE BofA, quarterly average) / dBBB-10y(Fed, quarterly average)")
    print(mult.table().round(3).to_string())
    print()
    for episode, (start, end) in EPISODES.items():
        print(f"episode {episode}: Fed BBB-10y {mult.fed_bbb[start]:.1f} ({start}) -> {mult.fed_bbb[end]:.1f} ({end}), "
              f"move {mult.fed_bbb[end] - mult.fed_bbb[start]:.1f} pp")
    jump_q = history.jump_off if history.jump_off is not None else wide.index.max()
    bbb0 = float((wide["bbb_yield"] - wide["treasury_10y"]).loc[jump_q])
    jump, _, _ = rating_spread_levels(bbb0, np.zeros((1, 1)), np.array([0.5]), mult)
    print(f"reference {list(mult.fed_bbb)[-1]}: Fed BBB-10y {mult.reference_bbb:.1f}; jump-off {jump_q}: "
          f"BBB-10y {bbb0:.2f}, scale {bbb0 / mult.reference_bbb:.4f}")
    print("jump-off levels (percent): " + ", ".join(f"{b} {v:.3f}" for b, v in zip(RATING_BUCKETS, jump, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
