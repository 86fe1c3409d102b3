"""Translation assets: satellite benchmark, registry lanes, plausibility filter, ShockSets, backtest.

Models never travel through the Dagster IO manager (which pickles): the model assets save them
as safetensors + JSON (the registry, or a model folder under the output directory) and hand
downstream assets a small reference to load them from.
"""

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
import json
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from risk_dagster.market.history import FactorHistory
from risk_dagster.report.charts import OPEN_FAN_FACTORS, fan_chart_png, png_markdown
from risk_dagster.assets.retries import retry_transient
from risk_dagster.io_manager import STORAGE_PATH
from risk_dagster.resources import ACCELERATOR_POOL, OutputDir, RunSettings, TranslationSettings
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.assets.scenarios import SYNTHETIC_BASE_SCENARIOS
from risk_dagster.storage import write_bytes, write_json
from risk_dagster.translate.backtest import run_backtest
from risk_dagster.translate.base import TrainingSet, build_training_set
from risk_dagster.translate.persistence import load_translator, save_translator
from risk_dagster.translate.conditioning import to_canonical
from risk_dagster.translate.pipeline import draw_filtered, translate_lanes
from risk_dagster.translate.pair_envelope import pair_summary, pair_table, pairs_outside_history
from risk_dagster.translate.plausibility import PlausibilityFilter
from risk_dagster.translate.rating_spreads import rating_spread_violations, violation_count
from risk_dagster.translate.registry import ModelRegistry, bootstrap, training_data_hash
from risk_dagster.translate.satellite import SatelliteTranslator
from risk_dagster.translate.shockset import ShockSet
from risk_dagster.translate.synthetic import generate_synthetic_tail
from risk_dagster.translate.transformer import TransformerConfig, TransformerTranslator

LANES: tuple[str, ...] = ("stable", "current", "experimental")
PAIR_CHECK = "open_factors_follow_fixed_siblings"
PAIR_CHECK_DESCRIPTION = (
    "Every open factor with a fixed sibling (Baa and Aaa vs the BBB spread, 20y and 30y vs the 10y, fed funds "
    "and 1m vs the 3m): the median ratio or basis of every projected quarter inside its historical range."
)
RATING_CHECK = "rating_spreads_ordered_above_floor"
RATING_CHECK_DESCRIPTION = (
    "The spreads by rating bucket (credit.spread.rating.aaa ... .ccc, derived from the BBB-10y spread): present, "
    "finite, ordered AAA <= AA <= ... <= CCC in every sample and quarter, and none below its bucket's historical "
    "minimum (recomputed from the levels)."
)
FIXED_FACTOR_TOLERANCE = 1e-9
"""Largest gap (level units) between a sample's fixed factor and the supervisor's path."""


def registry_root(output_dir: OutputDir) -> Path:
    """The run's model registry (seeded from the registry shipped in the package)."""
    return output_dir.subdir("registry")


@dg.asset(
    group_name="translate",
    kinds={"pandas"},
    description="Training set of the translators: macro features (X) and quarterly factor changes (Y, "
    "masked where a factor has no history), weighted by the sources' reliability weights.",
)
def translator_training_set(
    factor_history: FactorHistory, fed_history: MacroScenario, source_reliability: dict[str, Any]
) -> dg.Output[TrainingSet]:
    weights = {name: float(a.weight) for name, a in source_reliability.items()}
    training = build_training_set(factor_history, fed_history, weights)
    summary = training.summary()
    return dg.Output(
        training,
        metadata={
            "quarters": dg.MetadataValue.int(int(training.Y.shape[0])),
            "factors": dg.MetadataValue.int(int(training.Y.shape[1])),
            "features": dg.MetadataValue.int(int(training.X.shape[1])),
            "training_data_hash": training_data_hash(training),
            "summary": dg.MetadataValue.json(_jsonable(summary)),
            "shape": dg.MetadataValue.md(pd.DataFrame({"rows": [int(training.Y.shape[0])], "factors (Y)": [int(training.Y.shape[1])],
                                                       "features (X)": [int(training.X.shape[1])],
                                                       "Y observed": [f"{float(np.isfinite(np.asarray(training.Y, dtype=float)).mean()):.1%}"]}
                                                      ).to_markdown(index=False)),  # fmt: skip
        },
    )


