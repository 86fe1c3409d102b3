"""The documentation pack's content: every number it shows, read from the run's own output files.

:func:`scenario_pack` builds one scenario's pack from the output folder the run wrote (capital,
stress, shocks, conservativeness, translate, registry, models, quality) plus what only the
orchestrator knows (:class:`PackContext`: the run id, check results, the scenario objects,
lineage). It returns a :class:`Pack`: ``data`` (JSON-able, written as ``pack.json``: numbers are
rounded *here*, to what the page shows, so every number in the PDF is literally in the JSON),
``charts`` (section charts as SVG) and ``attachments`` (the long tables, written as CSV beside
the PDF). Nothing here knows Dagster or HTML.

Units: money in USD bn, ratios and loss rates in percent, unless a column says otherwise.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.report import charts as C
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.shockset import ShockSet

PACK_FORMAT = "risk_dagster.pack/1"


@dataclass(frozen=True)
class Section:
    """One section of the pack: a fixed id (used as the HTML anchor), its title and template."""

    id: str
    title: str
    template: str
    in_toc: bool = True


SCENARIO_SECTIONS: tuple[Section, ...] = (
    Section("cover", "Cover", "pack/cover.html.j2", in_toc=False),
    Section("contents", "Contents", "pack/toc.html.j2", in_toc=False),
    Section("executive-summary", "Executive summary", "pack/executive_summary.html.j2"),
    Section("scenario-design", "Scenario design", "pack/scenario_design.html.j2"),
    Section("data", "Data and data quality", "pack/data.html.j2"),
    Section("models", "Models", "pack/models.html.j2"),
    Section("translation", "Translation results", "pack/translation.html.j2"),
    Section("outcomes", "Outcomes analysis", "pack/outcomes.html.j2"),
    Section("stress-results", "Stress results", "pack/stress_results.html.j2"),
    Section("conservativeness", "Conservativeness", "pack/conservativeness.html.j2"),
    Section("sensitivity", "Sensitivity analysis", "pack/sensitivity.html.j2"),
    Section("changes", "Changes since the previous run", "pack/changes.html.j2"),
    Section("lineage", "Lineage appendix", "pack/lineage.html.j2"),
)

MACRO_PANELS: tuple[tuple[str, str, str], ...] = (
    ("unemployment_rate", "Unemployment rate", "percent"),
    ("real_gdp_growth", "Real GDP growth", "percent, annualised"),
    ("treasury_3m", "3-month Treasury", "percent"),
    ("treasury_10y", "10-year Treasury", "percent"),
    ("bbb_spread", "BBB spread over 10y", "percent"),
    ("equity_total_market", "Equity total market", "index"),
    ("house_price_index", "House prices", "index"),
    ("cre_price_index", "Commercial real estate prices", "index"),
    ("vix", "VIX", "index points"),
)
"""The supervisor's paths drawn in the scenario-design section (a variable a scenario lacks is skipped)."""

LOSS_LINE_TITLES: dict[str, str] = {
    "loan_losses": "loan losses",
    "trading_and_counterparty": "trading and counterparty",
    "securities_afs": "AFS securities",
    "securities_htm": "HTM securities",
    "other_losses": "operational and other",
    "total": "total",
}


class PackInputError(RuntimeError):
    """A file the pack needs is missing or unreadable; names the file and the asset that writes it."""


@dataclass
class PackContext:
    """What the orchestrator knows and the output folder does not.

    Attributes
    ----------
    scenario
        The scenario as ingested (its name may be anything a user wrote: it is data, never markup).
    baseline
        The same publisher's baseline of the same vintage, drawn beside it; ``None`` when there is
        none or the scenario is the baseline.
    fixed_factors
        The factors the scenario fixes (every sample reproduces them).
    fixed_factor_gaps
        Each fixed factor's largest gap to the scenario's path, recomputed from the AI set.
    checks
        Every asset check of the scenario's run: ``asset``, ``check``, ``passed``, ``description``.
    history_levels
        The market history's quarterly levels (the open-fixed envelopes).
    """

    scenario: MacroScenario
    run_id: str
    generated_at: str
    baseline: MacroScenario | None = None
    fixed_factors: Sequence[str] = ()
    checks: Sequence[Mapping[str, Any]] = ()
    history_levels: pd.DataFrame | None = None
    lineage: Mapping[str, Any] = field(default_factory=dict)
    fixed_factor_gaps: Mapping[str, float] = field(default_factory=dict)
    """Fixed factor -> largest gap of the submitted set to the supervisor's path (shock units; 0 = exact)."""


