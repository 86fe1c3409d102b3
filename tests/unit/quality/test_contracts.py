"""Data contracts: every contract loads and compiles; a real Fed frame passes; corruptions fail
with the right expectation and column; weight/class consistency with sources.yaml."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from risk_dagster.errors import InputFileError
from risk_dagster.paths import contracts_dir, fed_scenarios_dir
from risk_dagster.quality import contracts as C
from risk_dagster.scenarios.fed import read_fed_table

FED_CSV = fed_scenarios_dir() / "2026_final" / "2026_Final_Supervisory_Severely_Adverse_Domestic.csv"


def _contract_frame(path: Path) -> pd.DataFrame:
    """A Fed table as the contract sees it: ``quarter`` as "YYYYQn", one column per canonical id."""
    frame = read_fed_table(path).wide.reset_index()
    frame["quarter"] = frame["quarter"].astype(str)
    return frame


@pytest.fixture(scope="module")
def fed_frame() -> pd.DataFrame:
    return _contract_frame(FED_CSV)


def _failed(result: C.ContractValidation) -> set[tuple[str, str | None]]:
    return {(f["expectation"], f["column"]) for f in result.failures}


# ------------------------------------------------------------------ every contract


def test_every_contract_loads_and_compiles() -> None:
    contracts = C.list_contracts()
    ids = {c.id for c in contracts}
    assert {"fed_scenario_domestic", "fed_scenario_international", "ngfs_iamc", "eba_adverse"} <= ids
    for contract in contracts:
        suite = C.build_expectation_suite(contract)
        assert len(suite.expectations) >= len(contract.columns)  # at least expect_column_to_exist each
        assert contract.path.stem == contract.id
        assert contract.columns, contract.id


def test_fed_contract_fields() -> None:
    c = C.load_contract("fed_scenario_domestic")
    assert (c.source, c.source_class, c.reliability_weight, c.blocking, c.frequency) == (
        "fed", "official", 0.85, True, "quarterly"
    )
    assert c.columns[0] == "quarter" and "vix" in c.columns and len(c.columns) == 17
    assert len(C.load_contract("fed_scenario_international").columns) == 13


def test_suite_mapping() -> None:
    suite = C.build_expectation_suite(C.load_contract("eba_adverse"))
    kinds = {(e.expectation_type, getattr(e, "column", None)) for e in suite.expectations}
    assert ("expect_table_row_count_to_be_between", None) in kinds
    assert ("expect_column_values_to_be_in_type_list", "year") in kinds
    assert ("expect_column_values_to_be_between", "year") in kinds
    assert ("expect_column_values_to_not_be_null", "country") in kinds
    compound = [e for e in suite.expectations if e.expectation_type == "expect_compound_columns_to_be_unique"]
    assert compound and list(compound[0].column_list) == ["country", "variable", "year"]
    fed = C.build_expectation_suite(C.load_contract("fed_scenario_domestic"))
    mostly = {e.column: e.mostly for e in fed.expectations if e.expectation_type == "expect_column_values_to_not_be_null"}
    assert mostly["vix"] == pytest.approx(0.60) and mostly["unemployment_rate"] == 1.0


# ------------------------------------------------------------------ validation


def test_good_fed_frame_passes(fed_frame: pd.DataFrame) -> None:
    result = C.validate_frame("fed_scenario_domestic", fed_frame, as_of=date(2026, 3, 31))
    assert result.success, result.failures
    assert result.n_rows == 13 and result.n_failed == 0 and result.n_expectations > 60
    assert result.freshness is not None and result.freshness["ok"] and result.freshness["newest"] == "2029-03-31"
    meta = result.to_metadata()
    json.dumps(meta)  # plain JSON
    assert meta["success"] is True and meta["blocking"] is True
    md = result.to_markdown()
    assert md.count("\n| expect_") == result.n_expectations and "passed" in md


def test_unemployment_out_of_range(fed_frame: pd.DataFrame) -> None:
    bad = fed_frame.copy()
    bad.loc[4, "unemployment_rate"] = 250.0
    result = C.validate_frame("fed_scenario_domestic", bad)
    assert not result.success
    assert _failed(result) == {("expect_column_values_to_be_between", "unemployment_rate")}
    (f,) = result.failures
    assert f["unexpected_count"] == 1 and f["sample_values"] == [250.0] and f["sample_rows"] == [4]
    assert "**fail**" in result.to_markdown()


def test_duplicate_quarter(fed_frame: pd.DataFrame) -> None:
    bad = fed_frame.copy()
    bad.loc[2, "quarter"] = bad.loc[1, "quarter"]
    result = C.validate_frame("fed_scenario_domestic", bad)
    assert _failed(result) == {("expect_column_values_to_be_unique", "quarter")}
    assert result.failures[0]["sample_rows"] == [1, 2]


def test_null_in_required_column(fed_frame: pd.DataFrame) -> None:
    bad = fed_frame.copy()
    bad.loc[0, "treasury_10y"] = np.nan
    result = C.validate_frame("fed_scenario_domestic", bad)
    assert _failed(result) == {("expect_column_values_to_not_be_null", "treasury_10y")}


def test_bad_type(fed_frame: pd.DataFrame) -> None:
    bad = fed_frame.copy()
    bad["cpi_inflation"] = bad["cpi_inflation"].astype(object)
    bad.loc[3, "cpi_inflation"] = "n/a"
    result = C.validate_frame("fed_scenario_domestic", bad)
    failed = _failed(result)
    assert ("expect_column_values_to_be_in_type_list", "cpi_inflation") in failed
    assert {col for _, col in failed} == {"cpi_inflation"}
    f = next(f for f in result.failures if f["expectation"] == "expect_column_values_to_be_in_type_list")
    assert f["sample_values"] == ["n/a"] and f["sample_rows"] == [3]


def test_bad_quarter_string_and_missing_column(fed_frame: pd.DataFrame) -> None:
    bad = fed_frame.drop(columns=["vix"]).copy()
    bad.loc[0, "quarter"] = "2026 Q1"
    result = C.validate_frame(C.load_contract("fed_scenario_domestic"), bad)
    failed = _failed(result)
    assert ("expect_column_values_to_match_regex", "quarter") in failed
    assert ("expect_column_to_exist", "vix") in failed


def test_freshness_stale(fed_frame: pd.DataFrame) -> None:
    result = C.validate_frame("fed_scenario_domestic", fed_frame, as_of=date(2032, 1, 1))
    assert not result.success and result.n_failed == 0
    assert result.freshness["ok"] is False and result.freshness["age_days"] > 730


def test_late_starting_series_allowed_in_history() -> None:
    frame = _contract_frame(fed_scenarios_dir() / "2026_final" / "2026_Final_Historic_Domestic.csv")
    result = C.validate_frame("fed_scenario_domestic", frame)
    assert result.success, result.failures


def test_ngfs_snapshot_passes() -> None:
    path = Path(C.__file__).resolve().parents[1] / "data" / "ngfs" / "ngfs_snapshot_1762055076.csv"
    frame = pd.read_csv(path)
    frame = frame[frame["Scenario"].notna()]  # the export's trailing copyright line
    assert C.validate_frame("ngfs_iamc", frame).success


def test_eba_compound_key() -> None:
    frame = pd.DataFrame(
        {"country": ["DE", "DE", "FR"], "variable": ["gdp", "gdp", "gdp"], "year": [2025, 2025, 2025],
         "value": [-1.0, -2.0, 0.5]}
    )
    result = C.validate_frame("eba_adverse", frame)
    assert ("expect_compound_columns_to_be_unique", "country, variable, year") in _failed(result)


# ------------------------------------------------------------------ consistency rules


def _copy_contract(tmp_path: Path, edit) -> Path:
    src = contracts_dir() / "datasets" / "eba_adverse.yaml"
    raw = yaml.safe_load(src.read_text())
    edit(raw)
    out = tmp_path / "eba_adverse.yaml"
    out.write_text(yaml.safe_dump(raw, sort_keys=False))
    return out


def _set_custom(raw: dict, key: str, value) -> None:
    for p in raw["customProperties"]:
        if p["property"] == key:
            p["value"] = value


def test_weight_disagreeing_with_class_is_refused(tmp_path: Path) -> None:
    path = _copy_contract(tmp_path, lambda raw: _set_custom(raw, "reliabilityWeight", 0.5))
    with pytest.raises(InputFileError) as err:
        C.load_contract_file(path)
    assert err.value.rule == "weight_mismatch" and str(path.resolve()) in str(err.value)


def test_class_disagreeing_with_sources_is_refused(tmp_path: Path) -> None:
    path = _copy_contract(tmp_path, lambda raw: _set_custom(raw, "sourceClass", "vendor"))
    with pytest.raises(InputFileError, match="class_mismatch"):
        C.load_contract_file(path)


def test_unknown_source_is_refused(tmp_path: Path) -> None:
    path = _copy_contract(tmp_path, lambda raw: _set_custom(raw, "source", "bloomberg"))
    with pytest.raises(InputFileError, match="unknown_source"):
        C.load_contract_file(path)


def test_invalid_yaml_and_schema_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\nschema: [unclosed\n")
    with pytest.raises(InputFileError, match="invalid_yaml") as err:
        C.load_contract_file(broken)
    assert "broken.yaml" in str(err.value)
    path = _copy_contract(tmp_path, lambda raw: raw["schema"][0]["properties"][2].update(logicalType="float"))
    with pytest.raises(InputFileError, match="invalid_contract"):
        C.load_contract_file(path)


def test_contract_weights_match_sources() -> None:
    sources = yaml.safe_load((contracts_dir() / "sources.yaml").read_text())
    for c in C.list_contracts():
        assert c.reliability_weight == sources["sources"][c.source]["prior"]
        assert c.source_class == sources["sources"][c.source]["class"]


def test_missing_contract_names_known() -> None:
    with pytest.raises(FileNotFoundError, match="fed_scenario_domestic"):
        C.load_contract("no_such_dataset")


def test_copied_contract_folder_is_not_needed(tmp_path: Path) -> None:
    # a contract file anywhere loads through load_contract_file (used for user contracts)
    dst = tmp_path / "fed_scenario_international.yaml"
    shutil.copy(contracts_dir() / "datasets" / "fed_scenario_international.yaml", dst)
    assert C.load_contract_file(dst).id == "fed_scenario_international"
