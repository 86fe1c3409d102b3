"""Every step that runs torch shares one concurrency pool, so one GPU is not oversubscribed."""

from __future__ import annotations

from risk_dagster.definitions import build_definitions
from risk_dagster.resources import ACCELERATOR_POOL

TORCH_STEPS = {
    "translator_stable", "translator_current", "translator_experimental", "plausibility_filter", "synthetic_tail",
    "translator_backtest", "calibration_backtest", "granular_shocks", "sensitivities", "pricing_parity",
    "stress_results", "capital_sensitivity", "conservativeness", "intraday_stress",
    "euro_pricing_parity", "euro_sensitivities", "eba_stress_results", "eba_conservativeness",
}  # fmt: skip


def test_torch_steps_are_in_the_accelerator_pool_and_nothing_else_is() -> None:
    graph = build_definitions().resolve_asset_graph()
    pooled = {k.to_user_string() for k in graph.get_all_asset_keys() if ACCELERATOR_POOL in (graph.get(k).pools or ())}
    assert TORCH_STEPS <= pooled
    # the other outputs of a pooled multi-asset share its step; nothing else waits for the GPU
    assert pooled - TORCH_STEPS == {"lane_shocks"}


def test_every_asset_has_a_description_owners_group_and_kinds() -> None:
    graph = build_definitions().resolve_asset_graph()
    lacking = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        missing = [name for name, ok in (("description", node.description), ("owners", node.owners),
                                         ("group", node.group_name and node.group_name != "default"),
                                         ("kinds", node.kinds)) if not ok]  # fmt: skip
        if missing:
            lacking[key.to_user_string()] = missing
    assert not lacking, lacking
