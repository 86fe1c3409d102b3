"""Rebuild the model registry shipped in the package (``risk_dagster/data/registry``).

Trains two transformer versions with the default configuration on the shipped history (ensemble
seeds 0-4 and 100-104), registers them, and promotes them through the lanes the way a model
owner would: v0001 experimental -> current -> stable, then v0002 experimental -> current. A new
machine's registry is seeded from this one, so the stable and current lanes are never empty.

Run from the repository root: ``python scripts/build_shipped_registry.py``.
"""

from __future__ import annotations

import shutil
import sys

from risk_dagster.market.inputs import load_history_inputs
from risk_dagster.translate.base import build_training_set
from risk_dagster.translate.registry import ModelRegistry, shipped_registry_dir
from risk_dagster.translate.transformer import TransformerConfig, TransformerTranslator


def main() -> int:
    root = shipped_registry_dir()
    if root.exists():
        shutil.rmtree(root)
    inputs = load_history_inputs()
    training = build_training_set(inputs.factor_history, inputs.fed_history, inputs.weights)
    registry = ModelRegistry(root)
    for base_seed, lanes in ((0, ("current", "stable")), (100, ("current",))):
        model = TransformerTranslator(TransformerConfig(base_seed=base_seed)).fit(training)
        version = registry.register(
            model, lane="experimental", training=training, seed=base_seed, metrics={"ensemble_base_seed": base_seed},
            notes="shipped with the package; trained by scripts/build_shipped_registry.py",
        )
        for lane in lanes:
            registry.promote(
                version.model_id, version.version, lane, force=True,
                note="shipped with the package to seed the lanes; no backtest recorded at build time",
            )
    for row in registry.describe():
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
