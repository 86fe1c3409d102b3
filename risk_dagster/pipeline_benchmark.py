"""End-to-end budget of the main job: ``risk-dagster bench pipeline``.

Runs the main job (:func:`risk_dagster.runner.run_pipeline`) once on the shipped data and reports
its wall time, each Dagster step's time (from the step events of every run the job made, so the
split is Dagster's own), peak memory and what dominates. A number measured on a shared machine
means little alone, so the report carries two references measured in the same process: the
goals as ratios (5 minutes with the translator already trained, 15 from nothing; the issue's
budget on this machine's 2 cores) and the machine's float64 matmul GFLOP/s, so that runs on
different machines can be put side by side.

Whether the run is *cold* (nothing trained yet in the output folder) or *warm* (a previous run's
registry and calibration draws are there to reuse) is told from the output folder before the run.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dagster as dg

WARM_GOAL_S = 300.0
"""The full default run with the translator already trained: within 5 minutes (2 cores)."""
COLD_GOAL_S = 900.0
"""The full default run from nothing (translator trained in the run): within 15 minutes."""


def is_cold(output_dir: str | Path) -> bool:
    """True when the output folder holds no trained translator and no calibration draws yet."""
    out = Path(output_dir)
    trained = (out / "registry" / "lanes.json").is_file() and any((out / "models" / "calibration").glob("*.npz"))
    return not trained


def step_seconds(instance: dg.DagsterInstance, run_ids: Sequence[str]) -> list[dict[str, Any]]:
    """Each step of each run: ``run_id``, ``step``, ``seconds`` (start to success, failure or skip)."""
    ends = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.STEP_SKIPPED}
    rows = []
    for run_id in run_ids:
        starts: dict[str, float] = {}
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                starts[event.step_key] = entry.timestamp
            elif event.event_type in ends and event.step_key in starts:
                rows.append({"run_id": run_id, "step": event.step_key,
                             "seconds": entry.timestamp - starts.pop(event.step_key)})  # fmt: skip
    return rows


def bench_pipeline(
    output_dir: str | Path,
    scenarios: Sequence[str] = (),
    *,
    translation: Any = None,
    runner: Callable[..., Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the main job once and time it.

    Returns
    -------
    dict
        ``total_s``, ``steps`` (step -> seconds, summed over the scenario partitions),
        ``steps_by_run`` (one row per run and step), ``peak_rss_mb`` (this process) and
        ``peak_rss_children_mb`` (the QuantLib and WeasyPrint subprocesses, the largest),
        ``cold``, ``goal_s`` and ``goal_ratio`` (total over goal: below 1 meets it), ``dominant``
        (the five longest steps with their share of the total), ``matmul_gflops`` (float64, the
        machine's reference), ``scenarios`` and ``run_id``.
    """
    from risk_dagster.engine.benchmark import matmul_gflops, peak_rss_mb

    if runner is None:
        from risk_dagster.runner import run_pipeline as runner
    cold = is_cold(output_dir)
    gflops = matmul_gflops(1024)["numpy_fp64"]
    started = time.perf_counter()
    summary = runner(output_dir, scenarios=scenarios, translation=translation, progress=progress)
    total = time.perf_counter() - started
    with dg.DagsterInstance.local_temp(tempdir=summary.dagster_home) as instance:
        rows = step_seconds(instance, [r["run_id"] for r in summary.runs])
    steps: dict[str, float] = {}
    for row in rows:
        steps[row["step"]] = steps.get(row["step"], 0.0) + row["seconds"]
    goal = COLD_GOAL_S if cold else WARM_GOAL_S
    dominant = sorted(steps.items(), key=lambda kv: -kv[1])[:5]
    return {
        "total_s": round(total, 2),
        "steps": {k: round(v, 2) for k, v in sorted(steps.items(), key=lambda kv: -kv[1])},
        "steps_by_run": [{**r, "seconds": round(r["seconds"], 2)} for r in rows],
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "peak_rss_children_mb": round(peak_rss_mb(resource.RUSAGE_CHILDREN), 1),
        "cold": cold,
        "goal_s": goal,
        "goal_ratio": round(total / goal, 3),
        "dominant": [{"step": k, "seconds": round(v, 2), "share": round(v / total, 3)} for k, v in dominant],
        "matmul_gflops": round(float(gflops), 2),
        "scenarios": list(summary.scenarios),
        "run_id": summary.run_id,
    }


def report_text(report: dict[str, Any]) -> str:
    """The benchmark as a short table for a terminal."""
    kind = "cold (translator trained in the run)" if report["cold"] else "warm (trained translator reused)"
    lines = [
        f"pipeline            {len(report['scenarios'])} scenario(s), {kind}",
        f"total               {report['total_s']:.1f} s = {report['goal_ratio']:.2f} x the goal of {report['goal_s']:.0f} s",
        f"peak memory         {report['peak_rss_mb']:.0f} MiB (largest subprocess {report['peak_rss_children_mb']:.0f} MiB)",
        f"machine reference   {report['matmul_gflops']:.1f} GFLOP/s float64 matmul (same run)",
        "dominant steps      " + "; ".join(f"{d['step']} {d['seconds']:.1f} s ({d['share']:.0%})" for d in report["dominant"]),
        "steps (s, summed over partitions):",
    ]
    lines += [f"  {name:<40} {seconds:8.1f}" for name, seconds in report["steps"].items()]
    return "\n".join(lines)


__all__ = ["COLD_GOAL_S", "WARM_GOAL_S", "bench_pipeline", "is_cold", "report_text", "step_seconds"]
