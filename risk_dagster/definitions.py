"""The one :class:`dagster.Definitions` of the project.

``dagster dev`` (see ``workspace.yaml``) and ``risk-dagster run`` both load :data:`defs`.
Scenarios are dynamic partitions: the shipped ones, the files the inbox sensor accepted and a
run's own files; nothing about them is read at import.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import dagster as dg

from risk_dagster.automation import DEFAULT_REGULATORY_CRON, build_automation
from risk_dagster.assets.capital import balance_sheet, build_capital_assets, loss_rate_satellites, nim_satellite
from risk_dagster.assets.conservativeness import build_conservativeness_assets, calibration_backtest
from risk_dagster.assets.eba import (
    EBA_JOB,
    build_eba_assets,
    euro_balance_sheet,
    euro_portfolio,
    euro_pricing_parity,
    euro_sensitivities,
    euro_sensitivities_consistent,
)
from risk_dagster.assets.market import HISTORY_SOURCE_ASSETS, factor_history, market_snapshot
from risk_dagster.assets.quality import quality_report, source_contracts, source_reliability
from risk_dagster.assets.report import build_report_assets
from risk_dagster.assets.scenarios import build_scenario_assets, scenario_partitions
from risk_dagster.assets.stress import (
    build_intraday_assets,
    build_stress_assets,
    portfolio,
    pricing_parity,
    sensitivities,
    sensitivities_consistent,
)
from risk_dagster.assets.translate import (
    TRANSLATOR_LANE_ASSETS,
    build_fan_chart_assets,
    build_translation_assets,
    plausibility_filter,
    satellite_models,
    synthetic_tail,
    translator_backtest,
    translator_training_set,
)
from risk_dagster.executors import executor_def
from risk_dagster.io_manager import OutputFolderIOManager
from risk_dagster.resources import (
    OUTPUT_DIR_ENV,
    CapitalSettings,
    EngineSettings,
    OutputDir,
    RunSettings,
    ScenarioLibrary,
    TranslationSettings,
    SCENARIO_INBOX_ENV,
    MARKET_INBOX_ENV,
    MarketInbox,
)

OWNERS_BY_GROUP: dict[str, str] = {
    "scenarios": "team:scenario-design",
    "market": "team:market-data",
    "quality": "team:data-quality",
    "translate": "team:scenario-translation",
    "portfolio": "team:portfolio-analytics",
    "stress": "team:stress-testing",
    "capital": "team:capital-planning",
    "conservativeness": "team:model-validation",
    "report": "team:regulatory-reporting",
}
"""Who answers for each group of assets (shown as the assets' owners in the UI)."""

HISTORY_JOB = "history_job"
SCENARIO_JOB = "scenario_job"
PACK_JOB = "pack_job"
EBA_PACK_JOB = "eba_pack_job"
RUN_PACK_JOB = "run_pack_job"
INTRADAY_JOB = "intraday_job"
MARKET_SNAPSHOT_JOB = "market_snapshot_job"
REGULATORY_CRON_ENV = "RISK_DAGSTER_REGULATORY_CRON"
EXECUTOR_ENV = "RISK_DAGSTER_EXECUTOR"


def build_definitions(
    extra_scenario_files: Sequence[str] = (),
    output_dir: str | None = None,
    as_of: str | None = None,
    seed: int | None = None,
    translation: TranslationSettings | None = None,
    engine: EngineSettings | None = None,
    capital: CapitalSettings | None = None,
    regulatory_cron: str | None = None,
    scenario_inbox: str | None = None,
    executor: str | None = None,
    market_inbox: str | None = None,
) -> dg.Definitions:
    """Assemble assets, checks, jobs and resources.

    Parameters
    ----------
    extra_scenario_files
        A user's own scenario files (any layout the readers know); each scenario they hold
        becomes a partition next to the shipped regulatory scenarios.
    output_dir
        Folder for human-facing outputs; defaults to ``$RISK_DAGSTER_OUTPUT`` or ``risk_output``.
    as_of
        ISO date against which the contracts' freshness SLAs are checked; none skips them.
    seed
        Seed of every random draw of the run.
    translation
        Sizes of the translation step (samples, transformer preset, backtest).
    engine
        The book and the revaluation engine's device, precision and backend.
    capital
        The balance sheet and the capital projection's key assumptions.
    regulatory_cron
        The regulatory cycle's calendar (cron, New York time); default ``$RISK_DAGSTER_REGULATORY_CRON``
        or :data:`~risk_dagster.automation.DEFAULT_REGULATORY_CRON`.
    scenario_inbox
        The folder the inbox sensor watches; default ``$RISK_DAGSTER_SCENARIO_INBOX`` or ``OUTPUT/inbox``.
    market_inbox
        The folder intraday market snapshots are dropped into; default ``$RISK_DAGSTER_MARKET_INBOX`` or
        ``OUTPUT/market_inbox``.
    executor
        How the jobs' steps run (:mod:`risk_dagster.executors`); default ``$RISK_DAGSTER_EXECUTOR`` or
        Dagster's default (one process per step for runs launched from the UI).
    """
    out = output_dir or os.environ.get(OUTPUT_DIR_ENV, "risk_output")
    inbox = scenario_inbox or os.environ.get(SCENARIO_INBOX_ENV) or os.path.join(out, "inbox")
    market_dir = market_inbox or os.environ.get(MARKET_INBOX_ENV) or os.path.join(out, "market_inbox")
    library = ScenarioLibrary(extra_files=[str(p) for p in extra_scenario_files], inbox_dir=str(inbox))
    partitions = scenario_partitions()
    scenario_assets = build_scenario_assets(partitions)
    history_assets = [
        *[a for a in scenario_assets if not a.partitions_def],
        *HISTORY_SOURCE_ASSETS,
        source_contracts,
        source_reliability,
        factor_history,
        quality_report,
        translator_training_set,
        satellite_models,
        *TRANSLATOR_LANE_ASSETS,
        plausibility_filter,
        synthetic_tail,
        translator_backtest,
        calibration_backtest,
        portfolio,
        pricing_parity,
        sensitivities,
        balance_sheet,
        loss_rate_satellites,
        nim_satellite,
        euro_portfolio,
        euro_balance_sheet,
        euro_pricing_parity,
        euro_sensitivities,
    ]
    translation_assets = [
        *[a for a in scenario_assets if a.partitions_def],
        *build_translation_assets(partitions),
        *build_fan_chart_assets(partitions),
    ]
    eba_assets = build_eba_assets(partitions)
    partitioned_assets = [
        *translation_assets,
        *build_stress_assets(partitions),
        *build_capital_assets(partitions),
        *build_conservativeness_assets(partitions),
    ]
    intraday_assets = build_intraday_assets(partitions)
    documentation_pack, eba_documentation_pack, run_pack = build_report_assets(partitions)
    partitioned_assets.append(documentation_pack)
    eba_assets.append(eba_documentation_pack)
    history_job = dg.define_asset_job(
        HISTORY_JOB,
        selection=dg.AssetSelection.assets(*history_assets),
        description="Market and macro history, contracts, reliability weights, factor history, quality report, "
        "translator training, registry lanes, plausibility filter, synthetic tail set, backtest and the translators' "
        "calibration on history (statistics 21-25); the book, its QuantLib parity "
        "and its sensitivities; the balance sheet and the loss-rate and NIM satellites; the euro-area bank's book, "
        "balance sheet, QuantLib parity and sensitivities.",
    )
    scenario_job = dg.define_asset_job(
        SCENARIO_JOB,
        selection=dg.AssetSelection.assets(*partitioned_assets),
        partitions_def=partitions,
        description="Everything computed per Fed scenario (one partition each): translation, the U.S. bank's "
        "stress, capital under the Fed's method, the 25 statistics and the pack.",
    )
    eba_job = dg.define_asset_job(
        EBA_JOB,
        selection=dg.AssetSelection.assets(*translation_assets, *eba_assets),
        partitions_def=partitions,
        description="Everything computed per EBA scenario (eba-2025-adverse, eba-2025-baseline): translation, the "
        "euro-area bank's market and FVOCI losses, capital under the EBA's method, the 25 statistics and the pack, in EUR.",
    )
    pack_job = dg.define_asset_job(
        PACK_JOB,
        selection=dg.AssetSelection.assets(documentation_pack),
        partitions_def=partitions,
        description="One scenario's documentation pack alone, from the files its scenario run wrote: how a draft "
        "(its blocking conservativeness checks failed, which skips the pack in the scenario job) gets its pack.",
    )
    eba_pack_job = dg.define_asset_job(
        EBA_PACK_JOB,
        selection=dg.AssetSelection.assets(eba_documentation_pack),
        partitions_def=partitions,
        description="One EBA scenario's documentation pack alone, from the files its EBA run wrote (a draft's pack).",
    )
    run_pack_job = dg.define_asset_job(
        RUN_PACK_JOB,
        selection=dg.AssetSelection.assets(run_pack),
        description="The run-level pack over the scenario packs of the run.",
    )
    intraday_job = dg.define_asset_job(
        INTRADAY_JOB,
        selection=dg.AssetSelection.assets(*intraday_assets),
        partitions_def=partitions,
        description="The intraday refresh of one scenario: the trading book's stress loss at the latest market "
        "snapshot under its translated sets, and its check; no pack.",
    )
    snapshot_job = dg.define_asset_job(
        MARKET_SNAPSHOT_JOB,
        selection=dg.AssetSelection.assets(market_snapshot),
        description="Takes the newest market snapshot from the market inbox (validated by its contract).",
    )
    schedules, sensors = build_automation(
        history_job=history_job, scenario_job=scenario_job, pack_job=pack_job, intraday_job=intraday_job,
        eba_job=eba_job, eba_pack_job=eba_pack_job,
        snapshot_job=snapshot_job, run_pack_job=run_pack_job, partitions=partitions, library=library, market_inbox=market_dir,
        regulatory_cron=regulatory_cron or os.environ.get(REGULATORY_CRON_ENV) or DEFAULT_REGULATORY_CRON,
    )  # fmt: skip
    owned = dg.map_asset_specs(
        lambda spec: spec.replace_attributes(owners=[OWNERS_BY_GROUP.get(spec.group_name or "", "team:stress-testing")]),
        [*history_assets, *partitioned_assets, *eba_assets, run_pack, market_snapshot, *intraday_assets],
    )
    executor_name = executor or os.environ.get(EXECUTOR_ENV)
    return dg.Definitions(
        assets=owned,
        executor=executor_def(executor_name) if executor_name else None,
        schedules=schedules,
        sensors=sensors,
        asset_checks=[sensitivities_consistent, euro_sensitivities_consistent],
        jobs=[history_job, scenario_job, eba_job, pack_job, eba_pack_job, run_pack_job, intraday_job, snapshot_job],
        resources={
            "io_manager": OutputFolderIOManager(path=out),
            "scenario_library": library,
            "market_inbox": MarketInbox(path=str(market_dir)),
            "output_dir": OutputDir(path=out),
            "run_settings": RunSettings(as_of=as_of or "", seed=seed if seed is not None else RunSettings().seed),
            "translation_settings": translation or TranslationSettings(),
            "engine_settings": engine or EngineSettings(),
            "capital_settings": capital or CapitalSettings(),
        },
    )


defs = build_definitions()
