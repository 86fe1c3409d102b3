"""The macro variable catalog: the Fed file's content, alias resolution and merge rules."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from risk_dagster.paths import contracts_dir, fed_scenarios_dir
from risk_dagster.scenarios.catalog import (
    FED_TRANSFORMATIONS,
    CatalogError,
    Variable,
    load_variable_catalog,
    normalise_header,
    read_catalog_files,
)

FED_FILE = contracts_dir() / "catalogs" / "variables_fed.yaml"
DOMESTIC = [
    "real_gdp_growth", "nominal_gdp_growth", "real_disposable_income_growth",
    "nominal_disposable_income_growth", "unemployment_rate", "cpi_inflation", "treasury_3m",
    "treasury_5y", "treasury_10y", "bbb_yield", "mortgage_rate", "prime_rate",
    "equity_total_market", "house_price_index", "cre_price_index", "vix",
]  # fmt: skip
INTERNATIONAL = [
    "euro_area_real_gdp_growth", "euro_area_inflation", "usd_per_eur",
    "developing_asia_real_gdp_growth", "developing_asia_inflation", "developing_asia_fx_index",
    "japan_real_gdp_growth", "japan_inflation", "jpy_per_usd", "uk_real_gdp_growth",
    "uk_inflation", "usd_per_gbp",
]  # fmt: skip


def test_fed_catalog_has_the_28_variables_in_published_order() -> None:
    catalog = load_variable_catalog()
    assert catalog.ids(source="fed", scope="domestic") == DOMESTIC
    assert catalog.ids(source="fed", scope="international") == INTERNATIONAL
    assert catalog.ids()[:28] == DOMESTIC + INTERNATIONAL  # the Fed file leads


def test_fed_entries_follow_the_schema() -> None:
    doc = yaml.safe_load(FED_FILE.read_text(encoding="utf-8"))
    assert list(doc) == ["variables"]
    for entry in doc["variables"]:
        assert set(entry) == {"id", "name", "source", "scope", "unit", "transformation", "range", "aliases"}
        assert entry["source"] == "fed"
        assert entry["scope"] in {"domestic", "international"}
        assert entry["transformation"] in FED_TRANSFORMATIONS
        low, high = entry["range"]
        assert low < high
        assert entry["aliases"], entry["id"]


def test_every_shipped_header_is_an_alias() -> None:
    catalog = load_variable_catalog()
    for path in fed_scenarios_dir().glob("*/*.csv"):
        header = path.read_text(encoding="utf-8").splitlines()[0]
        for column in next(csv.reader([header]))[2:]:
            var = catalog.resolve_column(column, source="fed")
            assert var is not None, (path.name, column)
            assert any(normalise_header(a) == normalise_header(column) for a in var.aliases)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Dow Jones Total Stock Market Index", "equity_total_market"),
        ("DOW JONES TOTAL STOCK MARKET INDEX (LEVEL)", "equity_total_market"),
        ("Market Volatility Index (Level)", "vix"),
        ("  Market   Volatility Index ", "vix"),
        ("BBB corporate yield", "bbb_yield"),
        ("U.K. bilateral dollar exchange rate (USD/pound)", "usd_per_gbp"),
        ("UK bilateral dollar exchange rate (USD per pound)", "usd_per_gbp"),
        ("Developing Asia bilateral dollar exchange rate (F/USD, index)", "developing_asia_fx_index"),
        ("Developing Asia bilateral dollar exchange rate (F/USD, index, base = 2000 Q1)", "developing_asia_fx_index"),
        ("3-month Treasury rate", "treasury_3m"),
        ("3 Month treasury rate", "treasury_3m"),
        ("Commercial Real Estate Price Index (Level)", "cre_price_index"),
        ("Commercial real estate price index", "cre_price_index"),
        ("Euro area bilateral dollar exchange rate (USD/Euro)", "usd_per_eur"),
        ("Japan bilateral dollar exchange rate (yen/USD)", "jpy_per_usd"),
        ("unemployment_rate", "unemployment_rate"),
    ],
)
def test_resolve_column_normalises(header: str, expected: str) -> None:
    var = load_variable_catalog().resolve_column(header, source="fed")
    assert var is not None and var.id == expected


def test_resolve_column_unknown_is_none() -> None:
    catalog = load_variable_catalog()
    assert catalog.resolve_column("Bitcoin price") is None
    assert catalog.resolve_column("Scenario Name") is None


def test_get_and_ranges() -> None:
    catalog = load_variable_catalog()
    vix = catalog.get("vix")
    assert isinstance(vix, Variable)
    assert (vix.minimum, vix.maximum) == (5.0, 150.0)
    assert catalog.get("treasury_10y").in_range(4.1)
    assert not catalog.get("treasury_10y").in_range(410)  # basis points are refused
    assert not catalog.get("unemployment_rate").in_range(250)
    with pytest.raises(KeyError):
        catalog.get("nope")
    assert {v.id for v in catalog} >= set(DOMESTIC + INTERNATIONAL)


def test_shipped_values_lie_in_their_ranges() -> None:
    from risk_dagster.scenarios.registry import load_fed_history, load_scenario, scenario_partition_ids

    catalog = load_variable_catalog()
    # the Fed's files (the EBA's long layout has its own contract, eba_adverse, with its ranges)
    scenarios = [load_scenario(s) for s in scenario_partition_ids() if s.startswith("fed-")]
    scenarios += [load_fed_history(v) for v in ("2025", "2026", "2026-proposed")]
    for scenario in scenarios:
        for var_id, values in scenario.data.groupby("variable")["value"]:
            var = catalog.get(str(var_id))
            assert values.min() >= var.minimum and values.max() <= var.maximum, var_id


def _write(tmp_path: Path, name: str, entries: list[dict]) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"variables": entries}), encoding="utf-8")
    return path


def _entry(vid: str, source: str = "fed", aliases: tuple[str, ...] = ()) -> dict:
    return {
        "id": vid, "name": vid, "source": source, "scope": "domestic", "unit": "percent",
        "transformation": "level", "range": [0, 1], "aliases": list(aliases),
    }  # fmt: skip


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    a = _write(tmp_path, "variables_a.yaml", [_entry("x")])
    b = _write(tmp_path, "variables_b.yaml", [_entry("x", source="eba")])
    with pytest.raises(CatalogError, match="duplicate variable id 'x'"):
        read_catalog_files([a, b])


def test_clashing_aliases_within_a_source_are_refused(tmp_path: Path) -> None:
    a = _write(tmp_path, "variables_a.yaml", [_entry("x", aliases=("Foo rate",)), _entry("y", aliases=("FOO  RATE",))])
    with pytest.raises(CatalogError, match="already an alias"):
        read_catalog_files([a])


def test_same_alias_in_two_sources_is_scoped(tmp_path: Path) -> None:
    a = _write(tmp_path, "variables_a.yaml", [_entry("x", aliases=("GDP growth",))])
    b = _write(tmp_path, "variables_b.yaml", [_entry("y", source="eba", aliases=("GDP growth",))])
    catalog = read_catalog_files([a, b])
    assert catalog.resolve_column("gdp growth").id == "x"  # first source wins without a filter
    assert catalog.resolve_column("gdp growth", source="eba").id == "y"


def test_malformed_entry_is_refused(tmp_path: Path) -> None:
    bad = _entry("x")
    bad["range"] = [5, 1]
    with pytest.raises(CatalogError, match="range"):
        read_catalog_files([_write(tmp_path, "variables_a.yaml", [bad])])
