"""The bank's jump-off balance sheet (DESIGN.md "Canonical objects": BalanceSheet).

:func:`load_balance_sheet` reads one record from a YAML or JSON file laid out as the ODCS
contract ``data_contracts/datasets/balance_sheet.yaml`` (one key per property) and checks it
with the same rules: required fields, types, ranges and allowed values. A bad file is refused
with an :class:`~risk_dagster.errors.InputFileError` naming the file, the field (``column``)
and the rule (``missing_field``, ``unknown_field``, ``wrong_type``, ``out_of_range``,
``invalid_value``, ``invalid_yaml``, ``invalid_json``, ``not_a_mapping``).

The rules live in :data:`FIELDS`; a test checks they agree with the contract, so the loader
and the GX suite compiled from the contract cannot drift apart.

The shipped sample bank is :func:`sample_balance_sheet_path`
(``risk_dagster/data/portfolio/sample_balance_sheet.yaml``, synthetic).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from risk_dagster.errors import InputFileError
from risk_dagster.paths import data_dir

BALANCE_SHEET_ASSUMPTIONS = ("constant", "static")
DEFAULT_MINIMUM_CET1_RATIO = 0.045


@dataclass(frozen=True)
class FieldRule:
    """How one field of the balance sheet file is checked (mirrors the contract property)."""

    name: str
    kind: str  # "number", "string", "boolean", "date"
    required: bool = True
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    allowed: tuple[str, ...] | None = None
    default: Any = None

    def describe_range(self) -> str:
        parts = []
        if self.minimum is not None:
            parts.append(f">= {self.minimum:g}")
        if self.exclusive_minimum is not None:
            parts.append(f"> {self.exclusive_minimum:g}")
        if self.maximum is not None:
            parts.append(f"<= {self.maximum:g}")
        if self.exclusive_maximum is not None:
            parts.append(f"< {self.exclusive_maximum:g}")
        return " and ".join(parts)


def _usd(name: str, *, positive: bool = False) -> FieldRule:
    return FieldRule(name, "number", exclusive_minimum=0.0) if positive else FieldRule(name, "number", minimum=0.0)


FIELDS: tuple[FieldRule, ...] = (
    FieldRule("name", "string", required=False, default=""),
    FieldRule("as_of", "date"),
    FieldRule("currency", "string", allowed=("USD", "EUR")),
    _usd("cet1_capital", positive=True),
    _usd("rwa_credit", positive=True),
    _usd("rwa_market"),
    _usd("rwa_operational"),
    _usd("allowance"),
    _usd("deposits"),
    _usd("other_funding"),
    FieldRule("cash_and_reserves", "number", required=False, minimum=0.0, default=0.0),
    FieldRule("deposit_beta", "number", minimum=0.0, maximum=1.0),
    FieldRule("funding_beta", "number", minimum=0.0, maximum=1.0),
    _usd("net_interest_income"),
    _usd("noninterest_income"),
    _usd("noninterest_expense"),
    FieldRule("fee_income_equity_share", "number", required=False, minimum=0.0, maximum=1.0, default=0.0),
    _usd("operational_loss_per_quarter"),
    FieldRule("tax_rate", "number", minimum=0.0, exclusive_maximum=1.0),
    _usd("planned_dividends_per_quarter"),
    FieldRule("aoci_in_cet1", "boolean"),
    FieldRule("balance_sheet_assumption", "string", allowed=BALANCE_SHEET_ASSUMPTIONS),
    FieldRule(
        "minimum_cet1_ratio",
        "number",
        required=False,
        exclusive_minimum=0.0,
        exclusive_maximum=1.0,
        default=DEFAULT_MINIMUM_CET1_RATIO,
    ),
)
_RULES = {f.name: f for f in FIELDS}
_YAML11_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE]\d+$")
_PPNR_PARTS = ("net_interest_income", "noninterest_income", "noninterest_expense")


@dataclass(frozen=True)
class BalanceSheet:
    """A bank at the jump-off date; money in USD, flows per quarter, rates as decimals.

    Attributes follow the contract ``balance_sheet`` (see its descriptions). ``source`` is the
    file it was read from (empty when built in code).
    """

    as_of: date
    currency: str
    cet1_capital: float
    rwa_credit: float
    rwa_market: float
    rwa_operational: float
    allowance: float
    deposits: float
    other_funding: float
    deposit_beta: float
    funding_beta: float
    net_interest_income: float
    noninterest_income: float
    noninterest_expense: float
    operational_loss_per_quarter: float
    tax_rate: float
    planned_dividends_per_quarter: float
    aoci_in_cet1: bool
    balance_sheet_assumption: str
    minimum_cet1_ratio: float = DEFAULT_MINIMUM_CET1_RATIO
    cash_and_reserves: float = 0.0
    fee_income_equity_share: float = 0.0
    name: str = ""
    source: str = ""

    @property
    def rwa(self) -> float:
        """Total RWA: credit + market + operational, in the balance sheet's currency."""
        return self.rwa_credit + self.rwa_market + self.rwa_operational

    @property
    def cet1_ratio(self) -> float:
        """CET1 capital / RWA at jump-off (decimal)."""
        return self.cet1_capital / self.rwa

    @property
    def ppnr_run_rate(self) -> float:
        """Pre-provision net revenue per quarter: NII + noninterest income - noninterest expense, USD."""
        return self.net_interest_income + self.noninterest_income - self.noninterest_expense

    def to_dict(self) -> dict[str, Any]:
        """The contract's fields (``as_of`` as an ISO date), without ``source``."""
        out = {k: v for k, v in asdict(self).items() if k != "source"}
        out["as_of"] = self.as_of.isoformat()
        return out

    def to_frame(self) -> Any:
        """One-row pandas frame with the contract's columns (for ``validate_frame``)."""
        import pandas as pd

        row = {k: v for k, v in asdict(self).items() if k != "source"}
        return pd.DataFrame([row], columns=[f.name for f in FIELDS])


