"""An EBA scenario's documentation pack: the euro-area bank under the EBA method, in EUR.

The same structure and renderer as the Fed scenarios' pack (:mod:`risk_dagster.report.pack_data`,
:mod:`risk_dagster.report.render`), with the sections that differ built here: the executive
summary and the capital section follow the EBA's method (annual steps 2025-2027, IFRS 9 credit
losses by stage, the CET1 depletion set beside the EBA's published 2025 aggregate), the scenario
design shows the EBA's annual paths and the factors it fixes. Data quality, models, translation,
conservativeness, changes and lineage are the shared sections, fed from the same output folder:

- ``capital/<id>/eba_capital.json``, ``eba_years_{ai,traditional}.csv``, ``eba_ifrs9_stages.parquet``
  (written by ``eba_capital_projection``);
- ``conservativeness/<id>/statistics.json`` (``eba_conservativeness``);
- ``shocks/<id>/ai.npz``, ``traditional.npz``, ``translation.json`` (the translation assets);
- ``quality/`` and ``translate/backtest.json`` (the history job).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.capital.eba_credit import SEGMENT_SATELLITES
from risk_dagster.report import charts as C
from risk_dagster.report.pack_data import (
    PACK_FORMAT,
    Pack,
    PackContext,
    Section,
    _conservativeness,
    _data_quality,
    _models,
    _read_json,
    _read_table,
    _translation,
    _verdict_note,
    r,
    records,
)
from risk_dagster.translate.shockset import ShockSet

__all__ = ["EBA_FAN_FIXED", "EBA_FAN_OPEN", "EBA_PATH_VARIABLES", "EBA_SECTIONS", "eba_pack"]

EBA_SECTIONS: tuple[Section, ...] = (
    Section("cover", "Cover", "pack/cover.html.j2", in_toc=False),
    Section("contents", "Contents", "pack/toc.html.j2", in_toc=False),
    Section("executive-summary", "Executive summary", "pack/eba_executive.html.j2"),
    Section("scenario-design", "Scenario design", "pack/eba_scenario.html.j2"),
    Section("data", "Data and data quality", "pack/data.html.j2"),
    Section("models", "Models", "pack/models.html.j2"),
    Section("translation", "Translation results", "pack/translation.html.j2"),
    Section("capital", "Capital under the EBA method", "pack/eba_capital.html.j2"),
    Section("conservativeness", "Conservativeness", "pack/conservativeness.html.j2"),
    Section("changes", "Changes since the previous run", "pack/changes.html.j2"),
    Section("lineage", "Lineage appendix", "pack/lineage.html.j2"),
)

EBA_FAN_FIXED: tuple[tuple[str, str, str], ...] = (
    ("rates.swap.eur.10y", "EUR 10-year swap rate", "percent"),
    ("rates.gov.it.10y", "Italy 10-year yield", "percent"),
    ("equity.eurostoxx50", "Euro Stoxx 50", "index level"),
    ("credit.itraxx.main_5y", "iTraxx Europe Main 5y", "percent"),
)
EBA_FAN_OPEN: tuple[tuple[str, str, str], ...] = (
    ("rates.swap.eur.6m", "EUR 6-month swap rate (interpolated knot)", "percent"),
    ("credit.spread.rating.bbb", "U.S. BBB spread", "percent"),
    ("equity.sector.money", "U.S. financials sector", "index level"),
    ("vol.vix", "VIX", "index points"),
)
"""Fan charts of the EBA pack: what the EBA fixes for a euro bank, and factors it leaves open."""

EBA_PATH_VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("eba_real_gdp_growth__ea", "Euro area real GDP growth", "percent"),
    ("eba_unemployment_rate__ea", "Euro area unemployment rate", "percent"),
    ("eba_hicp_inflation__ea", "Euro area HICP inflation", "percent"),
    ("eba_residential_property_prices__ea", "Euro area residential property prices", "growth, percent"),
    ("eba_commercial_property_prices__ea", "Euro area commercial property prices", "growth, percent"),
    ("eba_long_term_rate__ea", "Euro area long-term rate", "percent"),
    ("eba_long_term_rate__it", "Italy long-term rate", "percent"),
    ("eba_swap_rate__eur_10y", "EUR 10-year swap rate", "percent"),
    ("eba_stock_price_deviation__european_union", "EU stock prices, deviation from baseline", "percent"),
    ("eba_itraxx__overall_5y", "iTraxx Europe Main 5y", "bp"),
)
"""The EBA's paths shown in the scenario-design section (a variable the file lacks is skipped)."""