@dataclass
class Pack:
    """A pack's content: ``data`` is ``pack.json``; ``charts`` are SVG; ``attachments`` are the CSVs."""

    data: dict[str, Any]
    charts: dict[str, str]
    attachments: dict[str, pd.DataFrame]
    sections: tuple[Section, ...] = SCENARIO_SECTIONS


# ----------------------------------------------------------------------------- rounding
def r(x: Any, digits: int = 2) -> Any:
    """``x`` rounded as the page shows it; NaN and inf become ``None`` (shown as a dash)."""
    if x is None or isinstance(x, (bool, np.bool_)):
        return None if x is None else bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        value = float(x)
        if not math.isfinite(value):
            return None
        if value != 0 and abs(value) < 10 ** (-digits):
            return float(f"{value:.2g}")  # small numbers keep two significant digits
        return round(value, digits)
    return x


def records(frame: pd.DataFrame, digits: int = 2, *, index: str | None = None) -> list[dict[str, Any]]:
    """A frame as a list of rows, every number rounded by :func:`r`."""
    f = frame.reset_index(names=index) if index else frame
    return [{str(k): r(v, digits) for k, v in row.items()} for row in f.to_dict(orient="records")]


# ----------------------------------------------------------------------------- files
def _read_json(path: Path, writer: str) -> Any:
    if not path.is_file():
        raise PackInputError(f"{path}: missing (written by the {writer} asset; materialize it first)")
    return json.loads(path.read_text(encoding="utf-8"))


def _read_table(path: Path, writer: str) -> pd.DataFrame:
    if not path.is_file():
        raise PackInputError(f"{path}: missing (written by the {writer} asset; materialize it first)")
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def _optional_table(path: Path) -> pd.DataFrame | None:
    return _read_table(path, "") if path.is_file() else None


def file_sha256(path: Path) -> str:
    """``sha256:`` hex digest of a file (a folder: of its files' relative paths and digests, sorted)."""
    digest = hashlib.sha256()
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            digest.update(str(f.relative_to(path)).encode())
            digest.update(bytes.fromhex(file_sha256(f).removeprefix("sha256:")))
    else:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return "sha256:" + digest.hexdigest()


# ----------------------------------------------------------------------------- the pack
def scenario_pack(output_dir: str | Path, ctx: PackContext) -> Pack:
    """Build one scenario's pack from the run's output folder (see the module docstring)."""
    out = Path(output_dir)
    sid = ctx.scenario.scenario_id
    capital = _read_json(out / "capital" / sid / "capital_summary.json", "capital_projection")
    stress = _read_json(out / "stress" / sid / "loss_summary.json", "stress_results")
    translation = _read_json(out / "shocks" / sid / "translation.json", "granular_shocks")
    statistics = _read_json(out / "conservativeness" / sid / "statistics.json", "conservativeness")
    backtest = _read_json(out / "translate" / "backtest.json", "translator_backtest")
    ai_set = ShockSet.load_npz(out / "shocks" / sid / "ai.npz")
    traditional_set = ShockSet.load_npz(out / "shocks" / sid / "traditional.npz")
    overlay_path = out / "shocks" / sid / "ai_overlay.npz"
    submitted_set = ShockSet.load_npz(overlay_path) if statistics.get("overlay_status") == "applied" and overlay_path.is_file() else ai_set

    charts: dict[str, str] = {}
    attachments: dict[str, pd.DataFrame] = {}
    verdict = str(statistics["verdict"])
    data: dict[str, Any] = {
        "format": PACK_FORMAT,
        "kind": "scenario",
        "scenario_id": sid,
        "title": "Capital stress test: documentation pack",
        "subtitle": f"{ctx.scenario.name} ({sid})",
        "verdict": verdict,
        "verdict_note": _verdict_note(statistics),
        "running": {"scenario": f"{ctx.scenario.name} ({sid})", "run_id": ctx.run_id, "generated_at": ctx.generated_at},
        "cover": [
            ("Scenario", ctx.scenario.name), ("Scenario id", sid), ("Publisher", ctx.scenario.source),
            ("Vintage", ctx.scenario.vintage or "not stated"), ("Jump-off quarter", str(ctx.scenario.jump_off or "")),
            ("Dagster run", ctx.run_id), ("Generated", ctx.generated_at),
            ("Statistics passed", f"{statistics['passed']} of {statistics['total']}"),
        ],
    }  # fmt: skip
    data["executive"] = _executive(capital, stress, translation, statistics)
    data["scenario_design"] = _scenario_design(ctx, ai_set, charts)
    data["data_quality"] = _data_quality(out, ctx, attachments)
    data["models"] = _models(out, translation, backtest)
    data["translation"] = _translation(ctx, ai_set, traditional_set, translation, charts, attachments)
    data["outcomes"] = _outcomes(out, backtest, attachments)
    data["stress"] = _stress(out, sid, capital, stress, charts, attachments)
    data["conservativeness"] = _conservativeness(out, sid, statistics, charts, attachments)
    data["sensitivity"] = _sensitivity(out, sid, capital, statistics, attachments)
    data["submitted_set"] = {"model": submitted_set.model_id, "version": submitted_set.model_version,
                             "samples": submitted_set.n_samples, "overlay": statistics.get("overlay_status")}
    data["lineage"] = {"code": {}, "packages": {}, "platform": "", "inputs": {}, "models": {}, "assets": [], **ctx.lineage}
    data["checks"] = [{"asset": c["asset"], "check": c["check"], "passed": c["passed"],
                       "description": (c.get("description") or "")[:400]} for c in ctx.checks]  # fmt: skip
    return Pack(data=data, charts=charts, attachments=attachments)


