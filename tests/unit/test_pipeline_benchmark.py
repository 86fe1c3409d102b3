"""The pipeline benchmark times Dagster's own steps of every run the job made."""

from __future__ import annotations

import time

import dagster as dg

from risk_dagster.pipeline_benchmark import WARM_GOAL_S, bench_pipeline, is_cold, report_text
from risk_dagster.runner import RunSummary


@dg.asset
def slow_step() -> int:
    time.sleep(0.3)
    return 1


@dg.asset
def quick_step(slow_step: int) -> int:
    return slow_step + 1


def _fake_runner(home):
    def run(output_dir, scenarios=(), translation=None, progress=None):
        home.mkdir(exist_ok=True)
        with dg.DagsterInstance.local_temp(tempdir=str(home)) as instance:
            result = dg.materialize([slow_step, quick_step], instance=instance)
        summary = RunSummary(run_id=result.run_id, output_dir=str(output_dir), dagster_home=str(home), started_at="")
        summary.runs = [{"run_id": result.run_id, "partition": None, "success": result.success}]
        summary.scenarios = {"s1": {}}
        return summary

    return run


def test_the_report_has_total_steps_memory_and_the_goal_ratio(tmp_path) -> None:
    out = tmp_path / "out"
    (out / "registry").mkdir(parents=True)
    (out / "registry" / "lanes.json").write_text("{}")
    (out / "models" / "calibration").mkdir(parents=True)
    assert is_cold(out)
    (out / "models" / "calibration" / "k.npz").write_bytes(b"")
    assert not is_cold(out)
    report = bench_pipeline(out, runner=_fake_runner(tmp_path / "home"))
    assert set(report["steps"]) == {"slow_step", "quick_step"}
    assert 0.3 <= report["steps"]["slow_step"] <= report["total_s"]
    assert report["steps"]["quick_step"] < report["steps"]["slow_step"]
    assert report["peak_rss_mb"] > 0 and report["matmul_gflops"] > 0
    assert report["goal_s"] == WARM_GOAL_S and report["goal_ratio"] == round(report["total_s"] / WARM_GOAL_S, 3)
    assert report["dominant"][0]["step"] == "slow_step"
    text = report_text(report)
    assert "slow_step" in text and "warm" in text
