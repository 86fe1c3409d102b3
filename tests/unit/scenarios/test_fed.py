"""The Fed table reader on the shipped files, renamed files, altered spellings and bad cells."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from risk_dagster.errors import InputFileError
from risk_dagster.paths import fed_scenarios_dir
from risk_dagster.scenarios.fed import (
    FedTable,
    can_read,
    read_fed_table,
    scenario_kind,
    scenarios_from_tables,
)

FED = fed_scenarios_dir()
FINAL = FED / "2026_final"
PROPOSED = FED / "2026_proposed"
V2025 = FED / "2025"
SA_DOM = FINAL / "2026_Final_Supervisory_Severely_Adverse_Domestic.csv"
SA_INT = FINAL / "2026_Final_Supervisory_Severely_Adverse_International.csv"
HIST_DOM = FINAL / "2026_Final_Historic_Domestic.csv"
HIST_INT = FINAL / "2026_Final_Historic_International.csv"


def q(text: str) -> pd.Period:
    return pd.Period(text, freq="Q-DEC")


@pytest.mark.parametrize(
    ("path", "kind", "scope"),
    [(p, k, s) for p, k, s in [
        (HIST_DOM, "historic", "domestic"),
        (HIST_INT, "historic", "international"),
        (FINAL / "2026_Final_Supervisory_Baseline_Domestic.csv", "baseline", "domestic"),
        (FINAL / "2026_Final_Supervisory_Baseline_International.csv", "baseline", "international"),
        (SA_DOM, "severely_adverse", "domestic"),
        (SA_INT, "severely_adverse", "international"),
        (V2025 / "2025-Table_1A_Historic_Domestic.csv", "historic", "domestic"),
        (V2025 / "2025-Table_2B_Supervisory_Baseline_International.csv", "baseline", "international"),
        (V2025 / "2025-Table_3A_Supervisory_Severely_Adverse_Domestic.csv", "severely_adverse", "domestic"),
    ]],
    ids=lambda v: v.name if isinstance(v, Path) else str(v),
)
def test_kind_and_scope_detected(path: Path, kind: str, scope: str) -> None:
    table = read_fed_table(path)
    assert (table.kind, table.scope) == (kind, scope)
    assert table.wide.index.name == "quarter"
    assert table.wide.index.freqstr == "Q-DEC"
    assert all(t == "float64" for t in table.wide.dtypes)


def test_severely_adverse_2026_final_values() -> None:
    table = read_fed_table(SA_DOM)
    wide = table.wide
    assert table.scenario_name == "Supervisory Severely Adverse"
    assert len(wide) == 13
    assert wide.index[0] == q("2026Q1") and wide.index[-1] == q("2029Q1")
    assert table.jump_off == q("2025Q4")
    assert table.detected_vintage == "2026"
    assert wide["unemployment_rate"].max() == 10.0
    assert wide["vix"].max() == 72.0
    assert wide.loc[q("2026Q2"), "vix"] == 72.0
    assert wide.loc[q("2026Q1"), "equity_total_market"] == 41364.0  # written "41364", no ".0"
    assert table.column_map["Market Volatility Index (Level)"] == "vix"
    assert table.units["treasury_10y"] == "percent"
    assert len(table.variables) == 16


def test_international_severely_adverse() -> None:
    table = read_fed_table(SA_INT)
    assert table.wide.loc[q("2026Q1"), "euro_area_real_gdp_growth"] == -8.6
    assert len(table.variables) == 12


def test_history_blank_cells_are_missing_not_zero() -> None:
    table = read_fed_table(HIST_DOM)
    wide = table.wide
    assert wide.index[0] == q("1976Q1") and wide.index[-1] == q("2025Q4")
    assert wide["bbb_yield"].first_valid_index() == q("1988Q4")
    assert wide["vix"].first_valid_index() == q("1990Q1")
    assert wide["equity_total_market"].first_valid_index() == q("1987Q1")
    assert math.isnan(wide.loc[q("1976Q1"), "vix"])
    assert wide.loc[q("2025Q4"), "equity_total_market"] == 67501.5
    assert table.detected_vintage == "2026"
    assert table.jump_off == q("2025Q4")
    intl = read_fed_table(HIST_INT).wide
    assert intl["usd_per_eur"].first_valid_index() == q("1999Q1")
    assert intl["euro_area_inflation"].first_valid_index() == q("1990Q2")
    assert intl["developing_asia_fx_index"].first_valid_index() == q("1996Q3")


def test_proposed_and_final_jump_off_differ() -> None:
    proposed = read_fed_table(PROPOSED / "2026_Proposed_Historic_Domestic.csv").wide
    final = read_fed_table(HIST_DOM).wide
    assert proposed.loc[q("2025Q4"), "equity_total_market"] == 62542.9
    assert final.loc[q("2025Q4"), "equity_total_market"] == 67501.5


def test_2025_vintage_detected_from_content() -> None:
    sa = read_fed_table(V2025 / "2025-Table_3A_Supervisory_Severely_Adverse_Domestic.csv")
    hist = read_fed_table(V2025 / "2025-Table_1A_Historic_Domestic.csv")
    assert sa.detected_vintage == "2025" and sa.jump_off == q("2024Q4")
    assert hist.detected_vintage == "2025" and hist.last_quarter == q("2024Q4")
    assert sa.wide["unemployment_rate"].max() == 10.0
    assert hist.wide.loc[q("2024Q4"), "cre_price_index"] == 309.3  # revised to 303.1 in 2026


def test_misleading_file_names_are_ignored(tmp_path: Path) -> None:
    disguised = {
        "Table_9Z_Historic_International.csv": SA_DOM,
        "2026_Final_Supervisory_Baseline_Domestic.csv": HIST_INT,
        "severely_adverse.csv": FINAL / "2026_Final_Supervisory_Baseline_International.csv",
        "no_extension": V2025 / "2025-Table_1A_Historic_Domestic.csv",
    }
    for name, source in disguised.items():
        shutil.copy(source, tmp_path / name)
    tables = {name: read_fed_table(tmp_path / name) for name in disguised}
    assert (tables["Table_9Z_Historic_International.csv"].kind, tables["Table_9Z_Historic_International.csv"].scope) == (
        "severely_adverse",
        "domestic",
    )
    assert tables["2026_Final_Supervisory_Baseline_Domestic.csv"].kind == "historic"
    assert tables["2026_Final_Supervisory_Baseline_Domestic.csv"].scope == "international"
    assert (tables["severely_adverse.csv"].kind, tables["severely_adverse.csv"].scope) == ("baseline", "international")
    assert tables["no_extension"].detected_vintage == "2025"
    assert all(can_read(tmp_path / name) for name in disguised)


def _rewrite(source: Path, target: Path, header_map: dict[str, str], order: list[int] | None = None) -> None:
    import csv

    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[0] = [header_map.get(h, h) for h in rows[0]]
    if order is not None:
        rows = [[r[i] for i in order] for r in rows]
    with target.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)


def test_reordered_columns_and_altered_spellings(tmp_path: Path) -> None:
    altered = {
        "Scenario Name": "  scenario name ",
        "Date": "DATE",
        "Dow Jones Total Stock Market Index (Level)": "Dow Jones Total Stock Market Index",
        "Market Volatility Index (Level)": "MARKET  VOLATILITY INDEX",
        "Commercial Real Estate Price Index (Level)": "Commercial Real Estate Price Index",
        "3-month Treasury rate": "3-Month  Treasury Rate",
        "BBB corporate yield": "bbb corporate yield",
        "House Price Index (Level)": "House price index (level)",
    }
    order = [17, 1, 5, 0] + list(range(16, 5, -1)) + [2, 3, 4]
    target = tmp_path / "my_scenario.csv"
    _rewrite(SA_DOM, target, altered, order)
    original = read_fed_table(SA_DOM)
    changed = read_fed_table(target)
    assert (changed.kind, changed.scope) == ("severely_adverse", "domestic")
    pd.testing.assert_frame_equal(changed.wide, original.wide)
    assert changed.column_map["MARKET  VOLATILITY INDEX"] == "vix"


def test_international_with_older_spellings(tmp_path: Path) -> None:
    altered = {
        "U.K. bilateral dollar exchange rate (USD/pound)": "UK bilateral dollar exchange rate (USD/Pound)",
        "Developing Asia bilateral dollar exchange rate (F/USD, index)": (
            "Developing Asia bilateral dollar exchange rate (F/USD, index, base = 2000 Q1)"
        ),
        "Euro area bilateral dollar exchange rate (USD/euro)": "Euro Area Bilateral Dollar Exchange Rate (USD/Euro)",
    }
    target = tmp_path / "intl.csv"
    _rewrite(SA_INT, target, altered)
    pd.testing.assert_frame_equal(read_fed_table(target).wide, read_fed_table(SA_INT).wide)


def test_bom_crlf_and_thousands_separators_are_accepted(tmp_path: Path) -> None:
    text = SA_DOM.read_text(encoding="utf-8").replace("41364", '"41,364.0"')
    target = tmp_path / "excel_export.csv"
    target.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    table = read_fed_table(target)
    assert table.wide.loc[q("2026Q1"), "equity_total_market"] == 41364.0
    pd.testing.assert_frame_equal(table.wide, read_fed_table(SA_DOM).wide)


def test_subset_of_columns_and_combined_scope(tmp_path: Path) -> None:
    target = tmp_path / "combined.csv"
    target.write_text(
        "Scenario Name,Date,Unemployment rate,Euro area real GDP growth\n"
        "My stress,2026 Q1,6.5,-2\nMy stress,2026 Q2,7,-1.5\n",
        encoding="utf-8",
    )
    table = read_fed_table(target)
    assert (table.kind, table.scope, table.scenario_name) == ("custom", "combined", "My stress")
    (scenario,) = scenarios_from_tables([table])
    assert scenario.scenario_id == "fed-2026-custom-my-stress"
    assert scenario.source == "user"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("Actual", "historic"),
        ("Supervisory Baseline", "baseline"),
        ("Baseline", "baseline"),
        ("Supervisory Severely Adverse", "severely_adverse"),
        ("SEVERELY ADVERSE", "severely_adverse"),
        ("Supervisory Adverse", "adverse"),
        ("Adverse", "adverse"),
        ("Bank stress", "custom"),
    ],
)
def test_scenario_kind(name: str, kind: str) -> None:
    assert scenario_kind(name) == kind


def test_scenarios_from_tables_merges_domestic_and_international() -> None:
    tables = [read_fed_table(p) for p in sorted(FINAL.glob("*.csv"))]
    scenarios = {s.scenario_id: s for s in scenarios_from_tables(tables)}
    assert set(scenarios) == {"fed-2026-historic", "fed-2026-baseline", "fed-2026-severely-adverse"}
    sa = scenarios["fed-2026-severely-adverse"]
    assert (sa.kind, sa.source, sa.vintage, sa.name) == ("severely_adverse", "fed", "2026", "Supervisory Severely Adverse")
    assert sa.jump_off == q("2025Q4")
    assert len(sa.quarters) == 13 and sa.first_quarter == q("2026Q1") and sa.last_quarter == q("2029Q1")
    assert len(sa.variables) == 28
    assert sa.variables[0] == "real_gdp_growth" and sa.variables[-1] == "usd_per_gbp"
    assert sa.series("unemployment_rate").max() == 10.0
    assert sa.units["usd_per_eur"] == "usd_per_eur"
    assert len(sa.files) == 2
    hist = scenarios["fed-2026-historic"]
    assert hist.series("usd_per_eur").index[0] == q("1999Q1")  # absent rows before, not zeros
    assert hist.series("bbb_yield").index[0] == q("1988Q4")


def test_scenarios_from_tables_overrides() -> None:
    tables = [read_fed_table(SA_DOM), read_fed_table(SA_INT)]
    (scenario,) = scenarios_from_tables(tables, scenario_id="mine", vintage="2026-final")
    assert scenario.scenario_id == "mine" and scenario.vintage == "2026-final"
    assert set(scenario.data["scenario_id"]) == {"mine"}
    with pytest.raises(ValueError, match="several|scenarios"):
        scenarios_from_tables([read_fed_table(SA_DOM), read_fed_table(HIST_DOM)], scenario_id="x")


def test_two_tables_of_the_same_scope_are_refused() -> None:
    with pytest.raises(InputFileError) as info:
        scenarios_from_tables([read_fed_table(SA_DOM), read_fed_table(PROPOSED / "2026_Proposed_Supervisory_Severely_Adverse_Domestic.csv")])
    assert info.value.rule == "duplicate_table"


def test_tables_of_different_vintages_stay_apart() -> None:
    tables = [read_fed_table(SA_DOM), read_fed_table(V2025 / "2025-Table_3A_Supervisory_Severely_Adverse_Domestic.csv")]
    ids = sorted(s.scenario_id for s in scenarios_from_tables(tables))
    assert ids == ["fed-2025-severely-adverse", "fed-2026-severely-adverse"]


def test_can_read_is_cheap_and_never_raises(tmp_path: Path) -> None:
    assert can_read(SA_DOM)
    assert not can_read(tmp_path / "missing.csv")
    (tmp_path / "ngfs.csv").write_text("Model,Scenario,Region,Variable,Unit,2020\nm,s,r,v,u,1\n")
    assert not can_read(tmp_path / "ngfs.csv")
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02")
    assert not can_read(tmp_path / "bin.csv")


def test_bad_cell_error_names_file_line_column_and_rule(tmp_path: Path) -> None:
    text = SA_DOM.read_text(encoding="utf-8").splitlines()
    cells = text[3].split(",")
    cells[10] = "410"  # 10-year Treasury yield in basis points, 2026 Q3
    text[3] = ",".join(cells)
    target = tmp_path / "bp.csv"
    target.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        read_fed_table(target)
    err = info.value
    assert (err.rule, err.row, err.column) == ("out_of_range", 4, "10-year Treasury yield")
    assert "bp.csv" in str(err) and "410" in str(err) and "basis points" in str(err)
    assert "[-2, 25]" in str(err)


def test_fed_table_is_a_dataclass() -> None:
    table = read_fed_table(SA_INT)
    assert isinstance(table, FedTable)
    assert table.path == SA_INT


def test_spreadsheet_artefacts_are_tolerated(tmp_path: Path) -> None:
    target = tmp_path / "export.csv"
    target.write_text(
        "Scenario Name,Date,Unemployment rate,,\n"
        "Supervisory Adverse,2027Q1,5,,\n"
        "Supervisory Adverse,2027 q2,6,,\n"
        ",,,,\n",
        encoding="utf-8",
    )
    table = read_fed_table(target)
    assert table.kind == "adverse"
    assert list(table.wide.index) == [q("2027Q1"), q("2027Q2")]
    assert list(table.wide.columns) == ["unemployment_rate"]
