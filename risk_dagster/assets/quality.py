"""Quality assets: per-source reliability weights and the data-quality report."""


import dagster as dg
import pandas as pd

from risk_dagster.assets.contract_checks import contract_check_name
from risk_dagster.market.inputs import assess_history
from risk_dagster.market.loaders import HISTORY_SOURCES
from risk_dagster.quality.reliability import SourceAssessment, reliability_table
from risk_dagster.quality.report import QualityReport, render_quality_report
from risk_dagster.resources import OutputDir
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.storage import write_json, write_parquet, write_text

CONTRACT_RESULTS_FILE = "contract_results.json"

# Unpartitioned assets whose latest contract results the quality report collects, with their contracts.
GATED_ASSETS: dict[str, tuple[str, ...]] = {
    "fed_history": ("fed_scenario_domestic", "fed_scenario_international"),
    "ngfs_scenarios": ("ngfs_iamc",),
    **{name: (spec.contract,) for name, spec in HISTORY_SOURCES.items()},
    "factor_history": ("factor_history",),
}


@dg.asset(
    group_name="quality",
    ins={"fed_history": dg.AssetIn(), **{name: dg.AssetIn() for name in HISTORY_SOURCES}},
    kinds={"pandas"},
    description="Reliability weight of every history source: its contract's prior, lowered automatically "
    "for stale runs, robust-z jumps, gaps and disagreement with other sources of the same quantity.",
)
def source_reliability(
    context: dg.AssetExecutionContext,
    output_dir: OutputDir,
    fed_history: MacroScenario,
    **sources: pd.DataFrame,
) -> dg.Output[dict[str, SourceAssessment]]:
    assessments = assess_history(fed_history.wide(), sources, _contract_failures(context.instance))
    table = reliability_table(assessments.values())
    write_parquet(output_dir.subdir("quality") / "source_reliability.parquet", table)
    # The excused findings (notes) are long: they go to the parquet and the quality report only.
    shown = table.drop(columns=["notes"]).assign(prior=table["prior"].round(3), weight=table["weight"].round(3))
    metadata: dict[str, object] = {
        "weights": dg.MetadataValue.md(shown.to_markdown(index=False)),
        "n_sources": dg.MetadataValue.int(len(assessments)),
        "n_downweighted": dg.MetadataValue.int(int(sum(a.weight < a.prior_weight for a in assessments.values()))),
    }
    for name, assessment in assessments.items():
        metadata[f"weight/{name}"] = dg.MetadataValue.float(round(float(assessment.weight), 4))
    context.log.info("reliability weights: %s", {k: round(a.weight, 3) for k, a in assessments.items()})
    return dg.Output(assessments, metadata=metadata)


@dg.asset(
    group_name="quality",
    deps=[dg.AssetKey(name) for name in GATED_ASSETS],
    kinds={"html"},
    description="Data-quality report: every contract's latest result and every source's reliability weight "
    "with the reasons it fell, rendered from regulatory_templates/quality_report.html.j2.",
)
def quality_report(
    context: dg.AssetExecutionContext,
    output_dir: OutputDir,
    source_reliability: dict[str, SourceAssessment],
) -> dg.MaterializeResult:
    contract_results = []
    for asset_name, contracts in GATED_ASSETS.items():
        event = context.instance.get_latest_materialization_event(dg.AssetKey(asset_name))
        checks = _latest_check_results(context.instance, asset_name, contracts)
        contract_results.append(
            {
                "asset": asset_name,
                "materialized": event is not None,
                "checks": checks,
            }
        )
    report = QualityReport.build(contract_results, list(source_reliability.values()))
    html = render_quality_report(report)
    path = write_text(output_dir.subdir("quality") / "quality_report.html", html)
    write_text(output_dir.subdir("quality") / "quality_report.md", report.to_markdown())
    write_json(output_dir.subdir("quality") / CONTRACT_RESULTS_FILE, contract_results)  # the pack's data section
    return dg.MaterializeResult(
        metadata={
            "output_path": dg.MetadataValue.path(str(path)),
            "contracts_passed": dg.MetadataValue.int(report.n_checks_passed),
            "contracts_failed": dg.MetadataValue.int(report.n_checks_failed),
            "report": dg.MetadataValue.md(report.to_markdown()),
        }
    )


def _contract_failures(instance: dg.DagsterInstance) -> dict[str, list[tuple[str, int, int]]]:
    """Failed contracts of the history assets (latest evaluation), per publishing source."""
    source_of = {"fed_history": "fed", **{name: spec.source for name, spec in HISTORY_SOURCES.items()}}
    failures: dict[str, list[tuple[str, int, int]]] = {}
    for asset_name, source in source_of.items():
        for check in _latest_check_results(instance, asset_name, GATED_ASSETS[asset_name]):
            if check["passed"] is False:
                meta = check["metadata"]
                failures.setdefault(source, []).append(
                    (check["check"], int(meta.get("failed") or 1), int(meta.get("expectations") or 1))
                )
    return failures


def _latest_check_results(
    instance: dg.DagsterInstance, asset_name: str, contracts: tuple[str, ...]
) -> list[dict[str, object]]:
    """Latest evaluation of each contract check of an asset, read back from the instance."""
    results = []
    for dataset_id in contracts:
        check_key = dg.AssetCheckKey(dg.AssetKey(asset_name), contract_check_name(dataset_id))
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key([check_key]).get(check_key)
        evaluation = None
        if record is not None and record.event is not None and record.event.dagster_event is not None:
            evaluation = record.event.dagster_event.event_specific_data
        results.append(
            {
                "check": check_key.name,
                "passed": None if evaluation is None else bool(evaluation.passed),
                "description": None if evaluation is None else evaluation.description,
                "metadata": {} if evaluation is None else {k: _plain(v) for k, v in evaluation.metadata.items()},
            }
        )
    return results


def _plain(value: object) -> object:
    inner = getattr(value, "value", value)
    if isinstance(inner, (int, float, str, bool)) or inner is None:
        return inner
    return str(inner)
