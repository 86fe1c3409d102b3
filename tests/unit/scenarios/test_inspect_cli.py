"""``scenarios inspect``: the library function and the command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from risk_dagster.cli import app
from risk_dagster.paths import data_dir, fed_scenarios_dir
from risk_dagster.scenarios.inspect import inspect_file, inspect_paths

FINAL = fed_scenarios_dir() / "2026_final"
SA_DOM = FINAL / "2026_Final_Supervisory_Severely_Adverse_Domestic.csv"
HIST_INT = FINAL / "2026_Final_Historic_International.csv"
MALFORMED = Path(__file__).resolve().parents[2] / "fixtures" / "malformed"
REQUIRED = {"path", "kind", "scope", "scenario_name", "vintage", "first_quarter", "last_quarter", "n_quarters", "variables", "missing"}

runner = CliRunner()


def test_inspect_fed_file() -> None:
    report = inspect_file(SA_DOM)
    assert REQUIRED <= set(report)
    assert report["kind"] == "severely_adverse"
    assert report["scope"] == "domestic"
    assert report["scenario_name"] == "Supervisory Severely Adverse"
    assert report["vintage"] == "2026"
    assert (report["first_quarter"], report["last_quarter"], report["n_quarters"]) == ("2026Q1", "2029Q1", 13)
    assert report["jump_off"] == "2025Q4"
    assert len(report["variables"]) == 16 and report["missing"] == []


def test_inspect_reports_missing_variables(tmp_path: Path) -> None:
    path = tmp_path / "partial.csv"
    lines = SA_DOM.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(",".join(line.split(",")[:7]) for line in lines) + "\n", encoding="utf-8")
    report = inspect_file(path)
    assert report["variables"] == [
        "real_gdp_growth", "nominal_gdp_growth", "real_disposable_income_growth",
        "nominal_disposable_income_growth", "unemployment_rate",
    ]  # fmt: skip
    assert "vix" in report["missing"] and len(report["missing"]) == 11


def test_inspect_misnamed_file(tmp_path: Path) -> None:
    target = shutil.copy(SA_DOM, tmp_path / "Table_9Z_Historic_International.csv")
    report = inspect_file(target)
    assert (report["kind"], report["scope"]) == ("severely_adverse", "domestic")


def test_inspect_ngfs_through_dispatch() -> None:
    ngfs_file = next((data_dir() / "ngfs").glob("*.csv"))
    report = inspect_file(ngfs_file)
    assert REQUIRED <= set(report)
    assert report["layout"] == "ngfs"
    assert "carbon_price" in report["variables"]


def test_inspect_paths_raises_on_first_bad_file() -> None:
    reports = inspect_paths([SA_DOM, HIST_INT])
    assert [r["kind"] for r in reports] == ["severely_adverse", "historic"]


def test_cli_table_output() -> None:
    result = runner.invoke(app, ["scenarios", "inspect", str(SA_DOM), str(HIST_INT)])
    assert result.exit_code == 0, result.output
    assert "severely_adverse" in result.stdout and "historic" in result.stdout
    assert "international" in result.stdout


def test_cli_json_output_is_pure_json() -> None:
    result = runner.invoke(app, ["scenarios", "inspect", "--json", str(SA_DOM), str(HIST_INT)])
    assert result.exit_code == 0
    reports = json.loads(result.stdout)
    assert [r["kind"] for r in reports] == ["severely_adverse", "historic"]
    assert reports[1]["first_quarter"] == "1976Q1" and reports[1]["n_quarters"] == 200


def test_cli_bad_file_one_line_exit_2() -> None:
    bad = MALFORMED / "treasury_10y_basis_points.csv"
    result = runner.invoke(app, ["scenarios", "inspect", str(SA_DOM), str(bad)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "out_of_range" in lines[0] and "basis points" in lines[0]


def test_cli_missing_file() -> None:
    result = runner.invoke(app, ["scenarios", "inspect", "definitely/not/here.csv"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


def test_cli_subprocess_no_traceback(tmp_path: Path) -> None:
    bad = MALFORMED / "utf16_with_bom.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "risk_dagster.cli", "scenarios", "inspect", "--json", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ")
    assert "undecodable" in proc.stderr
    good = subprocess.run(
        [sys.executable, "-m", "risk_dagster.cli", "scenarios", "inspect", "--json", str(SA_DOM)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)[0]["kind"] == "severely_adverse"
