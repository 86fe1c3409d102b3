"""Capital assets: the balance sheet, the loss-rate and NIM satellites, and each scenario's CET1 projection."""


from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd

from risk_dagster.assets.contract_checks import contract_check_name, contract_check_specs, validate_and_check
from risk_dagster.capital.balance_sheet import BalanceSheet, load_balance_sheet, load_sample_balance_sheet
from risk_dagster.capital.loan_losses import FittedLossRates
from risk_dagster.capital.loss_rates import (
    OUTCOME_WINDOWS,
    LossRateSatellite,
    load_charge_off_rates,
    macro_drivers,
    outcomes_analysis,
)
from risk_dagster.capital.nim_satellite import NimSatellite, load_net_interest_margin
from risk_dagster.capital.nim_satellite import OUTCOME_WINDOWS as NIM_WINDOWS
from risk_dagster.capital.nim_satellite import outcomes_analysis as nim_outcomes
from risk_dagster.capital.market_lines import Revaluer
from risk_dagster.capital.scenario_capital import ScenarioStress, SetCapital
from risk_dagster.capital.sensitivity import capital_sensitivities, trading_window_violations
from risk_dagster.capital.set_evaluation import SetEvaluator
from risk_dagster.errors import InputFileError
from risk_dagster.report.charts import capital_path_png, png_markdown
from risk_dagster.assets.retries import retry_transient
from risk_dagster.resources import ACCELERATOR_POOL, CapitalSettings, EngineSettings, OutputDir
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.storage import write_bytes, write_csv, write_json, write_npz
from risk_dagster.translate.shockset import ShockSet

BALANCE_SHEET_CONTRACT = "balance_sheet"
CAPITAL_SUMMARY_FILE = "capital_summary.json"
SENSITIVITY_FILE = "sensitivity.csv"
TRADING_WINDOW_CHECK = "trading_window_ordered"


def capital_folder(output_dir: OutputDir, scenario_id: str) -> Path:
    """Where ``capital_projection`` writes one scenario's files."""
    return output_dir.subdir("capital", scenario_id)


@dg.asset(
    group_name="portfolio",
    check_specs=contract_check_specs("balance_sheet", [BALANCE_SHEET_CONTRACT]),
    kinds={"yaml"},
    description="The bank's jump-off balance sheet (CET1, RWA, allowance, funding and betas, PPNR run-rates, "
    "tax rate, dividends, AOCI treatment), gated by its contract; the shipped sample bank's unless a file is "
    "configured.",
)
def balance_sheet(capital_settings: CapitalSettings) -> Iterator[dg.Output | dg.AssetCheckResult]:
    try:
        if capital_settings.balance_sheet_path:
            sheet = load_balance_sheet(capital_settings.balance_sheet_path)
        else:
            sheet = load_sample_balance_sheet()
    except InputFileError as error:
        yield dg.AssetCheckResult(
            check_name=contract_check_name(BALANCE_SHEET_CONTRACT), passed=False, description=str(error)[:2000]
        )
        raise dg.Failure(description=str(error)[:2000]) from None
    yield from validate_and_check({BALANCE_SHEET_CONTRACT: sheet.to_frame()})
    if sheet.currency != "USD":
        # the contract admits a EUR bank for the EBA method (capital.eba_projection); this graph values a USD book
        raise dg.Failure(description=f"{sheet.source or 'balance sheet'}: currency {sheet.currency}: the Fed capital "
                         "projection and its engine are in USD; a euro-area bank goes through capital.eba_projection")
    table = pd.Series(sheet.to_dict()).to_frame("value")
    yield dg.Output(
        sheet,
        metadata={
            "source": sheet.source or "built in code",
            "cet1_ratio_pct": dg.MetadataValue.float(round(100 * sheet.cet1_ratio, 3)),
            "cet1_usd_bn": dg.MetadataValue.float(sheet.cet1_capital / 1e9),
            "rwa_usd_bn": dg.MetadataValue.float(sheet.rwa / 1e9),
            "balance_sheet": dg.MetadataValue.md(table.to_markdown()),
        },
    )


