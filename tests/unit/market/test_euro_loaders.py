"""The euro-area history loaders on the shipped files, the scrape repair, and their errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk_dagster.errors import InputFileError
from risk_dagster.market.loaders import (
    EURIBOR_TENORS,
    EURIRS_TENORS,
    HISTORY_SOURCES,
    OECD_LONG_TERM_RATES,
    load_ecb_aaa_10y,
    load_euribor,
    load_eurirs,
    load_oecd_long_term_rates,
    load_stoxx50e_1986,
    load_stoxx50e_2007,
    repair_scrape,
)
from risk_dagster.paths import data_dir

EURO = data_dir() / "euro"


@pytest.fixture(scope="module")
def oecd() -> pd.DataFrame:
    return load_oecd_long_term_rates()


@pytest.fixture(scope="module")
def euribor() -> pd.DataFrame:
    return load_euribor()


@pytest.fixture(scope="module")
def eurirs() -> pd.DataFrame:
    return load_eurirs()


def _numeric(frame: pd.DataFrame, columns) -> None:
    assert frame["date"].dtype == "datetime64[ns]"
    for c in columns:
        assert frame[c].dtype == "float64", c


# --------------------------------------------------------------------------- clean sources
def test_oecd_long_term_rates(oecd) -> None:
    assert list(oecd.columns) == ["date", *OECD_LONG_TERM_RATES]
    assert OECD_LONG_TERM_RATES[:2] == ("IRLTLT01DEM156N", "IRLTLT01EZM156N") and OECD_LONG_TERM_RATES[-1] == "IRLTLT01USM156N"
    _numeric(oecd, OECD_LONG_TERM_RATES)
    assert len(oecd) == 874 and oecd["date"].is_unique and oecd["date"].is_monotonic_increasing
    assert oecd["date"].iloc[0] == pd.Timestamp("1953-04-01") and oecd["date"].iloc[-1] == pd.Timestamp("2026-01-01")
    assert (oecd["date"].dt.day == 1).all()
    # an outer join: NaN before a series starts
    first = {c: oecd.loc[oecd[c].notna(), "date"].iloc[0] for c in OECD_LONG_TERM_RATES}
    assert first["IRLTLT01DEM156N"] == pd.Timestamp("1956-05-01")
    assert first["IRLTLT01EZM156N"] == pd.Timestamp("1970-01-01")
    assert first["IRLTLT01JPM156N"] == pd.Timestamp("1989-01-01")
    assert oecd.loc[oecd["date"] == "1956-05-01", "IRLTLT01DEM156N"].item() == pytest.approx(6.4)
    values = oecd[list(OECD_LONG_TERM_RATES)].stack()
    assert values.min() > -1.5 and values.max() < 20  # Swiss yields went below -0.9, French above 17
    assert oecd.attrs["path"] == str(EURO / "oecd_long_term_rates")


def test_ecb_aaa_10y() -> None:
    ecb = load_ecb_aaa_10y()
    assert list(ecb.columns) == ["date", "SR_10Y"]
    _numeric(ecb, ["SR_10Y"])
    assert len(ecb) == 4872 and ecb["date"].is_unique and ecb["date"].is_monotonic_increasing
    assert ecb["date"].iloc[0] == pd.Timestamp("2004-09-06") and ecb["date"].iloc[-1] == pd.Timestamp("2023-09-21")
    assert ecb["SR_10Y"].iloc[0] == pytest.approx(4.20922) and ecb["SR_10Y"].notna().all()
    assert -1.0 < ecb["SR_10Y"].min() < 0 and ecb["SR_10Y"].max() < 5  # negative 2015-2022
    assert "YC.B.U2.EUR.4F.G_N_A.SV_C_YM.SR_10Y" in ecb.attrs["series_title"]


def test_stoxx50e_1986() -> None:
    sx = load_stoxx50e_1986()
    assert list(sx.columns) == ["date", "Close"]
    _numeric(sx, ["Close"])
    assert len(sx) == 8327 and sx["date"].is_unique and sx["date"].is_monotonic_increasing
    assert sx["date"].iloc[0] == pd.Timestamp("1986-12-31") and sx["date"].iloc[-1] == pd.Timestamp("2019-09-30")
    assert sx["Close"].isna().sum() == 90  # the "null" rows, kept as NaN rows
    assert sx.loc[sx["date"] == "1992-01-01", "Close"].isna().item()
    assert sx["Close"].iloc[0] == pytest.approx(900.820007) and sx["Close"].iloc[-1] == pytest.approx(3569.449951)
    assert 600 < sx["Close"].min() and sx["Close"].max() < 5500
    assert not sx["date"].between("2019-05-16", "2019-09-29").any()  # the gap of the archive


def test_stoxx50e_2007() -> None:
    sx = load_stoxx50e_2007()
    assert list(sx.columns) == ["date", "Close"]
    _numeric(sx, ["Close"])
    assert len(sx) == 4737 and sx["date"].is_unique and sx["date"].is_monotonic_increasing
    assert sx["date"].iloc[0] == pd.Timestamp("2007-03-30") and sx["date"].iloc[-1] == pd.Timestamp("2026-02-23")
    assert sx["Close"].notna().all() and sx["Close"].iloc[0] == pytest.approx(4181.02978515625)
    assert 1800 < sx["Close"].min() and sx["Close"].max() < 6200


def test_the_two_stoxx_files_agree_on_common_days() -> None:
    both = load_stoxx50e_1986().merge(load_stoxx50e_2007(), on="date", suffixes=("_a", "_b")).dropna()
    rel = (both["Close_a"] / both["Close_b"] - 1).abs()
    assert len(both) > 2900 and rel.median() < 1e-6 and rel.max() < 0.06


# --------------------------------------------------------------------------- the scrape, as published
def test_euribor_as_published(euribor) -> None:
    assert list(euribor.columns) == ["date", *EURIBOR_TENORS] == ["date", "1", "3", "6", "12"]
    _numeric(euribor, EURIBOR_TENORS)
    assert len(euribor) == 6501
    # file order kept: newest first at the top, oldest years oldest first at the bottom
    assert euribor["date"].iloc[0] == pd.Timestamp("2024-07-22") and euribor["date"].iloc[-1] == pd.Timestamp("1999-12-30")
    assert not euribor["date"].is_monotonic_increasing and not euribor["date"].is_monotonic_decreasing
    assert euribor["date"].duplicated().sum() == 91  # 90 dates of 2024 and 2021-05-05
    assert euribor["date"].notna().all()  # this file has no undated row (eurirs.csv has one)
    assert not (euribor["date"].dt.year == 2023).any() and (euribor["date"].dt.year == 2024).sum() == 393
    assert euribor[list(EURIBOR_TENORS)].notna().all().all()
    assert euribor[list(EURIBOR_TENORS)].stack().between(-1, 6).all()


def test_eurirs_as_published(eurirs) -> None:
    assert list(eurirs.columns) == ["date", *EURIRS_TENORS] == ["date", "10", "15", "20", "25", "30"]
    _numeric(eurirs, EURIRS_TENORS)
    assert len(eurirs) == 5928
    assert eurirs["date"].iloc[0] == pd.Timestamp("2024-07-22") and eurirs["date"].iloc[-1] == pd.Timestamp("2001-12-28")
    undated = eurirs.index[eurirs["date"].isna()]
    assert list(undated) == [393]  # file line 395, all blank
    assert eurirs.loc[393, list(EURIRS_TENORS)].isna().all()
    assert eurirs["date"].dropna().duplicated().sum() == 91
    typo = eurirs.loc[eurirs["date"] == "2020-06-19", "25"]
    assert typo.tolist() == [10.0]  # loaded, not refused: the contract catches it


# --------------------------------------------------------------------------- repair
@pytest.mark.parametrize("name", ["euribor", "eurirs"])
def test_repair_scrape_on_the_shipped_files(name: str, euribor, eurirs) -> None:
    raw = {"euribor": euribor, "eurirs": eurirs}[name]
    fixed = repair_scrape(raw)
    assert HISTORY_SOURCES[name].repair is repair_scrape
    pd.testing.assert_frame_equal(HISTORY_SOURCES[name].usable(raw), fixed)
    assert list(fixed.columns) == list(raw.columns) and (fixed.dtypes == raw.dtypes).all()
    assert fixed["date"].notna().all() and fixed["date"].is_unique and fixed["date"].is_monotonic_increasing
    years = set(fixed["date"].dt.year)
    assert 2024 not in years and 2023 not in years and max(years) == 2022  # the mislabelled year dropped
    assert fixed.index.equals(pd.RangeIndex(len(fixed)))
    # every kept row is a row of the file, unchanged
    merged = fixed.merge(raw.dropna(subset=["date"]), how="left", indicator=True)
    assert (merged["_merge"] == "both").all() and len(merged) == len(fixed)
    repairs = {r["rule"]: r for r in fixed.attrs["repairs"]}
    assert repairs["mislabelled_year"]["rows"] == 393 and "2024" in repairs["mislabelled_year"]["detail"]
    one_off = {"euribor": "2021-05-05", "eurirs": "2020-02-05"}[name]
    assert repairs["conflicting_date"]["rows"] == 2 and one_off in repairs["conflicting_date"]["detail"]
    assert pd.Timestamp(one_off) not in set(fixed["date"])
    assert fixed.attrs["path"] == raw.attrs["path"]
    if name == "eurirs":
        assert repairs["undated"]["rows"] == 1
        assert len(fixed) == len(raw) - 1 - 393 - 2
        assert fixed.loc[fixed["date"] == "2020-06-19", "25"].item() == 10.0  # the typo stays
        assert {2020, 2021} <= years
    else:
        assert "undated" not in repairs and len(fixed) == len(raw) - 393 - 2
    assert "identical_duplicate" not in repairs  # the shipped scrape has none


def _frame(rows: list[tuple[str | None, float, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["date", "a", "b"])
    frame["date"] = pd.to_datetime(frame["date"])
    frame.attrs["path"] = "hand-made.csv"
    return frame


def test_repair_scrape_rules_on_a_hand_made_frame() -> None:
    raw = _frame([
        ("2011-01-04", 1.0, 2.0),
        ("2011-01-03", 1.1, 2.1),
        ("2011-01-04", 1.0, 2.0),  # identical duplicate: one kept
        (None, np.nan, np.nan),  # undated: dropped
        ("2012-03-01", 3.0, 4.0),  # 2012 has two dates written twice with other values: the year goes
        ("2012-03-01", 3.5, 4.5),
        ("2012-03-02", 3.1, 4.1),
        ("2012-03-02", 3.6, 4.6),
        ("2012-03-05", 3.2, 4.2),
        ("2013-05-06", 5.0, 6.0),  # one conflicting date in 2013: only its rows go
        ("2013-05-06", 5.5, 6.5),
        ("2013-05-07", 5.1, 99.0),  # a typo: no value is changed
        ("2010-12-31", 0.9, 1.9),
    ])  # fmt: skip
    fixed = repair_scrape(raw)
    expected = _frame([
        ("2010-12-31", 0.9, 1.9),
        ("2011-01-03", 1.1, 2.1),
        ("2011-01-04", 1.0, 2.0),
        ("2013-05-07", 5.1, 99.0),
    ])  # fmt: skip
    pd.testing.assert_frame_equal(fixed, expected)
    repairs = {r["rule"]: r for r in fixed.attrs["repairs"]}
    assert set(repairs) == {"undated", "identical_duplicate", "mislabelled_year", "conflicting_date"}
    assert [r["rows"] for r in fixed.attrs["repairs"]] == [1, 1, 5, 2]
    assert "2012" in repairs["mislabelled_year"]["detail"] and "2013" not in repairs["mislabelled_year"]["detail"]
    assert "2013-05-06" in repairs["conflicting_date"]["detail"]
    assert "2011-01-04" in repairs["identical_duplicate"]["detail"]
    assert fixed.attrs["path"] == "hand-made.csv"
    assert len(raw) == 13 and raw.attrs.get("repairs") is None  # the input is not modified


def test_repair_scrape_leaves_a_clean_frame_alone() -> None:
    clean = _frame([("2020-01-02", 1.0, 2.0), ("2020-01-03", 1.5, 2.5)])
    fixed = repair_scrape(clean)
    pd.testing.assert_frame_equal(fixed, clean)
    assert fixed.attrs["repairs"] == []
    # a source without a repair is used as loaded
    frame = HISTORY_SOURCES["ecb_aaa_10y"].usable(clean)
    assert frame is clean


# --------------------------------------------------------------------------- registry
def test_registry_entries() -> None:
    expected = {
        "oecd_long_term_rates": ("oecd", "monthly"),
        "ecb_aaa_10y": ("ecb", "daily"),
        "stoxx50e_1986": ("yahoo", "daily"),
        "stoxx50e_2007": ("yfinance", "daily"),
        "euribor": ("euribor_it", "daily"),
        "eurirs": ("euribor_it", "daily"),
    }
    ids = list(HISTORY_SOURCES)
    assert ids[-6:] == list(expected)  # after the existing ones
    for name, (source, frequency) in expected.items():
        spec = HISTORY_SOURCES[name]
        assert (spec.source, spec.frequency, spec.contract) == (source, frequency, name)
        assert (spec.repair is repair_scrape) == (source == "euribor_it")


# --------------------------------------------------------------------------- errors
def _copy_oecd(tmp_path: Path) -> Path:
    folder = tmp_path / "oecd"
    folder.mkdir(parents=True)
    for series in OECD_LONG_TERM_RATES:
        (folder / f"{series}.csv").write_bytes((EURO / "oecd_long_term_rates" / f"{series}.csv").read_bytes())
    return folder


def test_oecd_errors_name_the_file(tmp_path: Path) -> None:
    folder = _copy_oecd(tmp_path)
    (folder / "IRLTLT01JPM156N.csv").unlink()
    with pytest.raises(InputFileError) as err:
        load_oecd_long_term_rates(folder)
    assert err.value.rule == "missing_file" and str(err.value.path).endswith("IRLTLT01JPM156N.csv")

    folder = _copy_oecd(tmp_path / "again")
    path = folder / "IRLTLT01FRM156N.csv"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].split(",")[0] + ",abc"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputFileError) as err:
        load_oecd_long_term_rates(folder)
    e = err.value
    assert (Path(e.path).name, e.row, e.column, e.rule) == ("IRLTLT01FRM156N.csv", 4, "IRLTLT01FRM156N", "non_numeric")
    assert "line 4" in str(e)


def test_ecb_errors_name_line_and_rule(tmp_path: Path) -> None:
    text = (EURO / "ecb" / "ecb_aaa_spot_10y.csv").read_text()
    bad = tmp_path / "ecb.csv"
    bad.write_text(text.replace('"2004-09-08","08 Sep 2004"', '"2004-09-08","09 Sep 2004"'))
    with pytest.raises(InputFileError) as err:
        load_ecb_aaa_10y(bad)
    assert (err.value.rule, err.value.row, err.value.column) == ("date_mismatch", 4, "TIME PERIOD")

    bad.write_text(text.replace("SR_10Y", "SR_5Y"))
    with pytest.raises(InputFileError) as err:
        load_ecb_aaa_10y(bad)
    assert (err.value.rule, err.value.row) == ("unexpected_header", 1)

    bad.write_text(text.replace('"07 Sep 2004"', '"2004/09/07"'))
    with pytest.raises(InputFileError) as err:
        load_ecb_aaa_10y(bad)
    assert (err.value.rule, err.value.row, err.value.column) == ("bad_date", 3, "TIME PERIOD")


def test_stoxx_and_scrape_errors_name_line_column_rule(tmp_path: Path) -> None:
    lines = (EURO / "stoxx50e" / "STOXX50E_2007_2026.csv").read_text().splitlines()
    cells = lines[5].split(",")
    cells[1] = "n/a"
    lines[5] = ",".join(cells)
    bad = tmp_path / "sx.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputFileError) as err:
        load_stoxx50e_2007(bad)
    assert (err.value.rule, err.value.row, err.value.column) == ("non_numeric", 6, "Close")

    lines = (EURO / "euribor_swaps" / "eurirs.csv").read_text().splitlines()
    lines[10] = "2024-13-45" + lines[10][len("2024-07-05"):]
    bad = tmp_path / "eurirs.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputFileError) as err:
        load_eurirs(bad)
    assert (err.value.rule, err.value.row, err.value.column) == ("bad_date", 11, "Date")

    lines = (EURO / "euribor_swaps" / "euribor.csv").read_text().splitlines()
    lines[7] = lines[7].rsplit(",", 1)[0] + ",35.0"  # beyond the physical bounds
    bad = tmp_path / "euribor.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputFileError) as err:
        load_euribor(bad)
    assert (err.value.rule, err.value.row, err.value.column) == ("out_of_range", 8, "12")

    bad.write_text("Date,1,3,6\n2024-07-22,3.63,3.7,3.64\n")
    with pytest.raises(InputFileError) as err:
        load_euribor(bad)
    assert (err.value.rule, err.value.row) == ("missing_column", 1) and "12" in err.value.message
