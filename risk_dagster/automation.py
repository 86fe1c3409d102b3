"""Schedules and sensors: the regulatory cycle on a calendar and the intraday refresh.

* **Regulatory cycle** (:func:`regulatory_schedule`): on its calendar (a cron in New York time,
  :data:`DEFAULT_REGULATORY_CRON` unless configured) the history job runs, tagged with the cycle
  id; when it succeeds, :func:`regulatory_scenarios_sensor` requests the scenario job for every
  scenario partition (Fed, EBA, NGFS and the user's), at the run's full sample counts, capital,
  the 25 statistics and the pack; a scenario that ends a draft (only its blocking
  conservativeness checks failed) gets its pack from the pack job (:func:`draft_pack_sensor`), and
  once every scenario of the cycle has finished, the cycle's run-level pack (:func:`cycle_pack_request`).
  Each request has a run key (cycle and partition), so a tick is never requested twice.
* **Scenario inbox** (:func:`inbox_tick`, sensor ``scenario_inbox_sensor``): a supervisor file
  dropped in the inbox folder is validated (:mod:`risk_dagster.scenarios.inbox`), its scenarios
  become dynamic partitions and their scenario runs are requested; a bad file goes to
  ``rejected/`` with its error beside it. The cursor keeps the file versions processed.
* **Intraday** (:func:`snapshot_request`, schedule ``intraday_schedule``): every 30 minutes of the
  NYSE's regular session on trading days (:mod:`risk_dagster.market.calendar`) the newest market
  snapshot in the market inbox is taken (once per file, :mod:`risk_dagster.market.snapshot`); then
  ``intraday_stress_sensor`` requests the intraday refresh of every translated scenario (the
  trading book's stress loss at today's market and its check), no pack.

Time zone: every cron here is evaluated in ``America/New_York``.
"""

import datetime as dt
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from risk_dagster.market.calendar import MARKET_TIME_ZONE, in_session
from risk_dagster.scenarios.inbox import InboxOutcome, pending, process
from risk_dagster.scenarios.registry import is_eba_partition

INBOX_TICK_BUDGET_S = 20.0
"""Most seconds one inbox tick spends validating files (Dagster's sensor limit is 60 s); the rest
wait for the next tick."""
INBOX_CURSOR_KEEP = 5000
"""File versions remembered in the inbox sensor's cursor (the newest)."""
CYCLE_TAG = "risk_dagster/cycle"
"""Tag of every run of one regulatory cycle (its id: ``regulatory-YYYY-MM-DD``)."""
DEFAULT_REGULATORY_CRON = "0 6 5 1,4,7,10 *"
"""Quarterly, on the 5th of January, April, July and October at 06:00 New York time."""
INTRADAY_CRON = "*/30 9-16 * * 1-5"
"""Every 30 minutes on weekdays between 09:00 and 16:30; ticks outside the session or on an NYSE
holiday are skipped with the reason."""


def cycle_id(moment: dt.datetime) -> str:
    """The regulatory cycle's id from its scheduled time."""
    return f"regulatory-{moment.date().isoformat()}"


SCENARIO_JOBS: tuple[str, str] = ("scenario_job", "eba_job")
"""The Fed's scenario job and the EBA's: a partition's run goes to the one of its publisher."""
PACK_JOBS: tuple[str, str] = ("pack_job", "eba_pack_job")
"""The draft pack job of each."""


def job_for_partition(partition_key: str) -> str:
    """``eba_job`` for an EBA scenario partition (the euro-area bank, the EBA method), else ``scenario_job``."""
    return SCENARIO_JOBS[1] if is_eba_partition(partition_key) else SCENARIO_JOBS[0]


def pack_job_for_partition(partition_key: str) -> str:
    """The job that renders a draft's pack for the partition (``eba_pack_job`` or ``pack_job``)."""
    return PACK_JOBS[1] if is_eba_partition(partition_key) else PACK_JOBS[0]


def scenario_requests(tags: dict[str, str], partition_keys: Iterable[str]) -> list[dg.RunRequest]:
    """One request per partition for a history run of a regulatory cycle (none otherwise), each to its publisher's job."""
    cycle = tags.get(CYCLE_TAG)
    if not cycle:
        return []
    return [dg.RunRequest(run_key=f"{cycle}:{key}", partition_key=key, tags={CYCLE_TAG: cycle}, job_name=job_for_partition(key))
            for key in partition_keys]  # fmt: skip


INTRADAY_TAG = "risk_dagster/intraday"
"""Tag of an intraday refresh's runs: the snapshot file version they value the book on."""


