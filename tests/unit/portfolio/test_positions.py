"""Loading and validating users' books: good books load from CSV and parquet; a corpus of broken
books is refused with the file, the positions, the columns and the rules named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk_dagster.errors import InputFileError
from risk_dagster.portfolio import (
    POSITION_COLUMNS,
    PortfolioContractError,
    generate_sample_book,
    load_portfolio,
    validate_positions,
    write_book,
)
from risk_dagster.quality.contracts import build_expectation_suite, load_contract


@pytest.fixture(scope="module")
def good() -> pd.DataFrame:
    # 120 positions: every segment and instrument type present, small enough for fast GX runs
    return generate_sample_book(120, seed=11)


def _first(frame: pd.DataFrame, instrument_type: str) -> int:
    return int(np.flatnonzero((frame["instrument_type"] == instrument_type).to_numpy())[0])


def _csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, date_format="%Y-%m-%d")
    return path


# ------------------------------------------------------------------ contract and good books


def test_contract_loads_with_per_type_rules() -> None:
    contract = load_contract("portfolio_positions")
    assert contract.columns == list(POSITION_COLUMNS) and contract.blocking
    assert (contract.source, contract.source_class, contract.reliability_weight) == ("user", "vendor", 0.5)
    suite = build_expectation_suite(contract)
    conditional = [e for e in suite.expectations if getattr(e, "row_condition", None)]
    assert len(conditional) >= 40
    pd_rules = {(e.expectation_type, e.row_condition.pass_through_filter) for e in conditional if e.column == "pd"}
    assert ("expect_column_values_to_not_be_null", 'instrument_type == "loan"') in pd_rules


def test_good_book_round_trips_through_csv_and_parquet(good: pd.DataFrame, tmp_path: Path) -> None:
    pd.testing.assert_frame_equal(validate_positions(good), good)
    pd.testing.assert_frame_equal(load_portfolio(_csv(good, tmp_path / "book.csv")), good)
    pd.testing.assert_frame_equal(load_portfolio(write_book(good, tmp_path / "book.parquet")), good)
    # told by content, not by name: a parquet file called .csv
    renamed = tmp_path / "book_really_parquet.csv"
    renamed.write_bytes((tmp_path / "book.parquet").read_bytes())
    pd.testing.assert_frame_equal(load_portfolio(renamed), good)


def test_extra_columns_are_kept_and_column_order_is_free(good: pd.DataFrame, tmp_path: Path) -> None:
    frame = good[list(reversed(POSITION_COLUMNS))].assign(desk="rates")
    loaded = load_portfolio(_csv(frame, tmp_path / "book.csv"))
    assert tuple(loaded.columns[: len(POSITION_COLUMNS)]) == POSITION_COLUMNS and list(loaded["desk"].unique()) == ["rates"]


# ------------------------------------------------------------------ the broken corpus


def _break_pd(f: pd.DataFrame) -> str:
    i = _first(f, "loan")
    f.loc[i, "pd"] = 1.7
    return f.loc[i, "position_id"]


def _break_bond_maturity(f: pd.DataFrame) -> str:
    i = _first(f, "fixed_bond")
    f.loc[i, "maturity_years"] = np.nan
    return f.loc[i, "position_id"]


def _break_credit_curve(f: pd.DataFrame) -> str:
    i = int(np.flatnonzero(f["credit_curve"].notna().to_numpy())[0])
    f.loc[i, "credit_curve"] = "credit.spread.zzz_10y"
    return f.loc[i, "position_id"]


def _break_duplicate(f: pd.DataFrame) -> str:
    f.loc[5, "position_id"] = f.loc[4, "position_id"]
    return f.loc[4, "position_id"]


def _break_notional(f: pd.DataFrame) -> str:
    i = _first(f, "equity")
    f.loc[i, "notional"] = -5_000_000.0
    return f.loc[i, "position_id"]


def _break_strike(f: pd.DataFrame) -> str:
    i = _first(f, "equity_option")
    f.loc[i, "strike"] = np.nan
    return f.loc[i, "position_id"]


def _break_fx_pair(f: pd.DataFrame) -> str:
    i = int(np.flatnonzero((f["fx_factor"] == "fx.eurusd").to_numpy())[0])
    f.loc[i, "currency"] = "GBP"
    return f.loc[i, "position_id"]


def _break_segment(f: pd.DataFrame) -> str:
    i = _first(f, "loan")
    f.loc[i, "segment"] = "ust"
    return f.loc[i, "position_id"]


def _break_stray_term(f: pd.DataFrame) -> str:
    i = _first(f, "irs")
    f.loc[i, "pd"] = 0.02  # a loan term on a swap: shifted columns
    return f.loc[i, "position_id"]


CORPUS: dict[str, tuple[Callable[[pd.DataFrame], str], str, str]] = {
    # case: (break, column, rule as named in the message)
    "pd_above_one": (_break_pd, "pd", "between[0,1] (value 1.7)"),
    "bond_without_maturity": (_break_bond_maturity, "maturity_years", "required when instrument_type in"),
    "unknown_credit_curve": (_break_credit_curve, "credit_curve", "known risk factor"),
    "duplicate_position_id": (_break_duplicate, "position_id", "unique"),
    "negative_notional": (_break_notional, "notional", ">0 (value -5e+06)"),
    "option_without_strike": (_break_strike, "strike", 'required when instrument_type == "equity_option"'),
    "fx_currency_not_the_pair": (_break_fx_pair, "fx_factor", "pair of currency against USD"),
    "loan_in_securities_segment": (_break_segment, "segment", "in {first_lien_mortgage"),
    "loan_term_on_a_swap": (_break_stray_term, "pd", 'must be null when instrument_type != "loan"'),
}


# every case from CSV (lines named); a few from parquet too (each GX run costs ~1.5 s)
_CASES = [("csv", c) for c in sorted(CORPUS)] + [
    ("parquet", c) for c in ("pd_above_one", "unknown_credit_curve", "option_without_strike")
]


@pytest.mark.parametrize(("fmt", "case"), _CASES)
def test_broken_book_is_refused_naming_position_column_rule(
    good: pd.DataFrame, tmp_path: Path, case: str, fmt: str
) -> None:
    breaker, column, rule = CORPUS[case]
    frame = good.copy()
    pid = breaker(frame)
    path = _csv(frame, tmp_path / "book.csv") if fmt == "csv" else write_book(frame, tmp_path / "book.parquet")
    with pytest.raises(PortfolioContractError) as info:
        load_portfolio(path)
    err = info.value
    text = str(err)
    assert isinstance(err, InputFileError) and str(path) in text and "portfolio_contract" in text
    assert pid in text and f"column '{column}'" in text and rule in text, text
    assert any(v.position_id == pid and v.column == column for v in err.violations)
    if fmt == "csv":  # the line in the file (header = 1) is named too
        row = int(np.flatnonzero((frame["position_id"] == pid).to_numpy())[0])
        assert f"{pid} (line {row + 2})" in text


def test_duplicate_ids_name_both_rows(good: pd.DataFrame) -> None:
    frame = good.copy()
    pid = _break_duplicate(frame)
    with pytest.raises(PortfolioContractError) as info:
        validate_positions(frame)
    dupes = [v for v in info.value.violations if v.rule == "unique"]
    assert [v.row for v in dupes] == [4, 5] and {v.position_id for v in dupes} == {pid}
    assert info.value.n_positions == 2


def test_counts_are_exact_beyond_the_sample(good: pd.DataFrame) -> None:
    frame = good.copy()
    loans = np.flatnonzero((frame["instrument_type"] == "loan").to_numpy())
    frame.loc[loans, "pd"] = 1.7  # more than GX's five sample rows
    frame.loc[_first(frame, "equity"), "notional"] = 0.0
    with pytest.raises(PortfolioContractError) as info:
        validate_positions(frame, path="book.csv")
    err = info.value
    assert err.n_positions == len(loans) + 1
    assert str(err).startswith(f"book.csv: portfolio_contract: {len(loans) + 1} positions break the portfolio contract: ")
    assert ("pd", "between[0,1]", len(loans)) in err.rule_counts
    assert err.as_dict()["n_positions"] == len(loans) + 1


def test_non_numeric_notional_in_csv_names_line_and_column(good: pd.DataFrame, tmp_path: Path) -> None:
    path = _csv(good, tmp_path / "book.csv")
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[8].split(",")  # line 9 of the file
    cells[header.index("notional")] = "12,5 mio".replace(",", ";")
    lines[8] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputFileError) as info:
        load_portfolio(path)
    err = info.value
    assert (err.rule, err.row, err.column) == ("non_numeric", 9, "notional")
    assert str(path) in str(err) and "line 9: '12;5 mio'" in str(err)


def test_missing_column_is_named(good: pd.DataFrame, tmp_path: Path) -> None:
    path = _csv(good.drop(columns=["lgd"]), tmp_path / "book.csv")
    with pytest.raises(InputFileError, match="missing_column: 1 contract column.*lgd") as info:
        load_portfolio(path)
    assert info.value.column == "lgd"


def test_bad_date_and_bad_files(good: pd.DataFrame, tmp_path: Path) -> None:
    frame = good.astype({"issue_date": "str"})
    frame.loc[3, "issue_date"] = "31/31/2020"
    with pytest.raises(InputFileError, match=r"bad_date: .*line 5: '31/31/2020'"):
        load_portfolio(_csv(frame, tmp_path / "dates.csv"))
    with pytest.raises(InputFileError, match="missing_file"):
        load_portfolio(tmp_path / "nope.csv")
    fake = tmp_path / "fake.parquet"
    fake.write_text("position_id\nP1\n")
    with pytest.raises(InputFileError, match="not_parquet"):
        load_portfolio(fake)
    dup = tmp_path / "dup.csv"
    dup.write_text("position_id,notional,notional\nP1,1,2\n")
    with pytest.raises(InputFileError, match="duplicate_column.*notional"):
        load_portfolio(dup)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputFileError, match="empty_file"):
        load_portfolio(empty)


def test_direction_must_be_plus_or_minus_one(good: pd.DataFrame) -> None:
    frame = good.astype({"direction": "float64"})
    i = _first(frame, "irs")
    frame.loc[i, "direction"] = 0.5
    with pytest.raises(PortfolioContractError) as info:
        validate_positions(frame)
    assert frame.loc[i, "position_id"] in str(info.value) and "column 'direction'" in str(info.value)