def eba_pack(output_dir: str | Path, ctx: PackContext) -> Pack:
    """Build one EBA scenario's pack from the run's output folder (module docstring)."""
    out = Path(output_dir)
    sid = ctx.scenario.scenario_id
    capital = _read_json(out / "capital" / sid / "eba_capital.json", "eba_capital_projection")
    translation = _read_json(out / "shocks" / sid / "translation.json", "granular_shocks")
    statistics = _read_json(out / "conservativeness" / sid / "statistics.json", "eba_conservativeness")
    backtest = _read_json(out / "translate" / "backtest.json", "translator_backtest")
    ai_set = ShockSet.load_npz(out / "shocks" / sid / "ai.npz")
    traditional_set = ShockSet.load_npz(out / "shocks" / sid / "traditional.npz")
    charts: dict[str, str] = {}
    attachments: dict[str, pd.DataFrame] = {}
    currency = str(capital["ai"]["currency"])
    data: dict[str, Any] = {
        "format": PACK_FORMAT,
        "kind": "scenario",
        "method": "eba",
        "currency": currency,
        "scenario_id": sid,
        "title": "EU-wide stress test (EBA method): documentation pack",
        "subtitle": f"{ctx.scenario.name} ({sid})",
        "verdict": str(statistics["verdict"]),
        "verdict_note": _verdict_note(statistics),
        "running": {"scenario": f"{ctx.scenario.name} ({sid})", "run_id": ctx.run_id, "generated_at": ctx.generated_at},
        "cover": [
            ("Scenario", ctx.scenario.name), ("Scenario id", sid), ("Publisher", ctx.scenario.source.upper()),
            ("Vintage", ctx.scenario.vintage or "not stated"), ("Starting point", str(ctx.scenario.jump_off or "")),
            ("Bank", "Euro Sample Bank (synthetic)"), ("Currency", currency), ("Dagster run", ctx.run_id),
            ("Generated", ctx.generated_at), ("Statistics passed", f"{statistics['passed']} of {statistics['total']}"),
        ],
    }  # fmt: skip
    data["executive"] = _executive(capital, translation, statistics, ctx.scenario.kind)
    data["scenario_design"] = _scenario(ctx, ai_set)
    data["data_quality"] = _data_quality(out, ctx, attachments)
    data["models"] = _models(out, translation, backtest)
    data["translation"] = _translation(ctx, ai_set, traditional_set, translation, charts, attachments,
                                       fan_fixed=EBA_FAN_FIXED, fan_open=EBA_FAN_OPEN)  # fmt: skip
    data["capital"] = _capital(out, sid, capital, charts, attachments)
    data["capital"]["exposures"] = _exposures(out, ai_set, attachments)
    data["conservativeness"] = _conservativeness(out, sid, statistics, charts, attachments, currency=currency)
    data["submitted_set"] = {"model": ai_set.model_id, "version": ai_set.model_version, "samples": ai_set.n_samples,
                             "overlay": statistics.get("overlay_status")}  # fmt: skip
    data["lineage"] = {"code": {}, "packages": {}, "platform": "", "inputs": {}, "models": {}, "assets": [], **ctx.lineage}
    data["checks"] = [{"asset": c["asset"], "check": c["check"], "passed": c["passed"],
                       "description": (c.get("description") or "")[:400]} for c in ctx.checks]  # fmt: skip
    return Pack(data=data, charts=charts, attachments=attachments, sections=EBA_SECTIONS)