def snapshot_request(moment: dt.datetime, market_inbox: str) -> dg.RunRequest | dg.SkipReason:
    """The intraday tick at ``moment``: in the NYSE session, a snapshot-job request for the market
    inbox's newest file (run key: its version, so a snapshot is taken once); else the reason."""
    local = moment.astimezone(_new_york())
    if not in_session(local.replace(tzinfo=None)):
        return dg.SkipReason(f"{local:%Y-%m-%d %H:%M} New York is outside the NYSE's regular session on a trading day")
    newest = newest_snapshot_file(market_inbox)
    if newest is None:
        return dg.SkipReason(f"no market snapshot in {market_inbox} (drop a CSV of as_of,factor_id,level there)")
    return dg.RunRequest(run_key=f"market:{newest}", tags={INTRADAY_TAG: newest})


def newest_snapshot_file(market_inbox: str) -> str | None:
    """The version (:func:`~risk_dagster.inbox.file_key`) of the newest snapshot file, new or accepted."""
    from pathlib import Path

    from risk_dagster.inbox import ACCEPTED, file_key, pending
    from risk_dagster.market.snapshot import SNAPSHOT_SUFFIXES

    files = [*pending(market_inbox, SNAPSHOT_SUFFIXES), *pending(Path(market_inbox) / ACCEPTED, SNAPSHOT_SUFFIXES)]
    return file_key(max(files, key=lambda p: (p.stat().st_mtime_ns, p.name))) if files else None


def intraday_requests(snapshot_run: dg.DagsterRun, partition_keys: Sequence[str]) -> list[dg.RunRequest]:
    """After a snapshot run succeeded: the intraday refresh of every scenario with translated sets."""
    version = snapshot_run.tags.get(INTRADAY_TAG, snapshot_run.run_id)
    return [dg.RunRequest(run_key=f"intraday:{snapshot_run.run_id}:{key}", partition_key=key, tags={INTRADAY_TAG: version})
            for key in partition_keys]  # fmt: skip


def inbox_tick(
    inbox: str, seen: Sequence[str], existing: Iterable[str], known: Iterable[str], *, budget_s: float = INBOX_TICK_BUDGET_S
) -> tuple[list[InboxOutcome], list[str], list[dg.RunRequest], list[str]]:
    """One tick of the inbox: process the pending files within the budget.

    Returns the outcomes, the new cursor (file versions processed), a run request per accepted
    scenario (run key: the file version and the id, so a file never runs twice) and the partition
    ids to add (accepted ones and the library's ``known`` ones the instance lacks).
    """
    cursor = list(seen)
    outcomes: list[InboxOutcome] = []
    deadline = time.monotonic() + budget_s
    for path in pending(inbox, set(cursor)):
        if time.monotonic() > deadline:
            break  # the rest next tick: a tick stays well inside the sensor limit
        outcome = process(path, inbox)
        outcomes.append(outcome)
        cursor.append(outcome.key)
    accepted = [(o, sid) for o in outcomes if o.accepted for sid in o.scenario_ids]
    requests = [dg.RunRequest(run_key=f"inbox:{o.key}:{sid}", partition_key=sid, tags={"risk_dagster/inbox_file": o.name},
                              job_name=job_for_partition(sid)) for o, sid in accepted]  # fmt: skip
    present = set(existing)
    add = sorted(({sid for _, sid in accepted} | set(known)) - present)
    return outcomes, cursor[-INBOX_CURSOR_KEEP:], requests, add


def _new_york() -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(MARKET_TIME_ZONE)


def only_conservativeness_failed(instance: dg.DagsterInstance, run_id: str) -> bool:
    """True when the run's one failed step is the conservativeness asset's, the Fed's or the EBA's (a draft, not a failure)."""
    failed = [e.dagster_event.step_key for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE)
              if e.dagster_event is not None]  # fmt: skip
    return failed in (["conservativeness"], ["eba_conservativeness"])


@dataclass(frozen=True)
class CycleRun:
    """One run of a regulatory cycle, as the cycle's pack needs to know it."""

    job: str
    partition: str | None
    finished: bool
    success: bool
    draft: bool = False
    """A failed scenario run whose only failed step is the conservativeness test."""
    packed: bool = False
    """It materialized the scenario's documentation pack."""


