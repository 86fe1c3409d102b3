"""The IO manager keeps asset values under the output folder in typed files, where an asset says."""

import dagster as dg
import numpy as np
import pandas as pd

from risk_dagster.io_manager import STORAGE_PATH, OutputFolderIOManager
from risk_dagster.translate.shockset import ShockSet

PARTITIONS = dg.StaticPartitionsDefinition(["fed-2026-baseline", "fed-2026-severely-adverse"])


def _shockset(key: str) -> ShockSet:
    scale = 2.0 if "adverse" in key else 1.0
    return ShockSet(np.full((3, 2, 1), scale), np.array([4.0]), ["rates.ust.10y"], ["absolute_bp"], ["2026Q1", "2026Q2"],
                    key, "m", "1", 0)  # fmt: skip


@dg.asset(partitions_def=PARTITIONS, metadata={STORAGE_PATH: "shocks/{partition}/ai.npz"})
def shocks(context: dg.AssetExecutionContext) -> ShockSet:
    return _shockset(context.partition_key)


@dg.asset(partitions_def=PARTITIONS)
def losses(shocks: ShockSet) -> pd.DataFrame:
    return pd.DataFrame({"loss": shocks.shocks.sum(axis=(1, 2))})


@dg.asset(ins={"losses": dg.AssetIn(partition_mapping=dg.AllPartitionMapping())})
def worst(losses: dict[str, pd.DataFrame]) -> dict[str, float]:
    return {key: float(frame["loss"].max()) for key, frame in losses.items()}


def test_values_are_typed_files_where_the_asset_says_and_load_back(tmp_path) -> None:
    resources = {"io_manager": OutputFolderIOManager(path=str(tmp_path))}
    instance = dg.DagsterInstance.ephemeral()
    for key in PARTITIONS.get_partition_keys():
        assert dg.materialize([shocks, losses], partition_key=key, resources=resources, instance=instance).success
    result = dg.materialize([shocks, losses, worst], selection=[worst], resources=resources, instance=instance)
    assert result.success
    assert result.output_for_node("worst") == {"fed-2026-baseline": 2.0, "fed-2026-severely-adverse": 4.0}

    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == [
        "shocks/fed-2026-baseline/ai.npz",
        "shocks/fed-2026-severely-adverse/ai.npz",
        "store/losses/fed-2026-baseline.parquet",
        "store/losses/fed-2026-severely-adverse.parquet",
        "store/worst.json",
    ]
    assert ShockSet.load_npz(tmp_path / "shocks/fed-2026-severely-adverse/ai.npz").shocks.max() == 2.0
    (materialization,) = result.asset_materializations_for_node("worst")
    assert materialization.metadata["stored_as"].value == "json"
    assert materialization.metadata["storage_path"].value == str(tmp_path / "store" / "worst.json")


def test_a_failed_step_leaves_the_previous_value_readable(tmp_path) -> None:
    resources = {"io_manager": OutputFolderIOManager(path=str(tmp_path))}
    calls = []

    @dg.asset(name="losses_again", partitions_def=PARTITIONS)
    def failing(shocks: ShockSet) -> pd.DataFrame:
        calls.append(1)
        raise RuntimeError("engine crashed")

    key = "fed-2026-baseline"
    dg.materialize([shocks, losses], partition_key=key, resources=resources)
    before = pd.read_parquet(tmp_path / "store/losses" / f"{key}.parquet")
    result = dg.materialize([shocks, failing], partition_key=key, resources=resources, raise_on_error=False)
    assert not result.success and calls == [1]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "store/losses" / f"{key}.parquet"), before)


def test_the_project_stores_its_sets_and_sources_where_their_readers_look() -> None:
    from risk_dagster.definitions import build_definitions

    defs = build_definitions()
    assert isinstance(defs.resources["io_manager"], OutputFolderIOManager)
    graph = defs.resolve_asset_graph()
    declared = {k.to_user_string(): graph.get(k).metadata.get(STORAGE_PATH) for k in graph.get_all_asset_keys()}
    assert declared["granular_shocks"] == "shocks/{partition}/ai.npz"
    assert declared["traditional_shocks"] == "shocks/{partition}/traditional.npz"
    assert declared["synthetic_tail"] == "shocks/synthetic-tail/ai.npz"
    assert declared["lane_shocks"] == "shocks/{partition}/lanes"
    assert declared["fred_md"] == "market/sources/fred_md.parquet"


def test_an_input_never_materialized_is_named_with_its_folder(tmp_path) -> None:
    resources = {"io_manager": OutputFolderIOManager(path=str(tmp_path))}
    result = dg.materialize([shocks, losses], selection=[losses], partition_key="fed-2026-baseline",
                            resources=resources, raise_on_error=False)  # fmt: skip
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    text = str(failure.step_failure_data.error.to_string())
    assert "shocks [fed-2026-baseline] has not been materialized into" in text and str(tmp_path) in text
