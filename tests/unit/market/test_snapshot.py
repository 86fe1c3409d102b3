"""The market inbox: snapshots validated (file, line, column, rule), the newest used, sets and books moved onto it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster.errors import InputFileError
from risk_dagster.market.snapshot import latest_snapshot, read_snapshot, rebase_book, rebase_shockset, take_snapshots
from risk_dagster.translate.shockset import ShockSet

GOOD = """as_of,factor_id,level
2026-12-03T10:30,rates.ust.10y,4.12
2026-12-03T10:30,equity.sp500,6841.5
2026-12-03T10:30,credit.spread.rating.bbb,1.35
"""


def _write(folder, name: str, text: str):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_a_good_snapshot_reads_in_new_york_time(tmp_path) -> None:
    snapshot = read_snapshot(_write(tmp_path, "s.csv", GOOD))
    assert snapshot.levels == {"rates.ust.10y": 4.12, "equity.sp500": 6841.5, "credit.spread.rating.bbb": 1.35}
    assert str(snapshot.as_of.tz) == "America/New_York" and snapshot.as_of.hour == 10
    assert snapshot.date.isoformat() == "2026-12-03"


@pytest.mark.parametrize(
    ("text", "rule", "row", "column"),
    [
        ("as_of,factor,level\n2026-12-03,rates.ust.10y,4.1\n", "missing_column", 1, "factor_id"),
        ("as_of,factor_id,level\n2026-12-03,rates.ust.10y,4.1\n2026-12-03,rates.ust.99y,4.1\n", "unknown_factor", 3, "factor_id"),
        ("as_of,factor_id,level\n2026-12-03,rates.ust.10y,four\n", "non_numeric", 2, "level"),
        ("as_of,factor_id,level\n2026-12-03,rates.ust.10y,4.1\n2026-12-03,rates.ust.10y,4.2\n", "unique", None, "factor_id"),
        ("as_of,factor_id,level\n2026-12-03,rates.ust.10y,4.1\n2026-12-04,rates.ust.2y,4.0\n", "several_as_of", 3, "as_of"),
        ("as_of,factor_id,level\n2026-12-03,rates.ust.10y,412\n", "implausible_level", 2, "level"),
        ("as_of,factor_id,level\n2026-12-03,equity.sp500,-5\n", "implausible_level", 2, "level"),
        ("as_of,factor_id,level\nyesterday,rates.ust.10y,4.1\n", "pattern", 2, "as_of"),
    ],
    ids=["column", "factor", "number", "duplicate", "as_of", "rate", "index", "stamp"],
)
def test_a_bad_snapshot_names_file_line_column_and_rule(tmp_path, text, rule, row, column) -> None:
    path = _write(tmp_path, "bad.csv", text)
    with pytest.raises(InputFileError) as error:
        read_snapshot(path)
    assert (error.value.rule, error.value.column) == (rule, column)
    if row is not None:
        assert error.value.row == row
    assert str(path) in str(error.value)


def test_the_inbox_accepts_good_files_rejects_bad_ones_and_the_newest_wins(tmp_path) -> None:
    inbox = tmp_path / "market_inbox"
    _write(inbox, "a_1000.csv", GOOD.replace("10:30", "10:00"))
    _write(inbox, "b_1030.csv", GOOD)
    _write(inbox, "c_broken.csv", "as_of,factor_id,level\n2026-12-03T11:00,rates.ust.10y,oops\n")
    _write(inbox, "notes.txt", "not a snapshot")
    accepted, refused = take_snapshots(inbox)
    assert sorted(p.split("/")[-1] for p in (s.path for s in accepted)) == ["a_1000.csv", "b_1030.csv"]
    assert [name for name, _ in refused] == ["c_broken.csv"]
    assert "non_numeric" in (inbox / "rejected" / "c_broken.csv.error.txt").read_text()
    assert (inbox / "notes.txt").exists()  # not a snapshot: left alone
    latest = latest_snapshot(inbox)
    assert latest.as_of.minute == 30 and latest.path.endswith("accepted/b_1030.csv")
    _write(inbox, "d_0930.csv", GOOD.replace("10:30", "09:30"))  # arrives late, observed earlier
    assert latest_snapshot(inbox).as_of.minute == 30


def _shockset() -> ShockSet:
    ids = ["rates.ust.10y", "equity.sp500", "credit.spread.rating.bbb", "vol.vix", "rates.ust.3m"]
    shocks = np.arange(2 * 3 * 5, dtype=float).reshape(2, 3, 5)
    return ShockSet(shocks, np.array([4.5, 6000.0, 1.6, 18.0, 3.9]), ids,
                    ["absolute_bp", "log_return", "absolute_bp", "vol_points", "absolute_bp"],
                    ["2026Q1", "2026Q2", "2026Q3"], "fed-2026-severely-adverse", "m", "1", 0,
                    {"jump_off_basis": {"rates.ust.10y": "fed", "rates.ust.3m": "fed"}, "jump_off_quarter": "2025Q4"})  # fmt: skip


def test_a_set_keeps_its_shocks_and_takes_the_snapshot_as_jump_off(tmp_path) -> None:
    snapshot = read_snapshot(_write(tmp_path, "s.csv", GOOD))
    shocks = _shockset()
    moved = rebase_shockset(shocks, snapshot)
    np.testing.assert_array_equal(moved.shocks, shocks.shocks)
    np.testing.assert_array_equal(moved.jump_off, [4.12, 6841.5, 1.35, 18.0, 3.9])  # the VIX, the 3m: not observed, kept
    assert moved.metadata["jump_off_basis"]["rates.ust.10y"] == "snapshot"
    assert moved.metadata["jump_off_basis"]["rates.ust.3m"] == "interpolated"  # the curve: today's 10y alone, not mixed
    assert moved.metadata["jump_off_date"] == "2026-12-03"
    assert moved.metadata["market_snapshot"]["factors"] == ["rates.ust.10y", "equity.sp500", "credit.spread.rating.bbb"]
    np.testing.assert_array_equal(shocks.jump_off, [4.5, 6000.0, 1.6, 18.0, 3.9])  # the original is untouched


def test_the_book_spots_and_spreads_move_from_the_jump_off_onto_the_snapshot(tmp_path) -> None:
    snapshot = read_snapshot(_write(tmp_path, "s.csv", GOOD))
    book = pd.DataFrame({
        "position_id": ["eq1", "eq2", "bond", "fx"],
        "equity_factor": ["equity.sp500", "equity.sector.hlth", None, None],
        "fx_factor": [None, None, None, "fx.eurusd"],
        "credit_curve": [None, None, "credit.spread.rating.bbb", None],
        "spot": [120.0, 50.0, np.nan, 1.1],
        "spread_bp": [np.nan, np.nan, 150.0, np.nan],
    })  # fmt: skip
    book.attrs["as_of"] = "2025-12-31"
    moved, moves = rebase_book(book, _shockset(), snapshot)
    assert moved.loc[0, "spot"] == pytest.approx(120.0 * 6841.5 / 6000.0)
    assert moved.loc[1, "spot"] == 50.0 and moved.loc[3, "spot"] == 1.1  # not observed (or not in the set): kept
    assert moved.loc[2, "spread_bp"] == pytest.approx(150.0 + 100 * (1.35 - 1.6))
    assert set(moves["factor_id"]) == {"equity.sp500", "credit.spread.rating.bbb"} and moved.attrs == book.attrs
