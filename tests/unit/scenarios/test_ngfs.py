"""NGFS (IAMC) reader: the shipped Phase V carbon-price extract and malformed variants."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from risk_dagster.paths import data_dir
from risk_dagster.scenarios import ngfs
from risk_dagster.scenarios.catalog import load_variable_catalog, normalise_header

from ._support import file_writer, refusal_of

NGFS_FILE = data_dir() / "ngfs" / "ngfs_snapshot_1762055076.csv"
Q = pd.Period


@pytest.fixture(scope="module")
def scenarios() -> dict[str, ngfs.MacroScenario]:
    return {s.scenario_id: s for s in ngfs.read(NGFS_FILE)}


def _text() -> str:
    return NGFS_FILE.read_text(encoding="utf-8")


_write = file_writer("ngfs_bad.csv")
_refused = refusal_of(ngfs.read)


# --------------------------------------------------------------------------- the real file
def test_reads_seven_scenarios_with_phase_slugs(scenarios):
    assert sorted(scenarios) == [
        "ngfs-phase5-below-2c",
        "ngfs-phase5-current-policies",
        "ngfs-phase5-delayed-transition",
        "ngfs-phase5-fragmented-world",
        "ngfs-phase5-low-demand",
        "ngfs-phase5-nationally-determined-contributions-ndcs",
        "ngfs-phase5-net-zero-2050",
    ]
    for s in scenarios.values():
        assert (s.source, s.kind, s.vintage) == ("ngfs", "custom", "phase5")
        assert s.variables == ["carbon_price"]
        assert s.units == {"carbon_price": "US$2010/t CO2"}
        assert s.files == [str(NGFS_FILE)]
        assert s.data.attrs["region"] == "MESSAGEix-GLOBIOM 2.0-R12|Other Pacific Asia"
        assert s.data.attrs["model"] == "MESSAGEix-GLOBIOM 2.0-M-R12-NGFS"


def test_net_zero_2050_carbon_price_values(scenarios):
    nz = scenarios["ngfs-phase5-net-zero-2050"].series("carbon_price")
    assert nz[Q("2030Q4")] == pytest.approx(268.904327456482, rel=1e-12)
    assert nz[Q("2050Q4")] == pytest.approx(448.4870000550218, rel=1e-12)
    assert nz[Q("2060Q4")] == pytest.approx(1894.694604306283, rel=1e-12)
    assert nz[Q("2020Q4")] == 0.0  # a real zero, not a blank
    # 2020..2060 every 5 years, then 2070..2100 every 10: 13 annual points, all at Q4.
    assert [q.year for q in nz.index] == [*range(2020, 2061, 5), 2070, 2080, 2090, 2100]
    assert {q.quarter for q in nz.index} == {4}


def test_current_policies_and_ndcs_values(scenarios):
    cp = scenarios["ngfs-phase5-current-policies"].series("carbon_price")
    assert cp[Q("2100Q4")] == pytest.approx(7.552772727272726)
    ndc = scenarios["ngfs-phase5-nationally-determined-contributions-ndcs"]
    assert ndc.name == "Nationally Determined Contributions (NDCs)"
    assert ndc.series("carbon_price")[Q("2100Q4")] == pytest.approx(111.660192)


def test_below_2c_name_repaired(scenarios):
    below = scenarios["ngfs-phase5-below-2c"]
    assert below.name == "Below 2°C"
    assert below.series("carbon_price")[Q("2050Q4")] == pytest.approx(116.7471681982404)
    assert not any("?" in s.name for s in scenarios.values())


def test_copyright_line_is_provenance_not_a_row(scenarios):
    total_rows = sum(len(s.data) for s in scenarios.values())
    assert total_rows == 7 * 13
    for s in scenarios.values():
        assert s.data.attrs["notes"] == ["© NGFS Phase 5 Scenario Explorer https://data.ene.iiasa.ac.at/ngfs"]
        assert "©" not in s.name


def test_can_read():
    assert ngfs.can_read(NGFS_FILE)
    eba_csv = Path(__file__).parents[2] / "fixtures" / "eba" / "eba_2025_scenario_sample.csv"
    assert not ngfs.can_read(eba_csv)


def test_can_read_refuses_binary_and_missing(tmp_path):
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\x00\x01\x02PK")
    assert not ngfs.can_read(binary)
    assert not ngfs.can_read(tmp_path / "absent.csv")


# --------------------------------------------------------------------------- other layouts
def test_long_layout_and_lowercase_headers_read_the_same(tmp_path, scenarios):
    wide = pd.read_csv(NGFS_FILE, skipfooter=1, engine="python", encoding="utf-8")
    long = wide.melt(id_vars=["Model", "Scenario", "Region", "Variable", "Unit"], var_name="year")
    long.columns = [c.lower() for c in long.columns]
    path = tmp_path / "ngfs_long.csv"
    long.to_csv(path, index=False)
    with path.open("a", encoding="utf-8") as f:  # the Explorer's note names the phase
        f.write('"© NGFS Phase 5 Scenario Explorer https://data.ene.iiasa.ac.at/ngfs"\n')
    from_long = {s.scenario_id: s for s in ngfs.read(path)}
    assert sorted(from_long) == sorted(scenarios)
    for sid, s in scenarios.items():
        pd.testing.assert_series_equal(from_long[sid].series("carbon_price"), s.series("carbon_price"))


def test_long_layout_without_note_has_no_phase(tmp_path):
    path = _write(
        tmp_path,
        "model,scenario,region,variable,unit,year,value\n"
        "M,Net Zero 2050,World,Price|Carbon,US$2010/t CO2,2030,100\n"
        "M,Net Zero 2050,World,Price|Carbon,US$2010/t CO2,2035,150\n",
        "long.csv",
    )
    (s,) = ngfs.read(path)
    assert s.scenario_id == "ngfs-net-zero-2050"
    assert s.vintage is None
    assert s.series("carbon_price").to_dict() == {Q("2030Q4"): 100.0, Q("2035Q4"): 150.0}


def test_several_regions_get_region_slugs(tmp_path):
    header = "Model,Scenario,Region,Variable,Unit,2030,2035\n"
    body = "".join(
        f"M,Net Zero 2050,{region},Price|Carbon,US$2010/t CO2,10,20\n" for region in ("World", "R12|Western Europe")
    )
    ids = [s.scenario_id for s in ngfs.read(_write(tmp_path, header + body))]
    assert ids == ["ngfs-world-net-zero-2050", "ngfs-western-europe-net-zero-2050"]


def test_blank_cells_are_missing_not_zero(tmp_path):
    path = _write(tmp_path, "Model,Scenario,Region,Variable,Unit,2030,2035,2040\nM,S,World,Price|Carbon,US$2010/t CO2,10,,30\n")
    (s,) = ngfs.read(path)
    assert list(s.series("carbon_price").index) == [Q("2030Q4"), Q("2040Q4")]


# --------------------------------------------------------------------------- interpolation
def test_interpolation_exact_at_anchors_and_linear_between(scenarios):
    annual = scenarios["ngfs-phase5-net-zero-2050"]
    quarterly = ngfs.interpolate_quarterly(annual)
    s = quarterly.series("carbon_price")
    assert quarterly.scenario_id == annual.scenario_id
    assert quarterly.data.attrs["interpolated"] is True
    assert s.index[0] == Q("2020Q4") and s.index[-1] == Q("2100Q4")  # no extrapolation
    assert len(s) == (2100 - 2020) * 4 + 1
    anchors = annual.series("carbon_price")
    pd.testing.assert_series_equal(s.reindex(anchors.index), anchors, check_exact=True)
    # 2025Q4 = 0 and 2030Q4 = 268.90...: 2028Q2 is half way, each quarter adds 1/20.
    v2030 = anchors[Q("2030Q4")]
    assert s[Q("2028Q2")] == pytest.approx(v2030 / 2)
    assert s[Q("2026Q1")] == pytest.approx(v2030 / 20)
    steps = s.loc[Q("2025Q4") : Q("2030Q4")].diff().dropna()
    assert steps.to_numpy() == pytest.approx([v2030 / 20] * 20)
    # Across a 10-year gap (2060 -> 2070): 40 equal steps.
    steps = s.loc[Q("2060Q4") : Q("2070Q4")].diff().dropna()
    assert steps.to_numpy() == pytest.approx([(anchors[Q("2070Q4")] - anchors[Q("2060Q4")]) / 40] * 40)


# --------------------------------------------------------------------------- refusals
def test_missing_iamc_column(tmp_path):
    text = _text().replace('"Unit",', "", 1)
    err = _refused(_write(tmp_path, text))
    assert (err.rule, err.row, err.column) == ("missing_column", 1, "unit")


def test_non_numeric_value(tmp_path):
    text = _text().replace("268.904327456482", "n.a.")
    err = _refused(_write(tmp_path, text))
    assert (err.rule, err.row, err.column) == ("non_numeric", 8, "2030")


def test_duplicate_row(tmp_path):
    lines = _text().splitlines()
    text = "\n".join([*lines[:8], lines[7], *lines[8:]]) + "\n"
    err = _refused(_write(tmp_path, text))
    assert (err.rule, err.row) == ("duplicate_row", 9)
    assert "line 8" in err.message


def test_years_not_increasing(tmp_path):
    text = _text().replace('"2035","2040"', '"2040","2035"', 1)
    err = _refused(_write(tmp_path, text))
    assert (err.rule, err.row, err.column) == ("years_not_increasing", 1, "2035")


def test_unknown_variable(tmp_path):
    text = _text().replace('"Price|Carbon"', '"Price|Unobtainium"')
    err = _refused(_write(tmp_path, text))
    assert (err.rule, err.row, err.column) == ("unknown_variable", 2, "Variable")
    assert "Price|Unobtainium" in str(err)


def test_unit_mismatch(tmp_path):
    text = _text().replace("US$2010/t CO2", "US$2020/t CO2")
    err = _refused(_write(tmp_path, text))
    assert (err.rule, err.column) == ("unit_mismatch", "Unit")


def test_unknown_column(tmp_path):
    text = _text().replace('"2020"', '"Notes"', 1)
    assert _refused(_write(tmp_path, text)).rule == "unknown_column"


def test_empty_and_header_only_files(tmp_path):
    assert _refused(_write(tmp_path, "", "empty.csv")).rule == "empty_file"
    assert _refused(_write(tmp_path, "  \n\n", "blank.csv")).rule == "empty_file"
    header_only = _text().splitlines()[0] + "\n"
    assert _refused(_write(tmp_path, header_only, "header.csv")).rule == "empty_file"


def test_binary_file(tmp_path):
    path = tmp_path / "ngfs.csv"
    path.write_bytes(b"PK\x03\x04\x00\x00binary")
    err = _refused(path)
    assert err.rule == "binary_file"


def test_data_after_note_refused(tmp_path):
    lines = _text().splitlines()
    text = "\n".join([lines[0], lines[1], lines[-1], lines[2]]) + "\n"
    err = _refused(_write(tmp_path, text))
    assert (err.rule, err.row) == ("wrong_field_count", 3)


def test_short_row_refused(tmp_path):
    text = _text().replace(",261.8586354642824", "")
    err = _refused(_write(tmp_path, text))
    assert (err.rule, err.row) == ("wrong_field_count", 2)


def test_out_of_range(tmp_path):
    text = _text().replace("268.904327456482", "-5")
    err = _refused(_write(tmp_path, text))
    assert (err.rule, err.row, err.column) == ("out_of_range", 8, "2030")


def test_catalog_aliases_resolve():
    catalog = load_variable_catalog().lookup(ngfs.SOURCE)
    assert catalog[normalise_header("Price|Carbon")].id == "carbon_price"
    assert catalog[normalise_header("gdp|ppp")].id == "ngfs_gdp_ppp"
    assert catalog[normalise_header("Unemployment rate")].id == "ngfs_unemployment_rate"
    assert catalog[normalise_header("Price|Primary Energy|Oil")].id == "ngfs_oil_price"
    assert all(e.id == "carbon_price" or e.id.startswith("ngfs_") for e in catalog.values())
