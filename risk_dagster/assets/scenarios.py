"""Scenario assets: the regulatory macro scenarios (one partition each) and the Fed history."""


from collections.abc import Iterator

import dagster as dg
import pandas as pd

from risk_dagster.assets.contract_checks import contract_check_specs, validate_and_check, validate_each_and_check
from risk_dagster.resources import OutputDir, RunSettings, ScenarioLibrary
from risk_dagster.market.inputs import FED_HISTORY_VINTAGE
from risk_dagster.paths import data_dir
from risk_dagster.scenarios.frames import contract_frames, governed_variables, merge_contract_frames
from risk_dagster.scenarios.ngfs import read as read_ngfs
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.scenarios.registry import load_fed_history
from risk_dagster.storage import write_parquet

NGFS_FILE = data_dir() / "ngfs" / "ngfs_snapshot_1762055076.csv"
SCENARIO_CONTRACTS = ("fed_scenario_domestic", "fed_scenario_international", "eba_adverse")
KEY_VARIABLES = (
    "real_gdp_growth",
    "unemployment_rate",
    "treasury_10y",
    "bbb_yield",
    "equity_total_market",
    "house_price_index",
    "cre_price_index",
    "vix",
)


SYNTHETIC_BASE_SCENARIOS = ("fed-2026-severely-adverse", "fed-2026-baseline")
"""The Fed scenarios the synthetic tail is built from (severely adverse deviations over the baseline),
whose path lengths the plausibility filter is fitted for."""

SCENARIO_PARTITIONS = "scenarios"
"""Name of the dynamic partitions: one per scenario (shipped, accepted through the inbox, or a run's file)."""


def scenario_partitions() -> dg.DynamicPartitionsDefinition:
    """The scenario partitions: dynamic, so a file accepted by the inbox sensor (or a run's
    ``--scenario-file``) becomes one without reloading the definitions."""
    return dg.DynamicPartitionsDefinition(name=SCENARIO_PARTITIONS)