@dg.asset(
    group_name="capital",
    kinds={"statsmodels"},
    description="Loan loss-rate satellites: a fractional logit per Fed loan segment of the quarterly net "
    "charge-off rate (the Fed's history, shipped) on lagged macro drivers of the Fed's historic table, HAC "
    "standard errors, drivers clamped to their fitted range, AR(1) residuals; with the leave-window-out "
    "outcomes analysis (2008-2010, 2020-2021).",
)
def loss_rate_satellites(output_dir: OutputDir, fed_history: MacroScenario) -> dg.Output[FittedLossRates]:
    rates = load_charge_off_rates()
    drivers = macro_drivers(fed_history)
    satellite = LossRateSatellite().fit(rates, drivers)
    coefficients = satellite.coefficients()
    outcomes = pd.concat(
        {name: outcomes_analysis(rates, drivers, window) for name, window in OUTCOME_WINDOWS.items()}, names=["window"]
    )
    folder = output_dir.subdir("models", "loss_rates")
    write_csv(folder / "coefficients.csv", coefficients)
    write_csv(folder / "outcomes.csv", outcomes.reset_index())
    return dg.Output(
        FittedLossRates(satellite=satellite, rates=rates, history_id=fed_history.scenario_id),
        metadata={
            "coefficients": dg.MetadataValue.md(coefficients.round(4).to_markdown(index=False)),
            "outcomes_analysis": dg.MetadataValue.md(
                outcomes.round(3).to_markdown() + "\n\nEach window left out of the fit and predicted from the realized "
                "macro path; cumulative loss over the window in percent of loans."
            ),
            "history": f"{rates.index.min()}-{rates.index.max()} charge-offs; drivers from {fed_history.scenario_id}",
            "output_path": dg.MetadataValue.path(str(folder)),
        },
    )


@dg.asset(
    group_name="capital",
    kinds={"statsmodels"},
    description="Net interest margin satellite (benchmark of net interest income): a partial-adjustment OLS of "
    "the large-bank NIM (Call Reports, 1984-2019) on the 3-month rate and the curve slope, HAC standard errors, "
    "leave-window-out outcomes.",
)
def nim_satellite(output_dir: OutputDir, fed_history: MacroScenario) -> dg.Output[NimSatellite]:
    nim = load_net_interest_margin()
    model = NimSatellite().fit(nim, fed_history)
    outcomes = pd.DataFrame(
        {name: {k: v for k, v in nim_outcomes(window, nim, fed_history).items() if np.isscalar(v)}
         for name, window in NIM_WINDOWS.items()}
    )  # fmt: skip
    folder = output_dir.subdir("models", "nim")
    write_csv(folder / "coefficients.csv", model.coefficients().reset_index(names="term"))
    write_csv(folder / "outcomes.csv", outcomes.T.rename(columns={"window": "quarters"}).reset_index(names="window"))
    return dg.Output(
        model,
        metadata={
            "coefficients": dg.MetadataValue.md(model.coefficients().round(4).to_markdown()),
            "outcomes_analysis": dg.MetadataValue.md(outcomes.to_markdown()),
            "output_path": dg.MetadataValue.path(str(folder)),
        },
    )


def scenario_evaluator(
    scenario_id: str,
    portfolio: pd.DataFrame,
    balance_sheet: BalanceSheet,
    stress_results: ScenarioStress,
    shocks: ShockSet,
    nim_satellite: NimSatellite,
    macro_scenarios: MacroScenario,
    fed_history: MacroScenario,
    capital_settings: CapitalSettings,
    revaluer: Revaluer | None = None,
    allowance_coverage_quarters: int | None = None,
) -> SetEvaluator:
    """The scenario's :class:`SetEvaluator` under the run's capital settings (capital_projection, the
    sensitivities and the conservativeness test build it the same way); ``allowance_coverage_quarters``
    overrides the setting (the sensitivity analysis moves it)."""
    if allowance_coverage_quarters is None:
        allowance_coverage_quarters = capital_settings.allowance_coverage_quarters
    return SetEvaluator.for_scenario(
        scenario_id, portfolio, balance_sheet, stress_results.loans, shocks, nim_satellite=nim_satellite,
        scenario=macro_scenarios, fed_history=fed_history, nii_method=capital_settings.nii_method, revaluer=revaluer,
        trading_quarters=capital_settings.trading_shock_quarters,
        tax_benefit_on_losses=capital_settings.tax_benefit_on_losses,
        dividends_in_path=capital_settings.dividends_in_path,
        allowance_coverage_quarters=allowance_coverage_quarters,
    )  # fmt: skip


