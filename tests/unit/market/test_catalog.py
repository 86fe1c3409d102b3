"""The risk-factor catalog: size, classes, sources that exist, validation errors."""

from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd
import pytest
import yaml

from risk_dagster.errors import InputFileError
from risk_dagster.market.catalog import (
    ASSET_CLASSES,
    RiskFactor,
    load_risk_factor_catalog,
    parse_risk_factor_catalog,
)
from risk_dagster.market.history import FED_DATASET
from risk_dagster.paths import contracts_dir

REQUIRED_IDS = [
    *(f"rates.ust.{t}" for t in ("1m", "3m", "6m", "1y", "2y", "3y", "5y", "7y", "10y", "20y", "30y")),
    "rates.fedfunds", "rates.mortgage30", "rates.prime",
    "credit.aaa", "credit.baa", "credit.spread.baa_10y", "credit.spread.aaa_10y", "credit.spread.bbb_10y",
    "equity.total_market", "equity.sp500",
    *(f"equity.sector.{s}" for s in
      ("nodur", "durbl", "manuf", "enrgy", "chems", "buseq", "telcm", "utils", "shops", "hlth", "money", "other")),
    "fx.eurusd", "fx.usdjpy", "fx.gbpusd", "fx.devasia_index", "fx.broad_dollar", "fx.usdchf", "fx.usdcad",
    "vol.vix", "vol.vxo", "commodity.wti", "realestate.house", "realestate.cre", "conditions.nfci",
]  # fmt: skip


@pytest.fixture(scope="module")
def catalog():
    return load_risk_factor_catalog()


def test_size_classes_and_required_ids(catalog) -> None:
    assert len(catalog) >= 45
    assert set(catalog.by_class()) == set(ASSET_CLASSES)
    assert len(set(catalog.ids)) == len(catalog)
    missing = [i for i in REQUIRED_IDS if i not in catalog]
    assert not missing


def test_list_like_and_lookup(catalog) -> None:
    assert catalog is load_risk_factor_catalog()  # cached
    first = catalog[0]
    assert isinstance(first, RiskFactor) and catalog[first.id] is first
    ten = catalog.get("rates.ust.10y")
    assert (ten.asset_class, ten.shock_type, ten.unit) == ("rates", "absolute_bp", "percent")
    assert (ten.source, ten.series, ten.aggregation, ten.fixed_by_fed) == ("treasury", "10 Yr", "last", "treasury_10y")
    assert ten.sources == ("treasury", "fred_md")
    assert catalog.get("equity.sector.hlth").aggregation == "compound"
    assert catalog.get("credit.spread.bbb_10y").fixed_by_fed_variables == ("bbb_yield", "treasury_10y")
    assert catalog.get("vol.vix").shock_type == "vol_points"
    with pytest.raises(KeyError, match="rates.ust.11y"):
        catalog.get("rates.ust.11y")
    assert sum(len(v) for v in catalog.by_class().values()) == len(catalog)


def test_shock_types_follow_classes(catalog) -> None:
    for f in catalog:
        if f.asset_class in ("rates", "credit"):
            assert f.shock_type == "absolute_bp" and f.unit == "percent", f.id
        elif f.asset_class == "volatility":
            assert f.shock_type == "vol_points", f.id
        elif f.asset_class == "conditions":
            assert f.shock_type == "absolute", f.id
        else:
            assert f.shock_type == "log_return", f.id


def test_every_source_column_exists(catalog, fed_history, sources) -> None:
    for f in catalog:
        for ref in f.refs:
            frame = fed_history if ref.dataset == FED_DATASET else sources[ref.dataset]
            for col in ref.columns:
                assert col in frame.columns, f"{f.id}: {ref.dataset} has no column {col!r}"


def test_fixed_by_fed_variables_exist(catalog, fed_history) -> None:
    fixed = catalog.fixed_by_fed()
    assert fixed["equity.total_market"] == "equity_total_market"
    assert fixed["realestate.cre"] == "cre_price_index"
    assert fixed["fx.eurusd"] == "usd_per_eur"
    for fid in fixed:
        for var in catalog.get(fid).fixed_by_fed_variables:
            assert var in fed_history.columns, (fid, var)


