"""Progress of a Dagster job executed in process, one event per step, for ``risk-dagster run``.

``execute_in_process`` runs in the caller's thread and reports nothing until it returns, so a
watcher thread polls the run's own event log (the instance's storage, the same events the UI
shows) for step starts and ends and hands each to a callback: a progress bar in a terminal, a
plain line otherwise (:mod:`risk_dagster.cli`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg

POLL_S = 0.5
"""Seconds between reads of the event log (a step takes seconds to minutes)."""

_ENDS = {
    dg.DagsterEventType.STEP_SUCCESS: "ok",
    dg.DagsterEventType.STEP_FAILURE: "failed",
    dg.DagsterEventType.STEP_SKIPPED: "skipped",
}


@dataclass(frozen=True)
class StepEvent:
    """One step started or ended.

    Attributes
    ----------
    job, partition
        The job and the scenario partition (``None``: unpartitioned).
    step
        The step key (an asset, a multi-asset or a separate check).
    status
        ``started``, ``ok``, ``failed``, ``skipped`` or ``restarted`` (a transient retry).
    done, total
        Steps ended so far in this run and steps the job has.
    seconds
        Wall time of the step, for an end.
    """

    job: str
    partition: str | None
    step: str
    status: str
    done: int
    total: int
    seconds: float | None = None


StepCallback = Callable[[StepEvent], None]


def job_step_count(job: dg.JobDefinition) -> int:
    """Steps a run of ``job`` has (one per op: an asset, a multi-asset or a separate check)."""
    return len(job.graph.node_dict)


class StepWatcher:
    """Poll one run's event log from a thread and report its steps (use as a context manager)."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str, job: dg.JobDefinition,
                 partition: str | None, callback: StepCallback) -> None:  # fmt: skip
        self._instance, self._run_id, self._callback = instance, run_id, callback
        self._job, self._partition = job.name, partition
        self._total = job_step_count(job)
        self._cursor: str | None = None
        self._starts: dict[str, float] = {}
        self._done = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"steps-{run_id[:8]}", daemon=True)

    def __enter__(self) -> StepWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._poll()  # the events written after the last poll

    def _loop(self) -> None:
        while not self._stop.wait(POLL_S):
            try:
                self._poll()
            except Exception:  # noqa: BLE001 - progress must never break the run; the final poll reports
                continue

    def _poll(self) -> None:
        kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_RESTARTED, *_ENDS}
        connection = self._instance.get_records_for_run(self._run_id, cursor=self._cursor, of_type=kinds)
        self._cursor = connection.cursor
        for record in connection.records:
            entry = record.event_log_entry
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            step = event.step_key
            if event.event_type == dg.DagsterEventType.STEP_START:
                self._starts[step] = entry.timestamp
                self._emit(step, "started", None)
            elif event.event_type == dg.DagsterEventType.STEP_RESTARTED:
                self._emit(step, "restarted", None)
            elif event.event_type in _ENDS:
                self._done += 1
                start = self._starts.pop(step, None)
                self._emit(step, _ENDS[event.event_type], None if start is None else entry.timestamp - start)

    def _emit(self, step: str, status: str, seconds: float | None) -> None:
        self._callback(StepEvent(self._job, self._partition, step, status, self._done, self._total, seconds))


def format_step(event: StepEvent) -> str:
    """The plain line of a step end (``  [3/12] granular_shocks ok 7.6 s``); starts give none."""
    where = f"{event.partition} " if event.partition else ""
    took = f" {event.seconds:.1f} s" if event.seconds is not None else ""
    return f"    [{event.done}/{event.total}] {where}{event.step} {event.status}{took}"
