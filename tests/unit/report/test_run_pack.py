"""The run-level pack's reading order and its refusal of what is not a scenario pack."""

from __future__ import annotations

import json

import pytest

from risk_dagster.report.pack_data import PACK_FORMAT, PackInputError
from risk_dagster.report.run_pack import load_scenario_pack, run_pack, scenario_order


def test_scenarios_read_by_publisher_vintage_then_severity() -> None:
    ids = ["fed-2026-severely-adverse", "fed-2025-baseline", "fed-2026-baseline", "user-x", "fed-2026-adverse"]
    assert scenario_order(ids) == [
        "fed-2025-baseline", "fed-2026-baseline", "fed-2026-adverse", "fed-2026-severely-adverse", "user-x",
    ]  # fmt: skip


def test_a_missing_or_foreign_pack_json_is_named(tmp_path) -> None:
    with pytest.raises(PackInputError, match="pack.json: missing"):
        load_scenario_pack(tmp_path)
    (tmp_path / "pack.json").write_text(json.dumps({"format": PACK_FORMAT, "kind": "run"}))
    with pytest.raises(PackInputError, match="not a scenario pack"):
        load_scenario_pack(tmp_path)


def test_no_scenario_pack_is_an_error_not_an_empty_document() -> None:
    with pytest.raises(PackInputError, match="no scenario pack"):
        run_pack({}, run_id="r", generated_at="t")

