"""Quality assets: the gated inputs' contract results, per-source reliability weights and the data-quality report."""


import dagster as dg
import pandas as pd

from risk_dagster.market.history import FactorHistory
from risk_dagster.market.inputs import assess_history
from risk_dagster.market.loaders import HISTORY_SOURCES
from risk_dagster.quality.reliability import SourceAssessment, reliability_table
from risk_dagster.quality.report import QualityReport, render_quality_report
from risk_dagster.quality.results import ContractEntry, contract_entry, contract_failures
from risk_dagster.resources import OutputDir, RunSettings
from risk_dagster.scenarios.frames import contract_frames, merge_contract_frames
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.storage import write_json, write_parquet, write_text

CONTRACT_RESULTS_FILE = "contract_results.json"

SOURCE_OF_ASSET: dict[str, str] = {"fed_history": "fed", **{name: spec.source for name, spec in HISTORY_SOURCES.items()}}
"""Publishing source of each history asset: a failed contract lowers that source's weight."""


@dg.asset(
    group_name="quality",
    ins={"fed_history": dg.AssetIn(), **{name: dg.AssetIn() for name in HISTORY_SOURCES}},
    kinds={"great_expectations"},
    description="Contract results of every history source and the Fed's history, recomputed from their data "
    "with the same Great Expectations suites as their asset checks: the evidence the reliability weights "
    "are lowered by, as a visible input rather than a read of the event log.",
)
def source_contracts(run_settings: RunSettings, fed_history: MacroScenario, **sources: pd.DataFrame) -> dg.Output[list[ContractEntry]]:
    as_of = run_settings.as_of_date()
    entries = [contract_entry("fed_history", contract_frames(fed_history), as_of=as_of)]
    entries += [contract_entry(name, {HISTORY_SOURCES[name].contract: frame}, as_of=as_of) for name, frame in sources.items()]
    return dg.Output(entries, metadata=_contracts_metadata(entries))


def _contracts_metadata(entries: list[ContractEntry]) -> dict[str, object]:
    rows = [{"asset": e["asset"], "check": c["check"], "passed": c["passed"], "expectations": c["metadata"]["expectations"],
             "failed": c["metadata"]["failed"], "rows": c["metadata"]["rows"]} for e in entries for c in e["checks"]]  # fmt: skip
    table = pd.DataFrame(rows)
    return {
        "contracts": dg.MetadataValue.md(table.to_markdown(index=False)),
        "contracts_passed": dg.MetadataValue.int(int(table["passed"].sum())),
        "contracts_failed": dg.MetadataValue.int(int((~table["passed"]).sum())),
    }


@dg.asset(
    group_name="quality",
    ins={"fed_history": dg.AssetIn(), "source_contracts": dg.AssetIn(), **{name: dg.AssetIn() for name in HISTORY_SOURCES}},
    kinds={"pandas"},
    description="Reliability weight of every history source: its contract's prior, lowered automatically "
    "for failed contracts (source_contracts), stale runs, robust-z jumps, gaps and disagreement with other "
    "sources of the same quantity.",
)
def source_reliability(
    context: dg.AssetExecutionContext,
    output_dir: OutputDir,
    fed_history: MacroScenario,
    source_contracts: list[ContractEntry],
    **sources: pd.DataFrame,
) -> dg.Output[dict[str, SourceAssessment]]:
    assessments = assess_history(fed_history.wide(), sources, contract_failures(source_contracts, SOURCE_OF_ASSET))
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
    kinds={"html"},
    description="Data-quality report: every gated input's contract results (recomputed from the data) and every "
    "source's reliability weight with the reasons it fell, rendered from regulatory_templates/quality_report.html.j2.",
)
def quality_report(
    output_dir: OutputDir,
    run_settings: RunSettings,
    source_reliability: dict[str, SourceAssessment],
    source_contracts: list[ContractEntry],
    factor_history: FactorHistory,
    ngfs_scenarios: list[MacroScenario],
) -> dg.MaterializeResult:
    as_of = run_settings.as_of_date()
    contract_results = [
        *source_contracts,
        contract_entry("ngfs_scenarios", merge_contract_frames(ngfs_scenarios), as_of=as_of),  # stacked, as its check
        contract_entry("factor_history", {"factor_history": factor_history.contract_frame()}),
    ]
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