def _executive(capital: dict[str, Any], translation: dict[str, Any], statistics: dict[str, Any], kind: str) -> dict[str, Any]:
    ai, trad = capital["ai"], capital["traditional"]
    pub = ai["eba_2025_published"]
    adverse = kind == "adverse"
    headline = [
        {"measure": "CET1 ratio at the starting point (%)", "ai": r(100 * ai["cet1_ratio_start"]), "traditional": r(100 * trad["cet1_ratio_start"]), "eba_2025_published": None},
        {"measure": "CET1 ratio minimum, median (%)", "ai": r(100 * ai["cet1_ratio_min_median"]), "traditional": r(100 * trad["cet1_ratio_min_median"]), "eba_2025_published": None},
        {"measure": "CET1 ratio minimum, 5% quantile (%)", "ai": r(100 * ai["cet1_ratio_min_p05"]), "traditional": r(100 * trad["cet1_ratio_min_p05"]), "eba_2025_published": None},
        {"measure": "CET1 ratio end-2027, median (%)", "ai": r(100 * ai["cet1_ratio_end_median"]), "traditional": r(100 * trad["cet1_ratio_end_median"]),
         "eba_2025_published": r(100 * pub["cet1_ratio_end_2027"]) if adverse else None},
        {"measure": "CET1 depletion to the minimum, median (bp)", "ai": r(ai["cet1_depletion_bp_median"], 1), "traditional": r(trad["cet1_depletion_bp_median"], 1),
         "eba_2025_published": pub["cet1_depletion_bp"] if adverse else None},
        {"measure": "CET1 depletion, 95% quantile (bp)", "ai": r(ai["cet1_depletion_bp_p95"], 1), "traditional": r(trad["cet1_depletion_bp_p95"], 1), "eba_2025_published": None},
        {"measure": "samples", "ai": ai["samples"], "traditional": trad["samples"], "eba_2025_published": pub["banks"]},
    ]  # fmt: skip
    losses = [
        {"line": "credit impairments (IFRS 9), 3 years", "ai": r(ai["impairments_bn"]), "traditional": r(trad["impairments_bn"])},
        {"line": "market-risk loss (trading, year 1)", "ai": r(ai["market_risk_loss_bn_median"]), "traditional": r(trad["market_risk_loss_bn_median"])},
        {"line": "FVOCI revaluation loss (year 1)", "ai": r(ai["fvoci_loss_bn_median"]), "traditional": r(trad["fvoci_loss_bn_median"])},
    ]  # fmt: skip
    lanes = [{"lane": lane, "model": row["model"], "version": row["version"], "registry": row.get("registry_ref") or "",
              "chosen": lane == translation["chosen_lane"]} for lane, row in translation["lanes"].items()]  # fmt: skip
    return {"headline": headline, "losses": losses, "lanes": lanes, "chosen_lane": translation["chosen_lane"],
            "statistics_passed": int(statistics["passed"]), "statistics_total": int(statistics["total"]),
            "overlay_status": statistics.get("overlay_status"), "overlay_multiplier": r(statistics.get("overlay_multiplier")),
            "published_source": pub["source"], "adverse": adverse, "not_modelled": list(ai["not_modelled"])}  # fmt: skip


def _scenario(ctx: PackContext, ai_set: ShockSet) -> dict[str, Any]:
    wide = ctx.scenario.wide()
    years = [str(q) for q in wide.index]
    rows = []
    for variable, title, unit in EBA_PATH_VARIABLES:
        if variable in wide:
            rows.append({"variable": title, "unit": unit, **{y: r(v) for y, v in zip(years, wide[variable].to_numpy(dtype=float), strict=True)}})
    fixed = sorted(ai_set.metadata.get("fixed_factors", []))
    open_ = [f for f in ai_set.factor_ids if f not in set(fixed)]
    classes = pd.Series([f.split(".")[0] for f in open_]).value_counts().sort_index()
    euro = [f for f in fixed if f.startswith(("rates.swap.eur", "rates.gov", "rates.eur", "equity.eurostoxx", "credit.itraxx", "credit.sovereign", "fx.eur"))]
    levels = ai_set.levels  # [samples, quarters, factors]
    year_ends = [q for q in ai_set.quarters if q.endswith("Q4")]
    reproduced = []
    for f in euro:
        j = ai_set.factor_index(f)
        row: dict[str, Any] = {"factor": f, "jump_off": r(ai_set.jump_off[j], 4)}
        for q in year_ends:
            k = ai_set.quarters.index(q)
            col = levels[:, k, j]
            row[f"{q} min"] = r(float(col.min()), 4)
            row[f"{q} max"] = r(float(col.max()), 4)
        gap = ctx.fixed_factor_gaps.get(f)
        row["max gap to the EBA path"] = None if gap is None else r(float(gap), 12)
        reproduced.append(row)
    return {"years": years, "variables": rows, "n_variables": len(ctx.scenario.variables), "fixed_factors": fixed,
            "euro_fixed": euro, "reproduced": reproduced, "open_factors_by_class": [{"class": k, "factors": int(v)} for k, v in classes.items()],
            "n_open": len(open_), "files": [Path(f).name for f in ctx.scenario.files]}  # fmt: skip