def cycle_pack_request(cycle: str, runs: Sequence[CycleRun], *, scenario_job: str | Sequence[str], pack_job: str | Sequence[str],
                       run_pack_job: str) -> dg.RunRequest | None:  # fmt: skip
    """The run-level pack of a regulatory cycle, once every scenario run of it (either job: the Fed's or
    the EBA's) has finished and every draft has its pack run finished too; ``None`` while any is pending
    or when it was requested."""
    scenario_jobs = {scenario_job} if isinstance(scenario_job, str) else set(scenario_job)
    pack_jobs = {pack_job} if isinstance(pack_job, str) else set(pack_job)
    if any(r.job == run_pack_job for r in runs):
        return None
    scenario_runs = [r for r in runs if r.job in scenario_jobs]
    if not scenario_runs or any(not r.finished for r in runs):
        return None
    draft_pack_done = {r.partition for r in runs if r.job in pack_jobs and r.finished}
    if any(r.draft and r.partition not in draft_pack_done for r in scenario_runs):
        return None  # draft_pack_sensor has not started (or finished) the draft's pack yet
    packed = sorted({r.partition for r in runs if r.packed and r.partition})
    if not packed:
        return None
    return dg.RunRequest(run_key=f"{cycle}:run_pack", tags={CYCLE_TAG: cycle},
                         run_config={"ops": {"run_pack": {"config": {"scenarios": packed}}}})  # fmt: skip


def cycle_runs(instance: dg.DagsterInstance, cycle: str) -> list[CycleRun]:
    """Every run tagged with the cycle, read from the instance."""
    finished = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
    out = []
    for run in instance.get_runs(filters=dg.RunsFilter(tags={CYCLE_TAG: cycle})):
        packed = any(
            e.dagster_event is not None and e.dagster_event.asset_key in (dg.AssetKey("documentation_pack"),
                                                                          dg.AssetKey("eba_documentation_pack"))
            for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        )
        failed = run.status == dg.DagsterRunStatus.FAILURE
        out.append(CycleRun(job=run.job_name, partition=run.tags.get("dagster/partition"), finished=run.status in finished,
                            success=run.status == dg.DagsterRunStatus.SUCCESS, packed=packed,
                            draft=failed and only_conservativeness_failed(instance, run.run_id)))  # fmt: skip
    return out