def _verdict_note(statistics: Mapping[str, Any]) -> str:
    if statistics["verdict"] == "submission":
        how = (f"after the conservative overlay (multiplier {r(statistics['overlay_multiplier'])})"
               if statistics.get("overlay_status") == "applied" else "without an overlay")
        return f"All {statistics['total']} conservativeness statistics pass {how}: the AI scenario set may be submitted."
    failed = [s["id"] for s in statistics["statistics"] if not s["passed"]]
    return (f"Draft: {len(failed)} of {statistics['total']} conservativeness statistics fail ({', '.join(failed)}); "
            f"overlay {statistics.get('overlay_status')}: {statistics.get('overlay_reason') or ''}")


# ----------------------------------------------------------------------------- sections
def _executive(capital: Mapping, stress: Mapping, translation: Mapping, statistics: Mapping) -> dict[str, Any]:
    ai, trad = capital["ai"], capital["traditional"]
    losses = [{"line": LOSS_LINE_TITLES.get(k, k), "ai_usd_bn": r(ai["losses"][k]), "traditional_usd_bn": r(trad["losses"][k])}
              for k in ai["losses"]]  # fmt: skip
    rates = [{"segment": k.replace("_", " "), "ai_pct": r(v), "traditional_pct": r(trad["loss_rates"].get(k))}
             for k, v in ai["loss_rates"].items()]  # fmt: skip
    lanes = [{"lane": lane, "model": row["model"], "version": row["version"], "registry": row.get("registry_ref") or "",
              "chosen": lane == translation["chosen_lane"]} for lane, row in translation["lanes"].items()]  # fmt: skip
    return {
        "headline": [
            {"measure": "CET1 ratio at jump-off (%)", "ai": r(ai["cet1_start"]), "traditional": r(trad["cet1_start"])},
            {"measure": "CET1 minimum, median path (%)", "ai": r(ai["cet1_trough"]), "traditional": r(trad["cet1_trough"])},
            {"measure": "CET1 minimum, 5% quantile (%)", "ai": r(ai["cet1_trough_p05"]), "traditional": r(trad["cet1_trough_p05"])},
            {"measure": "stress capital buffer, median (%)", "ai": r(ai["scb"]), "traditional": r(trad["scb"])},
            {"measure": "share of paths below the 4.5% minimum", "ai": r(ai["below_minimum_share"], 3), "traditional": r(trad["below_minimum_share"], 3)},
            {"measure": "PPNR, nine quarters (USD bn)", "ai": r(ai["ppnr"]["total"]), "traditional": r(trad["ppnr"]["total"])},
            {"measure": "samples", "ai": ai["samples"], "traditional": trad["samples"]},
        ],
        "losses": losses,
        "loss_rates": rates,
        "trough_quarter": ai["trough_quarter"],
        "statistics_passed": int(statistics["passed"]),
        "statistics_total": int(statistics["total"]),
        "overlay_status": statistics.get("overlay_status"),
        "overlay_multiplier": r(statistics.get("overlay_multiplier")),
        "chosen_lane": translation["chosen_lane"],
        "lanes": lanes,
        "loss_distribution_ai": {k: r(v) for k, v in stress["ai"]["loss_distribution"].items()},
        "overlay_capital": _overlay_capital(statistics),
    }  # fmt: skip