def build_scenario_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The scenario-group assets for the given partitions."""

    @dg.asset(
        group_name="scenarios",
        partitions_def=partitions,
        check_specs=contract_check_specs("macro_scenarios", SCENARIO_CONTRACTS),
        kinds={"pandas", "csv"},
        description="A supervisory macro scenario (Fed domestic + international tables merged, "
        "or an EBA / user scenario) in canonical variable ids, gated by its data contract.",
    )
    def macro_scenarios(
        context: dg.AssetExecutionContext,
        scenario_library: ScenarioLibrary,
        output_dir: OutputDir,
        run_settings: RunSettings,
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        scenario = scenario_library.load(context.partition_key)
        frames = contract_frames(scenario)
        yield from validate_and_check(frames, as_of=run_settings.as_of_date(), scenario=context.partition_key)
        yield from not_applicable_checks(scenario, frames, context.partition_key)
        path = write_parquet(output_dir.subdir("scenarios") / f"{scenario.scenario_id}.parquet", scenario.data)
        yield dg.Output(scenario, metadata=scenario_metadata(scenario) | {"output_path": dg.MetadataValue.path(str(path))})

    @dg.asset(
        group_name="scenarios",
        check_specs=contract_check_specs("fed_history", ("fed_scenario_domestic", "fed_scenario_international")),
        kinds={"pandas", "csv"},
        description=f"The Fed's historic (actual) domestic and international tables, vintage {FED_HISTORY_VINTAGE}: "
        "the conditioning history of every satellite and translator model.",
    )
    def fed_history(output_dir: OutputDir, run_settings: RunSettings) -> Iterator[dg.Output | dg.AssetCheckResult]:
        history = load_fed_history(FED_HISTORY_VINTAGE)
        yield from validate_and_check(contract_frames(history), as_of=run_settings.as_of_date())
        path = write_parquet(output_dir.subdir("scenarios") / f"{history.scenario_id}.parquet", history.data)
        yield dg.Output(history, metadata=scenario_metadata(history) | {"output_path": dg.MetadataValue.path(str(path))})

    @dg.asset(
        group_name="scenarios",
        check_specs=contract_check_specs("ngfs_scenarios", ("ngfs_iamc",)),
        kinds={"pandas", "csv"},
        description="NGFS Phase V climate scenarios (IAMC layout) shipped with the package, one "
        "MacroScenario per model x scenario x region, annual values at Q4.",
    )
    def ngfs_scenarios(output_dir: OutputDir, run_settings: RunSettings) -> Iterator[dg.Output | dg.AssetCheckResult]:
        scenarios = read_ngfs(NGFS_FILE)
        yield from validate_and_check(merge_contract_frames(scenarios), as_of=run_settings.as_of_date())
        table = pd.concat([s.data for s in scenarios], ignore_index=True)
        path = write_parquet(output_dir.subdir("scenarios") / "ngfs.parquet", table)
        overview = pd.DataFrame([s.summary() for s in scenarios])[
            ["scenario_id", "name", "vintage", "first_quarter", "last_quarter", "n_quarters"]
        ]
        yield dg.Output(
            scenarios,
            metadata={
                "n_scenarios": dg.MetadataValue.int(len(scenarios)),
                "dagster/row_count": dg.MetadataValue.int(len(table)),
                "scenarios": dg.MetadataValue.md(overview.to_markdown(index=False)),
                "output_path": dg.MetadataValue.path(str(path)),
            },
        )

    @dg.asset(
        group_name="scenarios",
        check_specs=contract_check_specs("synthetic_tail_bases", ("fed_scenario_domestic", "fed_scenario_international")),
        kinds={"pandas", "csv"},
        description="The Fed scenarios the synthetic tail set is built from (its severely adverse deviations over "
        f"its baseline: {', '.join(SYNTHETIC_BASE_SCENARIOS)}), gated by their contracts; their path lengths are "
        "the horizons the plausibility filter is fitted for.",
    )
    def synthetic_tail_bases(
        scenario_library: ScenarioLibrary, run_settings: RunSettings
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        bases = {sid: scenario_library.load(sid) for sid in SYNTHETIC_BASE_SCENARIOS}
        yield from validate_each_and_check({sid: contract_frames(s) for sid, s in bases.items()}, as_of=run_settings.as_of_date())
        overview = pd.DataFrame([s.summary() for s in bases.values()])[
            ["scenario_id", "vintage", "jump_off", "first_quarter", "last_quarter", "n_quarters"]
        ]
        yield dg.Output(
            bases,
            metadata={
                "scenarios": dg.MetadataValue.md(overview.astype(str).to_markdown(index=False)),
                "dagster/row_count": dg.MetadataValue.int(int(sum(len(s.data) for s in bases.values()))),
            },
        )

    return [macro_scenarios, fed_history, ngfs_scenarios, synthetic_tail_bases]


def not_applicable_checks(
    scenario: MacroScenario, frames: dict[str, pd.DataFrame], partition: str
) -> Iterator[dg.AssetCheckResult]:
    """A result for each scenario contract that did not apply (every spec needs one).

    Not a vacuous pass: it recomputes from the scenario which of its variables the contract
    governs (:func:`~risk_dagster.scenarios.frames.governed_variables`) and fails when there are
    any, since those variables would then reach the models without their contract.

    Raises
    ------
    dagster.Failure
        After the results were yielded, when any failed: the asset gives no output.
    """
    unvalidated: dict[str, list[str]] = {}
    for dataset_id in SCENARIO_CONTRACTS:
        if dataset_id in frames:
            continue
        stray = governed_variables(scenario, dataset_id)
        if stray:
            unvalidated[dataset_id] = stray
        yield dg.AssetCheckResult(
            check_name=f"contract_{dataset_id}",
            passed=not stray,
            description=(
                f"not applicable to {partition}: it holds no variable of the {dataset_id} table"
                if not stray
                else f"{partition} holds {len(stray)} variable(s) of {dataset_id} that no contract validated: "
                f"{', '.join(stray[:8])}"
            ),
            metadata={"applies": False, "scenario": partition, "unvalidated_variables": dg.MetadataValue.json(stray)},
        )
    if unvalidated:
        raise dg.Failure(
            description=f"{partition}: variables no contract validated: "
            + "; ".join(f"{k}: {', '.join(v[:8])}" for k, v in unvalidated.items())
        )


def scenario_metadata(scenario: MacroScenario) -> dict[str, object]:
    """Dagster metadata describing a scenario: summary fields and a path table of key variables."""
    summary = scenario.summary()
    wide = scenario.wide()
    shown = [v for v in KEY_VARIABLES if v in wide.columns] or list(wide.columns[:8])
    table = wide[shown]
    if scenario.kind == "historic":
        table = table.tail(12)
    return {
        "scenario_id": summary["scenario_id"],
        "kind": str(summary["kind"]),
        "source": str(summary["source"]),
        "vintage": str(summary["vintage"]),
        "jump_off": str(summary["jump_off"]),
        "first_quarter": str(summary["first_quarter"]),
        "last_quarter": str(summary["last_quarter"]),
        "n_quarters": dg.MetadataValue.int(int(summary["n_quarters"])),
        "n_variables": dg.MetadataValue.int(len(scenario.variables)),
        "dagster/row_count": dg.MetadataValue.int(len(scenario.data)),
        "path_table": dg.MetadataValue.md(_markdown(table)),
        "files": dg.MetadataValue.json(list(scenario.files)),
    }


def _markdown(frame: pd.DataFrame) -> str:
    shown = frame.copy()
    shown.index = shown.index.astype(str)
    return shown.round(2).to_markdown()
