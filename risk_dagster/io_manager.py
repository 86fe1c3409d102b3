"""The IO manager: asset values stored under the output folder in typed files, not pickles in
Dagster's home.

Each value goes to ``OUTPUT/store/<asset key>[/<partition>]`` in the format of its type
(:mod:`risk_dagster.value_store`: DataFrames as parquet, ShockSets as npz, ...), written
atomically, so a step killed mid-write leaves the previous value readable. An asset whose value
is itself a human-facing file names where it goes with the output metadata key
:data:`STORAGE_PATH`, a path under the output folder with ``{partition}`` filled in
(``shocks/{partition}/ai.npz``): the IO manager writes it there and nowhere else, instead of the
asset writing it and Dagster keeping a second, pickled, copy.
"""

from pathlib import Path
from typing import Any

import dagster as dg

from risk_dagster.value_store import format_of, load_value, save_value

STORAGE_PATH = "risk_dagster/storage_path"
"""Output definition metadata: where under the output folder the value's file goes."""
STORE_FOLDER = "store"


class OutputFolderIOManager(dg.ConfigurableIOManager):
    """Stores every asset value under ``path`` (the run's output folder) in a typed file."""

    path: str

    def _base(self, context: dg.OutputContext | dg.InputContext, partition: str | None) -> Path:
        output = context if isinstance(context, dg.OutputContext) else context.upstream_output
        template = (output.definition_metadata or {}).get(STORAGE_PATH) if output is not None else None
        if template:
            return Path(self.path) / str(template).format(partition=partition or "all")
        base = Path(self.path, STORE_FOLDER, *context.asset_key.path)
        return base / partition if partition is not None else base

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:  # an asset with no value (it wrote its files itself)
            return
        partition = context.asset_partition_key if context.has_asset_partitions else None
        path = save_value(self._base(context, partition), obj)
        context.add_output_metadata({"stored_as": format_of(obj), "storage_path": dg.MetadataValue.path(str(path))})

    def load_input(self, context: dg.InputContext) -> Any:
        if not context.has_asset_partitions:
            return self._load(context, None)
        keys = context.asset_partition_keys
        if len(keys) == 1 and not _wants_mapping(context):
            return self._load(context, keys[0])
        return {key: self._load(context, key) for key in keys}

    def _load(self, context: dg.InputContext, partition: str | None) -> Any:
        try:
            return load_value(self._base(context, partition))
        except FileNotFoundError as error:
            asset = context.asset_key.to_user_string() + (f" [{partition}]" if partition else "")
            raise FileNotFoundError(f"{asset} has not been materialized into {self.path} (run the job that makes it "
                                    f"first: the history job for unpartitioned assets): {error}") from None


def _wants_mapping(context: dg.InputContext) -> bool:
    """An unpartitioned step reading a partitioned asset gets ``{partition: value}``, even of one."""
    return not context.has_partition_key
