"""Schedules and sensors evaluated with Dagster's test contexts."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from risk_dagster.assets.scenarios import SCENARIO_PARTITIONS
from risk_dagster.automation import CYCLE_TAG, intraday_requests, only_conservativeness_failed, scenario_requests, snapshot_request
from risk_dagster.definitions import HISTORY_JOB, INTRADAY_JOB, MARKET_SNAPSHOT_JOB, build_definitions
from risk_dagster.market.calendar import is_trading_day

NY = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def market_inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("automation") / "market_inbox"


@pytest.fixture(scope="module")
def defs(market_inbox: Path):
    return build_definitions(regulatory_cron="0 7 1 3 *", market_inbox=str(market_inbox))


def test_nyse_trading_days() -> None:
    assert is_trading_day(dt.date(2026, 12, 3))
    assert not is_trading_day(dt.date(2026, 12, 5))  # Saturday
    assert not is_trading_day(dt.date(2026, 11, 26))  # Thanksgiving
    assert not is_trading_day(dt.date(2026, 6, 19))  # Juneteenth
    assert not is_trading_day(dt.date(2026, 7, 3))  # Independence Day observed (the 4th is a Saturday)


def test_the_regulatory_schedule_starts_a_tagged_cycle_on_its_calendar(defs) -> None:
    schedule = defs.get_schedule_def("regulatory_schedule")
    assert schedule.cron_schedule == "0 7 1 3 *" and schedule.execution_timezone == "America/New_York"
    assert schedule.job_name == HISTORY_JOB
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(instance=instance, repository_def=defs.get_repository_def(), scheduled_execution_time=dt.datetime(2027, 3, 1, 7, tzinfo=NY))
        request = schedule.evaluate_tick(context).run_requests[0]
    assert request.tags[CYCLE_TAG] == "regulatory-2027-03-01" and request.run_key == "regulatory-2027-03-01"


def test_a_cycle_history_run_requests_every_partition_once() -> None:
    keys = ["fed-2026-baseline", "fed-2026-severely-adverse", "eba-2025-adverse"]
    requests = scenario_requests({CYCLE_TAG: "regulatory-2027-03-01"}, keys)
    assert [r.partition_key for r in requests] == keys
    assert len({r.run_key for r in requests}) == 3 and all(r.tags[CYCLE_TAG] == "regulatory-2027-03-01" for r in requests)
    assert scenario_requests({}, keys) == []  # a history run by hand starts nothing
    # each to its publisher's job: the euro-area bank under the EBA method for the EBA's scenario
    assert [r.job_name for r in requests] == ["scenario_job", "scenario_job", "eba_job"]


SNAPSHOT = "as_of,factor_id,level\n2026-12-03T10:30,rates.ust.10y,4.12\n2026-12-03T10:30,equity.sp500,6841.5\n"


def test_the_intraday_schedule_takes_each_new_snapshot_once_in_the_session(defs, market_inbox) -> None:
    inbox = market_inbox
    schedule = defs.get_schedule_def("intraday_schedule")
    assert schedule.job_name == MARKET_SNAPSHOT_JOB and schedule.execution_timezone == "America/New_York"
    inside = dt.datetime(2026, 12, 3, 10, 30, tzinfo=NY)
    empty = snapshot_request(inside, str(inbox))
    assert isinstance(empty, dg.SkipReason) and "no market snapshot" in empty.skip_message
    inbox.mkdir()
    (inbox / "snap_1030.csv").write_text(SNAPSHOT)
    first = snapshot_request(inside, str(inbox))
    assert first.run_key.startswith("market:snap_1030.csv:")
    assert snapshot_request(dt.datetime(2026, 12, 3, 11, 0, tzinfo=NY), str(inbox)).run_key == first.run_key  # no new file
    for moment in (dt.datetime(2026, 12, 3, 9, 0, tzinfo=NY), dt.datetime(2026, 12, 3, 16, 30, tzinfo=NY),
                   dt.datetime(2026, 11, 26, 11, 0, tzinfo=NY), dt.datetime(2026, 12, 5, 11, 0, tzinfo=NY)):  # fmt: skip
        assert isinstance(snapshot_request(moment, str(inbox)), dg.SkipReason), moment
    # the same instant given in UTC is judged in New York time
    assert not isinstance(snapshot_request(dt.datetime(2026, 12, 3, 15, 30, tzinfo=dt.UTC), str(inbox)), dg.SkipReason)
    request = schedule(dg.build_schedule_context(scheduled_execution_time=inside))  # as the daemon calls it
    assert request.run_key == first.run_key and request.tags["risk_dagster/intraday"] == first.run_key.removeprefix("market:")


def test_a_snapshot_run_requests_the_refresh_of_every_translated_scenario(defs) -> None:
    sensor = defs.get_sensor_def("intraday_stress_sensor")
    assert sensor.job_name == INTRADAY_JOB
    run = dg.DagsterRun(job_name=MARKET_SNAPSHOT_JOB, run_id="abc123", tags={"risk_dagster/intraday": "snap.csv:10:1"})
    requests = intraday_requests(run, ["fed-2026-baseline", "fed-2026-severely-adverse"])
    assert [r.partition_key for r in requests] == ["fed-2026-baseline", "fed-2026-severely-adverse"]
    assert requests[0].run_key == "intraday:abc123:fed-2026-baseline" and requests[0].tags["risk_dagster/intraday"] == "snap.csv:10:1"


@dg.op
def conservativeness() -> None:
    raise dg.Failure("statistics failed")


@dg.op
def stress_results() -> None:
    raise RuntimeError("engine broke")


def test_a_draft_is_told_from_a_broken_run() -> None:
    with dg.instance_for_test() as instance:
        draft = dg.GraphDefinition("g1", node_defs=[conservativeness]).to_job().execute_in_process(instance=instance, raise_on_error=False)
        broken = dg.GraphDefinition("g2", node_defs=[stress_results]).to_job().execute_in_process(instance=instance, raise_on_error=False)
        assert only_conservativeness_failed(instance, draft.run_id)
        assert not only_conservativeness_failed(instance, broken.run_id)


FED = Path(__file__).resolve().parents[2] / "risk_dagster" / "data" / "fed_scenarios" / "2025"
SA_2025_DOMESTIC = FED / "2025-Table_3A_Supervisory_Severely_Adverse_Domestic.csv"


def _bad_copy(target: Path) -> Path:
    lines = SA_2025_DOMESTIC.read_text().splitlines()
    cells = lines[3].split(",")
    cells[6] = "250"  # an unemployment rate of 250 percent
    lines[3] = ",".join(cells)
    target.write_text("\n".join(lines) + "\n")
    return target


def test_the_inbox_sensor_accepts_a_good_file_once_and_rejects_a_bad_one(tmp_path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    defs = build_definitions(output_dir=str(tmp_path / "out"), scenario_inbox=str(inbox))
    sensor = defs.get_sensor_def("scenario_inbox_sensor")
    shutil.copy2(SA_2025_DOMESTIC, inbox / "fed_sa_2025.csv")
    _bad_copy(inbox / "broken.csv")
    (inbox / "README.txt").write_text("not a scenario")
    with dg.instance_for_test() as instance:
        # called as the daemon calls it (evaluate_tick would check the keys before the partitions exist)
        first = sensor(dg.build_sensor_context(instance=instance, repository_def=defs.get_repository_def()))
        assert [r.partition_key for r in first.run_requests] == ["fed-2025-severely-adverse-user"]
        added = [k for req in first.dynamic_partitions_requests for k in req.partition_keys]
        assert "fed-2025-severely-adverse-user" in added and "fed-2026-severely-adverse" in added  # shipped ones too
        assert (inbox / "accepted" / "fed_sa_2025.csv").is_file() and not (inbox / "fed_sa_2025.csv").exists()
        error = (inbox / "rejected" / "broken.csv.error.txt").read_text()
        assert "broken.csv" in error and "250" in error and (inbox / "rejected" / "broken.csv").is_file()
        assert (inbox / "README.txt").is_file()  # not a scenario file: left alone
        # the same file dropped again: nothing requested
        instance.add_dynamic_partitions(SCENARIO_PARTITIONS, added)
        shutil.copy2(inbox / "accepted" / "fed_sa_2025.csv", inbox / "fed_sa_2025.csv")
        again = sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor,
                                                             repository_def=defs.get_repository_def()))  # fmt: skip
        assert not again.run_requests and not again.dynamic_partitions_requests
    # the accepted scenario is a partition the library can load
    library = defs.resources["scenario_library"]
    assert library.load("fed-2025-severely-adverse-user").series("unemployment_rate").max() == pytest.approx(10.0)


def test_a_cycle_gets_its_run_level_pack_once_every_scenario_and_draft_pack_finished() -> None:
    from risk_dagster.automation import CycleRun, cycle_pack_request

    jobs = {"scenario_job": "scenario_job", "pack_job": "pack_job", "run_pack_job": "run_pack_job"}
    history = CycleRun("history_job", None, finished=True, success=True)
    base = CycleRun("scenario_job", "fed-2026-baseline", finished=True, success=True, packed=True)
    draft = CycleRun("scenario_job", "fed-2026-severely-adverse", finished=True, success=False, draft=True)
    running = CycleRun("eba_job", "eba-2025-adverse", finished=False, success=False)
    draft_pack = CycleRun("pack_job", "fed-2026-severely-adverse", finished=True, success=True, packed=True)
    assert cycle_pack_request("regulatory-2027-01-05", [history, base, running], **jobs) is None  # one still running
    assert cycle_pack_request("regulatory-2027-01-05", [history, base, draft], **jobs) is None  # the draft's pack pending
    request = cycle_pack_request("regulatory-2027-01-05", [history, base, draft, draft_pack], **jobs)
    assert request.run_key == "regulatory-2027-01-05:run_pack" and request.tags[CYCLE_TAG] == "regulatory-2027-01-05"
    assert request.run_config["ops"]["run_pack"]["config"]["scenarios"] == ["fed-2026-baseline", "fed-2026-severely-adverse"]
    done = CycleRun("run_pack_job", None, finished=True, success=True)
    assert cycle_pack_request("regulatory-2027-01-05", [history, base, draft, draft_pack, done], **jobs) is None  # once
    assert cycle_pack_request("regulatory-2027-01-05", [history], **jobs) is None  # no scenario run yet
    # the EBA's scenario and its draft pack count as the Fed's do
    both = {"scenario_job": ["scenario_job", "eba_job"], "pack_job": ["pack_job", "eba_pack_job"], "run_pack_job": "run_pack_job"}
    assert cycle_pack_request("regulatory-2027-01-05", [history, base, draft, draft_pack, running], **both) is None
    eba_draft = CycleRun("eba_job", "eba-2025-adverse", finished=True, success=False, draft=True)
    assert cycle_pack_request("regulatory-2027-01-05", [history, base, draft, draft_pack, eba_draft], **both) is None
    eba_pack = CycleRun("eba_pack_job", "eba-2025-adverse", finished=True, success=True, packed=True)
    request = cycle_pack_request("regulatory-2027-01-05", [history, base, draft, draft_pack, eba_draft, eba_pack], **both)
    assert request.run_config["ops"]["run_pack"]["config"]["scenarios"] == ["eba-2025-adverse", "fed-2026-baseline",
                                                                          "fed-2026-severely-adverse"]


def test_the_cycle_pack_sensor_targets_the_run_pack_job(defs) -> None:
    from risk_dagster.definitions import RUN_PACK_JOB

    sensor = defs.get_sensor_def("cycle_pack_sensor")
    assert sensor.job_name == RUN_PACK_JOB
    with dg.instance_for_test() as instance:  # no cycle yet: nothing requested
        result = sensor(dg.build_sensor_context(instance=instance))
        assert result.run_requests == [] and result.cursor == "[]"


def test_only_the_inbox_sensor_starts_on(defs) -> None:
    statuses = {s.name: s.default_status for s in defs.sensors}
    assert statuses.pop("scenario_inbox_sensor") == dg.DefaultSensorStatus.RUNNING
    assert set(statuses.values()) == {dg.DefaultSensorStatus.STOPPED}
    assert {s.default_status for s in defs.schedules} == {dg.DefaultScheduleStatus.STOPPED}
