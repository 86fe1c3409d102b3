"""Atomic writes keep the previous file when a write fails."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import os

import numpy as np

from risk_dagster.storage import atomic_write, replace_folder, write_bytes, write_json, write_npz, write_parquet, write_text


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path):
    target = tmp_path / "out" / "report.txt"
    write_text(target, "good")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_text() == "good"
    assert [p.name for p in target.parent.iterdir()] == ["report.txt"]


def test_parquet_round_trip_turns_periods_into_strings(tmp_path):
    frame = pd.DataFrame(
        {"quarter": pd.period_range("2026Q1", periods=3, freq="Q"), "value": [1.0, 2.5, 3.0]}
    )
    path = write_parquet(tmp_path / "x.parquet", frame)
    back = pd.read_parquet(path)
    assert back["quarter"].tolist() == ["2026Q1", "2026Q2", "2026Q3"]
    assert back["value"].tolist() == [1.0, 2.5, 3.0]


def test_json_writes_numpy_scalars(tmp_path):
    import numpy as np

    path = write_json(tmp_path / "s.json", {"a": np.float64(1.5), "b": np.int64(3)})
    assert json.loads(path.read_text()) == {"a": 1.5, "b": 3}


def test_csv_is_written_atomically_without_index(tmp_path):
    from risk_dagster.storage import write_csv

    path = write_csv(tmp_path / "out" / "t.csv", pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}))
    assert path.read_text().splitlines() == ["a,b", "1,x", "2,y"]
    assert [p.name for p in path.parent.iterdir()] == ["t.csv"]


def test_npz_and_bytes_are_atomic_and_readable_by_others(tmp_path):
    path = write_npz(tmp_path / "a.npz", x=np.arange(3))
    assert np.array_equal(np.load(path)["x"], np.arange(3)) and path.name == "a.npz"
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # not mkstemp's private 0600
    write_bytes(tmp_path / "c.png", b"\x89PNG")
    with pytest.raises(ValueError, match="pickled"):
        write_npz(tmp_path / "a.npz", x=np.array([object()]))  # an object array needs pickle: refused, the old file stays
    assert np.array_equal(np.load(path)["x"], np.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npz", "c.png"]


def test_a_folder_is_replaced_whole(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "old.json").write_text("old")
    new = tmp_path / ".model.tmp"
    new.mkdir()
    (new / "new.json").write_text("new")
    replace_folder(new, target)
    assert [p.name for p in target.iterdir()] == ["new.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # the old folder is gone, no temp left
