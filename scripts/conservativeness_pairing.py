"""Paired against independent resampling of statistics 1-20, on a run's saved outcomes.

Reproduces the reason ``bootstrap_test`` pairs by default (``risk_dagster/conservativeness/bootstrap.py``):
sample ``i`` of the AI and of the traditional set share their loan-loss residual draw, so resampling the
sets independently adds that shared variance twice and widens the bounds of the loss and capital
statistics. Prints, per statistic, the bound under both schemes and the verdicts.

Usage::

    python scripts/conservativeness_pairing.py OUT/conservativeness/fed-2026-severely-adverse
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from risk_dagster.conservativeness.bootstrap import bootstrap_test
from risk_dagster.conservativeness.saved import load_outcomes


def main(folder: Path) -> None:
    doc = json.loads((folder / "statistics.json").read_text(encoding="utf-8"))
    ai, trad = load_outcomes(folder / "outcomes_ai.parquet"), load_outcomes(folder / "outcomes_traditional.parquet")
    cet1, seed = float(doc["jump_off_cet1_capital"]), int(doc["seed"])
    paired = bootstrap_test(ai, trad, cet1, seed=seed)
    independent = bootstrap_test(ai, trad, cet1, seed=seed, paired=False)
    rows = [
        {"statistic": p.id, "d": p.difference, "tolerance": p.tolerance, "bound_paired": p.lower_bound,
         "bound_independent": i.lower_bound, "paired": "pass" if p.passed else "FAIL",
         "independent": "pass" if i.passed else "FAIL"}
        for p, i in zip(paired, independent, strict=True)
    ]  # fmt: skip
    table = pd.DataFrame(rows).set_index("statistic")
    print(f"{folder}: {len(ai.total_loss)} AI and {len(trad.total_loss)} traditional samples, seed {seed}")
    print(table.to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"pass: paired {sum(p.passed for p in paired)}/20, independent {sum(i.passed for i in independent)}/20")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
