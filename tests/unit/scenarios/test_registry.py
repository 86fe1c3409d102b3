"""Shipped scenario discovery, loading, and dispatch of user files by content."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from risk_dagster.errors import InputFileError
from risk_dagster.paths import data_dir, fed_scenarios_dir
from risk_dagster.scenarios import fed
from risk_dagster.scenarios.registry import (
    SHIPPED_VINTAGES,
    ScenarioSource,
    UnknownScenarioError,
    detect_reader,
    discover_shipped_scenarios,
    load_fed_history,
    load_scenario,
    read_scenario_files,
    scenario_partition_ids,
)

FINAL = fed_scenarios_dir() / "2026_final"
PARTITIONS = [
    "eba-2025-adverse",
    "eba-2025-baseline",
    "fed-2025-baseline",
    "fed-2025-severely-adverse",
    "fed-2026-baseline",
    "fed-2026-proposed-baseline",
    "fed-2026-proposed-severely-adverse",
    "fed-2026-severely-adverse",
]


def q(text: str) -> pd.Period:
    return pd.Period(text, freq="Q-DEC")


def test_shipped_vintages() -> None:
    assert SHIPPED_VINTAGES == {"2025": "2025", "2026_final": "2026", "2026_proposed": "2026-proposed"}


def test_partition_ids() -> None:
    assert scenario_partition_ids() == PARTITIONS


def test_discovered_sources() -> None:
    sources = discover_shipped_scenarios()
    sa = sources["fed-2026-severely-adverse"]
    assert isinstance(sa, ScenarioSource)
    assert (sa.vintage, sa.kind, sa.name) == ("2026", "severely_adverse", "Supervisory Severely Adverse")
    assert [p.name for p in sa.files] == [
        "2026_Final_Supervisory_Severely_Adverse_Domestic.csv",
        "2026_Final_Supervisory_Severely_Adverse_International.csv",
    ]
    assert [p.name for p in sources["fed-2025-baseline"].files] == [
        "2025-Table_2A_Supervisory_Baseline_Domestic.csv",
        "2025-Table_2B_Supervisory_Baseline_International.csv",
    ]


@pytest.mark.parametrize("scenario_id", [p for p in PARTITIONS if p.startswith("fed-")])
def test_every_partition_loads_28_variables_over_13_quarters(scenario_id: str) -> None:
    scenario = load_scenario(scenario_id)
    assert scenario.scenario_id == scenario_id
    assert set(scenario.data["scenario_id"]) == {scenario_id}
    assert len(scenario.variables) == 28
    assert len(scenario.quarters) == 13
    year = 2025 if scenario_id.startswith("fed-2025") else 2026
    assert scenario.first_quarter == q(f"{year}Q1")
    assert scenario.last_quarter == q(f"{year + 3}Q1")
    assert scenario.jump_off == q(f"{year - 1}Q4")


@pytest.mark.parametrize("scenario_id", ["eba-2025-adverse", "eba-2025-baseline"])
def test_the_shipped_eba_scenarios_are_partitions(scenario_id: str) -> None:
    from risk_dagster.scenarios.registry import is_eba_scenario

    scenario = load_scenario(scenario_id)
    assert scenario.scenario_id == scenario_id and is_eba_scenario(scenario)
    assert scenario.jump_off == q("2024Q4") and str(scenario.last_quarter) == "2027Q4"  # annual, the three-year horizon
    assert not is_eba_scenario(load_scenario("fed-2026-baseline"))


def test_2026_severely_adverse_values() -> None:
    scenario = load_scenario("fed-2026-severely-adverse")
    assert (scenario.source, scenario.kind, scenario.vintage) == ("fed", "severely_adverse", "2026")
    assert scenario.series("unemployment_rate").max() == 10.0
    assert scenario.series("vix").max() == 72.0
    assert scenario.series("euro_area_real_gdp_growth")[q("2026Q1")] == -8.6
    history = load_fed_history("2026")
    trough = scenario.series("equity_total_market").min()
    jump_off_level = history.series("equity_total_market")[q("2025Q4")]
    assert trough / jump_off_level - 1 == pytest.approx(-0.578, abs=0.001)


def test_proposed_severely_adverse_values() -> None:
    scenario = load_scenario("fed-2026-proposed-severely-adverse")
    assert scenario.vintage == "2026-proposed"
    assert scenario.series("vix").max() == 72.0
    history = load_fed_history("2026-proposed")
    jump_off_level = history.series("equity_total_market")[q("2025Q4")]
    assert scenario.series("equity_total_market").min() / jump_off_level - 1 == pytest.approx(-0.535, abs=0.001)


def test_2025_severely_adverse_values() -> None:
    scenario = load_scenario("fed-2025-severely-adverse")
    assert scenario.series("unemployment_rate").max() == 10.0
    assert scenario.series("vix").max() == 65.0


def test_history() -> None:
    history = load_fed_history()
    assert history.scenario_id == "fed-2026-historic"
    assert (history.kind, history.vintage) == ("historic", "2026")
    assert history.first_quarter == q("1976Q1") and history.last_quarter == q("2025Q4")
    assert len(history.variables) == 28
    assert history.series("bbb_yield").index[0] == q("1988Q4")
    assert history.series("vix").index[0] == q("1990Q1")
    assert history.series("usd_per_eur").index[0] == q("1999Q1")
    assert history.series("equity_total_market")[q("2025Q4")] == 67501.5
    proposed = load_fed_history("2026-proposed")
    assert proposed.scenario_id == "fed-2026-proposed-historic"
    assert proposed.series("equity_total_market")[q("2025Q4")] == 62542.9
    old = load_fed_history("2025")
    assert old.last_quarter == q("2024Q4")


def test_unknown_ids() -> None:
    with pytest.raises(UnknownScenarioError, match="fed-2026-severely-adverse"):
        load_scenario("fed-2030-baseline")
    with pytest.raises(UnknownScenarioError):
        load_fed_history("1999")


def test_user_files_of_a_shipped_scenario_get_a_user_suffix(tmp_path: Path) -> None:
    a = shutil.copy(FINAL / "2026_Final_Supervisory_Severely_Adverse_Domestic.csv", tmp_path / "Table_9Z_Historic_International.csv")
    b = shutil.copy(FINAL / "2026_Final_Supervisory_Severely_Adverse_International.csv", tmp_path / "b.csv")
    (scenario,) = read_scenario_files([a, b])
    assert scenario.scenario_id == "fed-2026-severely-adverse-user"
    assert set(scenario.data["scenario_id"]) == {"fed-2026-severely-adverse-user"}
    assert len(scenario.variables) == 28
    shipped = load_scenario("fed-2026-severely-adverse")
    pd.testing.assert_frame_equal(scenario.wide(), shipped.wide())


def test_user_files_group_into_scenarios(tmp_path: Path) -> None:
    projections = [p for p in sorted(FINAL.glob("*.csv")) if "Historic" not in p.name]
    paths = [shutil.copy(p, tmp_path / f"file{i}.csv") for i, p in enumerate(projections)]
    ids = sorted(s.scenario_id for s in read_scenario_files(paths))
    assert ids == ["fed-2026-baseline-user", "fed-2026-severely-adverse-user"]


def test_a_history_table_is_not_a_scenario_projection(tmp_path: Path) -> None:
    # Renamed as a user would: what it is comes from its content ("Actual", 1976 Q1 onwards).
    history = shutil.copy(FINAL / "2026_Final_Historic_Domestic.csv", tmp_path / "severely_adverse_2026.csv")
    projection = shutil.copy(FINAL / "2026_Final_Supervisory_Severely_Adverse_Domestic.csv", tmp_path / "a.csv")
    with pytest.raises(InputFileError) as info:
        read_scenario_files([projection, history])
    assert info.value.rule == "no_projection"
    assert "severely_adverse_2026.csv" in str(info.value) and "1976Q1-2025Q4" in str(info.value)


def _custom(path: Path, quarters: int) -> Path:
    rows = [f"Bank stress,{2027 + k // 4} Q{k % 4 + 1},{6 + k * 0.1:.1f}" for k in range(quarters)]
    path.write_text("Scenario Name,Date,Unemployment rate\n" + "\n".join(rows) + "\n")
    return path


def test_user_custom_scenario(tmp_path: Path) -> None:
    (scenario,) = read_scenario_files([_custom(tmp_path / "mine.csv", 9)])
    assert scenario.scenario_id == "fed-2027-custom-bank-stress"
    assert scenario.jump_off == q("2026Q4")


def test_a_projection_shorter_than_the_capital_horizon_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as info:
        read_scenario_files([_custom(tmp_path / "short.csv", 8)])
    assert info.value.rule == "short_projection"
    assert "spans 8 quarter(s)" in info.value.message and "PQ1-PQ9" in info.value.message


def test_dispatch_on_content() -> None:
    assert detect_reader(FINAL / "2026_Final_Historic_Domestic.csv") is fed
    ngfs_file = next((data_dir() / "ngfs").glob("*.csv"))
    module = detect_reader(ngfs_file)
    assert module.__name__ == "risk_dagster.scenarios.ngfs"
    scenarios = read_scenario_files([ngfs_file])
    assert scenarios and all(s.source == "ngfs" for s in scenarios)


def test_unrecognised_layout(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("ticker,close\nAAPL,190.1\n")
    with pytest.raises(InputFileError) as info:
        read_scenario_files([path])
    assert info.value.rule == "unrecognised_layout"
    assert "Scenario Name" in info.value.message and "NGFS" in info.value.message


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_scenario_files([tmp_path / "absent.csv"])