def build_automation(
    *,
    history_job: Any,
    scenario_job: Any,
    pack_job: Any,
    intraday_job: Any,
    eba_job: Any,
    eba_pack_job: Any,
    snapshot_job: Any,
    run_pack_job: Any,
    partitions: dg.DynamicPartitionsDefinition,
    library: Any,
    market_inbox: str,
    regulatory_cron: str = DEFAULT_REGULATORY_CRON,
) -> tuple[list[dg.ScheduleDefinition], list[dg.SensorDefinition]]:
    """The schedules and sensors of the definitions."""

    @dg.sensor(
        name="scenario_inbox_sensor", jobs=[scenario_job, eba_job], minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,  # a file dropped while `dg dev` runs is picked up
        description=f"Watches the scenario inbox ({library.inbox_dir}): a new supervisor file is validated by the "
        "readers and contracts, moved to accepted/, its scenarios added as partitions and their runs requested; a "
        "bad file goes to rejected/ with its error beside it. Also adds the shipped scenarios as partitions.",
    )  # fmt: skip
    def scenario_inbox_sensor(context: dg.SensorEvaluationContext) -> Any:
        existing = context.instance.get_dynamic_partitions(partitions.name)
        outcomes, cursor, requests, add = inbox_tick(
            library.inbox_dir, json.loads(context.cursor or "[]"), existing, library.partition_ids())
        for o in outcomes:
            if o.accepted:
                context.log.info(f"accepted {o.name}: {', '.join(o.scenario_ids)}")
            else:
                context.log.warning(f"rejected {o.name}: {o.error}")
        return dg.SensorResult(
            run_requests=requests, cursor=json.dumps(cursor),
            dynamic_partitions_requests=[partitions.build_add_request(add)] if add else [],
        )  # fmt: skip

    @dg.schedule(
        name="regulatory_schedule", job=history_job, cron_schedule=regulatory_cron,
        execution_timezone=MARKET_TIME_ZONE,
        description=f"The regulatory cycle ({regulatory_cron}, New York time): the history job, then every "
        "scenario partition through the scenario job (regulatory_scenarios_sensor), drafts' packs by the pack job.",
    )  # fmt: skip
    def regulatory_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        cycle = cycle_id(context.scheduled_execution_time)
        return dg.RunRequest(run_key=cycle, tags={CYCLE_TAG: cycle})

    @dg.run_status_sensor(
        name="regulatory_scenarios_sensor", run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[history_job],
        request_jobs=[scenario_job, eba_job],
        description="When a regulatory cycle's history run succeeds, requests every partition's run: the scenario job "
        "for the Fed's scenarios, the EBA job for the EBA's.",
    )  # fmt: skip
    def regulatory_scenarios_sensor(context: dg.RunStatusSensorContext) -> Any:
        requests = scenario_requests(dict(context.dagster_run.tags), partitions.get_partition_keys(
            dynamic_partitions_store=context.instance))  # fmt: skip
        return requests or dg.SkipReason("not a regulatory cycle's history run")

    @dg.run_status_sensor(
        name="draft_pack_sensor", run_status=dg.DagsterRunStatus.FAILURE, monitored_jobs=[scenario_job, eba_job],
        request_jobs=[pack_job, eba_pack_job],
        description="A scenario run that ended a draft (only its blocking conservativeness checks failed) gets its "
        "documentation pack from the pack job, marked draft.",
    )  # fmt: skip
    def draft_pack_sensor(context: dg.RunStatusSensorContext) -> Any:
        run = context.dagster_run
        key = run.tags.get("dagster/partition")
        if not key or not only_conservativeness_failed(context.instance, run.run_id):
            return dg.SkipReason("not a draft: a step other than the conservativeness test failed")
        return dg.RunRequest(run_key=f"pack:{run.run_id}", partition_key=key, job_name=pack_job_for_partition(key), tags=dict(
            {CYCLE_TAG: run.tags[CYCLE_TAG]} if CYCLE_TAG in run.tags else {}))  # fmt: skip

    @dg.schedule(
        name="intraday_schedule", job=snapshot_job, cron_schedule=INTRADAY_CRON, execution_timezone=MARKET_TIME_ZONE,
        description=f"Every 30 minutes of the NYSE's regular session on trading days (New York time): takes the "
        f"newest market snapshot from the market inbox ({market_inbox}), once per file; intraday_stress_sensor then "
        "refreshes the trading book's stress loss of every scenario at it. No pack.",
    )  # fmt: skip
    def intraday_schedule(context: dg.ScheduleEvaluationContext) -> Any:
        return snapshot_request(context.scheduled_execution_time, market_inbox)

    @dg.run_status_sensor(
        name="intraday_stress_sensor", run_status=dg.DagsterRunStatus.SUCCESS, monitored_jobs=[snapshot_job],
        request_job=intraday_job,
        description="When a market snapshot is taken, requests the intraday refresh of every scenario whose AI and "
        "traditional sets are materialized.",
    )  # fmt: skip
    def intraday_stress_sensor(context: dg.RunStatusSensorContext) -> Any:
        translated = set(context.instance.get_materialized_partitions(dg.AssetKey("granular_shocks"))) & set(
            context.instance.get_materialized_partitions(dg.AssetKey("traditional_shocks")))  # fmt: skip
        keys = [k for k in partitions.get_partition_keys(dynamic_partitions_store=context.instance) if k in translated]
        return intraday_requests(context.dagster_run, keys) or dg.SkipReason("no scenario has translated sets yet")

    @dg.sensor(
        name="cycle_pack_sensor", job=run_pack_job, minimum_interval_seconds=60,
        description="When every scenario run of a regulatory cycle has finished (and every draft has its pack), "
        "requests the cycle's run-level pack over the scenarios that have one.",
    )  # fmt: skip
    def cycle_pack_sensor(context: dg.SensorEvaluationContext) -> Any:
        done = set(json.loads(context.cursor or "[]"))
        tags = context.instance.get_run_tags(tag_keys=[CYCLE_TAG])
        cycles = sorted(set().union(*(values for _, values in tags)) - done) if tags else []
        requests = []
        for cycle in cycles:
            request = cycle_pack_request(cycle, cycle_runs(context.instance, cycle), scenario_job=[scenario_job.name, eba_job.name],
                                         pack_job=[pack_job.name, eba_pack_job.name], run_pack_job=run_pack_job.name)  # fmt: skip
            if request is not None:
                requests.append(request)
                done.add(cycle)
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(sorted(done)[-INBOX_CURSOR_KEEP:]))

    return [regulatory_schedule, intraday_schedule], [
        scenario_inbox_sensor, regulatory_scenarios_sensor, draft_pack_sensor, intraday_stress_sensor, cycle_pack_sensor]


__all__ = [
    "CYCLE_TAG",
    "DEFAULT_REGULATORY_CRON",
    "INTRADAY_CRON",
    "build_automation",
    "CycleRun",
    "cycle_id",
    "cycle_pack_request",
    "cycle_runs",
    "inbox_tick",
    "intraday_requests",
    "newest_snapshot_file",
    "snapshot_request",
    "only_conservativeness_failed",
    "scenario_requests",
]
