"""Report assets: each scenario's documentation pack, and the run-level pack over every scenario.

The pack reads the run's own files (:mod:`risk_dagster.report.pack_data`); these assets add what
only Dagster knows (the run id, the scenario run's check results, the materializations the pack
was built from) and render it (:mod:`risk_dagster.report.render`). ``documentation_pack``
depends on the conservativeness test without taking its output, so a scenario whose statistics
fail (a draft: the blocking checks skip what follows in the scenario job) still gets its pack
from the pack job (:data:`~risk_dagster.definitions.PACK_JOB`), marked draft.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from risk_dagster.market.history import FactorHistory
from risk_dagster.paths import data_dir
from risk_dagster.report.lineage import base_lineage
from risk_dagster.report.eba_pack import eba_pack
from risk_dagster.report.pack_data import PackContext, PackInputError, scenario_pack
from risk_dagster.report.pdf import PdfRenderError
from risk_dagster.report.render import render_pack
from risk_dagster.report.run_pack import load_scenario_pack, run_pack, scenario_order
from risk_dagster.assets.retries import retry_transient
from risk_dagster.transient import is_transient
from risk_dagster.resources import OutputDir, ScenarioLibrary
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.scenarios.registry import is_eba_scenario
from risk_dagster.translate.conditioning import to_canonical
from risk_dagster.translate.consistency import fixed_factor_gaps
from risk_dagster.translate.shockset import ShockSet

PACK_FOLDER = "pack"
RUN_PACK_ID = "run"
"""Folder name of the run-level pack under ``pack/`` (a scenario id never equals it: ids have a publisher prefix)."""

SCENARIO_UPSTREAM: tuple[str, ...] = (
    "capital_projection", "capital_sensitivity", "stress_results", "granular_shocks", "traditional_shocks",
    "lane_shocks", "conservativeness",
)  # fmt: skip
"""Partitioned assets whose files the scenario pack reads (same partition)."""
HISTORY_UPSTREAM: tuple[str, ...] = (
    "source_reliability", "quality_report", "satellite_models", "translator_stable", "translator_current", "translator_experimental", "plausibility_filter",
    "translator_backtest", "loss_rate_satellites", "nim_satellite", "pricing_parity", "portfolio", "balance_sheet",
)  # fmt: skip
"""Unpartitioned assets whose files the pack reads, or whose versions it names."""
EBA_SCENARIO_UPSTREAM: tuple[str, ...] = (
    "eba_capital_projection", "eba_capital_sensitivity", "eba_stress_results", "granular_shocks", "traditional_shocks", "lane_shocks",
    "eba_conservativeness",
)  # fmt: skip
"""Partitioned assets whose files an EBA scenario's pack reads."""
EBA_HISTORY_UPSTREAM: tuple[str, ...] = (
    "source_reliability", "quality_report", "satellite_models", "translator_stable", "translator_current", "translator_experimental",
    "plausibility_filter", "translator_backtest", "loss_rate_satellites", "euro_pricing_parity", "euro_portfolio", "euro_balance_sheet",
)  # fmt: skip


class RunPackConfig(dg.Config):
    """Which scenario packs the run-level pack summarises."""

    scenarios: list[str] = []
    """Scenario ids; empty: every scenario pack in the output folder."""


def pack_folder(output_dir: OutputDir, name: str) -> Path:
    """Where one pack is written: ``pack/<scenario id>/`` (``pack/run/`` for the run-level pack)."""
    return output_dir.subdir(PACK_FOLDER, name)


def _latest_record(instance: dg.DagsterInstance, asset: str, partition: str | None) -> Any:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition] if partition else None),
        limit=1,
    ).records
    return records[0] if records else None


def materialization_lineage(instance: dg.DagsterInstance, partition: str) -> list[dict[str, Any]]:
    """The latest materialization of every asset the pack is built from: run, time, data version."""
    rows = []
    for asset, part in [*((a, partition) for a in SCENARIO_UPSTREAM), *((a, None) for a in HISTORY_UPSTREAM)]:
        record = _latest_record(instance, asset, part)
        if record is None:
            rows.append({"asset": asset, "partition": part or "", "run": "not materialized", "materialized_at": "",
                         "data_version": ""})  # fmt: skip
            continue
        tags = (record.asset_materialization.tags or {}) if record.asset_materialization else {}
        rows.append({
            "asset": asset, "partition": part or "", "run": record.run_id[:8],
            "materialized_at": datetime.fromtimestamp(record.timestamp, UTC).isoformat(timespec="seconds"),
            "data_version": str(tags.get("dagster/data_version", ""))[:12],
        })  # fmt: skip
    return rows


