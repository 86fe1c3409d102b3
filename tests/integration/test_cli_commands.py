"""The translate, stress, backtest and models commands, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from risk_dagster.cli import app
from risk_dagster.paths import data_dir

runner = CliRunner()
SAMPLE_BOOK = data_dir() / "portfolio" / "sample_book.parquet"


@pytest.fixture(scope="module")
def translated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("translate") / "sa.npz"
    result = runner.invoke(
        app,
        ["translate", "--scenario", "fed-2026-severely-adverse", "--model", "satellite", "--samples", "300",
         "--seed", "7", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "accepted" in result.output and "rejected" in result.output
    return out


def test_translate_writes_the_documented_npz(translated: Path):
    with np.load(translated, allow_pickle=False) as data:
        assert {"shocks", "levels", "factor_ids", "quarters", "shock_types"} <= set(data.files)
        n, q, f = data["shocks"].shape
        assert data["levels"].shape == (n, q, f) and n > 0
        assert list(data["quarters"])[:2] == ["2026Q1", "2026Q2"] and q == 13
        ids = list(data["factor_ids"])
        assert len(ids) == f == len(data["shock_types"])
        # The supervisor's 10-year path, reproduced in every accepted sample.
        ten_year = data["levels"][:, :, ids.index("rates.ust.10y")]
        assert np.ptp(ten_year, axis=0).max() < 1e-9


def test_translate_is_deterministic(translated: Path, tmp_path: Path):
    again = tmp_path / "again.npz"
    result = runner.invoke(
        app,
        ["translate", "--scenario", "fed-2026-severely-adverse", "--model", "satellite", "--samples", "300",
         "--seed", "7", "--out", str(again)],
    )
    assert result.exit_code == 0, result.output
    with np.load(translated) as a, np.load(again) as b:
        np.testing.assert_array_equal(a["shocks"], b["shocks"])


def test_translate_refuses_bad_input_in_one_line(tmp_path: Path):
    proc = subprocess.run(
        [sys.executable, "-m", "risk_dagster.cli", "translate", "--scenario", "fed-1999-nothing", "--model",
         "satellite", "--samples", "10", "--out", str(tmp_path / "x.npz")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.startswith("error:")]


def test_stress_writes_losses_per_sample_quarter_segment(translated: Path, tmp_path: Path):
    out = tmp_path / "losses.parquet"
    result = runner.invoke(
        app, ["stress", "--portfolio", str(SAMPLE_BOOK), "--shocks", str(translated), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)  # stderr carries the few-samples warning (300 samples: 3 in the 99% tail)
    assert summary["currency"] == "USD" and summary["sign_convention"] == "loss positive, gain negative"
    assert "99% VaR and ES" in result.stderr
    losses = pd.read_parquet(out)
    assert list(losses.columns) == ["sample", "quarter", "segment", "loss"]
    assert losses["quarter"].nunique() == 13 and losses["segment"].nunique() >= 10
    assert summary["positions"] == 10_000 and summary["es_99"] >= summary["var_99"]
    # The loans' expected loss builds up along the path.
    cards = losses[losses["segment"] == "credit_card"].groupby("quarter")["loss"].mean()
    assert cards.iloc[-1] > cards.iloc[0] > 0


def test_stress_refuses_a_broken_book(translated: Path, tmp_path: Path):
    book = pd.read_parquet(SAMPLE_BOOK).head(50)
    book.loc[book.index[0], "notional"] = -5.0
    bad = tmp_path / "bad.parquet"
    book.to_parquet(bad)
    result = runner.invoke(app, ["stress", "--portfolio", str(bad), "--shocks", str(translated), "--out", str(tmp_path / "l.parquet")])
    assert result.exit_code != 0
    assert "notional" in result.output and book.loc[book.index[0], "position_id"] in result.output


def test_models_promote_enforces_lane_order(tmp_path: Path):
    registry = tmp_path / "registry"
    listing = runner.invoke(app, ["models", "list", "--registry", str(registry)])
    assert listing.exit_code == 0, listing.output
    skip = runner.invoke(app, ["models", "promote", "transformer", "v9999", "--to", "stable", "--registry", str(registry)])
    assert skip.exit_code == 2 and "error:" in skip.output


def test_bench_engine_names_a_missing_quantlib_in_one_line(monkeypatch: pytest.MonkeyPatch):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "QuantLib" else real_find_spec(name, *a)
    )
    result = runner.invoke(app, ["bench", "engine", "--positions", "10", "--scenarios", "2"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "QuantLib" in lines[0] and "pip install" in lines[0]


def test_quantlib_is_a_dependency_of_the_main_install():
    # `risk-dagster bench engine` is listed in the README for set-up (a), which installs no extras.
    from importlib.metadata import requires

    main = [r for r in requires("risk-dagster") or [] if "extra ==" not in r]
    assert any(r.lower().startswith("quantlib") for r in main), main


def test_models_record_backtest_writes_the_gate_scores(tmp_path: Path):
    registry = tmp_path / "registry"
    assert runner.invoke(app, ["models", "list", "--registry", str(registry)]).exit_code == 0  # seeded lanes
    lanes = json.loads((registry / "lanes.json").read_text())
    candidate = lanes["experimental"]["version"]
    scores = tmp_path / "backtest.json"
    scores.write_text(json.dumps({"rolling_origin": {"transformer": {
        "energy_score": 3.4, "crps": 0.4, "coverage_90": 0.87, "coverage_99": 0.97,
        "stress": {"energy_score": 5.0, "coverage_90": 0.8}}}}))
    recorded = runner.invoke(
        app, ["models", "record-backtest", "transformer", candidate, "--from", str(scores), "--registry", str(registry)]
    )
    assert recorded.exit_code == 0, recorded.output
    assert "energy score 3.400, coverage 90% 0.870" in recorded.stdout
    meta = json.loads((registry / "transformer" / candidate / "metadata.json").read_text())
    assert meta["metrics"]["backtest"]["coverage_90"] == 0.87
    bad = runner.invoke(app, ["models", "record-backtest", "transformer", candidate, "--from", str(tmp_path / "none.json"),
                              "--registry", str(registry)])
    assert bad.exit_code == 2 and bad.stderr.startswith("error: ")