def _overlay_capital(statistics: Mapping) -> dict[str, Any] | None:
    """The submitted (overlaid) set's capital headline when the overlay was applied, else ``None``."""
    c = statistics.get("overlay_capital") if statistics.get("overlay_status") == "applied" else None
    if not c:
        return None
    return {"cet1_trough": r(c["cet1_trough"]), "cet1_trough_p05": r(c["cet1_trough_p05"]), "scb": r(c["scb"]),
            "trough_quarter": c.get("trough_quarter"), "loss_total": r((c.get("losses") or {}).get("total"))}


def _scenario_design(ctx: PackContext, ai_set: ShockSet, charts: dict[str, str]) -> dict[str, Any]:
    scenarios = {f"{ctx.scenario.kind.replace('_', ' ')} (this scenario)": ctx.scenario}
    if ctx.baseline is not None:
        scenarios[f"{ctx.baseline.kind} ({ctx.baseline.scenario_id})"] = ctx.baseline
    quarters = [str(q) for q in ctx.scenario.quarters]
    paths: dict[str, dict[str, list[float]]] = {}
    for label, s in scenarios.items():
        wide = _with_bbb_spread(s.wide())
        wide.index = wide.index.astype(str)
        paths[label] = {v: wide[v].reindex(quarters).to_numpy(dtype=float).tolist() for v in wide.columns}
    charts["macro_paths"] = C.svg_element(C.macro_paths_chart(paths, quarters, MACRO_PANELS))
    wide = _with_bbb_spread(ctx.scenario.wide())
    rows = []
    for variable, title, unit in MACRO_PANELS:
        if variable not in wide:
            continue
        v = wide[variable].dropna()
        base = None
        if ctx.baseline is not None and variable in (bw := _with_bbb_spread(ctx.baseline.wide())):
            base = bw[variable].dropna()
        rows.append({"variable": title, "unit": unit, "first_quarter": r(v.iloc[0]), "peak": r(v.max()),
                     "trough": r(v.min()), "last_quarter": r(v.iloc[-1]),
                     "baseline_last_quarter": r(base.iloc[-1]) if base is not None and len(base) else None})  # fmt: skip
    fixed = sorted(ctx.fixed_factors)
    open_ = [f for f in ai_set.factor_ids if f not in set(fixed)]
    classes = pd.Series([f.split(".")[0] for f in open_]).value_counts().sort_index()
    return {
        "quarters": f"{quarters[0]} to {quarters[-1]}" if quarters else "",
        "n_quarters": len(quarters),
        "n_variables": len(ctx.scenario.variables),
        "variables": rows,
        "fixed_factors": fixed,
        "open_factors_by_class": [{"class": k, "factors": int(v)} for k, v in classes.items()],
        "n_open": len(open_),
        "files": [Path(f).name for f in ctx.scenario.files],
    }


def _with_bbb_spread(wide: pd.DataFrame) -> pd.DataFrame:
    """The BBB spread over the 10-year Treasury, the Fed's published pair (yield minus yield)."""
    if "bbb_yield" in wide and "treasury_10y" in wide and "bbb_spread" not in wide:
        wide = wide.assign(bbb_spread=wide["bbb_yield"] - wide["treasury_10y"])
    return wide


def _data_quality(out: Path, ctx: PackContext, attachments: dict[str, pd.DataFrame]) -> dict[str, Any]:
    weights = _read_table(out / "quality" / "source_reliability.parquet", "source_reliability")
    contracts = _read_json(out / "quality" / "contract_results.json", "quality_report")
    table = weights.drop(columns=[c for c in ("notes",) if c in weights])
    table = table.assign(change_pct=100.0 * (table["weight"] / table["prior"] - 1.0))
    rows = records(table[["source", "dataset", "prior", "weight", "change_pct", "reasons"]], 3)
    for row in rows:
        row["reasons"] = (row["reasons"] or "none")[:600]
    checks = []
    for entry in contracts:
        for check in entry["checks"]:
            meta = check.get("metadata") or {}
            checks.append({"asset": entry["asset"], "contract check": check["check"],
                           "passed": check["passed"], "expectations": meta.get("expectations"),
                           "failed": meta.get("failed")})  # fmt: skip
    scenario_checks = [c for c in ctx.checks if c["check"].startswith("contract_")]
    attachments["source_reliability"] = weights
    return {
        "sources": rows,
        "contract_checks": checks + [{"asset": c["asset"], "contract check": c["check"], "passed": c["passed"],
                                      "expectations": None, "failed": None} for c in scenario_checks],
        "n_sources": len(rows),
        "n_fallen": int(sum(1 for x in rows if (x["change_pct"] or 0) < 0)),
    }


