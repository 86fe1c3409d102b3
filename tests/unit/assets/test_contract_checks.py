"""The contract-check factory: results per contract, structured metadata, gating and freshness."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from risk_dagster.assets.contract_checks import contract_check_specs, validate_and_check
from risk_dagster.scenarios.frames import contract_frames
from risk_dagster.scenarios.registry import load_fed_history, load_scenario


@pytest.fixture(scope="module")
def fed_frames():
    return contract_frames(load_fed_history("2026"))


def test_specs_follow_the_contracts():
    specs = contract_check_specs("fed_history", ["fed_scenario_domestic", "nber_usrec"])
    assert [s.name for s in specs] == ["contract_fed_scenario_domestic", "contract_nber_usrec"]
    assert [s.blocking for s in specs] == [True, False]


def test_good_frames_pass_with_metadata(fed_frames):
    results = list(validate_and_check(fed_frames, as_of=date(2026, 6, 30)))
    assert [r.check_name for r in results] == ["contract_fed_scenario_domestic", "contract_fed_scenario_international"]
    assert all(r.passed for r in results)
    details = results[0].metadata["details"].value
    assert details["freshness"]["ok"] is True and details["n_failed"] == 0


def test_stale_blocking_contract_yields_then_fails(fed_frames):
    results = []
    with pytest.raises(dg.Failure) as failure:
        for result in validate_and_check(fed_frames, as_of=date(2030, 1, 1)):
            results.append(result)
    assert len(results) == 2 and not any(r.passed for r in results)
    assert "freshness: newest quarter 2025-12-31 is 1462 days old on 2030-01-01" in failure.value.description


def test_bad_values_are_named(fed_frames):
    frame = contract_frames(load_scenario("fed-2026-severely-adverse"))["fed_scenario_domestic"].copy()
    frame.loc[2, "unemployment_rate"] = 250.0
    with pytest.raises(dg.Failure) as failure:
        list(validate_and_check({"fed_scenario_domestic": frame}))
    assert "unemployment_rate" in failure.value.description
    assert "expect_column_values_to_be_between" in failure.value.description


def test_several_scenarios_are_validated_each_alone_and_a_failure_names_its_scenario() -> None:
    from risk_dagster.assets.contract_checks import validate_each_and_check
    from risk_dagster.scenarios.frames import contract_frames
    from risk_dagster.scenarios.registry import load_scenario

    frames = {sid: contract_frames(load_scenario(sid)) for sid in ("fed-2026-severely-adverse", "fed-2026-baseline")}
    good = list(validate_each_and_check(frames))
    assert {r.check_name for r in good} == {"contract_fed_scenario_domestic", "contract_fed_scenario_international"}
    assert all(r.passed for r in good), [r.description for r in good]  # stacked, the quarters would repeat

    broken = {sid: dict(f) for sid, f in frames.items()}
    domestic = broken["fed-2026-baseline"]["fed_scenario_domestic"].copy()
    domestic.loc[domestic.index[3], "quarter"] = domestic.loc[domestic.index[2], "quarter"]
    broken["fed-2026-baseline"]["fed_scenario_domestic"] = domestic
    results: list[dg.AssetCheckResult] = []
    with pytest.raises(dg.Failure, match="quarter"):
        for result in validate_each_and_check(broken):
            results.append(result)
    failed = [r for r in results if not r.passed]
    assert [r.check_name for r in failed] == ["contract_fed_scenario_domestic"]
    assert failed[0].description.startswith("fed-2026-baseline:")
    assert failed[0].metadata["scenario"].value == "fed-2026-baseline"
