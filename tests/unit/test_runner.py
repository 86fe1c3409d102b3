"""The table ``risk-dagster run`` ends with, from a run summary."""

from __future__ import annotations

from risk_dagster.runner import RESULT_COLUMNS, RunSummary, results_table


def test_one_row_per_scenario_with_its_numbers_and_pack(tmp_path) -> None:
    summary = RunSummary(run_id="r1", output_dir=str(tmp_path), dagster_home="", started_at="")
    summary.scenarios = {
        "fed-2026-severely-adverse": {
            "verdict": "draft", "cet1": {"start": 13.5, "trough": 8.123, "scb": 4.456}, "loss_distribution": {"var_99": 154.36},
            "conservativeness": {"passed": 22, "total": 25},
            "pack": {"pdf": str(tmp_path / "pack" / "fed-2026-severely-adverse" / "pack.pdf"), "pages": 24, "verdict": "draft"},
        },
        "eba-2025-adverse": {"verdict": "submission", "cet1": {"start": 15.86, "trough": 9.15, "depletion_bp": 671.0},
                             "conservativeness": {"passed": 25, "total": 25}},
        "user-broken": {"error": "step stress_results failed: boom"},
    }  # fmt: skip
    rows = results_table(summary)
    assert [list(r) for r in rows] == [list(RESULT_COLUMNS)] * 3
    assert rows[0] == {"scenario": "fed-2026-severely-adverse", "verdict": "draft", "CET1 min %": "8.12", "depletion bp": "538",
                       "SCB %": "4.46", "99% loss USD bn": "154.4", "statistics": "22/25",
                       "pack": "pack/fed-2026-severely-adverse/pack.pdf"}  # fmt: skip
    assert rows[1]["depletion bp"] == "671" and rows[1]["SCB %"] == "-" and rows[1]["99% loss USD bn"] == "-"
    assert rows[2]["verdict"] == "failed" and rows[2]["CET1 min %"] == "-" and rows[2]["pack"] == "-"


def test_an_eba_scenario_runs_the_eba_jobs_and_an_unknown_one_is_refused(tmp_path) -> None:
    import pytest

    from risk_dagster.runner import run_pipeline, scenario_jobs
    from risk_dagster.scenarios.registry import load_scenario

    assert scenario_jobs(load_scenario("eba-2025-adverse")) == ("eba_job", "eba_pack_job")
    assert scenario_jobs(load_scenario("fed-2026-baseline")) == ("scenario_job", "pack_job")
    with pytest.raises(KeyError, match=r"unknown scenario\(s\) \['ecb-2031-adverse'\].*eba-2025-adverse"):
        run_pipeline(tmp_path, ["ecb-2031-adverse"])


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


def test_the_run_command_takes_a_banks_own_books_and_balance_sheets(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    import risk_dagster.runner as runner
    from risk_dagster.cli import app

    seen = {}

    class Stop(Exception):
        pass

    def capture(**kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(runner, "build_definitions", capture)
    files = {name: tmp_path / name for name in ("us.csv", "us.yaml", "eu.parquet", "eu.yaml", "stages.yaml")}
    args = ["run", "--output", str(tmp_path / "out"), "--portfolio", str(files["us.csv"]), "--balance-sheet", str(files["us.yaml"]),
            "--euro-portfolio", str(files["eu.parquet"]), "--euro-balance-sheet", str(files["eu.yaml"]),
            "--euro-stages", str(files["stages.yaml"])]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, Stop)
    engine, capital = seen["engine"], seen["capital"]
    assert (engine.portfolio_path, engine.euro_portfolio_path) == (str(files["us.csv"]), str(files["eu.parquet"]))
    assert (capital.balance_sheet_path, capital.euro_balance_sheet_path, capital.euro_stage_table_path) == (
        str(files["us.yaml"]), str(files["eu.yaml"]), str(files["stages.yaml"]))
    CliRunner().invoke(app, ["run", "--output", str(tmp_path / "out")])
    assert seen["engine"].euro_portfolio_path == "" and seen["capital"].euro_stage_table_path == ""  # the shipped banks