def scenario_run_checks(instance: dg.DagsterInstance, partition: str, current_run: str) -> list[dict[str, Any]]:
    """Every asset check evaluated in the run that materialized the scenario's stress results (the
    scenario job's run), plus those of the current run when it is another one (the pack job)."""
    record = _latest_record(instance, "stress_results", partition)
    run_ids = list(dict.fromkeys([*([record.run_id] if record else []), current_run]))
    checks: dict[tuple[str, str], dict[str, Any]] = {}
    for run_id in run_ids:
        for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
            evaluation = entry.dagster_event.event_specific_data if entry.dagster_event else None
            if evaluation is None:
                continue
            key = (evaluation.asset_key.to_user_string(), evaluation.check_name)
            checks[key] = {"asset": key[0], "check": key[1], "passed": bool(evaluation.passed),
                           "description": evaluation.description or ""}  # fmt: skip
    return list(checks.values())


def baseline_of(library: ScenarioLibrary, scenario: MacroScenario) -> MacroScenario | None:
    """The same publisher's baseline of the same vintage (``None`` for a baseline or when there is none)."""
    if scenario.kind == "baseline":
        return None
    for sid in library.partition_ids():
        if "baseline" not in sid or sid == scenario.scenario_id:
            continue
        try:
            candidate = library.load(sid)
        except Exception:  # noqa: BLE001 - an unreadable neighbour only loses the comparison line
            continue
        if candidate.kind == "baseline" and candidate.source == scenario.source and candidate.vintage == scenario.vintage:
            return candidate
    return None


def pack_lineage(output_dir: Path, instance: dg.DagsterInstance, partition: str, scenario: MacroScenario) -> dict[str, Any]:
    """Code, packages, input and model hashes, and the materializations the pack comes from."""
    inputs = {Path(f).name: f for f in scenario.files}
    inputs.update({
        "market and macro history (shipped data)": data_dir(),
        "quality: source reliability": output_dir / "quality" / "source_reliability.parquet",
        "book sensitivities": output_dir / "stress" / ("euro_sensitivities.parquet" if is_eba_scenario(scenario) else "sensitivities.parquet"),
    })  # fmt: skip
    models = {
        "satellite translator": output_dir / "models" / "satellite",
        "plausibility filter": output_dir / "models" / "plausibility",
        "transformer registry": output_dir / "registry",
        "loss-rate satellites": output_dir / "models" / "loss_rates",
        "NIM satellite": output_dir / "models" / "nim",
    }
    return base_lineage(inputs=inputs, models=models, assets=materialization_lineage(instance, partition))


def build_report_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """``documentation_pack`` (per scenario) and ``run_pack`` (over every scenario pack)."""

    @dg.asset(
        group_name="report",
        partitions_def=partitions,
        kinds={"jinja", "pdf"},
        deps=[*SCENARIO_UPSTREAM, *HISTORY_UPSTREAM],
        description="The scenario's submission documentation pack (SR 11-7 / SR 15-18 structure): cover, contents, "
        "executive summary, scenario design, data and quality, models, translation, outcomes analysis, stress "
        "results, conservativeness, sensitivity analysis, changes since the previous run, lineage. Rendered from "
        "regulatory_templates/pack by Jinja2 (autoescaped) and WeasyPrint in a subprocess that fetches nothing "
        "outside the templates folder; pack.pdf, pack.html (self-contained), pack.json (every number shown) and "
        "the long tables as CSV under pack/<scenario>/.",
    )
    @retry_transient
    def documentation_pack(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        scenario_library: ScenarioLibrary,
        macro_scenarios: MacroScenario,
        fed_history: MacroScenario,
        factor_history: FactorHistory,
    ) -> dg.MaterializeResult:
        if is_eba_scenario(macro_scenarios):
            raise dg.Failure(f"{context.partition_key} is an EBA scenario: its pack is eba_documentation_pack (eba_job)")
        return _render_scenario_pack(context, output_dir, scenario_library, macro_scenarios, fed_history, factor_history,
                                     scenario_pack)  # fmt: skip

    @dg.asset(
        group_name="report",
        partitions_def=partitions,
        kinds={"jinja", "pdf"},
        deps=[*EBA_SCENARIO_UPSTREAM, *EBA_HISTORY_UPSTREAM],
        description="An EBA scenario's documentation pack for the euro-area bank, in EUR: cover, contents, executive "
        "summary (the CET1 depletion beside the EBA's published 2025 aggregate), scenario design (the EBA's annual "
        "paths and the factors it fixes), data and quality (the damaged Euribor scrape and its lowered weight), models, "
        "translation, capital under the EBA method (IFRS 9 stages, PD elasticities and their source, NII, market and "
        "FVOCI losses), the 25 statistics, changes and lineage; under pack/<scenario>/.",
    )
    @retry_transient
    def eba_documentation_pack(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        scenario_library: ScenarioLibrary,
        macro_scenarios: MacroScenario,
        fed_history: MacroScenario,
        factor_history: FactorHistory,
    ) -> dg.MaterializeResult:
        if not is_eba_scenario(macro_scenarios):
            raise dg.Failure(f"{context.partition_key} is not an EBA scenario: its pack is documentation_pack (scenario_job)")
        return _render_scenario_pack(context, output_dir, scenario_library, macro_scenarios, fed_history, factor_history,
                                     eba_pack)  # fmt: skip

    @dg.asset(
        name="run_pack",
        group_name="report",
        kinds={"jinja", "pdf"},
        deps=[documentation_pack],
        description="The run-level pack: every scenario pack of the run summarised in one PDF (verdicts, "
        "statistics passed, CET1 start, minimum and SCB, losses, the CET1 paths of all scenarios in one chart), "
        "built from the scenario packs' pack.json; under pack/run/.",
    )
    @retry_transient
    def run_pack_asset(context: dg.AssetExecutionContext, output_dir: OutputDir, config: RunPackConfig) -> dg.MaterializeResult:
        ids = scenario_order(config.scenarios or _rendered_scenarios(output_dir))
        packs, pdfs = {}, {}
        try:
            for sid in ids:
                packs[sid] = load_scenario_pack(pack_folder(output_dir, sid))
                pdfs[sid] = str(pack_folder(output_dir, sid) / "pack.pdf")
            pack = run_pack(packs, run_id=context.run_id, generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
                            pdf_paths=pdfs, lineage=base_lineage(inputs={}, models={}))  # fmt: skip
            rendered = render_pack(pack, pack_folder(output_dir, RUN_PACK_ID))
        except (PackInputError, PdfRenderError) as error:
            if is_transient(error):  # the renderer killed or timed out: retried (retries.py)
                raise
            raise dg.Failure(description=str(error)[:2000]) from None
        return dg.MaterializeResult(metadata=_pack_metadata(rendered, pack.data, "run"))

    return [documentation_pack, eba_documentation_pack, run_pack_asset]


