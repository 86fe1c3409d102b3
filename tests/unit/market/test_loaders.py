"""Market-history loaders: real values from the shipped files, sentinels, ragged edges, bad files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from risk_dagster.errors import InputFileError
from risk_dagster.market.loaders import (
    FRENCH_INDUSTRIES,
    HISTORY_SOURCES,
    TREASURY_TENORS,
    apply_fred_transform,
    load_fred_md,
    load_fred_md_dictionary,
    load_french_industries,
    load_treasury_curve,
    load_usrec,
    load_wti,
    to_quarterly,
)
from risk_dagster.paths import contracts_dir, data_dir


def _at(frame: pd.DataFrame, day: str) -> pd.Series:
    return frame.loc[frame["date"] == pd.Timestamp(day)].iloc[0]


# --------------------------------------------------------------------------- Treasury
def test_treasury_values_and_order(sources) -> None:
    curve = sources["treasury_par_curve"]
    assert list(curve.columns) == ["date", *TREASURY_TENORS]
    assert curve["date"].dtype == "datetime64[ns]"
    assert curve["date"].is_monotonic_increasing and curve["date"].is_unique
    assert curve["date"].iloc[0] == pd.Timestamp("1990-01-02")
    assert curve["date"].iloc[-1] == pd.Timestamp("2024-12-31")
    assert _at(curve, "2024-12-31")["10 Yr"] == pytest.approx(4.58)
    assert _at(curve, "1990-01-02")["10 Yr"] == pytest.approx(7.94)


def test_treasury_blanks_are_nan_not_zero(sources) -> None:
    curve = sources["treasury_par_curve"]
    gap = curve[(curve["date"] >= "2002-02-19") & (curve["date"] <= "2006-02-08")]
    assert len(gap) > 900 and gap["30 Yr"].isna().all()
    assert _at(curve, "2002-02-15")["30 Yr"] == pytest.approx(5.37)
    assert _at(curve, "2006-02-09")["30 Yr"] == pytest.approx(4.51)
    assert curve.loc[curve["date"] < "2001-07-31", "1 Mo"].isna().all()
    assert not (curve[list(TREASURY_TENORS)] == 0).all(axis=1).any()
    # the fully blank row of 10/11/10 is dropped
    assert not (curve["date"] == pd.Timestamp("2010-10-11")).any()


# --------------------------------------------------------------------------- FRED-MD / QD
def test_fred_md_codes_and_levels(sources) -> None:
    md = sources["fred_md"]
    codes = md.attrs["transform_codes"]
    assert len(codes) == 126 and len(md.columns) == 127
    assert codes["GS10"] == 2 and codes["S&P 500"] == 5 and codes["OILPRICEx"] == 6 and codes["VIXCLSx"] == 1
    assert md["date"].iloc[0] == pd.Timestamp("1959-01-01") and md["date"].iloc[-1] == pd.Timestamp("2025-08-01")
    assert _at(md, "2008-12-01")["GS10"] == pytest.approx(2.42)
    # ragged edge: the last month has blanks, kept as NaN
    assert md.iloc[-1].isna().any()


def test_fred_md_dictionary_matches_data(sources) -> None:
    dictionary = load_fred_md_dictionary()
    assert "IPB51222S" in set(dictionary["fred"])
    codes = sources["fred_md"].attrs["transform_codes"]
    by_name = dict(zip(dictionary["fred"], dictionary["tcode"], strict=True))
    assert {k: by_name[k] for k in codes} == codes
    assert dictionary["description"].str.contains("\u2019").any()  # cp1252 apostrophes decoded


def test_fred_qd_quarters(sources) -> None:
    qd = sources["fred_qd"]
    assert set(qd["date"].dt.month) == {3, 6, 9, 12}
    assert len(qd) == 266 and len(qd.attrs["transform_codes"]) == 245
    assert set(qd.attrs["factors"].values()) <= {0, 1, None}
    q = to_quarterly(qd[["date", "GDPC1"]])
    assert q.index[0] == pd.Period("1959Q1", "Q-DEC") and q.index[-1] == pd.Period("2025Q2", "Q-DEC")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (1, [1.0, 2.0, 4.0, 8.0]),
        (2, [np.nan, 1.0, 2.0, 4.0]),
        (3, [np.nan, np.nan, 1.0, 2.0]),
        (4, list(np.log([1.0, 2.0, 4.0, 8.0]))),
        (5, [np.nan, np.log(2), np.log(2), np.log(2)]),
        (6, [np.nan, np.nan, 0.0, 0.0]),
        (7, [np.nan, np.nan, 0.0, 0.0]),
    ],
)
def test_apply_fred_transform(code: int, expected: list[float]) -> None:
    out = apply_fred_transform(pd.Series([1.0, 2.0, 4.0, 8.0], name="x"), code)
    np.testing.assert_allclose(out.to_numpy(), expected, atol=1e-12, equal_nan=True)
    assert out.name == "x"


def test_apply_fred_transform_rejects_unknown_code_and_logs_of_negatives() -> None:
    with pytest.raises(ValueError, match="8"):
        apply_fred_transform(pd.Series([1.0, 2.0]), 8)
    assert np.isnan(apply_fred_transform(pd.Series([-1.0, 2.0]), 4).iloc[0])


# --------------------------------------------------------------------------- French
def test_french_vw_monthly_block(sources) -> None:
    fr = sources["french_industry_12"]
    assert list(fr.columns) == ["date", *FRENCH_INDUSTRIES]
    assert len(fr) == 1182
    first = fr.iloc[0]
    assert first["date"] == pd.Timestamp("1926-07-01")
    assert first["NoDur"] == pytest.approx(1.45) and first["Hlth"] == pytest.approx(1.77)
    assert fr["date"].iloc[-1] == pd.Timestamp("2024-12-01")
    assert fr.attrs["copyright"] == "Copyright 2024 Eugene F. Fama and Kenneth R. French"


FRENCH_SNIPPET = (
    "This file was created by CMPT_IND_RETS.\r\n\r\n"
    "  Average Value Weighted Returns -- Monthly\r\n"
    ",NoDur,Durbl,Manuf,Enrgy,Chems,BusEq,Telcm,Utils,Shops,Hlth ,Money,Other\r\n"
    "192607,   1.45,  15.55,   3.67,  -1.18,   8.01,   3.16,   0.83,   7.04,   0.11,   1.77,  -0.02,   2.22\r\n"
    "192608, -99.99,   3.68,   2.42,   3.47,   5.14,   1.97,   2.17,  -1.69,  -0.71,   4.25,   4.47,   -999\r\n"
    "\r\n  Average Equal Weighted Returns -- Monthly\r\n"
    ",NoDur,Durbl,Manuf,Enrgy,Chems,BusEq,Telcm,Utils,Shops,Hlth ,Money,Other\r\n"
    "192607,   9.99,   9.99,   9.99,   9.99,   9.99,   9.99,   9.99,   9.99,   9.99,   9.99,   9.99,   9.99\r\n"
    "\r\nCopyright 2024 Eugene F. Fama and Kenneth R. French\r\n"
)


def test_french_sentinels_become_nan(tmp_path: Path) -> None:
    path = tmp_path / "ind.CSV"
    path.write_text(FRENCH_SNIPPET, newline="")
    fr = load_french_industries(path)
    assert len(fr) == 2  # the EW block is not read
    assert np.isnan(fr.loc[1, "NoDur"]) and np.isnan(fr.loc[1, "Other"])
    assert fr.loc[1, "Durbl"] == pytest.approx(3.68)
    # a quarter with a missing month has no compounded return
    assert to_quarterly(fr, "compound")["Durbl"].isna().all()


def test_french_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "ind.CSV"
    path.write_text(FRENCH_SNIPPET.replace("Average Value Weighted Returns -- Monthly", "Something else"))
    with pytest.raises(InputFileError, match="missing_block"):
        load_french_industries(path)
    path.write_text(FRENCH_SNIPPET.replace("   3.68", "   abc"))
    with pytest.raises(InputFileError) as info:
        load_french_industries(path)
    assert (info.value.rule, info.value.row, info.value.column) == ("non_numeric", 6, "Durbl")
    path.write_text(FRENCH_SNIPPET.replace("\r\nCopyright 2024 Eugene F. Fama and Kenneth R. French\r\n", ""))
    with pytest.raises(InputFileError, match="missing_copyright"):
        load_french_industries(path)


# --------------------------------------------------------------------------- single FRED series
def test_wti_keeps_the_real_negative(sources) -> None:
    wti = sources["eia_wti"]
    assert _at(wti, "2020-04-20")["DCOILWTICO"] == pytest.approx(-36.98)
    assert (wti["DCOILWTICO"] < 0).sum() == 1
    assert np.isnan(_at(wti, "1990-01-01")["DCOILWTICO"])  # blank = missing, not zero


def test_fx_nfci_usrec(sources) -> None:
    eur = sources["h10_usdeur"]
    assert eur["date"].iloc[0] == pd.Timestamp("1999-01-04") and eur["DEXUSEU"].iloc[0] == pytest.approx(1.1812)
    assert eur["DEXUSEU"].isna().sum() > 200 and (eur["DEXUSEU"].dropna() > 0).all()
    assert sources["h10_broad_dollar"]["DTWEXBGS"].iloc[0] == pytest.approx(101.4155)
    assert sources["chicago_nfci"]["date"].dt.dayofweek.eq(4).all()  # Fridays
    rec = sources["nber_usrec"]
    assert set(rec["USREC"].unique()) == {0.0, 1.0}
    assert rec.loc[rec["date"].between("2008-01-01", "2009-06-01"), "USREC"].eq(1).all()


def test_registry_covers_every_loader(sources) -> None:
    assert set(sources) == set(HISTORY_SOURCES)
    for dataset_id, src in HISTORY_SOURCES.items():
        frame = sources[dataset_id]
        assert frame.columns[0] == "date" and frame["date"].dtype == "datetime64[ns]", dataset_id
        assert src.frequency in {"daily", "weekly", "monthly", "quarterly"}
        assert (contracts_dir() / "datasets" / f"{src.contract}.yaml").is_file()


# --------------------------------------------------------------------------- contracts
def _contract(dataset: str) -> dict:
    return yaml.safe_load((contracts_dir() / "datasets" / f"{dataset}.yaml").read_text())


@pytest.mark.parametrize("dataset_id", list(HISTORY_SOURCES))
def test_contract_matches_loader_output(dataset_id: str, sources) -> None:
    from open_data_contract_standard.model import OpenDataContractStandard

    doc = _contract(dataset_id)
    OpenDataContractStandard.model_validate(doc)
    props = {p["property"]: p["value"] for p in doc["customProperties"]}
    assert props["source"] == HISTORY_SOURCES[dataset_id].source
    assert props["frequency"] == HISTORY_SOURCES[dataset_id].frequency
    assert {"sourceClass", "reliabilityWeight", "blocking"} <= set(props)
    frame = sources[dataset_id]
    # a source with a repair is loaded as published, damage included, and its contract fails on
    # purpose (tests/unit/quality/test_euro_contracts.py): only its columns are compared here
    damaged = HISTORY_SOURCES[dataset_id].repair is not None
    for prop in doc["schema"][0]["properties"]:
        name = prop["name"]
        assert name in frame.columns, (dataset_id, name)
        if damaged:
            continue
        bounds = prop.get("logicalTypeOptions") or {}
        values = frame[name].dropna()
        if "minimum" in bounds:
            assert (values >= bounds["minimum"]).all(), (dataset_id, name)
            assert (values <= bounds["maximum"]).all(), (dataset_id, name)
        for rule in prop.get("quality", []):
            if rule.get("metric") == "nullValues":
                assert 100 * frame[name].isna().mean() <= rule["mustBeLessOrEqualTo"], (dataset_id, name)


def test_contract_priors_follow_sources_yaml() -> None:
    policy = yaml.safe_load((contracts_dir() / "sources.yaml").read_text())
    for dataset_id in [*HISTORY_SOURCES, "factor_history"]:
        props = {p["property"]: p["value"] for p in _contract(dataset_id)["customProperties"]}
        entry = policy["sources"][props["source"]]
        assert props["sourceClass"] == entry["class"], dataset_id
        assert props["reliabilityWeight"] == entry.get("prior", policy["classes"][entry["class"]]["prior"])


# --------------------------------------------------------------------------- to_quarterly
def test_to_quarterly_rules() -> None:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01", "2020-04-01", "2020-05-01"]),
            "x": [1.0, 2.0, 4.0, 5.0, 6.0],
            "r": [10.0, -10.0, 0.0, 5.0, 5.0],
        }
    )
    last = to_quarterly(frame, "last")
    assert isinstance(last.index, pd.PeriodIndex) and last.index.name == "quarter" and last.index.freqstr == "Q-DEC"
    assert last.loc["2020Q1", "x"] == 4.0
    assert np.isnan(last.loc["2020Q2", "x"])  # ragged: no June observation
    assert to_quarterly(frame, "last", complete_only=False).loc["2020Q2", "x"] == 6.0
    assert to_quarterly(frame, {"x": "mean"}).loc["2020Q1", "x"] == pytest.approx(7 / 3)
    assert to_quarterly(frame, {"x": "max"}).loc["2020Q1", "x"] == 4.0
    comp = to_quarterly(frame, {"r": "compound"})
    assert comp.loc["2020Q1", "r"] == pytest.approx(np.log(1.1 * 0.9))
    with pytest.raises(ValueError, match="median"):
        to_quarterly(frame, {"x": "median"})  # type: ignore[dict-item]


def test_quarterly_treasury_2008q4(sources) -> None:
    q = to_quarterly(sources["treasury_par_curve"], {"10 Yr": "last", "3 Mo": "mean"})
    assert q.loc["2008Q4", "10 Yr"] == pytest.approx(2.25)
    assert q.index.is_unique and q.index.is_monotonic_increasing


# --------------------------------------------------------------------------- bad files
TREASURY_OK = (
    "Date,1 Mo,2 Mo,3 Mo,4 Mo,6 Mo,1 Yr,2 Yr,3 Yr,5 Yr,7 Yr,10 Yr,20 Yr,30 Yr\n"
    "12/31/24,4.4,4.39,4.37,4.32,4.24,4.16,4.25,4.27,4.38,4.48,4.58,4.86,4.78\n"
    "12/30/24,4.43,4.42,4.37,4.33,4.25,4.17,4.24,4.29,4.37,4.46,4.55,4.84,4.77\n"
)


@pytest.mark.parametrize(
    ("text", "rule", "row", "column"),
    [
        (TREASURY_OK.replace("4.55", "n/a"), "non_numeric", 3, "10 Yr"),
        (TREASURY_OK.replace("4.55", "45.5"), "out_of_range", 3, "10 Yr"),
        (TREASURY_OK.replace("12/30/24", "2024-13-30"), "bad_date", 3, "Date"),
        (TREASURY_OK.replace("12/30/24", "12/31/24"), "duplicate_date", 3, "date"),
        (TREASURY_OK.replace(",10 Yr,", ",10 Year,"), "missing_column", 1, None),
    ],
)
def test_treasury_bad_file_refused(tmp_path: Path, text: str, rule: str, row: int, column: str | None) -> None:
    path = tmp_path / "curve.csv"
    path.write_text(text)
    assert load_treasury_curve(_ok(tmp_path))["10 Yr"].tolist() == [4.55, 4.58]
    with pytest.raises(InputFileError) as info:
        load_treasury_curve(path)
    err = info.value
    assert (err.rule, err.row, err.column) == (rule, row, column)
    assert str(path) in str(err)


def _ok(tmp_path: Path) -> Path:
    path = tmp_path / "ok.csv"
    path.write_text(TREASURY_OK)
    return path


def test_fred_md_bad_files(tmp_path: Path) -> None:
    good = data_dir() / "fred" / "FRED-MD.csv"
    lines = good.read_text().splitlines()
    bad_code = tmp_path / "md.csv"
    bad_code.write_text("\n".join([lines[0], lines[1].replace("Transform:,5", "Transform:,9", 1), *lines[2:5]]))
    with pytest.raises(InputFileError) as info:
        load_fred_md(bad_code)
    assert (info.value.rule, info.value.row, info.value.column) == ("bad_transform_code", 2, "RPI")
    no_codes = tmp_path / "md2.csv"
    no_codes.write_text("\n".join([lines[0], *lines[2:5]]))
    with pytest.raises(InputFileError, match="missing_code_row"):
        load_fred_md(no_codes)
    with pytest.raises(InputFileError, match="missing_file"):
        load_fred_md(tmp_path / "absent.csv")


def test_usrec_and_wti_bad_values(tmp_path: Path) -> None:
    path = tmp_path / "USREC.csv"
    path.write_text("observation_date,USREC\n2020-01-01,0\n2020-02-01,2\n")
    with pytest.raises(InputFileError) as info:
        load_usrec(path)
    assert (info.value.rule, info.value.row, info.value.column) == ("out_of_range", 3, "USREC")
    path = tmp_path / "WTI.csv"
    path.write_text("observation_date,DCOILWTICO\n2020-01-01,61.1\n2020-01-02,sixty\n")
    with pytest.raises(InputFileError, match=r"line 3: column 'DCOILWTICO': non_numeric"):
        load_wti(path)


def test_french_market_caps_are_firms_times_average_size():
    from risk_dagster.market.loaders import load_french_market_caps

    caps = load_french_market_caps()
    assert list(caps.columns)[0] == "date" and len(caps.columns) == 13
    assert caps["date"].iloc[0] == pd.Timestamp("1926-07-01")
    last = caps.iloc[-1]
    assert last["date"] == pd.Timestamp("2024-12-01")
    assert (last.drop("date") > 0).all()