def build_capital_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The per-scenario capital asset."""

    @dg.asset(
        group_name="capital",
        partitions_def=partitions,
        kinds={"numpy"},
        description="CET1 capital per sample and quarter PQ1-PQ9 for the AI and the traditional sets: PPNR (NII "
        "from repricing, stated noninterest run-rates), provisions with the allowance covering four quarters, "
        "trading, securities and operational losses, taxes, OCI, the CET1 ratio path with its 5-95% band, each "
        "path's minimum and the stress capital buffer (floor 2.5%); the 4.5% minimum flagged.",
    )
    def capital_projection(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        capital_settings: CapitalSettings,
        portfolio: pd.DataFrame,
        balance_sheet: BalanceSheet,
        nim_satellite: NimSatellite,
        macro_scenarios: MacroScenario,
        fed_history: MacroScenario,
        stress_results: ScenarioStress,
        granular_shocks: ShockSet,
        traditional_shocks: ShockSet,
    ) -> dg.Output[dict[str, SetCapital]]:
        folder = capital_folder(output_dir, context.partition_key)
        # the book's repricing lines and the NIM satellite's path depend on the scenario, not on the set
        evaluator = scenario_evaluator(
            context.partition_key, portfolio, balance_sheet, stress_results, granular_shocks, nim_satellite,
            macro_scenarios, fed_history, capital_settings,
        )  # fmt: skip
        out: dict[str, SetCapital] = {
            label: evaluator.capital(label, shocks, stress_results.market[label])
            for label, shocks in (("ai", granular_shocks), ("traditional", traditional_shocks))
        }
        ratio = evaluator.nim_satellite_ratio
        summaries = {label: c.summary() for label, c in out.items()}
        write_json(folder / CAPITAL_SUMMARY_FILE, summaries)
        for label, c in out.items():
            write_csv(folder / f"quarterly_{label}.csv", c.quarterly_table().reset_index(names="line"))
            p = c.projection
            write_npz(folder / f"paths_{label}.npz", cet1_ratio=p.cet1_ratio, cet1_capital=p.cet1_capital,
                                loan_losses=p.loan_losses, ppnr=p.ppnr, provisions=p.provisions, oci=p.oci,
                                min_ratio=p.min_ratio, scb=p.scb, quarters=np.array(p.quarters))
        ai = out["ai"].projection
        png = capital_path_png(
            {("AI" if k == "ai" else k): (s["path"], s["path_p05"], s["path_p95"]) for k, s in summaries.items()},
            ai.quarters, start=100 * ai.start_ratio, minimum=100 * ai.minimum_ratio,
            title=f"{context.partition_key}: CET1 ratio",
        )  # fmt: skip
        write_bytes(folder / "cet1_path.png", png)
        headline = pd.DataFrame({
            label: {"CET1 start (%)": s["cet1_start"], "CET1 minimum, median (%)": s["cet1_trough"],
                    "CET1 minimum, 5% (%)": s["cet1_trough_p05"], "trough quarter (median path)": s["trough_quarter"],
                    "SCB, median (%)": s["scb"], "paths below 4.5%": s["below_minimum_share"],
                    "PPNR 9q (USD bn)": s["ppnr"]["total"], "pre-tax net income 9q (USD bn)": s["pre_tax_net_income"]}
            for label, s in summaries.items()
        })  # fmt: skip
        nii_cmp = pd.DataFrame({
            "repricing (AI, median)": np.median(out["ai"].nii.nii, axis=0) / 1e9,
            "NIM satellite": balance_sheet.net_interest_income * ratio[:9] / 1e9,
        }, index=list(ai.quarters)).T  # fmt: skip
        breach = float(max(s["below_minimum_share"] for s in summaries.values()))
        return dg.Output(
            out,
            metadata={
                "cet1_path": dg.MetadataValue.md(png_markdown(png, "CET1 ratio path")),
                "headline": dg.MetadataValue.md(headline.round(3).to_markdown()),
                "by_quarter_ai": dg.MetadataValue.md(
                    out["ai"].quarterly_table().round(2).to_markdown() + "\n\nUSD bn, median over samples per line "
                    "(lines of different samples: they need not add up); dividends are not deducted (the Fed's SCB rule)."
                ),
                "nii_repricing_vs_satellite": dg.MetadataValue.md(
                    nii_cmp.round(2).to_markdown() + f"\n\nUSD bn per quarter; used: {capital_settings.nii_method}."
                ),
                "nii_by_line_ai": dg.MetadataValue.md((out["ai"].nii.by_line / 1e9).round(3).to_markdown()
                                                      + "\n\nChange over the run-rate, USD bn per quarter, median."),
                "cet1_trough_ai_pct": dg.MetadataValue.float(round(summaries["ai"]["cet1_trough"], 3)),
                "cet1_trough_traditional_pct": dg.MetadataValue.float(round(summaries["traditional"]["cet1_trough"], 3)),
                "scb_ai_pct": dg.MetadataValue.float(round(summaries["ai"]["scb"], 3)),
                "share_of_paths_below_minimum": dg.MetadataValue.float(breach),
                "summary": dg.MetadataValue.json(summaries),
                "output_path": dg.MetadataValue.path(str(folder)),
            },
        )

    @dg.asset(
        group_name="capital",
        partitions_def=partitions,
        kinds={"numpy", "torch"},
        pool=ACCELERATOR_POOL,
        check_specs=[
            dg.AssetCheckSpec(
                TRADING_WINDOW_CHECK, asset="capital_sensitivity",
                description="Recomputed from sensitivity.csv: a longer trading-shock window takes the worst of more "
                "quarters, so the median CET1 minimum may not rise with the window (1 quarter >= the run's >= 9).",
            )  # fmt: skip
        ],
        description="Sensitivity of the AI set's capital result (the lane used, before any overlay; the overlay's "
        "capital is in the conservativeness asset) to the key capital assumptions, one moved at a time: deposit "
        "beta (+/-0.15), allowance horizon (2 and 8 quarters beside the run's), trading-shock window (1 and 9 "
        "quarters, the book revalued by the engine); CET1 minimum (median and 5%), SCB, losses and PPNR per variant.",
    )
    @retry_transient
    def capital_sensitivity(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        capital_settings: CapitalSettings,
        engine_settings: EngineSettings,
        capital_projection: dict[str, SetCapital],
        granular_shocks: ShockSet,
        portfolio: pd.DataFrame,
        balance_sheet: BalanceSheet,
        nim_satellite: NimSatellite,
        macro_scenarios: MacroScenario,
        fed_history: MacroScenario,
        stress_results: ScenarioStress,
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        from risk_dagster.assets.stress import engine_revaluer

        key = context.partition_key

        def make_evaluator(sheet: BalanceSheet, allowance_quarters: int) -> SetEvaluator:
            return scenario_evaluator(
                key, portfolio, sheet, stress_results, granular_shocks, nim_satellite, macro_scenarios, fed_history,
                capital_settings, allowance_coverage_quarters=allowance_quarters,
            )  # fmt: skip

        frame = capital_sensitivities(
            capital_projection["ai"], granular_shocks, balance_sheet, make_evaluator,
            allowance_quarters=capital_settings.allowance_coverage_quarters,
            trading_quarters=capital_settings.trading_shock_quarters, portfolio=portfolio,
            revaluer=engine_revaluer(engine_settings),
        )  # fmt: skip
        path = write_csv(capital_folder(output_dir, key) / SENSITIVITY_FILE, frame)
        yield trading_window_check(path)
        shown = frame.drop(columns=["base_value"]).round(3)
        yield dg.Output(
            frame,
            metadata={
                "sensitivity": dg.MetadataValue.md(
                    shown.to_markdown(index=False) + "\n\nCET1 in percent of RWA, losses and PPNR in USD bn over nine "
                    "quarters (medians over samples); delta: change of the median CET1 minimum against the run, pp."
                ),
                "largest_move_pp": dg.MetadataValue.float(float(frame["delta_cet1_min_pp"].abs().max())),
                "variants": dg.MetadataValue.int(len(frame) - 1),
                "output_path": dg.MetadataValue.path(str(path)),
            },
        )

    return [capital_projection, capital_sensitivity]


def trading_window_check(path: Path) -> dg.AssetCheckResult:
    """The trading-window ordering, recomputed from the sensitivity file the asset wrote."""
    frame = pd.read_csv(path)
    problems = trading_window_violations(frame)
    return dg.AssetCheckResult(
        check_name=TRADING_WINDOW_CHECK,
        asset_key=dg.AssetKey("capital_sensitivity"),
        passed=not problems,
        description="; ".join(problems) or None,
        metadata={"rows": dg.MetadataValue.int(len(frame)), "file": dg.MetadataValue.path(str(path))},
    )


__all__ = [
    "BALANCE_SHEET_CONTRACT",
    "CAPITAL_SUMMARY_FILE",
    "SENSITIVITY_FILE",
    "TRADING_WINDOW_CHECK",
    "balance_sheet",
    "build_capital_assets",
    "capital_folder",
    "loss_rate_satellites",
    "nim_satellite",
    "scenario_evaluator",
    "trading_window_check",
]
