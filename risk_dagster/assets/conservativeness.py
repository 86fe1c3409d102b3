"""Conservativeness assets: the translators' calibration on history, and each scenario's 25-statistic test."""

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from risk_dagster.assets.capital import scenario_evaluator
from risk_dagster.assets.stress import engine_revaluer
from risk_dagster.capital.balance_sheet import BalanceSheet
from risk_dagster.capital.nim_satellite import NimSatellite
from risk_dagster.capital.scenario_capital import ScenarioStress, SetCapital
from risk_dagster.conservativeness.assessment import assess_scenario, traditional_basis
from risk_dagster.conservativeness.calibration import (
    AI_MODEL,
    ORIGIN_STEP,
    TRADITIONAL_MODEL,
    CalibrationDraws,
    calibration_draws,
    calibration_key,
    model_calibrations,
    calibration_values,
)
from risk_dagster.conservativeness.registry import BY_ID, STATISTICS
from risk_dagster.conservativeness.saved import retest, write_assessment
from risk_dagster.market.history import FactorHistory
from risk_dagster.report.charts import conservativeness_bounds_png, png_markdown
from risk_dagster.assets.retries import retry_transient
from risk_dagster.resources import ACCELERATOR_POOL, CapitalSettings, EngineSettings, OutputDir, RunSettings, TranslationSettings
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.conditioning import to_canonical
from risk_dagster.translate.consistency import fixed_factor_gaps
from risk_dagster.translate.plausibility import PlausibilityFilter
from risk_dagster.storage import write_bytes
from risk_dagster.translate.shockset import ShockSet

N_RESAMPLES = 1000
FIXED_CHECK = "supervisor_fixed_factors_reproduced"
FIXED_TOLERANCE = 0.0
"""The fixed-factor check's tolerance: exact (the sets copy the supervisor's shocks, they do not model them)."""


def statistic_check_name(spec: Any) -> str:
    """``stat_07_cet1_min_median``: the check of one statistic."""
    return f"stat_{spec.number:02d}_{spec.id}"


def calibration_settings(translation_settings: TranslationSettings, seed: int) -> dict[str, Any]:
    """Everything that changes the calibration draws besides the data (the cache key's settings)."""
    from risk_dagster.translate.registry import code_version
    from risk_dagster.translate.transformer import TransformerConfig

    small = translation_settings.transformer_preset == "small"
    config = TransformerConfig.small() if small else TransformerConfig()
    return {
        "transformer": dataclasses.asdict(config),
        "satellite": "SatelliteTranslator() defaults",
        "n_samples": int(translation_settings.calibration_samples),
        "first_origin": translation_settings.calibration_first_origin,
        "step": ORIGIN_STEP,
        "seed": int(seed),
        "code": code_version(),
    }


@dg.asset(
    group_name="conservativeness",
    kinds={"transformers", "statsmodels", "numpy"},
    pool=ACCELERATOR_POOL,
    description="Calibration of both translators on history for statistics 21-25: the transformer (AI) and the "
    "satellite (traditional) refitted at every rolling origin (every 8 quarters from 2000Q1, the past only) whose "
    "block holds a stress quarter (Fed quarterly VIX > 30 or NBER recession), their one-quarter predictive draws "
    "of the open factors on those stress quarters. Cached under models/calibration by the training data's hash "
    "and the settings: a run on the same data and code reuses the fits.",
)
@retry_transient
def calibration_backtest(
    context: dg.AssetExecutionContext,
    output_dir: OutputDir,
    run_settings: RunSettings,
    translation_settings: TranslationSettings,
    factor_history: FactorHistory,
    fed_history: MacroScenario,
    source_reliability: dict[str, Any],
) -> dg.Output[CalibrationDraws]:
    from risk_dagster.translate.backtest import default_models
    from risk_dagster.translate.base import build_training_set
    from risk_dagster.translate.registry import training_data_hash
    from risk_dagster.translate.rolling_origin import recession_indicator

    weights = {name: float(a.weight) for name, a in source_reliability.items()}
    seed = run_settings.seed % 1000  # the transformer factory's ensemble seeds are 1000 x seed + k
    settings = calibration_settings(translation_settings, seed)
    key = calibration_key(training_data_hash(build_training_set(factor_history, fed_history, weights)), settings)
    path = output_dir.subdir("models", "calibration") / f"{key}.npz"
    cached = path.is_file()
    if cached:
        draws = CalibrationDraws.load_npz(path)
    else:
        models, _notes = default_models(quick=translation_settings.transformer_preset == "small")
        draws = calibration_draws(
            factor_history, fed_history, {m: models[m] for m in (AI_MODEL, TRADITIONAL_MODEL)},
            recession=recession_indicator(), first_origin=translation_settings.calibration_first_origin,
            n_samples=translation_settings.calibration_samples, seed=seed, source_weights=weights,
            progress=context.log.info,
        )  # fmt: skip
        draws.save_npz(path)
    valid = np.isfinite(draws.realized)
    # coverage (21, 22) does not depend on the book; 23-25 are computed per scenario with its sensitivities
    coverage = pd.DataFrame(
        {label: calibration_values(c) for label, c in model_calibrations(draws, np.zeros(len(draws.factor_ids))).items()}
    ).loc[["crisis_coverage_90", "crisis_coverage_99"]]  # fmt: skip
    return dg.Output(
        draws,
        metadata={
            "stress_quarters": dg.MetadataValue.int(len(draws.quarters)),
            "quarters": ", ".join(draws.quarters),
            "origins_fitted": ", ".join(draws.settings.get("origins", [])),
            "open_factors": dg.MetadataValue.int(len(draws.factor_ids)),
            "cells_scored": dg.MetadataValue.int(int(valid.sum())),
            "samples_per_quarter": dg.MetadataValue.int(int(draws.draws[AI_MODEL].shape[0])),
            "cached": cached,
            "fit_seconds": dg.MetadataValue.json(draws.settings.get("seconds", {})),
            "coverage": dg.MetadataValue.md(
                coverage.round(4).to_markdown() + "\n\nShare of the scored cells (open factor, stress quarter) inside "
                "each model's central 90% / 99% predictive interval (statistics 21, 22); 23-25 weigh the cells by the "
                "book's sensitivities and are computed per scenario."
            ),
            "output_path": dg.MetadataValue.path(str(path)),
        },
    )


