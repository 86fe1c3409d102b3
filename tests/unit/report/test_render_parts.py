"""The pack's number printing and run-to-run comparison (the renderer's pure parts)."""

from __future__ import annotations

from risk_dagster.report.changes import compare_packs, numeric_leaves
from risk_dagster.report.pack_data import r
from risk_dagster.report.render import environment, number_text


def test_numbers_print_as_the_json_holds_them() -> None:
    assert number_text(r(12.3456)) == "12.35" and number_text(r(2.0)) == "2"
    assert number_text(r(1.4e-12)) == "1.4e-12" and number_text(None) == "\u2013"
    assert number_text(True) == "yes" and number_text(r(float("nan"))) == "\u2013"


def test_changes_name_what_moved() -> None:
    old = {"executive": {"a": 1.0, "b": [2.0, 3.0]}, "lineage": {"inputs": {"x": "sha256:1"}, "models": {}}}
    new = {"executive": {"a": 1.5, "b": [2.0, 3.0]}, "lineage": {"inputs": {"x": "sha256:2"}, "models": {"m": "sha256:3"}}}
    out = compare_packs(old, new)
    assert out["numbers_moved"] == 1 and out["numbers"][0]["number"] == "executive.a"
    assert out["numbers"][0]["relative_pct"] == 50.0
    assert [i["name"] for i in out["inputs"]] == ["x"] and out["models"][0]["before"] == "absent"
    assert compare_packs(None, new)["previous"] is None
    assert dict(numeric_leaves({"flag": True, "n": 1})) == {"n": 1.0}


def test_templates_escape_names() -> None:
    env = environment()
    html = env.from_string("<p>{{ name }}</p>").render(name='<img src="http://127.0.0.1:9/x">')
    assert "<img" not in html and "&lt;img" in html