def sample_balance_sheet_path() -> Path:
    """The shipped synthetic sample bank's balance sheet."""
    return data_dir() / "portfolio" / "sample_balance_sheet.yaml"


def _read(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputFileError(path, "invalid_json", f"not valid JSON: {exc}", row=exc.lineno) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputFileError(path, "invalid_yaml", f"not valid YAML: {exc}") from exc


def _check_value(path: Path, rule: FieldRule, value: Any) -> Any:
    def bad(rule_name: str, message: str) -> InputFileError:
        return InputFileError(path, rule_name, message, column=rule.name)

    if rule.kind == "number":
        if isinstance(value, str) and _YAML11_FLOAT.match(value):
            value = float(value)  # PyYAML (YAML 1.1) reads 1.5e9 (no exponent sign) as a string
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("wrong_type", f"must be a number, got {value!r} ({type(value).__name__})")
        number = float(value)
        if not math.isfinite(number):
            raise bad("out_of_range", f"must be finite, got {value!r}")
        if (
            (rule.minimum is not None and number < rule.minimum)
            or (rule.maximum is not None and number > rule.maximum)
            or (rule.exclusive_minimum is not None and number <= rule.exclusive_minimum)
            or (rule.exclusive_maximum is not None and number >= rule.exclusive_maximum)
        ):
            raise bad("out_of_range", f"must be {rule.describe_range()}, got {value!r}")
        return number
    if rule.kind == "boolean":
        if not isinstance(value, bool):
            raise bad("wrong_type", f"must be true or false, got {value!r} ({type(value).__name__})")
        return value
    if rule.kind == "date":
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value.strip())
            except ValueError:
                pass
        raise bad("wrong_type", f"must be a date YYYY-MM-DD, got {value!r}")
    # string
    if not isinstance(value, str):
        raise bad("wrong_type", f"must be a string, got {value!r} ({type(value).__name__})")
    if rule.allowed is not None and value not in rule.allowed:
        raise bad("invalid_value", f"must be one of {', '.join(rule.allowed)}, got {value!r}")
    return value


def balance_sheet_from_mapping(raw: Any, path: str | Path = "<balance sheet>") -> BalanceSheet:
    """Check a mapping laid out as the contract and build the :class:`BalanceSheet`.

    A nested ``ppnr_run_rate: {net_interest_income, noninterest_income, noninterest_expense}``
    is accepted in place of the three flat fields.

    Raises
    ------
    InputFileError
        Naming ``path``, the field and the rule broken.
    """
    path = Path(path)
    if not isinstance(raw, dict):
        raise InputFileError(path, "not_a_mapping", f"expected one record (a mapping of field: value), got {type(raw).__name__}")
    raw = dict(raw)
    nested = raw.pop("ppnr_run_rate", None)
    if nested is not None:
        if not isinstance(nested, dict):
            raise InputFileError(path, "wrong_type", "must be a mapping of the PPNR parts", column="ppnr_run_rate")
        for key, value in nested.items():
            if key not in _PPNR_PARTS:
                raise InputFileError(
                    path, "unknown_field", f"ppnr_run_rate parts are {', '.join(_PPNR_PARTS)}", column=f"ppnr_run_rate.{key}"
                )
            if key in raw:
                raise InputFileError(path, "duplicate_field", "given both flat and under ppnr_run_rate", column=key)
            raw[key] = value
    for key in raw:
        if key not in _RULES:
            raise InputFileError(
                path, "unknown_field", f"not a balance-sheet field (known: {', '.join(_RULES)})", column=str(key)
            )
    values: dict[str, Any] = {}
    for rule in FIELDS:
        if rule.name not in raw or raw[rule.name] is None:
            if rule.required:
                raise InputFileError(path, "missing_field", f"required field ({rule.kind}) is missing", column=rule.name)
            values[rule.name] = rule.default
            continue
        values[rule.name] = _check_value(path, rule, raw[rule.name])
    return BalanceSheet(**values, source=str(path))


def load_balance_sheet(path: str | Path) -> BalanceSheet:
    """Read and check a balance-sheet file (``.json`` as JSON, anything else as YAML).

    Raises
    ------
    FileNotFoundError
        When there is no such file.
    InputFileError
        Naming the file, the field and the rule broken (see the module docstring).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no balance-sheet file at {path}")
    return balance_sheet_from_mapping(_read(path), path)


def load_sample_balance_sheet() -> BalanceSheet:
    """The shipped synthetic sample bank (:func:`sample_balance_sheet_path`)."""
    return load_balance_sheet(sample_balance_sheet_path())


__all__ = [
    "BALANCE_SHEET_ASSUMPTIONS",
    "DEFAULT_MINIMUM_CET1_RATIO",
    "FIELDS",
    "BalanceSheet",
    "FieldRule",
    "balance_sheet_from_mapping",
    "load_balance_sheet",
    "load_sample_balance_sheet",
    "sample_balance_sheet_path",
]
