"""The reliability weights read the contract results through a graph input, and fall when one fails."""

import dagster as dg
import pandas as pd
import pytest

from risk_dagster.assets.quality import SOURCE_OF_ASSET, source_contracts, source_reliability
from risk_dagster.market.history import load_history_sources
from risk_dagster.market.inputs import assess_history
from risk_dagster.market.loaders import HISTORY_SOURCES
from risk_dagster.resources import OutputDir, RunSettings
from risk_dagster.scenarios.registry import load_fed_history

DAMAGED = "h10_usdeur"  # a non-blocking contract: the data goes through, its weight must fall


@pytest.fixture(scope="module")
def inputs() -> tuple[object, dict[str, pd.DataFrame]]:
    return load_fed_history("2026"), load_history_sources()


def _damaged(frame: pd.DataFrame) -> pd.DataFrame:
    broken = frame.copy()
    broken.loc[broken.index[len(broken) // 2], "DEXUSEU"] = 11.2  # a slipped decimal: outside 0.3-3.0
    return broken


def test_the_weights_depend_on_the_contract_results_through_the_graph() -> None:
    deps = source_reliability.asset_deps[source_reliability.key]
    assert dg.AssetKey("source_contracts") in deps
    assert set(source_contracts.asset_deps[source_contracts.key]) == {dg.AssetKey(n) for n in ["fed_history", *HISTORY_SOURCES]}
    assert set(SOURCE_OF_ASSET) == {"fed_history", *HISTORY_SOURCES}


def test_a_failed_contract_is_recomputed_from_the_data_and_lowers_its_source_weight(tmp_path, inputs) -> None:
    fed_history, sources = inputs
    settings = RunSettings()

    def weights(frames: dict[str, pd.DataFrame]) -> tuple[list, dict]:
        entries = source_contracts(run_settings=settings, fed_history=fed_history, **frames).value
        assessed = source_reliability(
            context=dg.build_asset_context(), output_dir=OutputDir(path=str(tmp_path)),
            fed_history=fed_history, source_contracts=entries, **frames,
        ).value  # fmt: skip
        return entries, {name: a.weight for name, a in assessed.items()}

    clean_entries, clean = weights(sources)
    # the euribor.it scrape is loaded as published and its contracts fail on purpose
    scrape = {name for name, spec in HISTORY_SOURCES.items() if spec.repair is not None}
    assert all(c["passed"] for e in clean_entries if e["asset"] not in scrape for c in e["checks"]), clean_entries
    assert all(not c["passed"] for e in clean_entries if e["asset"] in scrape for c in e["checks"])
    damaged_entries, damaged = weights({**sources, DAMAGED: _damaged(sources[DAMAGED])})
    (entry,) = [e for e in damaged_entries if e["asset"] == DAMAGED]
    (check,) = entry["checks"]
    assert check["passed"] is False and check["metadata"]["failed"] >= 1 and check["description"]
    source = HISTORY_SOURCES[DAMAGED].source
    assert damaged[source] < clean[source]
    # the jump alone lowers it too: the contract result must lower it further
    frames = {**sources, DAMAGED: _damaged(sources[DAMAGED])}
    without_contracts = assess_history(fed_history.wide(), frames, contract_failures=None)
    assert damaged[source] < without_contracts[source].weight
    assert {k: v for k, v in damaged.items() if k != source} == {k: v for k, v in clean.items() if k != source}


def test_the_damaged_euribor_scrape_is_caught_and_its_weight_shows_why(tmp_path, inputs) -> None:
    """The euribor.it scrape as shipped: its contracts fail (duplicated, undated and unsorted rows, the
    25y typo), the reliability weight falls far below its 0.40 prior, and the reasons name both."""
    fed_history, sources = inputs
    entries = source_contracts(run_settings=RunSettings(), fed_history=fed_history, **sources).value
    assessed = source_reliability(
        context=dg.build_asset_context(), output_dir=OutputDir(path=str(tmp_path)),
        fed_history=fed_history, source_contracts=entries, **sources,
    ).value  # fmt: skip
    scrape = assessed["euribor_it"]
    assert scrape.prior_weight == pytest.approx(0.4) and scrape.weight < 0.25 * scrape.prior_weight
    assert "contract" in scrape.reasons and "robust_jumps" in scrape.reasons
    failed = {c["check"]: c["metadata"]["failed"] for e in entries if e["asset"] in ("euribor", "eurirs") for c in e["checks"]}
    assert failed and all(n >= 1 for n in failed.values())
    # the other euro sources are clean official data and keep their prior
    assert assessed["oecd"].weight == pytest.approx(0.85) and assessed["ecb"].weight == pytest.approx(0.85)