def _models(out: Path, translation: Mapping, backtest: Mapping) -> dict[str, Any]:
    registry = out / "registry" / "transformer"
    lanes = {lane: row.get("registry_ref") for lane, row in translation["lanes"].items()}
    versions = []
    for lane, ref in lanes.items():
        if not ref:
            continue
        meta = _read_json(out / "registry" / ref / "metadata.json", f"translator_{lane}")
        config = (meta.get("metrics") or {}).get("config") or meta.get("config") or {}
        versions.append({
            "lane": lane, "registry": ref, "model_version": meta.get("model_version"),
            "training_data_hash": str(meta.get("training_data_hash", ""))[:23] + "...",
            "training": f"{meta['training']['start']}-{meta['training']['end']}, {meta['training']['n_factors']} factors",
            "code": str((meta.get("code_version") or {}).get("git_commit", ""))[:10],
            "seed": meta.get("seed"), "files_hash": file_sha256(out / "registry" / ref)[:23] + "...",
            "config": ", ".join(f"{k}={v}" for k, v in config.items() if k in _TRANSFORMER_KEYS) or "as shipped",
        })  # fmt: skip
    satellite = _read_json(out / "models" / "satellite" / "translator.json", "satellite_models")
    sat_cfg = satellite.get("config", {})
    plaus = _read_json(out / "models" / "plausibility" / "filter.json", "plausibility_filter")
    params = plaus.get("params", {})
    rules = [{"rule": name, "description": spec.get("description", "")}
             for group in ("level_floors", "move_limits", "relations") for name, spec in (params.get(group) or {}).items()
             if isinstance(spec, dict)]  # fmt: skip
    loss_coef = _optional_table(out / "models" / "loss_rates" / "coefficients.csv")
    nim_coef = _optional_table(out / "models" / "nim" / "coefficients.csv")
    return {
        "transformer_versions": versions,
        "transformer_registry": str(registry.relative_to(out)),
        "satellite": {"version": satellite.get("version"), "regressors": list(sat_cfg.get("regressors", [])),
                      "parameters": {k: v for k, v in sat_cfg.items() if k != "regressors" and not isinstance(v, (dict, list))},
                      "files_hash": file_sha256(out / "models" / "satellite")[:23] + "..."},
        "plausibility": {"rules": rules, "files_hash": file_sha256(out / "models" / "plausibility")[:23] + "..."},
        "loss_rate_coefficients": records(loss_coef, 4) if loss_coef is not None else [],
        "nim_coefficients": records(nim_coef, 4) if nim_coef is not None else [],
        "backtest_settings": {"windows": {k: f"{v[0]}-{v[-1]}" for k, v in backtest["settings"]["windows"].items()},
                              "n_samples": backtest["settings"]["n_samples"], "n_quarters": backtest["settings"]["n_quarters"]},
    }  # fmt: skip


_TRANSFORMER_KEYS = ("hidden_size", "num_layers", "num_heads", "window", "n_seeds", "max_epochs", "lr", "rank")