def statistic_check_specs(asset: str) -> list[dg.AssetCheckSpec]:
    """The 25 blocking statistic checks and the fixed-factor check of a conservativeness asset."""
    specs = [
        dg.AssetCheckSpec(
            statistic_check_name(spec), asset=asset, blocking=True,
            description=f"{spec.number}. {spec.name} ({spec.arrow}): {spec.definition}. Recomputed from the saved "
            "outcomes: the 95% bootstrap lower bound of d = direction x (AI - traditional) must be >= -tolerance.",
        )  # fmt: skip
        for spec in STATISTICS
    ]
    specs.append(
        dg.AssetCheckSpec(
            FIXED_CHECK, asset=asset, blocking=True,
            description="Every sample of the submitted AI set and of the traditional set reproduces every factor the "
            "supervisor fixes, exactly (tolerance 0, shock units).",
        )  # fmt: skip
    )
    return specs


def build_conservativeness_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The per-scenario conservativeness test."""
    check_specs = statistic_check_specs("conservativeness")

    @dg.asset(
        group_name="conservativeness",
        partitions_def=partitions,
        kinds={"numpy", "torch"},
        pool=ACCELERATOR_POOL,
        check_specs=check_specs,
        description="The 25 conservativeness statistics (DESIGN.md) of every registry lane's AI set against the "
        "traditional set of the scenario on the same book, each with the one-sided 95% bootstrap lower bound of "
        "d = direction x (AI - traditional), its tolerance and verdict; the lanes ranked (statistics passed, then "
        "the lowest median CET1 minimum); when the chosen lane fails any, the conservative overlay: the smallest "
        "multiplier m >= 1 (to 0.01, cap 3) on the AI's open-factor changes, in the samples and the calibration "
        "draws, re-screened by the hard rules, re-run through the engine and capital, after which all 25 pass.",
    )
    @retry_transient
    def conservativeness(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        run_settings: RunSettings,
        engine_settings: EngineSettings,
        capital_settings: CapitalSettings,
        capital_projection: dict[str, SetCapital],
        granular_shocks: ShockSet,
        lane_shocks: dict[str, ShockSet],
        traditional_shocks: ShockSet,
        sensitivities: pd.DataFrame,
        calibration_backtest: CalibrationDraws,
        portfolio: pd.DataFrame,
        balance_sheet: BalanceSheet,
        stress_results: ScenarioStress,
        nim_satellite: NimSatellite,
        macro_scenarios: MacroScenario,
        fed_history: MacroScenario,
        factor_history: FactorHistory,
        plausibility_filter: str,
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        key = context.partition_key
        chosen = chosen_lane(key, lane_shocks, granular_shocks)
        evaluator = scenario_evaluator(
            key, portfolio, balance_sheet, stress_results, granular_shocks, nim_satellite, macro_scenarios,
            fed_history, capital_settings, revaluer=engine_revaluer(engine_settings),
        )  # fmt: skip
        yield from assess_and_check(
            context, output_dir, asset="conservativeness", chosen=chosen, capital=capital_projection,
            lane_shocks=lane_shocks, traditional_shocks=traditional_shocks, sensitivities=sensitivities,
            calibration=calibration_backtest, evaluate=evaluator.evaluate, macro_scenarios=macro_scenarios,
            fed_history=fed_history, factor_history=factor_history, plausibility_filter=plausibility_filter,
            seed=run_settings.seed, currency="USD",
        )  # fmt: skip

    return [conservativeness]


def chosen_lane(key: str, lane_shocks: dict[str, ShockSet], granular_shocks: ShockSet) -> str:
    """The registry lane whose set is the AI set used downstream (a failure when none is)."""
    chosen = next((lane for lane, s in lane_shocks.items() if _same_set(s, granular_shocks)), None)
    if chosen is None:
        raise dg.Failure(f"{key}: the AI set used downstream is none of the lanes' sets {sorted(lane_shocks)}")
    return chosen


def assess_and_check(
    context: dg.AssetExecutionContext,
    output_dir: OutputDir,
    *,
    asset: str,
    chosen: str,
    capital: dict[str, Any],
    lane_shocks: dict[str, ShockSet],
    traditional_shocks: ShockSet,
    sensitivities: pd.DataFrame,
    calibration: CalibrationDraws,
    evaluate: Any,
    macro_scenarios: MacroScenario,
    fed_history: MacroScenario,
    factor_history: FactorHistory,
    plausibility_filter: str,
    seed: int,
    currency: str,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    """The 25-statistic test of a scenario and its checks, for the Fed's asset and the EBA's alike.

    ``capital`` holds the ``ai`` and ``traditional`` projections (anything with the
    :class:`~risk_dagster.conservativeness.statistics.CapitalOutcomes` reading); ``evaluate`` runs the
    engine and capital on one more set (the other lanes, the overlay's scaled sets). Writes the
    assessment under ``conservativeness/<key>/``, yields the 25 statistic checks and the fixed-factor
    check (recomputed from the files just written) and the asset's output.
    """
    key = context.partition_key
    folder = output_dir.subdir("conservativeness", key)
    basis = traditional_basis(capital["traditional"], traditional_shocks, sensitivities, calibration)
    plausibility = PlausibilityFilter.load(Path(plausibility_filter))
    assessment = assess_scenario(
        key, lane_shocks, chosen, capital["ai"], basis, sensitivities, calibration, evaluate,
        rules=plausibility.rules, history_levels=factor_history.levels, seed=seed, n_resamples=N_RESAMPLES,
        progress=context.log.info,
    )  # fmt: skip
    write_assessment(folder, assessment, basis, calibration.quarters, seed=seed, n_resamples=N_RESAMPLES)
    if assessment.overlay_status == "applied":
        assessment.submitted.shocks.save_npz(output_dir.subdir("shocks", key) / "ai_overlay.npz")
    report = assessment.report()
    # the checks: every statistic recomputed from the files just written, and the fixed factors
    yield from statistic_checks(folder, report.table, report.raw_table, assessment.multiplier, asset=asset)
    yield fixed_factor_check(assessment.submitted.shocks, traditional_shocks, to_canonical(macro_scenarios, fed_history),
                             fed_history, asset=asset)  # fmt: skip
    table, raw = report.table, report.raw_table
    png = conservativeness_bounds_png(table, title=f"{key}: 95% lower bounds of d against -tolerance")
    write_bytes(folder / "bounds.png", png)
    summary = report.summary
    yield dg.Output(
        report,
        metadata={
            "statistics": dg.MetadataValue.md(statistics_markdown(table, raw if assessment.multiplier != 1.0 else None, currency)),
            "bounds_chart": dg.MetadataValue.md(png_markdown(png, "bounds against tolerances")),
            "passed": dg.MetadataValue.int(report.passed),
            "total": dg.MetadataValue.int(len(STATISTICS)),
            "verdict": summary["verdict"],
            "failed": dg.MetadataValue.json(sorted(table.index[~table["passed"]])),
            "lanes": dg.MetadataValue.md(report.lanes.round(4).to_markdown()),
            "chosen_lane": chosen,
            "most_conservative_lane": summary["most_conservative_lane"],
            "overlay_multiplier": dg.MetadataValue.float(float(assessment.multiplier)),
            "overlay": dg.MetadataValue.json({k: summary[k] for k in ("overlay_status", "overlay_reason", "overlay_cap", "overlay_trials", "screening")}),
            "output_path": dg.MetadataValue.path(str(folder)),
        },
    )


def statistic_checks(
    folder: Path, table: pd.DataFrame, raw: pd.DataFrame, multiplier: float, asset: str = "conservativeness"
) -> Iterator[dg.AssetCheckResult]:
    """One result per statistic: recomputed from the saved outcomes and calibration in ``folder``
    (:func:`~risk_dagster.conservativeness.saved.retest`); it passes when the recomputed bound clears
    ``-tolerance`` and equals the table's (a file changed after the test was run fails)."""
    recomputed = {t.id: t for t in retest(folder)}
    for spec in STATISTICS:
        t = recomputed[spec.id]
        shown = float(table.loc[spec.id, "lower_bound"])
        agrees = bool(np.isclose(t.lower_bound, shown, rtol=1e-9, atol=0.0))
        yield dg.AssetCheckResult(
            check_name=statistic_check_name(spec),
            asset_key=dg.AssetKey(asset),
            passed=bool(t.passed and agrees),
            description=None if t.passed and agrees else (
                f"bound {t.lower_bound:.6g} < -tolerance {-t.tolerance:.6g}" if agrees
                else f"recomputed bound {t.lower_bound:.6g} differs from the table's {shown:.6g}"
            ),
            metadata={
                "ai": t.ai, "traditional": t.traditional, "difference": t.difference, "lower_bound": t.lower_bound,
                "tolerance": t.tolerance, "unit": spec.unit, "direction": spec.arrow,
                "overlay_multiplier": float(multiplier),
                "raw_ai": float(raw.loc[spec.id, "ai"]), "raw_lower_bound": float(raw.loc[spec.id, "lower_bound"]),
                "raw_passed": bool(raw.loc[spec.id, "passed"]),
            },
        )  # fmt: skip


def _same_set(a: ShockSet, b: ShockSet) -> bool:
    return a.model_version == b.model_version and a.shocks.shape == b.shocks.shape and np.array_equal(a.shocks, b.shocks, equal_nan=True)


def fixed_factor_check(ai: ShockSet, traditional: ShockSet, scenario: MacroScenario, history: MacroScenario,
                       asset: str = "conservativeness") -> dg.AssetCheckResult:  # fmt: skip
    """Every sample of both sets reproduces every factor the scenario fixes, exactly."""
    gaps = {label: fixed_factor_gaps(s, scenario, history) for label, s in (("ai", ai), ("traditional", traditional))}
    worst = {label: max(g.values(), default=0.0) for label, g in gaps.items()}
    broken = {label: {f: v for f, v in g.items() if not v <= FIXED_TOLERANCE} for label, g in gaps.items()}
    passed = all(not b for b in broken.values()) and all(gaps.values())
    return dg.AssetCheckResult(
        check_name=FIXED_CHECK,
        asset_key=dg.AssetKey(asset),
        passed=bool(passed),
        description=None if passed else (
            "no fixed factor in a set" if not all(gaps.values())
            else "; ".join(f"{label}: {f} off by {v:.3g}" for label, b in broken.items() for f, v in list(b.items())[:5])
        ),
        metadata={
            "fixed_factors": dg.MetadataValue.int(len(gaps["ai"])),
            "samples_checked": dg.MetadataValue.json({"ai": ai.n_samples, "traditional": traditional.n_samples}),
            "max_abs_gap": dg.MetadataValue.json({k: (v if np.isfinite(v) else "inf") for k, v in worst.items()}),
            "tolerance": FIXED_TOLERANCE,
        },
    )  # fmt: skip


def statistics_markdown(table: pd.DataFrame, raw: pd.DataFrame | None, currency: str = "USD") -> str:
    """The 25 statistics as a markdown table for the UI (money in ``currency`` bn)."""
    scale = np.array([1e9 if u == "usd" else (0.01 if u == "ratio" else 1.0) for u in table["unit"]])
    shown = pd.DataFrame({
        "#": table["number"], "name": [BY_ID[i].name for i in table.index], "dir": [BY_ID[i].arrow for i in table.index],
        "unit": table["unit"],
    }, index=table.index)  # fmt: skip
    for column in ("ai", "traditional", "difference", "lower_bound", "tolerance"):
        shown[column] = table[column].to_numpy() / scale
    shown["verdict"] = np.where(table["passed"], "pass", "FAIL")
    if raw is not None:
        shown["raw lower_bound"] = raw.loc[table.index, "lower_bound"].to_numpy() / scale
        shown["raw verdict"] = np.where(raw.loc[table.index, "passed"], "pass", "FAIL")
    return (
        shown.round(4).to_markdown() + f"\n\n{currency} amounts in bn, ratios in percent, shares as they are; d = direction x "
        "(AI - traditional): positive means the AI set is more conservative; pass when the bound >= -tolerance."
        + ("" if raw is None else " 'raw': the chosen lane before the overlay.")
    )


__all__ = [
    "FIXED_CHECK",
    "assess_and_check",
    "build_conservativeness_assets",
    "calibration_backtest",
    "chosen_lane",
    "fixed_factor_check",
    "statistic_check_name",
    "statistic_check_specs",
    "statistics_markdown",
    "statistic_checks",
]
