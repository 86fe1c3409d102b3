"""The intraday refresh's check recomputes from its files and the snapshot file, and fails when they disagree."""

import json

import numpy as np
import pandas as pd

from risk_dagster.assets.stress import INTRADAY_JUMP_OFF, INTRADAY_LOSSES, INTRADAY_SUMMARY, intraday_check
from risk_dagster.market.snapshot import read_snapshot
from risk_dagster.storage import write_csv, write_json, write_parquet

SNAPSHOT = "as_of,factor_id,level\n2026-12-03T10:30,equity.sp500,6600\n"


def _files(tmp_path) -> tuple:
    snap = tmp_path / "s.csv"
    snap.write_text(SNAPSHOT)
    snapshot = read_snapshot(snap)
    losses = pd.DataFrame({"set": "ai", "sample": np.arange(200), "loss_today": np.linspace(0, 2e9, 200),
                           "loss_jump_off": np.linspace(0, 1.8e9, 200), "quarter": 1})  # fmt: skip
    jump = pd.DataFrame({"set": "ai", "factor_id": ["rates.ust.10y", "equity.sp500"], "scenario": [4.0, 6000.0],
                         "used": [4.0, 6600.0], "observed": [False, True]})  # fmt: skip
    summary = {"as_of": snapshot.as_of.isoformat(), "file": str(snap),
               "sets": {"ai": {"today": {"var_99": float(np.quantile(losses["loss_today"], 0.99))}}}}  # fmt: skip
    folder = tmp_path / "stress"
    write_parquet(folder / INTRADAY_LOSSES, losses)
    write_csv(folder / INTRADAY_JUMP_OFF, jump)
    write_json(folder / INTRADAY_SUMMARY, summary)
    return folder, jump, summary


def test_the_intraday_check_passes_on_consistent_files(tmp_path) -> None:
    folder, _, _ = _files(tmp_path)
    result = intraday_check(folder)
    assert result.passed, result.description


def test_the_intraday_check_fails_on_a_tampered_file(tmp_path) -> None:
    folder, jump, summary = _files(tmp_path)
    write_csv(folder / INTRADAY_JUMP_OFF, jump.assign(used=[4.0, 6000.0]))  # the snapshot not applied
    result = intraday_check(folder)
    assert not result.passed and "equity.sp500" in result.description
    write_csv(folder / INTRADAY_JUMP_OFF, jump)
    (tmp_path / "s.csv").write_text(SNAPSHOT.replace("6600", "6700"))  # the snapshot file says otherwise
    assert not intraday_check(folder).passed
    (tmp_path / "s.csv").write_text(SNAPSHOT)
    write_json(folder / INTRADAY_SUMMARY, {**summary, "sets": {"ai": {"today": {"var_99": 1.0}}}})
    assert "99% VaR" in intraday_check(folder).description
    assert json.loads((folder / INTRADAY_SUMMARY).read_text())["file"].endswith("s.csv")