@dg.asset(
    group_name="translate",
    kinds={"statsmodels"},
    description="Traditional benchmark: per-factor satellite regressions (WLS, HAC t-stats, quantile "
    "regressions) with leave-one-out residual vectors block-bootstrapped under a stress scale.",
)
def satellite_models(output_dir: OutputDir, translator_training_set: TrainingSet) -> dg.Output[str]:
    model = SatelliteTranslator().fit(translator_training_set)
    folder = output_dir.subdir("models", "satellite")
    save_translator(model, folder)
    coefficients = model.coefficients()
    return dg.Output(
        str(folder),
        metadata={
            "model": f"{model.model_id} {model.version}",
            "coefficients": dg.MetadataValue.md(_round(coefficients).to_markdown()),
            "fit_statistics": dg.MetadataValue.md(_round(model.fit_statistics()).to_markdown()),
            "output_path": dg.MetadataValue.path(str(folder)),
        },
    )


def _lane_asset(lane: str) -> dg.AssetsDefinition:
    trains = lane == "experimental"

    @dg.asset(
        name=f"translator_{lane}",
        group_name="translate",
        kinds={"transformers", "safetensors"},
        pool=ACCELERATOR_POOL,
        description=(
            "The experimental lane: a transformer trained here on the current history and registered "
            "(safetensors + config JSON)."
            if trains
            else f"The `{lane}` lane of the model registry (promoted with `risk-dagster models promote`)."
        ),
        ins={"translator_training_set": dg.AssetIn()} if trains else {},
    )
    @retry_transient
    def _asset(
        output_dir: OutputDir, run_settings: RunSettings, translation_settings: TranslationSettings, **inputs: Any
    ) -> dg.Output[dict[str, str] | None]:
        registry = bootstrap(registry_root(output_dir))
        if trains:
            training: TrainingSet = inputs["translator_training_set"]
            config = TransformerConfig.small() if translation_settings.transformer_preset == "small" else TransformerConfig()
            # The run seed picks the ensemble seeds, so the experimental candidate is not a
            # deterministic copy of a shipped version trained with the default seeds.
            config = replace(config, base_seed=run_settings.seed % 100_000)
            model = TransformerTranslator(config).fit(training)
            version = registry.register(
                model, lane="experimental", training=training, seed=run_settings.seed, metrics=_jsonable(model.summary())
            )
        else:
            version = registry.lane(lane)
        if version is None:
            return dg.Output(None, metadata={"lane": lane, "state": "empty"})
        ref = {"lane": lane, "ref": version.ref, "registry": str(registry.root)}
        meta = version.metadata
        return dg.Output(
            ref,
            metadata={
                "lane": lane,
                "model": version.ref,
                "created": str(meta.get("created")),
                "training_data_hash": str(meta.get("training_data_hash")),
                "code_version": str(meta.get("code_version")),
                "registry": dg.MetadataValue.md(pd.DataFrame(registry.describe()).to_markdown(index=False)),
            },
        )

    return _asset


TRANSLATOR_LANE_ASSETS = [_lane_asset(lane) for lane in LANES]


@dg.asset(
    group_name="translate",
    kinds={"torch", "safetensors"},
    pool=ACCELERATOR_POOL,
    description="Plausibility filter: hard rules derived from history (spread/rate/vol floors, coherent "
    "curves, moves within a multiple of the largest historical move) and a shape discriminator.",
)
@retry_transient
def plausibility_filter(
    output_dir: OutputDir,
    run_settings: RunSettings,
    factor_history: FactorHistory,
    synthetic_tail_bases: dict[str, MacroScenario],
) -> dg.Output[str]:
    quarters = sorted({len(s.quarters) for s in synthetic_tail_bases.values()})
    plausibility = PlausibilityFilter().fit(factor_history, seed=run_settings.seed, quarters=quarters)
    folder = output_dir.subdir("models", "plausibility")
    plausibility.save(folder)
    return dg.Output(str(folder), metadata={"path_lengths": str(quarters), "output_path": dg.MetadataValue.path(str(folder)),
                                            **plausibility_metadata(plausibility.summary())})


