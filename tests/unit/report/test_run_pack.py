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



def _eba_pack(verdict: str = "draft") -> dict:
    head = [
        {"measure": "CET1 ratio at the starting point (%)", "ai": 15.86, "traditional": 15.86, "eba_2025_published": None},
        {"measure": "CET1 ratio minimum, median (%)", "ai": 9.15, "traditional": 9.15, "eba_2025_published": None},
        {"measure": "CET1 depletion to the minimum, median (bp)", "ai": 671.1, "traditional": 671.1, "eba_2025_published": 370},
    ]
    return {"format": PACK_FORMAT, "kind": "scenario", "method": "eba", "currency": "EUR", "scenario_id": "eba-2025-adverse",
            "subtitle": "EBA adverse (eba-2025-adverse)", "verdict": verdict, "verdict_note": "24 of 25", "pages": 18,
            "running": {"run_id": "r1", "generated_at": "t"}, "lineage": {},
            "executive": {"headline": head, "losses": [{"line": "credit impairments (IFRS 9), 3 years", "ai": 52.82, "traditional": 52.82}],
                          "statistics_passed": 24, "statistics_total": 25, "chosen_lane": "experimental"}}  # fmt: skip


def test_an_eba_scenario_gets_its_own_table_beside_the_published_figure() -> None:
    pack = run_pack({"eba-2025-adverse": _eba_pack()}, run_id="run", generated_at="now")
    assert pack.data["overview"] == [] and "cet1_paths" not in pack.charts
    (row,) = pack.data["eba_overview"]
    assert row["depletion_bp"] == 671.1 and row["eba_published_depletion_bp"] == 370 and row["currency"] == "EUR"
    assert pack.data["verdict"] == "draft" and pack.data["subtitle"] == "1 scenario"
    assert pack.data["scenario_notes"][0]["pages"] == 18
