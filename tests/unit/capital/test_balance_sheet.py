"""The jump-off balance sheet: the contract, the loader's rules, the sample bank."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from risk_dagster.capital import balance_sheet as B
from risk_dagster.errors import InputFileError
from risk_dagster.quality.contracts import load_contract


def _sample_raw() -> dict[str, Any]:
    return yaml.safe_load(B.sample_balance_sheet_path().read_text(encoding="utf-8"))


def _write(tmp_path: Path, raw: Any, name: str = "bank.yaml") -> Path:
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps(raw, default=str), encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


# ------------------------------------------------------------------------- the sample bank
def test_sample_loads_with_a_large_us_bank_scale() -> None:
    bs = B.load_sample_balance_sheet()
    assert bs.as_of == date(2025, 12, 31) and bs.currency == "USD"
    assert bs.rwa == pytest.approx(bs.rwa_credit + bs.rwa_market + bs.rwa_operational)
    assert 1.6e12 <= bs.rwa <= 1.9e12
    assert 0.13 <= bs.cet1_ratio <= 0.15
    assert bs.cet1_ratio == pytest.approx(bs.cet1_capital / bs.rwa)
    assert bs.ppnr_run_rate == pytest.approx(bs.net_interest_income + bs.noninterest_income - bs.noninterest_expense)
    assert bs.ppnr_run_rate > 0
    assert bs.aoci_in_cet1 is True and bs.balance_sheet_assumption == "constant"
    assert bs.minimum_cet1_ratio == 0.045 and bs.tax_rate == 0.21
    assert bs.source.endswith("sample_balance_sheet.yaml")


def test_json_and_nested_ppnr_give_the_same_sheet(tmp_path: Path) -> None:
    bs = B.load_sample_balance_sheet()
    from_json = B.load_balance_sheet(_write(tmp_path, bs.to_dict(), "bank.json"))
    assert from_json.to_dict() == bs.to_dict()
    raw = _sample_raw()
    raw["ppnr_run_rate"] = {p: raw.pop(p) for p in ("net_interest_income", "noninterest_income", "noninterest_expense")}
    assert B.load_balance_sheet(_write(tmp_path, raw)).to_dict() == bs.to_dict()


def test_optional_fields_take_their_defaults(tmp_path: Path) -> None:
    raw = _sample_raw()
    del raw["minimum_cet1_ratio"], raw["name"]
    bs = B.load_balance_sheet(_write(tmp_path, raw))
    assert bs.minimum_cet1_ratio == 0.045 and bs.name == ""


def test_yaml11_exponent_without_sign_is_a_number(tmp_path: Path) -> None:
    text = B.sample_balance_sheet_path().read_text(encoding="utf-8").replace("cet1_capital: 240.0e+9", "cet1_capital: 2.4e11")
    path = tmp_path / "bank.yaml"
    path.write_text(text, encoding="utf-8")
    assert B.load_balance_sheet(path).cet1_capital == 2.4e11


# --------------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("tax_rate", 1.2, "out_of_range"),
        ("tax_rate", 1.0, "out_of_range"),
        ("deposit_beta", -0.1, "out_of_range"),
        ("funding_beta", 1.5, "out_of_range"),
        ("cet1_capital", 0.0, "out_of_range"),
        ("allowance", -1.0, "out_of_range"),
        ("minimum_cet1_ratio", 4.5, "out_of_range"),
        ("cet1_capital", "lots", "wrong_type"),
        ("cet1_capital", True, "wrong_type"),
        ("aoci_in_cet1", "yes please", "wrong_type"),
        ("aoci_in_cet1", 1, "wrong_type"),
        ("as_of", "31/12/2025", "wrong_type"),
        ("balance_sheet_assumption", "dynamic", "invalid_value"),
        ("currency", "GBP", "invalid_value"),
        ("rwa_market", float("nan"), "out_of_range"),
    ],
)
def test_bad_field_is_refused_naming_file_field_rule(tmp_path: Path, field: str, value: Any, rule: str) -> None:
    raw = _sample_raw()
    raw[field] = value
    path = _write(tmp_path, raw)
    with pytest.raises(InputFileError) as err:
        B.load_balance_sheet(path)
    assert (err.value.rule, err.value.column, Path(err.value.path)) == (rule, field, path)
    text = str(err.value)
    assert str(path) in text and field in text and rule in text


def test_missing_and_unknown_fields(tmp_path: Path) -> None:
    raw = _sample_raw()
    del raw["rwa_credit"]
    with pytest.raises(InputFileError, match="rwa_credit.*missing_field"):
        B.load_balance_sheet(_write(tmp_path, raw))
    raw = _sample_raw()
    raw["cet1_capitol"] = 1.0
    with pytest.raises(InputFileError, match="cet1_capitol.*unknown_field"):
        B.load_balance_sheet(_write(tmp_path, raw))
    raw = _sample_raw()
    raw["ppnr_run_rate"] = {"net_interest_income": 1.0}
    with pytest.raises(InputFileError, match="net_interest_income.*duplicate_field"):
        B.load_balance_sheet(_write(tmp_path, raw))


def test_bad_files(tmp_path: Path) -> None:
    bad_yaml = tmp_path / "a.yaml"
    bad_yaml.write_text("cet1_capital: [1,\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="invalid_yaml"):
        B.load_balance_sheet(bad_yaml)
    bad_json = tmp_path / "a.json"
    bad_json.write_text("{", encoding="utf-8")
    with pytest.raises(InputFileError, match="invalid_json"):
        B.load_balance_sheet(bad_json)
    listing = _write(tmp_path, [1, 2])
    with pytest.raises(InputFileError, match="not_a_mapping"):
        B.load_balance_sheet(listing)
    with pytest.raises(FileNotFoundError, match="no balance-sheet file"):
        B.load_balance_sheet(tmp_path / "none.yaml")


# ----------------------------------------------------------------- the contract and the rules
def test_loader_rules_agree_with_the_contract() -> None:
    contract = load_contract("balance_sheet")
    assert contract.columns == [f.name for f in B.FIELDS]
    assert (contract.source, contract.blocking) == ("user", True)
    kinds = {"number": "number", "string": "string", "boolean": "boolean", "date": "date"}
    for prop, rule in zip(contract.properties, B.FIELDS, strict=True):
        assert kinds[rule.kind] == prop.logicalType, prop.name
        assert bool(prop.required) == rule.required, prop.name
        opts = dict(prop.logicalTypeOptions or {})
        assert opts.get("minimum") == rule.minimum, prop.name
        assert opts.get("maximum") == rule.maximum, prop.name
        assert opts.get("exclusiveMinimum") == rule.exclusive_minimum, prop.name
        assert opts.get("exclusiveMaximum") == rule.exclusive_maximum, prop.name
        enum = tuple(e.value if hasattr(e, "value") else e["value"] for e in prop.enum) if prop.enum else None
        assert enum == rule.allowed, prop.name
    dataclass_fields = set(B.BalanceSheet.__dataclass_fields__) - {"source"}
    assert dataclass_fields == {f.name for f in B.FIELDS}


def test_to_frame_has_the_contract_columns() -> None:
    frame = B.load_sample_balance_sheet().to_frame()
    assert list(frame.columns) == [f.name for f in B.FIELDS] and len(frame) == 1


def test_the_shipped_euro_bank_meets_the_same_contract() -> None:
    from risk_dagster.capital.eba_capital import euro_balance_sheet_path
    from risk_dagster.quality.contracts import validate_frame

    sheet = B.load_balance_sheet(euro_balance_sheet_path())
    assert (sheet.currency, sheet.balance_sheet_assumption) == ("EUR", "static")
    assert sheet.cet1_ratio == pytest.approx(0.1586)
    assert validate_frame("balance_sheet", sheet.to_frame()).success
