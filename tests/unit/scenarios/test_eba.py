"""EBA reader: the hand-made fixtures (CSV and workbook, same numbers) and malformed variants."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from risk_dagster.scenarios import eba
from risk_dagster.scenarios.catalog import load_variable_catalog

from ._support import file_writer, refusal_of

FIXTURES = Path(__file__).parents[2] / "fixtures" / "eba"
CSV_FILE = FIXTURES / "eba_2025_scenario_sample.csv"
XLSX_FILE = FIXTURES / "eba_2025_scenario_sample.xlsx"
Q = pd.Period


def _by_id(path: Path) -> dict[str, eba.MacroScenario]:
    return {s.scenario_id: s for s in eba.read(path)}


_write = file_writer("eba_bad.csv")
_refused = refusal_of(eba.read)


def _csv_text() -> str:
    return CSV_FILE.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", [CSV_FILE, XLSX_FILE], ids=["csv", "xlsx"])
def test_fixture_scenarios_and_metadata(path):
    scenarios = eba.read(path)
    assert [s.scenario_id for s in scenarios] == ["eba-2025-baseline", "eba-2025-adverse"]
    for s in scenarios:
        assert s.source == "eba"
        assert s.vintage == "2025"
        assert s.jump_off == Q("2024Q4")
        assert list(s.quarters) == [Q("2025Q4"), Q("2026Q4"), Q("2027Q4")]
        # 7 countries x 7 variables, plus the exchange rate for PL only.
        assert len(s.variables) == 50
        assert s.units["eba_real_gdp_growth__de"] == "percent_yoy"
        assert s.units["eba_unemployment_rate__eu"] == "percent"
        assert s.units["eba_fx_rate__pl"] == "national currency per EUR"
    assert [s.kind for s in scenarios] == ["baseline", "adverse"]


@pytest.mark.parametrize("path", [CSV_FILE, XLSX_FILE], ids=["csv", "xlsx"])
def test_fixture_values(path):
    s = _by_id(path)
    adverse, baseline = s["eba-2025-adverse"], s["eba-2025-baseline"]
    assert adverse.series("eba_real_gdp_growth__de").tolist() == [-2.4, -2.0, 0.4]
    assert baseline.series("eba_real_gdp_growth__de").tolist() == [0.3, 1.1, 1.3]
    assert adverse.series("eba_unemployment_rate__es")[Q("2027Q4")] == 16.0
    assert adverse.series("eba_equity_prices__it")[Q("2025Q4")] == -41.5
    assert adverse.series("eba_residential_property_prices__nl").tolist() == [-8.6, -9.2, -4.5]
    assert adverse.series("eba_long_term_rate__fr")[Q("2025Q4")] == 4.2
    assert adverse.series("eba_hicp_inflation__eu").tolist() == [3.1, 1.2, 0.6]
    assert adverse.series("eba_commercial_property_prices__pl")[Q("2026Q4")] == -8.2
    assert adverse.series("eba_fx_rate__pl").tolist() == [4.62, 4.78, 4.70]
    # Euro-area members have no exchange rate: absent, not zero.
    with pytest.raises(KeyError):
        adverse.series("eba_fx_rate__de")


def test_csv_and_workbook_agree():
    from_csv, from_xlsx = _by_id(CSV_FILE), _by_id(XLSX_FILE)
    for sid, s in from_csv.items():
        pd.testing.assert_frame_equal(s.wide().sort_index(axis=1), from_xlsx[sid].wide().sort_index(axis=1))


def test_can_read():
    assert eba.can_read(CSV_FILE)
    assert eba.can_read(XLSX_FILE)
    from risk_dagster.paths import data_dir

    assert not eba.can_read(data_dir() / "ngfs" / "ngfs_snapshot_1762055076.csv")
    assert not eba.can_read(FIXTURES / "README.md")
    assert not eba.can_read(FIXTURES / "absent.csv")


def test_country_names_and_aliases(tmp_path):
    # Lower-case header, "... scenario", a country name, an alias and another unit spelling.
    path = _write(tmp_path, "scenario,country,variable,unit,2025,2026\nadverse scenario,Greece,GDP,% yoy,-1.0,-2.0\n")
    (s,) = eba.read(path)
    assert s.scenario_id == "eba-2025-adverse"
    assert s.series("eba_real_gdp_growth__el").tolist() == [-1.0, -2.0]
    assert eba.country_code("GB") == "UK" and eba.country_code("euro area") == "EA"


# --------------------------------------------------------------------------- refusals (CSV)
def test_unknown_country(tmp_path):
    err = _refused(_write(tmp_path, _csv_text().replace("Baseline,NL,", "Baseline,XX,", 1)))
    assert (err.rule, err.row, err.column) == ("unknown_country", 6, "Country")


def test_unknown_variable(tmp_path):
    err = _refused(_write(tmp_path, _csv_text().replace("Equity prices", "Crypto prices", 1)))
    assert (err.rule, err.column) == ("unknown_variable", "Variable")
    assert "Crypto prices" in str(err)


def test_unknown_scenario(tmp_path):
    err = _refused(_write(tmp_path, _csv_text().replace("Adverse,", "Severely adverse,", 1)))
    assert err.rule == "unknown_scenario"


def test_non_numeric(tmp_path):
    err = _refused(_write(tmp_path, _csv_text().replace("DE,Real GDP growth,% y-o-y,0.3,", "DE,Real GDP growth,% y-o-y,zero,")))
    assert (err.rule, err.row, err.column) == ("non_numeric", 2, "2025")


def test_duplicate_rows(tmp_path):
    lines = _csv_text().splitlines()
    err = _refused(_write(tmp_path, "\n".join([*lines[:3], lines[1], *lines[3:]]) + "\n"))
    assert (err.rule, err.row) == ("duplicate_row", 4)
    assert "line 2" in err.message


def test_missing_year_columns(tmp_path):
    text = "Scenario,Country,Variable,Unit\nBaseline,DE,Real GDP growth,% y-o-y\n"
    err = _refused(_write(tmp_path, text))
    assert (err.rule, err.row) == ("missing_column", 1)


def test_missing_required_column(tmp_path):
    text = _csv_text().replace("Scenario,Country", "Scen,Country", 1)
    err = _refused(_write(tmp_path, text))
    assert (err.rule, err.column) == ("missing_column", "scenario")


def test_years_not_increasing(tmp_path):
    err = _refused(_write(tmp_path, _csv_text().replace("2025,2026,2027", "2025,2027,2026", 1)))
    assert (err.rule, err.row, err.column) == ("years_not_increasing", 1, "2026")


def test_growth_rate_out_of_range(tmp_path):
    # -24 % GDP in one year: a typo (or basis points), beyond the catalog's [-20, 20].
    text = _csv_text().replace("Adverse,DE,Real GDP growth,% y-o-y,-2.4,", "Adverse,DE,Real GDP growth,% y-o-y,-24,")
    err = _refused(_write(tmp_path, text))
    assert (err.rule, err.column) == ("out_of_range", "2025")
    assert "DE" in err.message


def test_unit_mismatch(tmp_path):
    text = _csv_text().replace("Baseline,DE,Long-term interest rate,%,", "Baseline,DE,Long-term interest rate,bp,")
    err = _refused(_write(tmp_path, text))
    assert (err.rule, err.column) == ("unit_mismatch", "Unit")


def test_empty_and_binary(tmp_path):
    assert _refused(_write(tmp_path, "", "empty.csv")).rule == "empty_file"
    assert _refused(_write(tmp_path, _csv_text().splitlines()[0] + "\n", "header.csv")).rule == "empty_file"
    binary = tmp_path / "eba.csv"
    binary.write_bytes(b"\x00\x01binary")
    assert _refused(binary).rule == "binary_file"
    fake = tmp_path / "eba.xlsx"
    fake.write_bytes(b"not a zip file at all")
    assert _refused(fake).rule == "binary_file"


# --------------------------------------------------------------------------- refusals (workbook)
def _edit_workbook(tmp_path: Path, edit) -> Path:
    workbook = load_workbook(XLSX_FILE)
    edit(workbook)
    path = tmp_path / "eba_bad.xlsx"
    workbook.save(path)
    return path


def test_workbook_non_numeric_names_sheet_and_cell(tmp_path):
    def edit(wb):
        wb["Real GDP growth"]["F4"] = "n/q"  # DE, adverse 2025

    err = _refused(_edit_workbook(tmp_path, edit))
    assert (err.rule, err.row, err.column) == ("non_numeric", 4, "Adverse 2025 (Real GDP growth)")


def test_workbook_unknown_sheet_is_unknown_variable(tmp_path):
    err = _refused(_edit_workbook(tmp_path, lambda wb: setattr(wb["Equity prices"], "title", "Bitcoin")))
    assert err.rule == "unknown_variable"


def test_workbook_unknown_country(tmp_path):
    def edit(wb):
        wb["HICP inflation"]["A5"] = "ZZ"

    err = _refused(_edit_workbook(tmp_path, edit))
    assert (err.rule, err.row) == ("unknown_country", 5)


def test_workbook_missing_year_row(tmp_path):
    def edit(wb):
        wb["HICP inflation"]["A3"] = "Something"

    err = _refused(_edit_workbook(tmp_path, edit))
    assert (err.rule, err.row) == ("missing_column", 3)


def test_workbook_out_of_range(tmp_path):
    def edit(wb):
        wb["Unemployment rate"]["H6"] = 55.0  # IT adverse 2027

    err = _refused(_edit_workbook(tmp_path, edit))
    assert (err.rule, err.row, err.column) == ("out_of_range", 6, "Adverse 2027 (Unemployment rate)")


def test_catalog_ids_do_not_clash_with_fed_ids():
    ids = {e.id for e in load_variable_catalog().lookup(eba.SOURCE).values()}
    assert ids == {
        "eba_real_gdp_growth",
        "eba_unemployment_rate",
        "eba_hicp_inflation",
        "eba_residential_property_prices",
        "eba_commercial_property_prices",
        "eba_long_term_rate",
        "eba_equity_prices",
        "eba_fx_rate",
        "eba_swap_rate",
        "eba_stock_price_deviation",
        "eba_itraxx",
    }


# --------------------------------------------------------------------------- long layout, market blocks
def test_long_layout_reads_the_market_blocks_with_their_starting_points():
    from risk_dagster.scenarios.eba_long import read as read_long

    s = {x.scenario_id: x for x in read_long()}
    adverse, baseline = s["eba-2025-adverse"], s["eba-2025-baseline"]
    jump = Q("2024Q4")
    # EUR 10y swap as published: end-2024 starting point 2.2358, adverse 3.1301 / 3.0263 / 2.9564
    swap = adverse.series("eba_swap_rate__eur_10y")
    assert swap[jump] == pytest.approx(2.235795) and swap[Q("2025Q4")] == pytest.approx(3.130143)
    assert baseline.series("eba_swap_rate__eur_10y")[jump] == pytest.approx(2.235795)  # the same start
    # the long-term rate's start is the end-2024 level, not the 2024 average (2.3406)
    assert adverse.series("eba_long_term_rate__de")[jump] == pytest.approx(2.223091)
    assert adverse.series("eba_itraxx__overall_5y")[Q("2025Q4")] == pytest.approx(240.108268)
    assert adverse.series("eba_fx_rate__eur_usd").nunique() == 1  # FX flat at its 2024 value
    # stock prices: adverse only, deviations from the start, no starting row
    eu = adverse.series("eba_stock_price_deviation__european_union")
    assert list(map(str, eu.index)) == ["2025Q4", "2026Q4", "2027Q4"] and eu.iloc[0] == pytest.approx(-50.447633)
    assert not [v for v in baseline.variables if v.startswith("eba_stock_price_deviation")]
    assert adverse.units["eba_stock_price_deviation__european_union"] == "percent_deviation_from_start"
    assert str(adverse.jump_off) == "2024Q4" and adverse.vintage == "2025"
