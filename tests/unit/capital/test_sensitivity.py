"""The trading-window ordering rule of the capital sensitivity table (the asset's check uses it)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_dagster.capital.sensitivity import trading_window_violations


def _table(base_min: float, window_1: float, window_9: float, run_window: int = 4) -> pd.DataFrame:
    rows = [
        ("run as configured", np.nan, np.nan, base_min),
        ("deposit beta", 0.45, 0.30, base_min + 0.3),  # other assumptions are not ordered by window
        ("trading shock window", 1, run_window, window_1),
        ("trading shock window", 9, run_window, window_9),
    ]
    return pd.DataFrame(rows, columns=["assumption", "value", "base_value", "cet1_min_median"])


def test_a_longer_window_with_a_lower_minimum_is_ordered() -> None:
    assert trading_window_violations(_table(8.0, 8.4, 7.7)) == []
    assert trading_window_violations(_table(8.0, 8.0, 8.0)) == []  # equal is allowed (no trading book move)


def test_a_longer_window_with_a_higher_minimum_is_named() -> None:
    problems = trading_window_violations(_table(8.0, 7.9, 7.7))
    assert len(problems) == 1 and "4-quarter window" in problems[0] and "with 1" in problems[0]
    problems = trading_window_violations(_table(8.0, 8.4, 8.1))
    assert len(problems) == 1 and "9-quarter window" in problems[0]


def test_a_table_without_trading_rows_has_nothing_to_order() -> None:
    table = _table(8.0, 8.4, 7.7)
    assert trading_window_violations(table[table["assumption"] != "trading shock window"]) == []