def test_enough_factors_have_history(catalog, history) -> None:
    assert len(history.usable(min_quarters=20)) >= 40
    # every factor with a source, in catalog order; the derived ones (no history) are left out
    assert list(history.levels.columns) == catalog.with_history().ids
    assert list(history.coverage.index) == catalog.with_history().ids
    assert not any("rating" in note for note in history.notes)


def test_factor_history_contract_matches_catalog(catalog) -> None:
    doc = yaml.safe_load((contracts_dir() / "datasets" / "factor_history.yaml").read_text())
    names = [p["name"] for p in doc["schema"][0]["properties"]]
    assert names == ["quarter", *catalog.with_history().ids]


def test_rating_spreads_are_derived_factors(catalog) -> None:
    from risk_dagster.translate.rating_spreads import RATING_FACTORS

    from risk_dagster.translate.curve_knots import curve_knot_factors

    from risk_dagster.translate.itraxx import ANCHORS
    from risk_dagster.translate.sovereign import SOVEREIGN_MODULE

    sovereign = {f.id for f in catalog if f.derived_from == SOVEREIGN_MODULE}
    assert len(sovereign) == 6  # the IT and ES 10y yields, four sovereign-over-swap spreads
    others = set(curve_knot_factors(catalog)) | set(ANCHORS) | sovereign
    assert [f for f in catalog.derived_ids if f not in others] == list(RATING_FACTORS)
    assert len(catalog.with_history()) == len(catalog) - len(RATING_FACTORS) - len(others)
    for fid in RATING_FACTORS:
        f = catalog.get(fid)
        assert f.is_derived and f.source == "derived" and f.refs == () and f.sources == ()
        assert (f.asset_class, f.shock_type, f.unit, f.fixed_by_fed) == ("credit", "absolute_bp", "percent", None)
        assert f.derived_from == "risk_dagster.translate.rating_spreads" and f.dataset is None
        assert fid in importlib.import_module(f.derived_from).RATING_FACTORS  # the module that derives it
    assert not catalog.get("credit.spread.baa_10y").is_derived


def _derived(**overrides) -> dict:
    entry = {
        "id": "credit.spread.rating.bb", "asset_class": "credit", "shock_type": "absolute_bp", "unit": "percent",
        "source": "derived", "derived_from": "risk_dagster.translate.rating_spreads", "fixed_by_fed": None,
        "description": "BB",
    }  # fmt: skip
    entry.update(overrides)
    return entry


def test_valid_derived_entry(tmp_path: Path) -> None:
    cat = parse_risk_factor_catalog(_write(tmp_path, [_entry(), _derived()]))
    assert cat.derived_ids == ["credit.spread.rating.bb"] and cat.with_history().ids == ["rates.ust.10y"]
    assert cat.get("credit.spread.rating.bb").as_dict()["derived_from"] == "risk_dagster.translate.rating_spreads"


@pytest.mark.parametrize(
    ("overrides", "rule", "column"),
    [
        ({"derived_from": None}, "missing_field", "derived_from"),
        ({"derived_from": "not a module"}, "bad_derived_from", "derived_from"),
        ({"dataset": "fred_md"}, "unknown_field", "dataset"),
        ({"fixed_by_fed": "bbb_yield"}, "bad_fixed_by_fed", "fixed_by_fed"),
        ({"unit": "bp"}, "bad_unit", "unit"),
    ],
)
def test_invalid_derived_entry_names_the_rule(tmp_path: Path, overrides, rule, column) -> None:
    with pytest.raises(InputFileError) as info:
        parse_risk_factor_catalog(_write(tmp_path, [_entry(), _derived(**overrides)]))
    assert info.value.rule == rule and info.value.column == column


# --------------------------------------------------------------------------- validation
def _write(tmp_path: Path, factors: list[dict]) -> Path:
    path = tmp_path / "risk_factors.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "factors": factors}, sort_keys=False))
    return path