def plausibility_metadata(summary: dict[str, Any]) -> dict[str, Any]:
    """The filter's floors by rule and its discriminators' metrics, as tables a validator reads."""
    floors = [{"rule": rule, "factor": factor, "floor": limit.get("floor"), "strict": limit.get("strict")}
              for rule, by_factor in (summary.get("hard_rules", {}).get("floors") or {}).items()
              for factor, limit in by_factor.items()]  # fmt: skip
    discriminators = pd.DataFrame.from_dict(summary.get("discriminators") or {}, orient="index")
    scalar = [c for c in discriminators.columns if c != "quarters"
              and discriminators[c].map(lambda v: isinstance(v, (int, float, str, bool)) or v is None).all()]  # fmt: skip
    discriminators = discriminators[scalar]
    discriminators.index.name = "path quarters"
    return {
        "floors": dg.MetadataValue.md(pd.DataFrame(floors).round(4).to_markdown(index=False) if floors else "(none)"),
        "discriminators": dg.MetadataValue.md(discriminators.round(4).to_markdown() if len(discriminators) else "(none)"),
        "rules": dg.MetadataValue.json(_jsonable(summary.get("hard_rules", {}))),
    }


def load_lanes(lane_refs: dict[str, dict[str, str] | None]) -> dict[str, Any]:
    """Translators of the non-empty lanes, loaded from the registry (safetensors + JSON)."""
    loaded: dict[str, Any] = {}
    for lane, ref in lane_refs.items():
        if ref is not None:
            loaded[lane] = ModelRegistry(Path(ref["registry"])).load(ref["ref"])
    return loaded


