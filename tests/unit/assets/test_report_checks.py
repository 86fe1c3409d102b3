"""The capital-sensitivity and QuantLib-parity checks recompute from the files their assets wrote, and fail."""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_dagster.assets.capital import trading_window_check
from risk_dagster.assets.stress import parity_check
from risk_dagster.engine.parity import PARITY_TOLERANCE


def _sensitivity_file(tmp_path, window_9_min: float):
    frame = pd.DataFrame(
        [("run as configured", np.nan, np.nan, 8.0), ("trading shock window", 1, 4, 8.5),
         ("trading shock window", 9, 4, window_9_min)],
        columns=["assumption", "value", "base_value", "cet1_min_median"],
    )  # fmt: skip
    path = tmp_path / "sensitivity.csv"
    frame.to_csv(path, index=False)
    return path


def test_the_trading_window_check_fails_on_a_tampered_file(tmp_path) -> None:
    assert trading_window_check(_sensitivity_file(tmp_path, 7.6)).passed
    result = trading_window_check(_sensitivity_file(tmp_path, 8.2))  # a longer window gives a higher minimum
    assert not result.passed and "9-quarter window" in result.description


def _parity_file(tmp_path, errors: dict[str, float], overall: float | None = None):
    rows = [{"instrument_type": k, "positions": 5, "scenarios": 9, "max_rel_err": v, "median_rel_err": v / 10,
             "within_tolerance": v <= PARITY_TOLERANCE} for k, v in errors.items()]  # fmt: skip
    rows.append({"instrument_type": "all", "positions": 5 * len(errors), "scenarios": 9,
                 "max_rel_err": max(errors.values()) if overall is None else overall, "median_rel_err": 0.0,
                 "within_tolerance": True})  # fmt: skip
    path = tmp_path / "parity.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_the_parity_check_fails_on_a_tampered_file(tmp_path) -> None:
    assert parity_check(_parity_file(tmp_path, {"fixed_bond": 1e-12, "irs": 3e-10})).passed
    broken = parity_check(_parity_file(tmp_path, {"fixed_bond": 1e-12, "irs": 5e-6}))
    assert not broken.passed and "irs" in broken.description
    inconsistent = parity_check(_parity_file(tmp_path, {"fixed_bond": 1e-12, "irs": 3e-10}, overall=1e-12))
    assert not inconsistent.passed and "'all' row" in inconsistent.description
