"""The files of a scenario's conservativeness test, and the test recomputed from them.

Layout of ``OUTPUT/conservativeness/<scenario>/``:

* ``statistics.json``: ``statistics`` (the submitted set's 25, each with ``id``, ``number``, ``name``,
  ``direction``, ``unit``, ``ai``, ``traditional``, ``difference``, ``bound``, ``tolerance``,
  ``passed``), ``raw_statistics`` (the chosen lane before any overlay), the summary (``passed``,
  ``total``, ``verdict``, lanes, overlay), and what the recomputation needs (``seed``,
  ``n_resamples``, ``jump_off_cet1_capital``); ``statistics.csv`` the same table;
* ``outcomes_ai.parquet`` / ``outcomes_traditional.parquet``: per-sample outcomes of the submitted AI
  set and the traditional set (:class:`~risk_dagster.conservativeness.statistics.SetOutcomes`);
* ``calibration_ai.parquet`` / ``calibration_traditional.parquet``: per stress quarter counts and
  scores (:class:`~risk_dagster.conservativeness.calibration.QuarterCalibration`);
* ``lanes/<lane>/``: each lane's ``outcomes_ai.parquet``, ``calibration_ai.parquet`` and ``statistics.csv``.

:func:`retest` recomputes every statistic and bound from the parquet files alone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.conservativeness.assessment import ScenarioAssessment, TraditionalBasis
from risk_dagster.conservativeness.bootstrap import StatisticTest, bootstrap_test, calibration_test
from risk_dagster.conservativeness.calibration import QuarterCalibration
from risk_dagster.conservativeness.registry import BY_ID
from risk_dagster.conservativeness.statistics import SetOutcomes
from risk_dagster.storage import write_csv, write_json, write_parquet

STATISTICS_FILE = "statistics.json"


def statistics_records(tests: Sequence[StatisticTest]) -> list[dict[str, Any]]:
    """The JSON view of a table: one object per statistic (``bound`` the 95% lower bound of d)."""
    return [
        {"id": t.id, "number": t.number, "name": BY_ID[t.id].name, "direction": t.direction, "unit": t.unit,
         "ai": t.ai, "traditional": t.traditional, "difference": t.difference, "bound": t.lower_bound,
         "tolerance": t.tolerance, "passed": bool(t.passed), "resamples": t.resamples}
        for t in tests
    ]  # fmt: skip


def _frame(obj: Any) -> pd.DataFrame:
    return pd.DataFrame({f.name: getattr(obj, f.name) for f in fields(obj)})


def write_outcomes(
    folder: Path,
    ai: SetOutcomes,
    traditional: SetOutcomes,
    ai_calibration: QuarterCalibration,
    traditional_calibration: QuarterCalibration,
    quarters: Sequence[str],
) -> None:
    """The four files :func:`retest` reads (besides ``statistics.json``)."""
    write_parquet(folder / "outcomes_ai.parquet", _frame(ai))
    write_parquet(folder / "outcomes_traditional.parquet", _frame(traditional))
    write_parquet(folder / "calibration_ai.parquet", ai_calibration.to_frame(quarters))
    write_parquet(folder / "calibration_traditional.parquet", traditional_calibration.to_frame(quarters))


def write_assessment(
    folder: Path,
    assessment: ScenarioAssessment,
    basis: TraditionalBasis,
    quarters: Sequence[str],
    *,
    seed: int,
    n_resamples: int,
) -> Path:
    """Write the files of the module docstring; returns ``statistics.json``'s path."""
    sub = assessment.submitted
    write_outcomes(folder, sub.outcomes, basis.outcomes, sub.calibration, basis.calibration, quarters)
    for lane, a in assessment.lanes.items():
        write_parquet(folder / "lanes" / lane / "outcomes_ai.parquet", _frame(a.outcomes))
        write_parquet(folder / "lanes" / lane / "calibration_ai.parquet", a.calibration.to_frame(quarters))
        write_csv(folder / "lanes" / lane / "statistics.csv", pd.DataFrame(statistics_records(a.tests)))
    write_csv(folder / "statistics.csv", pd.DataFrame(statistics_records(sub.tests)))
    doc = {
        **assessment.summary(),
        "statistics": statistics_records(sub.tests),
        "raw_statistics": statistics_records(assessment.raw.tests),
        # the overlaid set's capital (CET1 path, minimum, SCB, losses) beside the raw lane's, which
        # capital_projection holds
        "overlay_capital": sub.capital.summary() if assessment.overlay_status == "applied" else None,
        "seed": int(seed),
        "n_resamples": int(n_resamples),
        "jump_off_cet1_capital": basis.jump_off_cet1_capital,
        "units": "USD for usd, decimals for ratio and share; d = direction x (AI - traditional)",
    }
    return write_json(folder / STATISTICS_FILE, doc)