def _translation(ctx: PackContext, ai_set: ShockSet, traditional_set: ShockSet, translation: Mapping,
                 charts: dict[str, str], attachments: dict[str, pd.DataFrame], *,
                 fan_fixed: Sequence[tuple[str, str, str]] = C.FAN_FACTORS,
                 fan_open: Sequence[tuple[str, str, str]] = C.OPEN_FAN_FACTORS) -> dict[str, Any]:  # fmt: skip
    sets = {f"AI ({translation['chosen_lane']})": ai_set, "traditional (satellite)": traditional_set}
    charts["fan_fixed"] = C.svg_element(C.fan_chart_png(sets, factors=tuple(fan_fixed), fmt="svg"))
    charts["fan_open"] = C.svg_element(C.fan_chart_png(sets, factors=tuple(fan_open), fmt="svg"))
    by_class = []
    table = []
    last = -1  # the last projected quarter
    for label, s in (("AI", ai_set), ("traditional", traditional_set)):
        shocks = s.shocks[:, last, :]
        for j, f in enumerate(s.factor_ids):
            col = shocks[:, j]
            table.append({"set": label, "factor": f, "class": f.split(".")[0], "shock_type": s.shock_types[j],
                          "p05": float(np.quantile(col, 0.05)), "median": float(np.median(col)),
                          "p95": float(np.quantile(col, 0.95))})  # fmt: skip
    frame = pd.DataFrame(table)
    attachments["granular_shocks_last_quarter"] = frame
    fixed = set(ctx.fixed_factors)
    frame["open"] = ~frame["factor"].isin(fixed)
    for (klass, label, shock_type), g in frame[frame["open"]].groupby(["class", "set", "shock_type"]):
        by_class.append({"class": klass, "set": label, "shock unit": shock_type, "factors": len(g),
                         "median of medians": r(g["median"].median(), 3), "widest 5-95% range": r((g["p95"] - g["p05"]).max(), 3)})  # fmt: skip
    pairs: list[dict[str, Any]] = []
    if ctx.history_levels is not None:
        from risk_dagster.translate.pair_envelope import pair_table

        for label, s in (("AI", ai_set), ("traditional", traditional_set)):
            t = pair_table(s, ctx.history_levels)
            t.insert(0, "set", label)
            pairs.extend(records(t, 3))
    rejection = [{"lane": lane, "drawn": row["drawn"], "accepted": row["accepted"], "rejection_rate": r(row["rejection_rate"], 3),
                  "severity": r(row.get("severity"))} for lane, row in translation["lanes"].items()]  # fmt: skip
    pair_frame = pd.DataFrame(pairs)
    if not pair_frame.empty:
        attachments["open_fixed_pairs"] = pair_frame
    summary_pairs = []
    if not pair_frame.empty:
        for (label, pair), g in pair_frame.groupby(["set", "pair"], sort=False):
            summary_pairs.append({"set": label, "pair": pair, "quarters": len(g), "median_min": r(g["median"].min(), 3),
                                  "median_max": r(g["median"].max(), 3), "history_min": r(g["history_min"].iloc[0], 3),
                                  "history_max": r(g["history_max"].iloc[0], 3), "all_inside": bool(g["median_inside"].all())})  # fmt: skip
    return {"by_class": by_class, "pairs": summary_pairs, "rejection": rejection,
            "last_quarter": ai_set.quarters[-1], "samples_ai": ai_set.n_samples, "samples_traditional": traditional_set.n_samples}  # fmt: skip


def _outcomes(out: Path, backtest: Mapping, attachments: dict[str, pd.DataFrame]) -> dict[str, Any]:
    models = [m for m in ("satellite", "transformer") if m in backtest]
    overall = [{"model": m, **{k: r(backtest[m][k], 3) for k in ("energy_score", "crps", "coverage_90", "coverage_99")},
                "quarters": backtest[m]["n_quarters"]} for m in models]  # fmt: skip
    windows = []
    for name in backtest["settings"]["windows"]:
        for m in models:
            w = backtest[m]["windows"].get(name, {})
            windows.append({"window": name, "model": m, **{k: r(w.get(k), 3) for k in ("energy_score", "crps", "coverage_90")},
                            "quarters": w.get("n_quarters")})  # fmt: skip
    by_class = []
    for m in models:
        for klass, v in backtest[m]["by_class"].items():
            by_class.append({"model": m, "class": klass, "crps": r(v.get("crps"), 3), "coverage_90": r(v.get("coverage_90"), 3)})
    comparison = backtest.get("comparison", {})
    loss_outcomes = _optional_table(out / "models" / "loss_rates" / "outcomes.csv")
    nim_outcomes = _optional_table(out / "models" / "nim" / "outcomes.csv")
    parity = _optional_table(out / "engine" / "parity.csv")
    if loss_outcomes is not None:
        attachments["loss_rate_outcomes"] = loss_outcomes
    return {
        "overall": overall,
        "windows": windows,
        "by_class": by_class,
        "es_ratio": r(comparison.get("es_ratio"), 3),
        "es_ratio_interval_90": [r(x, 3) for x in comparison.get("es_ratio_interval_90", [])],
        "goal": comparison.get("goal", ""),
        "goal_met": comparison.get("goal_met"),
        "design_windows": ["2008-09", "2020"],
        "loss_rate_outcomes": _spaced(records(loss_outcomes[[c for c in LOSS_OUTCOME_COLUMNS if c in loss_outcomes]], 3))
        if loss_outcomes is not None else [],
        "nim_outcomes": _spaced(records(nim_outcomes, 3)) if nim_outcomes is not None else [],
        "loss_rate_proxies": loss_rate_proxies(set(loss_outcomes["segment"]) if loss_outcomes is not None else set()),
        "parity": records(parity) if parity is not None else [],
    }