def build_translation_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The per-scenario translation assets for the given partitions."""

    @dg.multi_asset(
        name="granular_shocks",
        group_name="translate",
        partitions_def=partitions,
        pool=ACCELERATOR_POOL,
        ins={
            "macro_scenarios": dg.AssetIn(),
            "fed_history": dg.AssetIn(),
            "factor_history": dg.AssetIn(),
            "plausibility_filter": dg.AssetIn(),
            **{f"translator_{lane}": dg.AssetIn() for lane in LANES},
        },
        outs={
            "granular_shocks": dg.AssetOut(
                kinds={"transformers", "numpy"},
                metadata={STORAGE_PATH: "shocks/{partition}/ai.npz"},
                description="AI scenario set: joint granular shocks drawn by every registry lane, filtered for "
                "plausibility; the most severe lane's set is the one the engine and capital run on.",
            ),
            "lane_shocks": dg.AssetOut(
                kinds={"numpy"},
                metadata={STORAGE_PATH: "shocks/{partition}/lanes"},
                description="Every registry lane's accepted AI set (lane -> ShockSet), drawn with the same seed: "
                "the conservativeness test scores each lane on the 25 statistics.",
            ),
        },
        check_specs=[
            dg.AssetCheckSpec("fixed_factors_reproduce_scenario", asset="granular_shocks", blocking=True),
            dg.AssetCheckSpec("no_sample_breaks_a_hard_rule", asset="granular_shocks", blocking=True),
            dg.AssetCheckSpec(PAIR_CHECK, asset="granular_shocks", blocking=True, description=PAIR_CHECK_DESCRIPTION),
            dg.AssetCheckSpec(RATING_CHECK, asset="granular_shocks", blocking=True, description=RATING_CHECK_DESCRIPTION),
        ],
    )
    @retry_transient
    def granular_shocks(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        run_settings: RunSettings,
        translation_settings: TranslationSettings,
        macro_scenarios: MacroScenario,
        fed_history: MacroScenario,
        factor_history: FactorHistory,
        plausibility_filter: str,
        **lanes: dict[str, str] | None,
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        refs = {name.removeprefix("translator_"): ref for name, ref in lanes.items()}
        translators = load_lanes(refs)
        plausibility = PlausibilityFilter.load(Path(plausibility_filter))
        # A non-Fed scenario on the canonical variables it gives (a Fed one: itself), so the checks
        # compare the draws with what was fixed (translate.conditioning).
        macro_scenarios = to_canonical(macro_scenarios, fed_history)
        outcome = translate_lanes(
            macro_scenarios,
            fed_history,
            translators,
            plausibility,
            n_samples=translation_settings.n_samples,
            seed=run_settings.seed,
            factor_history=factor_history,
        )
        folder = output_dir.subdir("shocks", context.partition_key)  # the sets themselves: the IO manager
        summary = outcome.summary()
        for lane, row in summary["lanes"].items():
            row["registry_ref"] = (refs.get(lane) or {}).get("ref")
        summary["translator"]["registry_ref"] = summary["lanes"][outcome.chosen_lane]["registry_ref"]
        write_json(folder / "translation.json", summary)
        yield from shock_checks(outcome.chosen, macro_scenarios, fed_history, plausibility, factor_history.levels)
        png = fan_chart_png(
            {f"AI ({outcome.chosen_lane})": outcome.chosen},
            factors=OPEN_FAN_FACTORS,
            title=f"{context.partition_key}: AI scenario set, open factors (5-95%, 25-75%, median)",
        )
        report = outcome.draws[outcome.chosen_lane].report
        lane_sets = {lane: d.shockset for lane, d in outcome.draws.items() if d.shockset.n_samples}
        yield dg.Output(
            lane_sets,
            output_name="lane_shocks",
            metadata={
                "lanes": dg.MetadataValue.md(_lanes_table(outcome, refs).to_markdown(index=False)),
                "chosen_lane": outcome.chosen_lane,
            },
        )
        yield dg.Output(
            outcome.chosen,
            output_name="granular_shocks",
            metadata={
                "chosen_lane": outcome.chosen_lane,
                "translator": f"{outcome.chosen.model_id} {outcome.chosen.model_version}",
                "samples": dg.MetadataValue.int(outcome.chosen.n_samples),
                "rejection_rate": dg.MetadataValue.float(round(1.0 - report.acceptance_rate, 4)),
                "lanes": dg.MetadataValue.md(_lanes_table(outcome, refs).to_markdown(index=False)),
                "plausibility": dg.MetadataValue.md(report.to_markdown()),
                "open_fixed_pairs": dg.MetadataValue.md(pair_markdown(pair_table(outcome.chosen, factor_history.levels))),
                "plausibility_details": dg.MetadataValue.json(_jsonable(report.to_metadata())),
                "fan_chart": dg.MetadataValue.md(png_markdown(png, "fan chart")),
                "translation": dg.MetadataValue.json(_jsonable(summary)),
            },
        )

    @dg.asset(
        group_name="translate",
        partitions_def=partitions,
        check_specs=[
            dg.AssetCheckSpec("fixed_factors_reproduce_scenario", asset="traditional_shocks", blocking=True),
            dg.AssetCheckSpec("no_sample_breaks_a_hard_rule", asset="traditional_shocks", blocking=True),
            dg.AssetCheckSpec(PAIR_CHECK, asset="traditional_shocks", blocking=True, description=PAIR_CHECK_DESCRIPTION),
            dg.AssetCheckSpec(RATING_CHECK, asset="traditional_shocks", blocking=True, description=RATING_CHECK_DESCRIPTION),
        ],
        kinds={"statsmodels", "numpy"},
        metadata={STORAGE_PATH: "shocks/{partition}/traditional.npz"},
        description="Traditional scenario set: the satellite benchmark's joint shocks, filtered like the AI set.",
    )
    def traditional_shocks(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        run_settings: RunSettings,
        translation_settings: TranslationSettings,
        macro_scenarios: MacroScenario,
        fed_history: MacroScenario,
        factor_history: FactorHistory,
        satellite_models: str,
        plausibility_filter: str,
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        satellite = load_translator(Path(satellite_models))
        plausibility = PlausibilityFilter.load(Path(plausibility_filter))
        macro_scenarios = to_canonical(macro_scenarios, fed_history)  # as granular_shocks
        accepted, report = draw_filtered(
            satellite,
            macro_scenarios,
            fed_history,
            plausibility,
            n_samples=translation_settings.n_samples,
            seed=run_settings.seed,
            factor_history=factor_history,
        )
        if accepted.n_samples == 0:
            raise dg.Failure(f"{context.partition_key}: the plausibility filter rejected every satellite sample")
        yield from shock_checks(accepted, macro_scenarios, fed_history, plausibility, factor_history.levels)
        png = fan_chart_png(
            {"traditional (satellite)": accepted}, factors=OPEN_FAN_FACTORS, title=f"{context.partition_key}: traditional set"
        )
        yield dg.Output(
            accepted,
            metadata={
                "translator": f"{accepted.model_id} {accepted.model_version}",
                "samples": dg.MetadataValue.int(accepted.n_samples),
                "rejection_rate": dg.MetadataValue.float(round(1.0 - report.acceptance_rate, 4)),
                "plausibility": dg.MetadataValue.md(report.to_markdown()),
                "open_fixed_pairs": dg.MetadataValue.md(pair_markdown(pair_table(accepted, factor_history.levels))),
                "fan_chart": dg.MetadataValue.md(png_markdown(png, "fan chart")),
            },
        )

    return [granular_shocks, traditional_shocks]


def build_fan_chart_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """Fan charts comparing the AI and the traditional sets of each scenario."""

    @dg.asset(
        group_name="translate",
        partitions_def=partitions,
        kinds={"matplotlib"},
        description="Fan charts as a risk manager reads them: the key factors the scenario fixes (10y, BBB "
        "spread, equity total market, VIX: every sample on the supervisor's path) and open factors the "
        "translators generate (2y, Baa spread, financials, dollar), AI against traditional.",
    )
    def shock_fan_charts(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        granular_shocks: ShockSet,
        traditional_shocks: ShockSet,
    ) -> dg.MaterializeResult:
        sets = {"AI (transformer)": granular_shocks, "traditional (satellite)": traditional_shocks}
        folder = output_dir.subdir("shocks", context.partition_key)
        fixed = fan_chart_png(sets, title=f"{context.partition_key}: key factors fixed by the scenario")
        open_ = fan_chart_png(
            sets, factors=OPEN_FAN_FACTORS, title=f"{context.partition_key}: open factors (5-95%, 25-75%, median)"
        )
        write_bytes(folder / "fan_chart_fixed.png", fixed)
        write_bytes(folder / "fan_chart_open.png", open_)
        return dg.MaterializeResult(
            metadata={
                "fixed_factors": dg.MetadataValue.md(png_markdown(fixed, "fixed factors")),
                "open_factors": dg.MetadataValue.md(png_markdown(open_, "open factors")),
                "output_path": dg.MetadataValue.path(str(folder)),
            }
        )

    return [shock_fan_charts]


def shock_checks(
    shockset: ShockSet,
    scenario: MacroScenario,
    history: MacroScenario,
    plausibility: PlausibilityFilter,
    history_levels: pd.DataFrame,
) -> Iterator[dg.AssetCheckResult]:
    """Checks of a ShockSet, each recomputed from the samples it guards.

    * ``fixed_factors_reproduce_scenario``: every sample's path of every factor the supervisor
      fixes equals the scenario's (largest absolute gap <= 1e-9 in the factor's level unit).
    * ``no_sample_breaks_a_hard_rule``: every hard rule of the plausibility filter, re-applied
      to the samples of the set (not read from the filter's report), is broken by none.
    * ``open_factors_follow_fixed_siblings``: per open-fixed pair and quarter, the median ratio
      or basis over samples lies inside the range history shows
      (:func:`~risk_dagster.translate.pair_envelope.pair_table`).
    * ``rating_spreads_ordered_above_floor``: the seven spreads by rating bucket are in the set,
      finite, ordered AAA ... CCC and at or above their historical floors in every sample and
      quarter (:func:`~risk_dagster.translate.rating_spreads.rating_spread_violations`). The
      plausibility filter's move limits do not cover them (derived factors have no history).
    """
    from risk_dagster.translate.consistency import fixed_factor_gaps
    from risk_dagster.translate.plausibility import hard_rule_counts

    fixed = fixed_factor_gaps(shockset, scenario, history)
    worst_factor = max(fixed, key=fixed.__getitem__, default="")
    worst = fixed[worst_factor] if fixed else 0.0
    yield dg.AssetCheckResult(
        check_name="fixed_factors_reproduce_scenario",
        passed=bool(worst <= FIXED_FACTOR_TOLERANCE),
        metadata={
            "scenario": scenario.scenario_id,
            "fixed_factors": len(fixed),
            "max_abs_gap": worst if np.isfinite(worst) else "inf (missing values)",
            "tolerance": FIXED_FACTOR_TOLERANCE,
            "worst_factor": worst_factor,
        },
    )
    if plausibility.rules is None:
        raise RuntimeError("the plausibility filter has no fitted hard rules")
    counts = hard_rule_counts(shockset, plausibility.rules)
    broken = {rule: n for rule, n in counts.items() if n}
    yield dg.AssetCheckResult(
        check_name="no_sample_breaks_a_hard_rule",
        passed=not broken,
        metadata={
            "scenario": scenario.scenario_id,
            "samples_checked": int(shockset.n_samples),
            "samples_breaking_by_rule": dg.MetadataValue.json(counts),
        },
        description=None if not broken else f"{sum(broken.values())} rule breaks among {shockset.n_samples} samples: {broken}",
    )
    table = pair_table(shockset, history_levels)
    outside = pairs_outside_history(table)
    yield dg.AssetCheckResult(
        check_name=PAIR_CHECK,
        passed=bool(len(table)) and outside.empty,
        metadata={
            "scenario": scenario.scenario_id,
            "pairs": dg.MetadataValue.md(pair_markdown(table)),
            "quarters_outside": dg.MetadataValue.int(len(outside)),
        },
        description=(
            None
            if len(table) and outside.empty
            else "no open-fixed pair could be measured"
            if not len(table)
            else "median outside the historical range: "
            + "; ".join(f"{r.pair} {r.quarter} {r.median:.2f} (history {r.history_min:.2f} to {r.history_max:.2f})"
                        for r in outside.head(6).itertuples())
        ),
    )


    rating = rating_spread_violations(shockset)
    broken = violation_count(rating)
    yield dg.AssetCheckResult(
        check_name=RATING_CHECK,
        passed=broken == 0,
        metadata={
            "scenario": scenario.scenario_id,
            "samples_checked": int(rating["samples"]),
            "violations": dg.MetadataValue.json(_jsonable(rating)),
        },
        description=None if broken == 0 else (
            f"missing factors {rating['missing']}" if rating["missing"]
            else f"{rating['non_finite']} non-finite, {rating['out_of_order']} out of order, below floor {rating['below_floor']}"
        ),
    )


def pair_markdown(table: pd.DataFrame) -> str:
    """The open-fixed pairs for a risk reader: per pair the medians and bands beside history."""
    if table.empty:
        return "(no open-fixed pair in this set)"
    return (
        pair_summary(table).round(2).to_markdown(index=False)
        + "\n\nRatio (spreads) or basis in percentage points (rates) of each open factor to its fixed "
        "sibling: range over the projected quarters of the median and of the 5-95% band, beside the "
        "range of the same quantity in quarterly history. A pair whose sibling this scenario leaves open "
        "(sibling_fixed false) is shown, not checked."
    )


@dg.asset(
    group_name="translate",
    ins={"fed_history": dg.AssetIn(), "plausibility_filter": dg.AssetIn(), "translator_current": dg.AssetIn(),
         "translator_experimental": dg.AssetIn(), "factor_history": dg.AssetIn(), "synthetic_tail_bases": dg.AssetIn()},
    kinds={"numpy"},
    pool=ACCELERATOR_POOL,
    metadata={STORAGE_PATH: "shocks/synthetic-tail/ai.npz"},
    description="Synthetic tail scenario set `synthetic-tail`: novel severe macro paths (the Fed's "
    "severely adverse deviations scaled and mixed with historical crisis shapes), translated and filtered.",
)
@retry_transient
def synthetic_tail(
    output_dir: OutputDir,
    run_settings: RunSettings,
    translation_settings: TranslationSettings,
    fed_history: MacroScenario,
    plausibility_filter: str,
    translator_current: dict[str, str] | None,
    translator_experimental: dict[str, str] | None,
    factor_history: FactorHistory,
    synthetic_tail_bases: dict[str, MacroScenario],
) -> dg.Output[ShockSet]:
    lanes = load_lanes({"current": translator_current, "experimental": translator_experimental})
    translator = lanes.get("current") or lanes["experimental"]
    drawn = generate_synthetic_tail(
        translator,
        fed_history,
        severely_adverse=synthetic_tail_bases[SYNTHETIC_BASE_SCENARIOS[0]],
        baseline=synthetic_tail_bases[SYNTHETIC_BASE_SCENARIOS[1]],
        n_paths=translation_settings.synthetic_paths,
        n_samples_per_path=translation_settings.synthetic_samples_per_path,
        seed=run_settings.seed,
        sample_kwargs={"factor_history": factor_history},
    )
    report = PlausibilityFilter.load(Path(plausibility_filter)).apply(drawn)
    accepted = report.accepted
    paths = pd.DataFrame(drawn.metadata.get("paths", [])).drop(columns=["range"], errors="ignore").round(4)
    png = fan_chart_png({"synthetic tail": accepted}, title="synthetic-tail: novel severe scenarios (key factors)") if accepted.n_samples else b""
    return dg.Output(
        accepted,
        metadata={
            "paths": dg.MetadataValue.md(paths.to_markdown(index=False) if not paths.empty else "(none)"),
            "samples": dg.MetadataValue.int(accepted.n_samples),
            "rejection_rate": dg.MetadataValue.float(round(1.0 - report.acceptance_rate, 4)),
            "plausibility": dg.MetadataValue.md(report.to_markdown()),
            **({"fan_chart": dg.MetadataValue.md(png_markdown(png, "fan chart"))} if png else {}),
        },
    )


@dg.asset(
    group_name="translate",
    kinds={"scoringrules"},
    pool=ACCELERATOR_POOL,
    description="Outcomes analysis: leave-crisis-out backtest (2001, 2008-09, 2020, 2022) of the satellite "
    "and the transformer on realized macro paths: energy score, CRPS, 90%/99% coverage. Cached under "
    "translate/backtest_cache by the training data's hash, the settings and the code version.",
)
@retry_transient
def translator_backtest(
    output_dir: OutputDir,
    translation_settings: TranslationSettings,
    factor_history: FactorHistory,
    fed_history: MacroScenario,
    source_reliability: dict[str, Any],
) -> dg.MaterializeResult:
    from risk_dagster.translate.backtest import default_models
    from risk_dagster.translate.base import build_training_set
    from risk_dagster.translate.registry import code_version, settings_key, training_data_hash

    weights = {name: float(a.weight) for name, a in source_reliability.items()}
    quick = translation_settings.transformer_preset == "small"
    settings = {"quick_models": quick, "n_samples": int(translation_settings.backtest_samples),
                "seed_sets": int(translation_settings.backtest_seed_sets), "code": code_version()}  # fmt: skip
    # the same data, settings and code give the same scores (seeded): a warm run reuses them
    key = settings_key(training_data_hash(build_training_set(factor_history, fed_history, weights)), settings)
    cache = output_dir.subdir("translate", "backtest_cache") / f"{key}.json"
    cached = cache.is_file()
    if cached:
        stored = json.loads(cache.read_text(encoding="utf-8"))
        doc, scores, notes = stored["doc"], stored["markdown"], stored["notes"]
    else:
        models, notes = default_models(quick=quick)
        result = run_backtest(
            factor_history,
            fed_history,
            models=models,
            n_samples=translation_settings.backtest_samples,
            seeds=tuple(range(translation_settings.backtest_seed_sets)),
            source_weights=weights,
        )
        doc, scores = result.to_json(), result.to_markdown()
        write_json(cache, {"doc": doc, "markdown": scores, "notes": notes, "settings": settings})
    path = write_json(output_dir.subdir("translate") / "backtest.json", doc)
    # Both models are always scored, so the comparison exists; a renamed key fails here, loudly.
    comparison = doc["comparison"]
    low, high = comparison["es_ratio_interval_90"]
    return dg.MaterializeResult(
        metadata={
            "cached": cached,
            "scores": dg.MetadataValue.md(scores),
            "transformer_vs_satellite_es_ratio": dg.MetadataValue.float(float(comparison["es_ratio"])),
            "es_ratio_interval_90": f"{low:.3f}-{high:.3f}",
            "goal_met": bool(comparison["goal_met"]),
            "notes": dg.MetadataValue.json(notes),
            "output_path": dg.MetadataValue.path(str(path)),
        }
    )


def _lanes_table(outcome: Any, refs: dict[str, dict[str, str] | None]) -> pd.DataFrame:
    table = outcome.table()
    table.insert(1, "registry_ref", [(refs.get(lane) or {}).get("ref") for lane in table["lane"]])
    return table.rename(columns={"version": "code_version"})


def _round(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.round(4)


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v)))