def _capital(out: Path, sid: str, capital: dict[str, Any], charts: dict[str, str], attachments: dict[str, pd.DataFrame]) -> dict[str, Any]:
    years = {label: _read_table(out / "capital" / sid / f"eba_years_{label}.csv", "eba_capital_projection").set_index("line")
             for label in ("ai", "traditional")}  # fmt: skip
    for label, frame in years.items():
        attachments[f"eba_years_{label}"] = frame.reset_index()
    stages = _read_table(out / "capital" / sid / "eba_ifrs9_stages.parquet", "eba_capital_projection")
    attachments["eba_ifrs9_stages"] = stages
    ai = capital["ai"]
    labels = [str(c) for c in years["ai"].columns]
    path = {("AI" if k == "ai" else k): (v["path_median_pct"][1:], v["path_p05_pct"][1:], v["path_p95_pct"][1:]) for k, v in capital.items()}
    charts["eba_cet1_path"] = C.svg_element(C.capital_path_png(path, labels[1:], start=100 * ai["cet1_ratio_start"], minimum=4.5,
                                                               tick_labels=[f"{labels[0]} (start)", *labels[1:]], fmt="svg"))  # fmt: skip
    impair = stages[stages["year"] > 0].pivot(index="segment", columns="year", values="impairment") / 1e9
    stage_end = stages[stages["year"] == stages["year"].max()].set_index("segment")
    stage_start = stages[stages["year"] == 0].set_index("segment")
    mix = pd.DataFrame({
        "stage 2 share at start (%)": 100 * stage_start["ead_2"] / stage_start[["ead_1", "ead_2", "ead_3"]].sum(axis=1),
        "stage 2 share at end (%)": 100 * stage_end["ead_2"] / stage_end[["ead_1", "ead_2", "ead_3"]].sum(axis=1),
        "stage 3 share at start (%)": 100 * stage_start["ead_3"] / stage_start[["ead_1", "ead_2", "ead_3"]].sum(axis=1),
        "stage 3 share at end (%)": 100 * stage_end["ead_3"] / stage_end[["ead_1", "ead_2", "ead_3"]].sum(axis=1),
        "coverage at end (%)": 100 * stage_end["ecl"] / stage_end[["ead_1", "ead_2", "ead_3"]].sum(axis=1),
    })  # fmt: skip
    multipliers = ai.get("pd_multipliers") or {}
    elasticities = [{"segment": seg.replace("_", " "), "satellite": SEGMENT_SATELLITES.get(seg, "").replace("_", " "),
                     **{f"PD multiplier {y}": r(v, 3) for y, v in zip(labels[1:], mult, strict=False)}}
                    for seg, mult in multipliers.items()]  # fmt: skip
    calendar = dict(zip(sorted(impair.columns), labels[1:], strict=False))  # projection year 1, 2, 3 -> 2025, 2026, 2027
    impairment_rows = [{"segment": seg.replace("_", " "), **{calendar.get(y, str(y)): r(v, 3) for y, v in row.items()}}
                       for seg, row in impair.iterrows()]  # fmt: skip
    walk = [{"line": k, "bp_of_rwa": r(v, 1)} for k, v in (ai.get("cet1_walk_bp") or {}).items()]
    sensitivity_path = out / "capital" / sid / "eba_sensitivity.csv"
    sensitivity = []
    if sensitivity_path.is_file():  # eba_capital_sensitivity's table (absent when that asset did not run)
        frame = pd.read_csv(sensitivity_path)
        attachments["eba_sensitivity"] = frame
        sensitivity = [{"assumption": row.assumption.replace("_", " "), "setting": row.setting,
                        "cet1_min_median_pct": r(row.cet1_min_median_pct), "depletion_bp": r(row.depletion_bp_median, 1),
                        "change_bp": r(row.delta_depletion_bp, 1)} for row in frame.itertuples()]  # fmt: skip
    return {
        "walk": walk,
        "sensitivity": sensitivity,
        "years_ai": records(years["ai"], 2, index="line"),
        "years_traditional": records(years["traditional"], 2, index="line"),
        "impairments": impairment_rows,
        "stage_mix": records(mix.round(3), 2, index="segment"),
        "elasticities": elasticities,
        "nii_bn_median": ai["nii_bn_median"],
        "not_modelled": list(ai["not_modelled"]),
        "depletion_ai_bp": r(ai["cet1_depletion_bp_median"], 1),
        "depletion_p95_bp": r(ai["cet1_depletion_bp_p95"], 1),
        "spread": r(float(np.subtract(ai["cet1_depletion_bp_p95"], ai["cet1_depletion_bp_median"])), 1),
    }


def _exposures(out: Path, ai_set: ShockSet, attachments: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The euro book's first-order sensitivities (market scope, book total), each factor fixed by the scenario or open."""
    frame = _read_table(out / "stress" / "euro_sensitivities.parquet", "euro_sensitivities")
    total = frame[(frame["scope"] == "market") & (frame["segment"] == "total") & (frame["delta"] != 0)]
    fixed = set(ai_set.metadata.get("fixed_factors", []))
    rows = [{"factor": row.factor_id, "measure": row.reader_measure, "per_reader_unit_mn": r(row.per_reader_unit / 1e6, 3),
             "unit": row.reader_unit, "fixed_by_the_scenario": row.factor_id in fixed} for row in total.itertuples()]  # fmt: skip
    attachments["euro_book_sensitivities"] = frame
    open_rows = [x for x in rows if not x["fixed_by_the_scenario"]]
    return {"rows": rows, "n": len(rows), "n_open": len(open_rows), "open": [x["factor"] for x in open_rows]}