def loss_rate_proxies(segments: set[str]) -> list[str]:
    """One sentence per published charge-off series that several loan segments are fitted to
    (their outcome rows are then the same), from the satellites' own segment-to-series map."""
    from risk_dagster.capital.loss_rates import SEGMENT_SOURCES

    shared: dict[str, list[str]] = {}
    for segment, series in SEGMENT_SOURCES.items():
        if segment in segments:
            shared.setdefault(series, []).append(segment)
    return [f"{' and '.join(s.replace('_', ' ') for s in group)} are fitted to one published charge-off series "
            f"({series}; no separate series is shipped), so their rows are the same."
            for series, group in shared.items() if len(group) > 1]  # fmt: skip


LOSS_OUTCOME_COLUMNS: tuple[str, ...] = (
    "window", "segment", "n_quarters", "realized_cum", "predicted_cum", "error_cum", "ratio_cum", "peak_realized",
    "peak_predicted", "n_clamped",
)  # fmt: skip
"""The loss-rate outcomes columns the page shows (the attachment has them all)."""


def _spaced(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Identifier-like text (``covid_2020_2021``) with spaces, so a narrow column wraps at words."""
    return [{k: v.replace("_", " ") if isinstance(v, str) else v for k, v in row.items()} for row in rows]


def _stress(out: Path, sid: str, capital: Mapping, stress: Mapping, charts: dict[str, str],
            attachments: dict[str, pd.DataFrame]) -> dict[str, Any]:  # fmt: skip
    lines = {label: _read_table(out / "stress" / sid / f"loss_lines_{label}.parquet", "stress_results") for label in ("ai", "traditional")}
    charts["loss_distribution"] = C.svg_element(C.loss_histogram_png(
        {"AI": lines["ai"]["total"].to_numpy(), "traditional": lines["traditional"]["total"].to_numpy()}, fmt="svg"))
    charts["losses_by_line"] = C.svg_element(C.bar_chart(
        {LOSS_LINE_TITLES.get(k, k): {"AI": capital["ai"]["losses"][k], "traditional": capital["traditional"]["losses"][k]}
         for k in capital["ai"]["losses"] if k != "total"}, ylabel="USD bn, nine quarters, median"))  # fmt: skip
    ai = capital["ai"]
    charts["cet1_path"] = C.svg_element(C.capital_path_png(
        {("AI" if k == "ai" else k): (s["path"], s["path_p05"], s["path_p95"]) for k, s in capital.items()},
        ai["quarters"], start=ai["cet1_start"], minimum=4.5, fmt="svg"))  # fmt: skip
    quarterly = _read_table(out / "capital" / sid / "quarterly_ai.csv", "capital_projection").set_index("line")
    attachments["quarterly_ai"] = quarterly.reset_index()
    attachments["quarterly_traditional"] = _read_table(out / "capital" / sid / "quarterly_traditional.csv", "capital_projection")
    ppnr_lines = ["net interest income", "noninterest income", "noninterest expense", "PPNR"]
    loss_lines = ["loan losses (net charge-offs)", "provisions", "trading and counterparty", "HTM credit losses", "operational losses"]
    capital_lines = ["pre-tax net income", "taxes", "net income", "OCI (after tax)", "CET1 capital", "CET1 ratio (%)"]
    def block(names: list[str]) -> list[dict[str, Any]]:
        return records(quarterly.loc[[n for n in names if n in quarterly.index]], 2, index="line")
    dist = [{"set": label, **{k: r(v) for k, v in stress[label]["loss_distribution"].items()}} for label in ("ai", "traditional")]
    path = [{"quarter": q, "median": r(m), "p05": r(lo), "p95": r(hi)}
            for q, m, lo, hi in zip(["jump-off", *ai["quarters"]], [ai["cet1_start"], *ai["path"]],
                                    [ai["cet1_start"], *ai["path_p05"]], [ai["cet1_start"], *ai["path_p95"]], strict=True)]  # fmt: skip
    return {"distribution": dist, "ppnr": block(ppnr_lines), "losses_by_quarter": block(loss_lines),
            "capital_by_quarter": block(capital_lines), "cet1_path_ai": path,
            "quarters": list(quarterly.columns)}  # fmt: skip


def _conservativeness(out: Path, sid: str, statistics: Mapping, charts: dict[str, str],
                      attachments: dict[str, pd.DataFrame], currency: str = "USD") -> dict[str, Any]:  # fmt: skip
    frame = pd.DataFrame(statistics["statistics"])
    attachments["statistics"] = frame
    raw = pd.DataFrame(statistics.get("raw_statistics") or statistics["statistics"]).set_index("id")
    rows = []
    for s in statistics["statistics"]:
        scale = 1e-9 if s["unit"] == "usd" else (100.0 if s["unit"] in ("ratio", "share") else 1.0)
        unit = {"usd": f"{currency} bn", "ratio": "pp", "share": "pp"}.get(s["unit"], s["unit"])
        rows.append({"no": s["number"], "statistic": s["name"], "unit": unit, "direction": "+" if s["direction"] > 0 else "-",
                     "ai": r(s["ai"] * scale, 3), "traditional": r(s["traditional"] * scale, 3),
                     "d": r(s["difference"] * scale, 3), "lower_bound": r(s["bound"] * scale, 3),
                     "tolerance": r(s["tolerance"] * scale, 3), "passed": bool(s["passed"]),
                     "raw_passed": bool(raw.loc[s["id"], "passed"]) if s["id"] in raw.index else None})  # fmt: skip
    chart_table = frame.set_index("id").rename(columns={"bound": "lower_bound"})
    charts["bounds"] = C.svg_element(C.conservativeness_bounds_png(chart_table, fmt="svg"))
    lanes = [{"lane": lane, "passed": v.get("passed"), "cet1_min_median_pct": r(v.get("cet1_min_median_pct")),
              "failed": ", ".join(v.get("failed") or []) or "none"} for lane, v in (statistics.get("lanes") or {}).items()]  # fmt: skip
    trials = [{"stage": t.get("stage"), "multiplier": r(t.get("multiplier")), "passed": t.get("passed"),
               "admissible": t.get("admissible"), "note": ", ".join(t.get("failed") or t.get("passing") or [])}
              for t in statistics.get("overlay_trials") or []]  # fmt: skip
    return {"rows": rows, "passed": statistics["passed"], "total": statistics["total"], "verdict": statistics["verdict"],
            "chosen_lane": statistics.get("chosen_lane"), "most_conservative_lane": statistics.get("most_conservative_lane"),
            "lanes": lanes, "overlay_status": statistics.get("overlay_status"), "overlay_multiplier": r(statistics.get("overlay_multiplier")),
            "overlay_reason": statistics.get("overlay_reason") or "", "overlay_cap": r(statistics.get("overlay_cap")),
            "overlay_trials": trials, "n_resamples": statistics.get("n_resamples"), "seed": statistics.get("seed"),
            "currency": currency}  # fmt: skip


def _sensitivity(out: Path, sid: str, capital: Mapping, statistics: Mapping, attachments: dict[str, pd.DataFrame]) -> dict[str, Any]:
    ai = capital["ai"]
    lanes = [{"variant": f"lane {lane}" + (" (submitted)" if lane == statistics.get("chosen_lane") else ""),
              "cet1_min_median": r(v.get("cet1_min_median_pct")), "statistics_passed": v.get("passed")}
             for lane, v in (statistics.get("lanes") or {}).items()]  # fmt: skip
    overlay = statistics.get("overlay_capital")
    if overlay:
        lanes.append({"variant": f"overlay x{r(statistics.get('overlay_multiplier'))}", "cet1_min_median": r(overlay["cet1_trough"]),
                      "statistics_passed": statistics.get("passed")})  # fmt: skip
    assumptions_frame = _optional_table(out / "capital" / sid / "sensitivity.csv")
    assumptions = []
    if assumptions_frame is not None:
        attachments["capital_sensitivity"] = assumptions_frame
        for row in assumptions_frame.itertuples(index=False):
            unit = row.unit if isinstance(row.unit, str) else ""
            value, run_value = r(row.value), r(row.base_value)
            setting = "as configured" if value is None else f"{value} {unit} (run: {run_value})"
            assumptions.append({"assumption": row.assumption, "setting": setting, "value": value, "run_value": run_value,
                                "unit": unit, "cet1_min_median": r(row.cet1_min_median),
                                "cet1_min_p05": r(row.cet1_min_p05), "scb": r(row.scb), "loss_9q_median": r(row.loss_9q_median),
                                "ppnr_9q_median": r(row.ppnr_9q_median), "delta_cet1_min_pp": r(row.delta_cet1_min_pp)})  # fmt: skip
    return {"lanes": lanes, "assumptions": assumptions, "base_cet1_min": r(ai["cet1_trough"]),
            "overlay_status": statistics.get("overlay_status")}


__all__ = [
    "LOSS_LINE_TITLES",
    "MACRO_PANELS",
    "PACK_FORMAT",
    "SCENARIO_SECTIONS",
    "Pack",
    "PackContext",
    "PackInputError",
    "Section",
    "file_sha256",
    "r",
    "records",
    "scenario_pack",
]
