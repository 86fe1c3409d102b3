"""Metadata a risk reader sees in the UI: tables, not only counts."""

import pandas as pd

from risk_dagster.assets.market import _source_metadata
from risk_dagster.assets.translate import plausibility_metadata


def test_a_history_source_shows_its_row_count_range_and_last_rows() -> None:
    frame = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=30, freq="D"), **{f"s{i}": range(30) for i in range(12)}})
    meta = _source_metadata(frame)
    assert meta["dagster/row_count"].value == 30 and meta["last_date"] == "2024-01-30"
    table = meta["last_rows"].value
    assert table.count("\n") >= 6 and "2024-01-30" in table and "4 more columns" in table


def test_the_plausibility_filter_shows_its_floors_and_discriminators() -> None:
    summary = {"hard_rules": {"floors": {"vol_floor": {"vol.vix": {"floor": 5.0, "strict": True}}}},
               "discriminators": {"13": {"quarters": 13, "oof_auc": 0.91, "threshold": 0.003, "oof_auc_by_kind": {"a": 1}}}}
    meta = plausibility_metadata(summary)
    assert "vol.vix" in meta["floors"].value and "5" in meta["floors"].value
    assert "oof_auc" in meta["discriminators"].value and "oof_auc_by_kind" not in meta["discriminators"].value
