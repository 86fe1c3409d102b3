"""Per-step progress of an in-process job: every step reported once started and once ended, in order."""

import uuid

import dagster as dg
import pytest

from risk_dagster.step_progress import StepEvent, StepWatcher, format_step, job_step_count


@dg.asset
def first() -> int:
    return 1


@dg.asset
def second(first: int) -> int:
    return first + 1


@dg.asset
def broken(second: int) -> int:
    raise RuntimeError("engine crashed")


@dg.asset
def after(broken: int) -> int:
    return broken


def _run(assets: list, name: str) -> tuple[dg.ExecuteInProcessResult, list[StepEvent]]:
    job = dg.Definitions(assets=assets, jobs=[dg.define_asset_job(name)]).resolve_job_def(name)
    instance = dg.DagsterInstance.ephemeral()
    events: list[StepEvent] = []
    run_id = str(uuid.uuid4())
    with StepWatcher(instance, run_id, job, None, events.append):
        result = job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False)
    return result, events


def test_each_step_starts_then_ends_and_the_count_reaches_the_total() -> None:
    result, events = _run([first, second], "two")
    assert result.success
    assert [(e.step, e.status) for e in events] == [("first", "started"), ("first", "ok"), ("second", "started"), ("second", "ok")]
    assert [e.done for e in events if e.status == "ok"] == [1, 2]
    assert {e.total for e in events} == {2} and all(e.seconds is not None and e.seconds >= 0 for e in events if e.status == "ok")
    assert format_step(events[-1]).startswith("    [2/2] second ok ")


def test_a_failed_step_and_the_skipped_ones_after_it_are_reported() -> None:
    result, events = _run([first, second, broken, after], "four")
    assert not result.success
    ends = {e.step: e.status for e in events if e.status != "started"}
    assert ends["broken"] == "failed"
    assert ends.get("after", "skipped") == "skipped"  # Dagster may not emit a skip for an unreached step
    assert max(e.done for e in events) <= 4


@pytest.mark.parametrize("name", ["history_job", "scenario_job"])
def test_the_project_jobs_have_their_step_counts(name: str) -> None:
    from risk_dagster.definitions import build_definitions

    defs = build_definitions()
    job = defs.resolve_job_def(name)
    ops = {n.name for n in job.graph.nodes}
    assert job_step_count(job) == len(ops) > 8
    assert ("granular_shocks" if name == "scenario_job" else "factor_history") in ops