def load_statistics(folder: Path) -> dict[str, Any]:
    """``statistics.json`` of a scenario folder."""
    path = Path(folder) / STATISTICS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no conservativeness results (run the pipeline for the scenario first)")
    return json.loads(path.read_text(encoding="utf-8"))


def load_outcomes(path: Path) -> SetOutcomes:
    """A set's per-sample outcomes from its ``outcomes_*.parquet``."""
    frame = pd.read_parquet(path)
    return SetOutcomes(**{f.name: frame[f.name].to_numpy(dtype=np.float64) for f in fields(SetOutcomes)})


def load_calibration(path: Path) -> QuarterCalibration:
    """A model's per-quarter calibration from its ``calibration_*.parquet``."""
    frame = pd.read_parquet(path)
    return QuarterCalibration(**{f.name: frame[f.name].to_numpy(dtype=np.float64) for f in fields(QuarterCalibration)})


def retest(folder: Path) -> list[StatisticTest]:
    """The 25 tests of the submitted set recomputed from the saved outcomes and calibration alone."""
    folder = Path(folder)
    doc = load_statistics(folder)
    cet1, seed, n = float(doc["jump_off_cet1_capital"]), int(doc["seed"]), int(doc["n_resamples"])
    tests = bootstrap_test(load_outcomes(folder / "outcomes_ai.parquet"), load_outcomes(folder / "outcomes_traditional.parquet"),
                           cet1, n_resamples=n, seed=seed)  # fmt: skip
    tests += calibration_test(load_calibration(folder / "calibration_ai.parquet"),
                              load_calibration(folder / "calibration_traditional.parquet"), cet1, n_resamples=n, seed=seed)  # fmt: skip
    return tests


def statistics_text(doc: dict[str, Any]) -> str:
    """The table for a terminal: USD in bn, ratios in percent, shares as they are."""

    def scale(unit: str) -> float:
        return 1e9 if unit == "usd" else (0.01 if unit == "ratio" else 1.0)

    lines = [
        f"{doc['scenario_id']}: {doc['passed']}/{doc['total']} statistics pass -> {doc['verdict']}; lane "
        f"{doc['chosen_lane']} (most conservative: {doc['most_conservative_lane']}); overlay multiplier "
        f"{doc['overlay_multiplier']:.2f} ({doc['overlay_status']})",
        f"{'#':>2} {'statistic':<28} {'dir':>3} {'AI':>10} {'trad':>10} {'d':>9} {'bound':>9} {'tol':>8}  verdict",
    ]
    for s in doc["statistics"]:
        k = scale(s["unit"])
        lines.append(
            f"{s['number']:>2} {s['id']:<28} {'up' if s['direction'] > 0 else 'dn':>3} {s['ai'] / k:>10.4f} "
            f"{s['traditional'] / k:>10.4f} {s['difference'] / k:>9.4f} {s['bound'] / k:>9.4f} {s['tolerance'] / k:>8.4f}  "
            f"{'pass' if s['passed'] else 'FAIL'}"
        )
    if doc.get("overlay_reason"):
        lines.append(f"overlay: {doc['overlay_reason']}")
    lines.append("USD amounts in bn, ratios in percent, shares as they are; pass when bound >= -tol.")
    return "\n".join(lines)


__all__ = [
    "STATISTICS_FILE",
    "load_calibration",
    "load_outcomes",
    "load_statistics",
    "retest",
    "statistics_records",
    "statistics_text",
    "write_assessment",
    "write_outcomes",
]
