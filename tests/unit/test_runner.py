"""The table ``risk-dagster run`` ends with, from a run summary."""

from __future__ import annotations

from risk_dagster.runner import RESULT_COLUMNS, RunSummary, results_table


def test_one_row_per_scenario_with_its_numbers_and_pack(tmp_path) -> None:
    summary = RunSummary(run_id="r1", output_dir=str(tmp_path), dagster_home="", started_at="")
    summary.scenarios = {
        "fed-2026-severely-adverse": {
            "verdict": "draft", "cet1": {"trough": 8.123, "scb": 4.456}, "loss_distribution": {"var_99": 154.36},
            "conservativeness": {"passed": 22, "total": 25},
            "pack": {"pdf": str(tmp_path / "pack" / "fed-2026-severely-adverse" / "pack.pdf"), "pages": 24, "verdict": "draft"},
        },
        "user-broken": {"error": "step stress_results failed: boom"},
    }  # fmt: skip
    rows = results_table(summary)
    assert [list(r) for r in rows] == [list(RESULT_COLUMNS)] * 2
    assert rows[0] == {"scenario": "fed-2026-severely-adverse", "verdict": "draft", "CET1 min %": "8.12", "SCB %": "4.46",
                       "99% loss USD bn": "154.4", "statistics": "22/25",
                       "pack": "pack/fed-2026-severely-adverse/pack.pdf"}  # fmt: skip
    assert rows[1]["verdict"] == "failed" and rows[1]["CET1 min %"] == "-" and rows[1]["pack"] == "-"


def test_an_eba_scenario_in_a_run_is_refused_with_the_command_that_translates_it(tmp_path) -> None:
    import pytest

    from risk_dagster.runner import run_pipeline

    with pytest.raises(KeyError, match=r"unknown scenario\(s\) \['eba-2025-adverse'\].*risk-dagster translate --scenario eba-2025-adverse"):
        run_pipeline(tmp_path, ["eba-2025-adverse"])


def test_failed_checks_are_split_by_severity(tmp_path) -> None:
    summary = RunSummary(run_id="r1", output_dir=str(tmp_path), dagster_home="", started_at="")
    summary.checks = [
        {"name": "euribor:contract_euribor", "passed": False, "severity": "WARN"},
        {"name": "factor_history:contract_factor_history", "passed": True, "severity": "ERROR"},
        {"name": "stress_results:engine_parity", "passed": False, "severity": "ERROR"},
        {"name": "old:record_without_severity", "passed": False},
    ]  # fmt: skip
    assert [c["name"] for c in summary.failed_checks("WARN")] == ["euribor:contract_euribor"]
    assert [c["name"] for c in summary.failed_checks()] == ["stress_results:engine_parity", "old:record_without_severity"]
