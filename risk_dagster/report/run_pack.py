"""The run-level pack: one document summarising every scenario pack of a run.

It is built from the scenario packs' own ``pack.json`` files (:func:`run_pack`), so every number
it shows is a number of a scenario pack, rounded the same way, and traceable to the scenario's
PDF beside it. Sections: cover, contents, the overview table (one row per scenario: verdict,
statistics passed, CET1 start, minimum and SCB, nine-quarter losses, the 99% loss; EBA scenarios
in a table of their own: the euro-area bank's CET1 start, minimum and depletion beside the EBA's
published aggregate), the CET1 paths of every Fed scenario in one chart, the losses by line per scenario, each scenario's verdict
note, changes since the previous run-level pack and the lineage of each scenario pack.
Nothing here knows Dagster or HTML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from risk_dagster.report import charts as C
from risk_dagster.report.pack_data import LOSS_LINE_TITLES, PACK_FORMAT, Pack, PackInputError, Section

RUN_SECTIONS: tuple[Section, ...] = (
    Section("cover", "Cover", "pack/run_cover.html.j2", in_toc=False),
    Section("contents", "Contents", "pack/toc.html.j2", in_toc=False),
    Section("overview", "Scenarios of the run", "pack/run_overview.html.j2"),
    Section("scenarios", "Scenario by scenario", "pack/run_scenarios.html.j2"),
    Section("changes", "Changes since the previous run", "pack/changes.html.j2"),
    Section("lineage", "Lineage appendix", "pack/run_lineage.html.j2"),
)


def load_scenario_pack(folder: str | Path) -> dict[str, Any]:
    """A rendered scenario pack's ``pack.json`` (``folder`` is the pack's folder)."""
    path = Path(folder) / "pack.json"
    if not path.is_file():
        raise PackInputError(f"{path}: missing (written by the documentation_pack asset; materialize it first)")
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != PACK_FORMAT or data.get("kind") != "scenario":
        raise PackInputError(f"{path}: not a scenario pack of format {PACK_FORMAT}")
    return data


def run_pack(
    scenario_packs: Mapping[str, Mapping[str, Any]],
    *,
    run_id: str,
    generated_at: str,
    pdf_paths: Mapping[str, str] | None = None,
    lineage: Mapping[str, Any] | None = None,
) -> Pack:
    """The run-level pack from the scenario packs (scenario id -> its ``pack.json``).

    Parameters
    ----------
    scenario_packs
        Every scenario pack of the run, in the order to show them.
    run_id, generated_at
        The run-level pack's own run and time (each scenario keeps its own in its row).
    pdf_paths
        Scenario id -> the scenario PDF's path as the reader should find it.
    lineage
        Code and package versions (as :func:`~risk_dagster.report.lineage.base_lineage` gives).
    """
    if not scenario_packs:
        raise PackInputError("no scenario pack to summarise: materialize documentation_pack for a scenario first")
    pdf_paths = dict(pdf_paths or {})
    overview, notes, lines, scenario_lineage = [], [], [], []
    paths: dict[str, tuple[list[float], list[float], list[float]]] = {}
    quarters: list[str] = []
    bars: dict[str, dict[str, float]] = {}
    eba_overview: list[dict[str, Any]] = []
    for sid, p in scenario_packs.items():
        e = p["executive"]
        head = {row["measure"]: row for row in e["headline"]}
        notes.append({"scenario": p["subtitle"], "verdict": p["verdict"], "note": p["verdict_note"],
                      "pdf": pdf_paths.get(sid, ""), "pages": p.get("pages"), "run_id": p["running"]["run_id"],
                      "generated_at": p["running"]["generated_at"]})  # fmt: skip
        scenario_lineage.append({"scenario": sid, "run_id": p["running"]["run_id"],
                                 "code": (p.get("lineage") or {}).get("code", {}).get("git_commit", ""),
                                 "inputs": len((p.get("lineage") or {}).get("inputs", {})),
                                 "models": len((p.get("lineage") or {}).get("models", {}))})  # fmt: skip
        if p.get("method") == "eba":  # the euro-area bank under the EBA method: its own table, in its currency
            eba_overview.append({
                "scenario": p["subtitle"], "verdict": p["verdict"], "currency": p.get("currency"),
                "statistics_passed": f"{e['statistics_passed']}/{e['statistics_total']}",
                "cet1_start_pct": head["CET1 ratio at the starting point (%)"]["ai"],
                "cet1_min_pct": head["CET1 ratio minimum, median (%)"]["ai"],
                "depletion_bp": head["CET1 depletion to the minimum, median (bp)"]["ai"],
                "eba_published_depletion_bp": head["CET1 depletion to the minimum, median (bp)"]["eba_2025_published"],
                "impairments_bn": e["losses"][0]["ai"], "lane": e["chosen_lane"],
            })  # fmt: skip
            continue
        dist = e.get("loss_distribution_ai") or {}
        total_rate = next((x["ai_pct"] for x in e["loss_rates"] if x["segment"] == "total"), None)
        total_loss = next((x["ai_usd_bn"] for x in e["losses"] if x["line"] == LOSS_LINE_TITLES["total"]), None)
        overview.append({
            "scenario": p["subtitle"], "verdict": p["verdict"],
            "statistics_passed": f"{e['statistics_passed']}/{e['statistics_total']}",
            "cet1_start_pct": head["CET1 ratio at jump-off (%)"]["ai"],
            "cet1_min_pct": head["CET1 minimum, median path (%)"]["ai"],
            "cet1_min_p05_pct": head["CET1 minimum, 5% quantile (%)"]["ai"],
            "scb_pct": head["stress capital buffer, median (%)"]["ai"],
            "losses_9q_usd_bn": total_loss, "loan_loss_rate_pct": total_rate,
            "loss_99_usd_bn": dist.get("var_99"),
            "overlay": str(e["overlay_status"] or "").replace("_", " "), "lane": e["chosen_lane"],
        })  # fmt: skip
        for row in e["losses"]:
            lines.append({"scenario": sid, "line": row["line"], "ai_usd_bn": row["ai_usd_bn"],
                          "traditional_usd_bn": row["traditional_usd_bn"]})  # fmt: skip
            if row["line"] != LOSS_LINE_TITLES["total"] and row["ai_usd_bn"] is not None:
                bars.setdefault(row["line"], {})[sid] = float(row["ai_usd_bn"])
        path = p["stress"]["cet1_path_ai"]
        quarters = [x["quarter"] for x in path[1:]] or quarters
        paths[sid] = tuple([_num(x[k]) for x in path[1:]] for k in ("median", "p05", "p95"))  # type: ignore[assignment]
    starts = {row["cet1_start_pct"] for row in overview}
    charts = {}
    if overview:  # the Fed scenarios' chart (nine quarters, USD); EBA rows are in their own table
        charts["cet1_paths"] = C.svg_element(C.capital_path_png(
            paths, quarters, start=next(iter(starts)) if len(starts) == 1 else None, minimum=4.5, fmt="svg"))
        charts["losses_by_line"] = C.svg_element(C.bar_chart(bars, ylabel="USD bn, nine quarters, median (AI set)"))
    drafts = [row["scenario"] for row in [*overview, *eba_overview] if row["verdict"] != "submission"]
    n_all = len(overview) + len(eba_overview)
    data: dict[str, Any] = {
        "format": PACK_FORMAT,
        "kind": "run",
        "title": "Capital stress test: run summary",
        "subtitle": f"{n_all} scenario{'s' if n_all != 1 else ''}",
        "verdict": "draft" if drafts else "submission",
        "verdict_note": (f"Draft: {len(drafts)} of {n_all} scenarios are drafts ({', '.join(drafts)})." if drafts
                         else f"Every scenario's AI set passes all conservativeness statistics ({n_all} scenarios)."),
        "running": {"scenario": "run summary", "run_id": run_id, "generated_at": generated_at},
        "cover": [("Scenarios", n_all), ("Submission", n_all - len(drafts)), ("Draft", len(drafts)),
                  ("Dagster run", run_id), ("Generated", generated_at)],
        "overview": overview,
        "eba_overview": eba_overview,
        "scenario_notes": notes,
        "losses_by_line": lines,
        "scenario_lineage": scenario_lineage,
        "lineage": dict(lineage or {}),
        "scenario_ids": list(scenario_packs),
    }  # fmt: skip
    return Pack(data=data, charts=charts, attachments={}, sections=RUN_SECTIONS)


def _num(x: Any) -> float:
    return float("nan") if x is None else float(x)


def scenario_order(ids: Sequence[str]) -> list[str]:
    """Scenario ids in a stable reading order (publisher, vintage, then severity as the ids spell it)."""
    severity = {"baseline": 0, "adverse": 1, "severely-adverse": 2}
    def key(sid: str) -> tuple[str, int, str]:
        tail = next((s for s in sorted(severity, key=len, reverse=True) if sid.endswith(s)), "")
        return (sid[: len(sid) - len(tail)], severity.get(tail, 3), sid)
    return sorted(ids, key=key)


__all__ = ["RUN_SECTIONS", "load_scenario_pack", "run_pack", "scenario_order"]