def _entry(**overrides) -> dict:
    entry = {
        "id": "rates.ust.10y", "asset_class": "rates", "shock_type": "absolute_bp", "unit": "percent",
        "source": "treasury", "dataset": "treasury_par_curve", "series": "10 Yr", "aggregation": "last",
        "fixed_by_fed": None, "description": "10y",
    }  # fmt: skip
    entry.update(overrides)
    return entry


def test_valid_minimal_catalog(tmp_path: Path) -> None:
    cat = parse_risk_factor_catalog(_write(tmp_path, [_entry()]))
    assert cat.ids == ["rates.ust.10y"]


@pytest.mark.parametrize(
    ("overrides", "rule", "column"),
    [
        ({"asset_class": "crypto"}, "unknown_asset_class", "asset_class"),
        ({"shock_type": "pct"}, "unknown_shock_type", "shock_type"),
        ({"source": "bloomberg"}, "unknown_source", "source"),
        ({"dataset": "h10_usdeur"}, "source_mismatch", "source"),
        ({"shock_type": "log_return"}, "shock_type_mismatch", "shock_type"),
        ({"aggregation": "median"}, "unknown_aggregation", None),
        ({"id": "Rates 10y"}, "bad_id", "id"),
        ({"colour": "red"}, "unknown_field", "colour"),
        ({"unit": "bp"}, "bad_unit", "unit"),
    ],
)
def test_invalid_entry_names_file_entry_and_rule(tmp_path: Path, overrides, rule, column) -> None:
    path = _write(tmp_path, [_entry(id="rates.ust.2y", series="2 Yr"), _entry(**overrides)])
    with pytest.raises(InputFileError) as info:
        parse_risk_factor_catalog(path)
    err = info.value
    assert err.rule == rule and Path(err.path) == path
    assert err.row is not None and err.row > 2  # the second entry's line
    if column:
        assert err.column == column
    assert "factor" in err.message


def test_duplicate_id_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, [_entry(), _entry()])
    with pytest.raises(InputFileError, match="duplicate_id.*rates.ust.10y"):
        parse_risk_factor_catalog(path)


def test_missing_field_and_file(tmp_path: Path) -> None:
    entry = _entry()
    del entry["series"]
    with pytest.raises(InputFileError, match="missing_field"):
        parse_risk_factor_catalog(_write(tmp_path, [entry]))
    with pytest.raises(InputFileError, match="missing_file"):
        load_risk_factor_catalog(tmp_path / "nope.yaml")


def test_coverage_table_shape(history) -> None:
    cov = history.coverage
    assert {"first_quarter", "last_quarter", "n_quarters", "sources", "asset_class"} <= set(cov.columns)
    assert isinstance(cov.loc["rates.ust.10y", "first_quarter"], pd.Period)


# --------------------------------------------------------------------------- market fixings
def test_market_fixings_name_a_market_variable_and_only_one_kind_of_fixing(tmp_path: Path) -> None:
    cat = parse_risk_factor_catalog(_write(tmp_path, [_entry(fixed_by_fed=None, fixed_by_market="gov_10y_de")]))
    factor = cat.get("rates.ust.10y")
    assert factor.is_fixable and not factor.is_fixed_by_fed and factor.fixing_variables == ("gov_10y_de",)
    for overrides, rule in (
        ({"fixed_by_market": "not_a_market_variable"}, "bad_fixed_by_market"),
        ({"fixed_by_fed": "treasury_10y", "fixed_by_market": "gov_10y_de"}, "bad_fixed_by_market"),
    ):
        with pytest.raises(InputFileError) as info:
            parse_risk_factor_catalog(_write(tmp_path, [_entry(**overrides)]))
        assert (info.value.rule, info.value.column) == (rule, "fixed_by_market")


def test_every_market_fixing_of_the_shipped_catalog_is_mapped_from_the_eba(catalog) -> None:
    from risk_dagster.translate.conditioning import load_conditioning_map

    targets = {spec["to"] for spec in load_conditioning_map()["sources"]["eba"]["ea"].values()}
    fixed = {f.fixed_by_market for f in catalog if f.fixed_by_market}
    assert fixed and fixed <= targets, fixed - targets