def _render_scenario_pack(context: dg.AssetExecutionContext, output_dir: OutputDir, scenario_library: ScenarioLibrary,
                          macro_scenarios: MacroScenario, fed_history: MacroScenario, factor_history: FactorHistory,
                          build: Any) -> dg.MaterializeResult:  # fmt: skip
    """Build one scenario's pack with ``build`` (the Fed's or the EBA's) and render it."""
    key = context.partition_key
    out = Path(output_dir.path).resolve()
    ai_path = out / "shocks" / key / "ai.npz"
    if not ai_path.is_file():
        raise dg.Failure(f"{ai_path}: missing (written by the granular_shocks asset; materialize it first)")
    gaps = fixed_factor_gaps(ShockSet.load_npz(ai_path), to_canonical(macro_scenarios, fed_history), fed_history)
    fixed = sorted(gaps)
    ctx = PackContext(
        scenario=macro_scenarios,
        run_id=context.run_id,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        baseline=baseline_of(scenario_library, macro_scenarios),
        fixed_factors=fixed,
        checks=scenario_run_checks(context.instance, key, context.run_id),
        history_levels=factor_history.levels,
        lineage=pack_lineage(out, context.instance, key, macro_scenarios),
        fixed_factor_gaps=gaps,
    )  # fmt: skip
    try:
        pack = build(out, ctx)
        rendered = render_pack(pack, pack_folder(output_dir, key))
    except (PackInputError, PdfRenderError) as error:
        if is_transient(error):  # the renderer killed or timed out: retried (retries.py)
            raise
        raise dg.Failure(description=str(error)[:2000]) from None
    return dg.MaterializeResult(metadata=_pack_metadata(rendered, pack.data, key))


def _rendered_scenarios(output_dir: OutputDir) -> list[str]:
    root = Path(output_dir.path) / PACK_FOLDER
    return sorted(p.parent.name for p in root.glob("*/pack.json") if p.parent.name != RUN_PACK_ID)


def _pack_metadata(rendered: Any, data: dict[str, Any], label: str) -> dict[str, Any]:
    checks = data.get("checks") or []
    return {
        "pdf": dg.MetadataValue.path(str(rendered.pdf)),
        "html": dg.MetadataValue.path(str(rendered.html)),
        "pack_json": dg.MetadataValue.path(str(rendered.json)),
        "pages": dg.MetadataValue.int(int(rendered.pages)),
        "verdict": str(data["verdict"]),
        "verdict_note": str(data.get("verdict_note", "")),
        "attachments": dg.MetadataValue.int(len(rendered.attachments)),
        "refused_urls": dg.MetadataValue.json(list(rendered.refused_urls)),
        "checks_shown": dg.MetadataValue.int(len(checks)),
        "pack": label,
        "output_path": dg.MetadataValue.path(str(rendered.folder)),
    }


__all__ = [
    "PACK_FOLDER",
    "RUN_PACK_ID",
    "RunPackConfig",
    "baseline_of",
    "build_report_assets",
    "materialization_lineage",
    "pack_folder",
    "scenario_run_checks",
]
