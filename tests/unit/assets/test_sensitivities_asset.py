"""The ``sensitivities`` asset and its blocking check, materialized in process on a small book."""

from __future__ import annotations

from functools import cache

import dagster as dg
import pandas as pd
import pytest

from risk_dagster.assets.stress import (
    SENSITIVITIES_CHECK,
    portfolio,
    sensitivities,
    sensitivities_consistent,
    sensitivities_path,
)
from risk_dagster.engine.sensitivities import MARKET_SCOPE, TOTAL
from risk_dagster.resources import EngineSettings, OutputDir

ASSETS = [portfolio, sensitivities, sensitivities_consistent]


@cache
def _small_book() -> pd.DataFrame:
    from risk_dagster.portfolio.sample_book import load_sample_book

    book = load_sample_book(validate=False)
    return book.groupby("instrument_type", group_keys=False).head(12).reset_index(drop=True)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """One materialization of the book, its sensitivities and the check (the contract gate takes ~10 s)."""
    tmp = tmp_path_factory.mktemp("sensitivities")
    path = tmp / "book.csv"
    _small_book().to_csv(path, index=False)
    resources = {
        "engine_settings": EngineSettings(portfolio_path=str(path), device="cpu"),
        "output_dir": OutputDir(path=str(tmp / "out")),
        # persisted between runs, so that the check can run on its own against the stored portfolio
        "io_manager": dg.FilesystemIOManager(base_dir=str(tmp / "storage")),
    }
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(ASSETS, resources=resources, instance=instance)
    return {"resources": resources, "out": tmp / "out", "instance": instance, "result": result}


def _check_alone(run: dict[str, object]) -> dg.ExecuteInProcessResult:
    return dg.materialize(ASSETS, resources=run["resources"], instance=run["instance"],
                          selection=dg.AssetSelection.checks(sensitivities_consistent), raise_on_error=False)


def test_sensitivities_materialize_writes_files_and_passes_its_check(run):
    result = run["result"]
    assert result.success
    frame = result.output_for_node("sensitivities")
    parquet = run["out"] / "stress" / "sensitivities.parquet"
    assert parquet.is_file() and parquet.with_suffix(".csv").is_file()
    assert sensitivities_path(run["resources"]["output_dir"]) == parquet
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), frame.reset_index(drop=True), check_dtype=False)
    assert len(pd.read_csv(parquet.with_suffix(".csv"))) == len(frame)
    totals = frame.loc[(frame["scope"] == MARKET_SCOPE) & (frame["segment"] == TOTAL), "factor_id"]
    assert {"rates.ust.10y", "vol.vix", "fx.eurusd"} <= set(totals)
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == SENSITIVITIES_CHECK]
    assert evaluation.passed, evaluation.description
    (materialization,) = result.asset_materializations_for_node("sensitivities")
    meta = materialization.metadata
    assert meta["dagster/row_count"].value == len(frame)
    assert "dv01" in meta["top_factors"].value and "market: total" in meta["by_segment"].value
    assert meta["output_path"].value == str(parquet)


def test_sensitivities_check_fails_on_a_tampered_file(run):
    parquet = run["out"] / "stress" / "sensitivities.parquet"
    good = parquet.read_bytes()
    try:
        frame = pd.read_parquet(parquet)
        rows = (frame["factor_id"] == "rates.ust.10y") & (frame["scope"] == MARKET_SCOPE)
        frame.loc[rows, "delta"] *= 1.5  # every row of the factor: the segments still add up
        frame.to_parquet(parquet)
        # the check alone, on the written file and the stored portfolio
        result = _check_alone(run)
        (evaluation,) = result.get_asset_check_evaluations()
        assert evaluation.check_name == SENSITIVITIES_CHECK and not evaluation.passed
        assert "rates.ust.10y" in evaluation.description
        assert not result.success  # blocking

        parquet.unlink()
        (evaluation,) = _check_alone(run).get_asset_check_evaluations()
        assert not evaluation.passed and "missing" in evaluation.description
    finally:
        parquet.write_bytes(good)
    (evaluation,) = _check_alone(run).get_asset_check_evaluations()
    assert evaluation.passed, evaluation.description
