"""Asset values in typed files: the format follows the value, round trips are exact, one file per value."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from risk_dagster.translate.shockset import ShockSet
from risk_dagster.value_store import format_of, load_value, save_value


def _shockset(seed: int = 0, samples: int = 4) -> ShockSet:
    rng = np.random.default_rng(seed)
    return ShockSet(rng.normal(size=(samples, 3, 2)), np.array([4.1, 120.0]), ["rates.ust.10y", "credit.ig.bbb"],
                    ["absolute_bp", "absolute_bp"], ["2026Q1", "2026Q2", "2026Q3"], "fed-2026-baseline", "m", "1", seed,
                    {"lane": "current"})  # fmt: skip


@dataclasses.dataclass
class Result:
    """A domain object without a file format of its own."""

    name: str
    table: pd.DataFrame


def _same_shockset(a: ShockSet, b: ShockSet) -> None:
    np.testing.assert_array_equal(a.shocks, b.shocks)
    assert (a.factor_ids, a.quarters, a.scenario_id, a.seed, a.metadata) == (b.factor_ids, b.quarters, b.scenario_id, b.seed, b.metadata)


def test_a_frame_is_parquet_and_keeps_its_periods(tmp_path) -> None:
    quarters = pd.period_range("2026Q1", periods=3, freq="Q-DEC", name="quarter")
    frame = pd.DataFrame({"loss": [1.0, 2.5, np.nan], "jump_off": quarters}, index=quarters)
    path = save_value(tmp_path / "losses", frame)
    assert path.name == "losses.parquet" and format_of(frame) == "parquet"
    back = load_value(tmp_path / "losses")
    pd.testing.assert_frame_equal(back, frame)
    assert isinstance(back.index, pd.PeriodIndex)


def test_a_shockset_is_npz_without_pickles(tmp_path) -> None:
    shockset = _shockset()
    path = save_value(tmp_path / "shocks" / "ai.npz", shockset)
    assert path == tmp_path / "shocks" / "ai.npz"
    with np.load(path, allow_pickle=False) as data:
        assert data["shocks"].shape == (4, 3, 2)
    _same_shockset(load_value(path), shockset)


def test_a_mapping_of_shocksets_is_a_folder_of_npz_in_order(tmp_path) -> None:
    lanes = {"stable": _shockset(1), "current": _shockset(2, samples=6)}
    path = save_value(tmp_path / "lanes", lanes)
    assert path.is_dir() and sorted(p.name for p in path.iterdir()) == ["current.npz", "keys.json", "stable.npz"]
    back = load_value(tmp_path / "lanes")
    assert list(back) == ["stable", "current"]
    for lane in lanes:
        _same_shockset(back[lane], lanes[lane])
    save_value(tmp_path / "lanes", {"current": _shockset(3)})  # a rewrite replaces the whole folder
    assert list(load_value(tmp_path / "lanes")) == ["current"]


@pytest.mark.parametrize("value", ["/out/models/plausibility", {"ref": "v3", "lane": "current"}, None, [1, 2.5, "x"], {}])
def test_json_values_are_json(tmp_path, value) -> None:
    path = save_value(tmp_path / "ref", value)
    assert path.suffix == ".json"
    assert load_value(tmp_path / "ref") == value


def test_other_objects_are_pickled_and_a_format_change_leaves_one_file(tmp_path) -> None:
    value = Result("capital", pd.DataFrame({"cet1": [0.12]}))
    save_value(tmp_path / "v", {"first": "json"})
    path = save_value(tmp_path / "v", value)
    assert path.suffix == ".pkl" and [p.name for p in tmp_path.iterdir()] == ["v.pkl"]
    back = load_value(tmp_path / "v")
    assert back.name == "capital" and back.table.equals(value.table)
    assert format_of({"x": float("nan")}) == "pickle"  # NaN is not JSON: kept exactly instead


def test_a_failed_write_keeps_the_previous_value_and_nothing_stored_is_a_clear_error(tmp_path) -> None:
    save_value(tmp_path / "frame", pd.DataFrame({"a": [1.0]}))

    class Unwritable(pd.DataFrame):
        def to_parquet(self, *args, **kwargs):  # the disk fills in the middle of the write
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        save_value(tmp_path / "frame", Unwritable({"a": [2.0]}))
    assert load_value(tmp_path / "frame")["a"].tolist() == [1.0]
    assert [p.name for p in tmp_path.iterdir()] == ["frame.parquet"]
    with pytest.raises(FileNotFoundError, match="materialize it first"):
        load_value(tmp_path / "never")
