"""The EBA leg's assets: the euro-area bank, and per EBA scenario its stress, capital and 25 statistics.

The Fed's chain (``stress_results`` ... ``documentation_pack``) values the U.S. bank under the Fed's
method; an EBA scenario partition (``eba-2025-adverse``, ``eba-2025-baseline``) goes through these
instead, on the euro-area bank (book ``euro_portfolio``, balance sheet ``euro_balance_sheet``) under
the EBA's method (:mod:`risk_dagster.capital.eba_set_capital`). The scenario and translation assets
are shared: the same ``granular_shocks`` and ``traditional_shocks`` of the partition. Each EBA asset
refuses a non-EBA partition (and the Fed's refuse an EBA one) with the job to run instead.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from risk_dagster.assets.conservativeness import assess_and_check, chosen_lane, statistic_check_specs
from risk_dagster.assets.contract_checks import contract_check_name, contract_check_specs, validate_and_check
from risk_dagster.assets.retries import retry_transient
from risk_dagster.assets.stress import (
    PARITY_CHECK,
    PORTFOLIO_CONTRACT,
    SENSITIVITIES_CHECK,
    engine_revaluer,
    parity_check,
    sensitivities_check_result,
)
from risk_dagster.assets.capital import BALANCE_SHEET_CONTRACT
from risk_dagster.capital.balance_sheet import BalanceSheet, load_balance_sheet
from risk_dagster.capital.eba_capital import EBA_2025_PUBLISHED, eba_capital_run, euro_balance_sheet_path, load_stage_table
from risk_dagster.capital import eba_sensitivity
from risk_dagster.capital.eba_sensitivity import AS_CONFIGURED
from risk_dagster.capital.eba_set_capital import EbaMarketLosses, EbaSetCapital, eba_market_losses, eba_set_capital
from risk_dagster.capital.loan_losses import FittedLossRates
from risk_dagster.conservativeness.calibration import CalibrationDraws
from risk_dagster.engine.parity import book_parity
from risk_dagster.engine.sensitivities import book_sensitivities, segment_summary, top_factors
from risk_dagster.engine.service import engine_policy
from risk_dagster.errors import InputFileError
from risk_dagster.market.history import FactorHistory
from risk_dagster.portfolio.euro_book import EURO_BOOK_AS_OF, load_euro_book
from risk_dagster.portfolio.positions import PortfolioContractError, load_portfolio
from risk_dagster.portfolio.sample_book import composition
from risk_dagster.report.charts import capital_path_png, png_markdown
from risk_dagster.resources import ACCELERATOR_POOL, CapitalSettings, EngineSettings, OutputDir, RunSettings
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.scenarios.registry import is_eba_scenario
from risk_dagster.storage import write_bytes, write_csv, write_json, write_npz, write_parquet
from risk_dagster.translate.shockset import ShockSet

EBA_JOB = "eba_job"
EURO_PARITY_FILE = "euro_parity.csv"
EURO_SENSITIVITIES_FILE = "euro_sensitivities.parquet"
EBA_CAPITAL_FILE = "eba_capital.json"
EBA_PATHS_FILE = "eba_cet1_paths.npz"
RECONCILES_CHECK = "eba_cet1_path_reconciles"
SENSITIVITY_CHECK = "eba_sensitivity_reruns_the_run"
EBA_SENSITIVITY_FILE = "eba_sensitivity.csv"
STAGES_CHECK = "book_loans_match_stage_table"
N_RESAMPLES = 1000
STAGE_TOLERANCE = 1e-9
"""Relative tolerance of the book-versus-stage-table loan check (the book is built to the euro)."""


def require_eba(scenario: MacroScenario, asset: str) -> None:
    """Refuse a non-EBA partition: the euro-area bank and the EBA method are for EBA scenarios."""
    if not is_eba_scenario(scenario):
        raise dg.Failure(
            description=f"{scenario.scenario_id} is a {scenario.source.upper()} scenario: {asset} runs the EBA method "
            f"on the euro-area bank, for EBA scenarios only; run the scenario job (scenario_job) for it"
        )


def _bn(x: Any) -> float:
    return round(float(x) / 1e9, 3)


# ----------------------------------------------------------------------------- the bank
@dg.asset(
    group_name="portfolio",
    check_specs=contract_check_specs("euro_portfolio", [PORTFOLIO_CONTRACT]),
    kinds={"pandas", "parquet"},
    description="The euro-area bank's positions in EUR (the shipped synthetic bank's unless a book is configured: "
    "sovereign bonds of Italy, France, Germany and Spain, iTraxx-linked corporates, EUR swaps, Euro Stoxx 50 "
    "equities, loans by IFRS 9 stage), gated by the same portfolio contract as the U.S. book.",
)
def euro_portfolio(engine_settings: EngineSettings) -> Iterator[dg.Output | dg.AssetCheckResult]:
    try:
        if engine_settings.euro_portfolio_path:
            book = load_portfolio(Path(engine_settings.euro_portfolio_path))
            book.attrs["as_of"] = EURO_BOOK_AS_OF
            source = engine_settings.euro_portfolio_path
        else:
            book = load_euro_book(validate=True)
            source = "shipped euro sample book"
    except PortfolioContractError as error:
        yield dg.AssetCheckResult(check_name=contract_check_name(PORTFOLIO_CONTRACT), passed=False,
                                  description=str(error)[:2000], metadata={"violations": dg.MetadataValue.json(error.as_dict())})  # fmt: skip
        raise dg.Failure(description=str(error)[:2000]) from None
    yield dg.AssetCheckResult(check_name=contract_check_name(PORTFOLIO_CONTRACT), passed=True, metadata={"positions": len(book)})
    comp = composition(book)
    comp = comp.rename(columns={"notional_bn": "notional (EUR bn)"})
    yield dg.Output(book, metadata={
        "source": source, "dagster/row_count": dg.MetadataValue.int(len(book)),
        "composition": dg.MetadataValue.md(comp.round(3).to_markdown()),
        "currency": ", ".join(sorted(book["currency"].astype(str).unique())),
        "as_of": dg.MetadataValue.text(str(book.attrs.get("as_of"))),
    })  # fmt: skip


@dg.asset(
    group_name="portfolio",
    check_specs=contract_check_specs("euro_balance_sheet", [BALANCE_SHEET_CONTRACT]),
    kinds={"yaml"},
    description="The euro-area bank's starting point (end-2024: CET1, RWA including operational risk, funding, "
    "run-rates, tax, payout, AOCI in CET1), gated by the balance-sheet contract.",
)
def euro_balance_sheet(capital_settings: CapitalSettings) -> Iterator[dg.Output | dg.AssetCheckResult]:
    try:
        sheet = load_balance_sheet(capital_settings.euro_balance_sheet_path or euro_balance_sheet_path())
    except InputFileError as error:
        yield dg.AssetCheckResult(check_name=contract_check_name(BALANCE_SHEET_CONTRACT), passed=False, description=str(error)[:2000])
        raise dg.Failure(description=str(error)[:2000]) from None
    yield from validate_and_check({BALANCE_SHEET_CONTRACT: sheet.to_frame()})
    table = pd.Series(sheet.to_dict()).to_frame("value")
    yield dg.Output(sheet, metadata={
        "source": sheet.source or "built in code", "currency": sheet.currency,
        "cet1_ratio_pct": dg.MetadataValue.float(round(100 * sheet.cet1_ratio, 3)),
        "cet1_bn": dg.MetadataValue.float(sheet.cet1_capital / 1e9), "rwa_bn": dg.MetadataValue.float(sheet.rwa / 1e9),
        "balance_sheet": dg.MetadataValue.md(table.to_markdown()),
    })  # fmt: skip


@dg.asset(
    group_name="portfolio",
    kinds={"torch", "quantlib"},
    pool=ACCELERATOR_POOL,
    check_specs=[dg.AssetCheckSpec(PARITY_CHECK, asset="euro_pricing_parity",
                                   description="Recomputed from euro_parity.csv: each instrument type's largest relative "
                                   "error against QuantLib (on the EUR swap curve) within tolerance.")],  # fmt: skip
    description="QuantLib parity of the euro book: up to 300 market positions priced by the engine on the EUR swap "
    "curve (EBA starting point) and by QuantLib in its own process from the same par quotes, unshocked and under 8 shocks.",
)
@retry_transient
def euro_pricing_parity(output_dir: OutputDir, run_settings: RunSettings, euro_portfolio: pd.DataFrame) -> Iterator[dg.Output | dg.AssetCheckResult]:
    table = book_parity(euro_portfolio, seed=run_settings.seed)
    path = write_csv(output_dir.subdir("engine") / EURO_PARITY_FILE, table.reset_index())
    yield parity_check(path, asset="euro_pricing_parity")
    yield dg.Output(table, metadata={
        "parity": dg.MetadataValue.md(table.to_markdown(floatfmt=".2e") if len(table) else "no QuantLib-priced position"),
        "max_rel_err": dg.MetadataValue.float(float(table["max_rel_err"].max()) if len(table) else 0.0),
        "output_path": dg.MetadataValue.path(str(path)),
    })  # fmt: skip


@dg.asset(
    group_name="stress",
    kinds={"torch", "parquet"},
    pool=ACCELERATOR_POOL,
    description="First-order sensitivities of the euro book (DV01 on the EUR swap knots, CS01 on the sovereign "
    "spreads and iTraxx indices, equity delta), by bump-and-reprice: the deltas statistics 16-25 read.",
)
@retry_transient
def euro_sensitivities(output_dir: OutputDir, engine_settings: EngineSettings, euro_portfolio: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    frame = book_sensitivities(euro_portfolio, dtype=engine_policy(engine_settings.precision).pricing_dtype,
                               device=engine_settings.device)  # fmt: skip
    path = write_parquet(euro_sensitivities_path(output_dir), frame)
    top = top_factors(frame).assign(eur_mn=lambda t: (t["per_reader_unit"] / 1e6).round(3))
    by_segment = (segment_summary(frame) / 1e6).round(3)
    by_segment.index = [f"{scope}: {segment}" for scope, segment in by_segment.index]
    return dg.Output(frame, metadata={
        "top_factors": dg.MetadataValue.md(top[["factor_id", "reader_measure", "eur_mn", "reader_unit"]].to_markdown(index=False)
                                           + "\n\nEUR mn of loss (positive = loss) per reader unit, book total."),
        "by_segment": dg.MetadataValue.md(by_segment.to_markdown() + "\n\nEUR mn of loss; dv01_swap = every EUR swap knot +1bp."),
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "output_path": dg.MetadataValue.path(str(path)),
    })  # fmt: skip


def euro_sensitivities_path(output_dir: OutputDir) -> Path:
    """Where ``euro_sensitivities`` writes its parquet."""
    return output_dir.subdir("stress") / EURO_SENSITIVITIES_FILE


@dg.asset_check(
    asset=euro_sensitivities,
    name=SENSITIVITIES_CHECK,
    blocking=True,
    additional_ins={"euro_portfolio": dg.AssetIn("euro_portfolio")},
    description="Recomputed from the written euro_sensitivities.parquet and the euro book, as for the U.S. book: "
    "segments sum to the total, the linearised loss of small joint moves matches the full revaluation, each factor's "
    "bump revalued again gives its delta and gamma.",
)
def euro_sensitivities_consistent(output_dir: OutputDir, engine_settings: EngineSettings, euro_portfolio: pd.DataFrame) -> dg.AssetCheckResult:
    return sensitivities_check_result(euro_sensitivities_path(output_dir), euro_portfolio, engine_settings)


# ----------------------------------------------------------------------------- per EBA scenario
def build_eba_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """``eba_stress_results``, ``eba_capital_projection`` and ``eba_conservativeness`` per scenario."""

    @dg.asset(
        group_name="stress",
        partitions_def=partitions,
        kinds={"torch"},
        pool=ACCELERATOR_POOL,
        description="The euro book's fair-valued positions revalued instantaneously under each sample's first-year "
        "shocks (AI and traditional sets), both books in the sample's worst quarter for their sum: the trading "
        "book's market-risk loss and the FVOCI securities' revaluation (EUR, losses positive).",
    )
    @retry_transient
    def eba_stress_results(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        engine_settings: EngineSettings,
        euro_portfolio: pd.DataFrame,
        macro_scenarios: MacroScenario,
        granular_shocks: ShockSet,
        traditional_shocks: ShockSet,
    ) -> dg.Output[dict[str, EbaMarketLosses]]:
        require_eba(macro_scenarios, "eba_stress_results")
        folder = output_dir.subdir("stress", context.partition_key)
        revaluer = engine_revaluer(engine_settings)
        out = {label: eba_market_losses(euro_portfolio, shocks, revaluer)
               for label, shocks in (("ai", granular_shocks), ("traditional", traditional_shocks))}  # fmt: skip
        for label, m in out.items():
            write_parquet(folder / f"eba_market_losses_{label}.parquet",
                          pd.DataFrame({"trading": m.trading, "fvoci": m.fvoci, "worst_quarter": m.worst_quarter}))  # fmt: skip
        table = pd.DataFrame({
            f"{label} {stat}": [getattr(np, stat)(m.trading) / 1e9, getattr(np, stat)(m.fvoci) / 1e9]
            for label, m in out.items() for stat in ("median", "mean")
        }, index=["market-risk loss (trading)", "FVOCI revaluation loss"])  # fmt: skip
        segments = pd.DataFrame({label: m.by_segment.median() / 1e9 for label, m in out.items()})
        meta = next(iter(out["ai"].results.values())).metadata if out["ai"].results else {}
        return dg.Output(out, metadata={
            "losses": dg.MetadataValue.md(table.round(3).to_markdown() + "\n\nEUR bn, instantaneous, the sample's worst "
                                          "first-year quarter for trading + FVOCI; a negative loss is a gain."),
            "by_segment": dg.MetadataValue.md(segments.round(3).to_markdown() + "\n\nEUR bn, median over samples."),
            "valuation_inputs": dg.MetadataValue.json(meta.get("as_of", {})),
            "output_path": dg.MetadataValue.path(str(folder)),
        })  # fmt: skip

    @dg.asset(
        group_name="capital",
        partitions_def=partitions,
        kinds={"numpy"},
        check_specs=[
            dg.AssetCheckSpec(RECONCILES_CHECK, asset="eba_capital_projection", blocking=True,
                              description="Recomputed from eba_cet1_paths.npz: every sample's CET1 capital moves by net "
                              "profit - dividends + OCI each year, the ratio is capital / RWA, the depletion is the start "
                              "less the minimum, and each segment's IFRS 9 exposure is constant (static balance sheet)."),
            dg.AssetCheckSpec(STAGES_CHECK, asset="eba_capital_projection", blocking=True,
                              description="The book's loans sum, by segment, to the stage table's exposure (the credit "
                              "losses are of the loans that are priced)."),
        ],  # fmt: skip
        description="CET1 capital under the EBA's method, per sample of the AI and traditional sets: static balance "
        "sheet, 2025-2027 annual steps, IFRS 9 credit losses by stage (PDs moved by the macro path through the loss-rate "
        "satellites' elasticities), NII from the book's repricing gap with the EBA's adverse cap, the market-risk loss "
        "and FVOCI revaluation in year 1, taxes, payout; the CET1 ratio path, its minimum and the depletion, set beside "
        "the EBA's published 2025 aggregate.",
    )
    def eba_capital_projection(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        capital_settings: CapitalSettings,
        engine_settings: EngineSettings,
        euro_portfolio: pd.DataFrame,
        euro_balance_sheet: BalanceSheet,
        loss_rate_satellites: FittedLossRates,
        macro_scenarios: MacroScenario,
        granular_shocks: ShockSet,
        traditional_shocks: ShockSet,
        eba_stress_results: dict[str, EbaMarketLosses],
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        require_eba(macro_scenarios, "eba_capital_projection")
        key = context.partition_key
        folder = output_dir.subdir("capital", key)
        sheet = euro_balance_sheet
        stages = load_stage_table(capital_settings.euro_stage_table_path or None)
        yield stage_table_check(euro_portfolio, stages)
        base = eba_capital_run(macro_scenarios, loss_rate_satellites.satellite, balance_sheet=sheet, stages=stages,
                               payout_ratio=capital_settings.eba_payout_ratio)  # fmt: skip
        revaluer = engine_revaluer(engine_settings)
        out: dict[str, EbaSetCapital] = {
            label: eba_set_capital(label, base, shocks, euro_portfolio, sheet, revaluer, kind=macro_scenarios.kind,
                                   payout_ratio=capital_settings.eba_payout_ratio, market=eba_stress_results[label])
            for label, shocks in (("ai", granular_shocks), ("traditional", traditional_shocks))
        }  # fmt: skip
        write_eba_paths(folder / EBA_PATHS_FILE, out)
        summaries = {label: c.summary() for label, c in out.items()}
        write_json(folder / EBA_CAPITAL_FILE, summaries)
        write_parquet(folder / "eba_ifrs9_stages.parquet", base.credit.table)
        for label, c in out.items():
            write_csv(folder / f"eba_years_{label}.csv", c.year_table().reset_index(names="line"))
        yield reconcile_check(folder / EBA_PATHS_FILE)
        ai = out["ai"]
        ticks = [f"{ai.years[0] - 1} (start)", *[str(y) for y in ai.years]]
        png = capital_path_png(
            {("AI" if k == "ai" else k): (list(100 * np.median(c.cet1_ratio[:, 1:], axis=0)),
                                          list(100 * np.quantile(c.cet1_ratio[:, 1:], 0.05, axis=0)),
                                          list(100 * np.quantile(c.cet1_ratio[:, 1:], 0.95, axis=0))) for k, c in out.items()},
            [str(y) for y in ai.years], start=100 * float(ai.cet1_ratio[0, 0]), minimum=100 * sheet.minimum_cet1_ratio,
            title=f"{key}: CET1 ratio (EBA method, year ends)", tick_labels=ticks,
        )  # fmt: skip
        write_bytes(folder / "eba_cet1_path.png", png)
        published = pd.DataFrame({
            "this bank (AI, median)": [summaries["ai"]["cet1_depletion_bp_median"], 100 * summaries["ai"]["cet1_ratio_end_median"]],
            "this bank (traditional, median)": [summaries["traditional"]["cet1_depletion_bp_median"],
                                                100 * summaries["traditional"]["cet1_ratio_end_median"]],
            "EBA 2025, 64 banks (published)": [EBA_2025_PUBLISHED["cet1_depletion_bp"], 100 * EBA_2025_PUBLISHED["cet1_ratio_end_2027"]]
            if macro_scenarios.kind == "adverse" else [np.nan, np.nan],
        }, index=["CET1 depletion to the minimum (bp)", "CET1 ratio end-2027 (%)"])  # fmt: skip
        credit = (base.credit.impairments() / 1e9).round(3)
        yield dg.Output(out, metadata={
            "cet1_path": dg.MetadataValue.md(png_markdown(png, "CET1 ratio path")),
            "beside_published": dg.MetadataValue.md(published.round(1).to_markdown() + "\n\n" + EBA_2025_PUBLISHED["source"]),
            "by_year_ai": dg.MetadataValue.md(ai.year_table().round(2).to_markdown() + "\n\nEUR bn, median over samples "
                                              "per line; the ratio in percent."),
            "cet1_walk_ai": dg.MetadataValue.md(ai.cet1_walk().round(1).to_markdown() + "\n\nbp of RWA over 2025-2027; the "
                                                "central sample's lines add up to its change of the CET1 ratio."),
            "impairments_by_segment": dg.MetadataValue.md(credit.to_markdown() + "\n\nEUR bn per year, IFRS 9 (change of "
                                                          "the stage-weighted ECL)."),
            "pd_multipliers": dg.MetadataValue.json({k: [round(v, 3) for v in p] for k, p in base.multipliers.items()}),
            "cet1_depletion_ai_bp": dg.MetadataValue.float(summaries["ai"]["cet1_depletion_bp_median"]),
            "cet1_min_ai_pct": dg.MetadataValue.float(round(100 * summaries["ai"]["cet1_ratio_min_median"], 3)),
            "not_modelled": dg.MetadataValue.json(summaries["ai"]["not_modelled"]),
            "summary": dg.MetadataValue.json(summaries),
            "output_path": dg.MetadataValue.path(str(folder)),
        })  # fmt: skip

    @dg.asset(
        group_name="capital",
        partitions_def=partitions,
        kinds={"numpy"},
        check_specs=[
            dg.AssetCheckSpec(SENSITIVITY_CHECK, asset="eba_capital_sensitivity",
                              description="Recomputed from eba_sensitivity.csv and the capital asset's saved paths: the "
                              "'as configured' row is the run's median depletion, every delta is its row less that one, "
                              "halving the PD stress never deepens the depletion and doubling it never lessens it, and "
                              "paying no dividend never deepens it."),
        ],  # fmt: skip
        description="How the EBA depletion moves with the method's key assumptions (the AI set, the same market losses): "
        "the residential mortgages' PD stress halved (the largest transfer of the chain: the U.S. first-lien "
        "elasticity), every segment's halved or doubled, no payout, the FVOCI revaluation outside CET1, no adverse "
        "NII cap.",
    )
    def eba_capital_sensitivity(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        capital_settings: CapitalSettings,
        engine_settings: EngineSettings,
        euro_portfolio: pd.DataFrame,
        euro_balance_sheet: BalanceSheet,
        macro_scenarios: MacroScenario,
        granular_shocks: ShockSet,
        eba_capital_projection: dict[str, EbaSetCapital],
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        require_eba(macro_scenarios, "eba_capital_sensitivity")
        folder = output_dir.subdir("capital", context.partition_key)
        table = eba_sensitivity.eba_capital_sensitivity(eba_capital_projection["ai"], granular_shocks, euro_portfolio, euro_balance_sheet,
                                        engine_revaluer(engine_settings), kind=macro_scenarios.kind,
                                        payout_ratio=capital_settings.eba_payout_ratio)  # fmt: skip
        path = write_csv(folder / EBA_SENSITIVITY_FILE, table)
        yield sensitivity_check(path, folder / EBA_PATHS_FILE)
        yield dg.Output(table, metadata={
            "sensitivity": dg.MetadataValue.md(table.round(2).to_markdown(index=False) + "\n\nMedian over the AI set's "
                                               "samples; depletion = start less the minimum CET1 ratio, bp of RWA."),
            "output_path": dg.MetadataValue.path(str(path)),
        })  # fmt: skip

    @dg.asset(
        group_name="conservativeness",
        partitions_def=partitions,
        kinds={"numpy", "torch"},
        pool=ACCELERATOR_POOL,
        check_specs=statistic_check_specs("eba_conservativeness"),
        description="The 25 conservativeness statistics of every registry lane's AI set against the traditional set "
        "on the euro-area bank under the EBA method (statistics 1-15 from the per-sample EBA projections over "
        "2025-2027, 16-20 from the euro book's sensitivities over twelve quarters, 21-25 from the translators' "
        "calibration on history with the euro book's deltas), with the overlay search when the chosen lane fails any.",
    )
    @retry_transient
    def eba_conservativeness(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        run_settings: RunSettings,
        engine_settings: EngineSettings,
        capital_settings: CapitalSettings,
        eba_capital_projection: dict[str, EbaSetCapital],
        granular_shocks: ShockSet,
        lane_shocks: dict[str, ShockSet],
        traditional_shocks: ShockSet,
        euro_sensitivities: pd.DataFrame,
        calibration_backtest: CalibrationDraws,
        euro_portfolio: pd.DataFrame,
        euro_balance_sheet: BalanceSheet,
        macro_scenarios: MacroScenario,
        fed_history: MacroScenario,
        factor_history: FactorHistory,
        plausibility_filter: str,
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        require_eba(macro_scenarios, "eba_conservativeness")
        chosen = chosen_lane(context.partition_key, lane_shocks, granular_shocks)
        ai_capital = eba_capital_projection["ai"]
        revaluer = engine_revaluer(engine_settings)

        def evaluate(label: str, shocks: ShockSet) -> EbaSetCapital:
            return eba_set_capital(label, ai_capital.base, shocks, euro_portfolio, euro_balance_sheet, revaluer,
                                   kind=macro_scenarios.kind, payout_ratio=capital_settings.eba_payout_ratio)  # fmt: skip

        yield from assess_and_check(
            context, output_dir, asset="eba_conservativeness", chosen=chosen, capital=eba_capital_projection,
            lane_shocks=lane_shocks, traditional_shocks=traditional_shocks, sensitivities=euro_sensitivities,
            calibration=calibration_backtest, evaluate=evaluate, macro_scenarios=macro_scenarios,
            fed_history=fed_history, factor_history=factor_history, plausibility_filter=plausibility_filter,
            seed=run_settings.seed, currency=euro_balance_sheet.currency,
        )  # fmt: skip

    return [eba_stress_results, eba_capital_projection, eba_capital_sensitivity, eba_conservativeness]


# ----------------------------------------------------------------------------- checks
def write_eba_paths(path: Path, sets: dict[str, EbaSetCapital]) -> Path:
    """Every set's per-sample paths, for :func:`reconcile_check` (and readers)."""
    arrays: dict[str, np.ndarray] = {}
    for label, c in sets.items():
        table = c.base.credit.table
        ead = table.assign(total=table["ead_1"] + table["ead_2"] + table["ead_3"]).pivot(index="year", columns="segment", values="total")
        arrays.update({f"{label}__cet1_ratio": c.cet1_ratio, f"{label}__cet1_capital": c.cet1_capital,
                       f"{label}__net_profit": c.net_profit, f"{label}__dividends": c.dividends, f"{label}__oci": c.oci,
                       f"{label}__rwa": np.array([c.rwa]), f"{label}__depletion": c.depletion,
                       f"{label}__segment_ead": ead.to_numpy()})  # fmt: skip
    return write_npz(path, **arrays)


def reconcile_check(path: Path) -> dg.AssetCheckResult:
    """The CET1 paths read back from ``path`` and their arithmetic recomputed (see the check's description)."""
    problems: list[str] = []
    with np.load(path) as z:
        labels = sorted({k.split("__")[0] for k in z.files})
        for label in labels:
            cap, ratio = z[f"{label}__cet1_capital"], z[f"{label}__cet1_ratio"]
            flow = z[f"{label}__net_profit"] - z[f"{label}__dividends"] + z[f"{label}__oci"]
            step = np.abs(cap[:, 1:] - cap[:, :-1] - flow).max(initial=0.0) / max(abs(float(cap[0, 0])), 1.0)
            if not step <= 1e-9:
                problems.append(f"{label}: CET1 capital does not move by net profit - dividends + OCI (off by {step:.3g} of CET1)")
            rerr = np.abs(ratio - cap / float(z[f"{label}__rwa"][0])).max(initial=0.0)
            if not rerr <= 1e-12:
                problems.append(f"{label}: CET1 ratio is not capital / RWA (off by {rerr:.3g})")
            dep = ratio[:, 0] - ratio[:, 1:].min(axis=1)
            if not np.allclose(dep, z[f"{label}__depletion"], rtol=0, atol=1e-12):
                problems.append(f"{label}: depletion is not the start less the minimum")
            ead = z[f"{label}__segment_ead"]
            drift = np.abs(ead - ead[:1]).max(initial=0.0) / max(float(np.abs(ead).max(initial=1.0)), 1.0)
            if not drift <= 1e-9:
                problems.append(f"{label}: a segment's IFRS 9 exposure changes over the years (static balance sheet), by {drift:.3g}")
    return dg.AssetCheckResult(
        check_name=RECONCILES_CHECK, asset_key=dg.AssetKey("eba_capital_projection"), passed=not problems,
        description="; ".join(problems)[:2000] or None,
        metadata={"sets": dg.MetadataValue.json(labels), "file": dg.MetadataValue.path(str(path))},
    )  # fmt: skip


def sensitivity_check(path: Path, paths_file: Path) -> dg.AssetCheckResult:
    """The sensitivity table read back and set against the capital asset's saved AI paths (see the check)."""
    table = pd.read_csv(path).set_index("assumption")
    problems: list[str] = []
    with np.load(paths_file) as z:
        run = 1e4 * float(np.median(z["ai__depletion"]))
    first = float(table.loc[AS_CONFIGURED, "depletion_bp_median"])
    if not abs(first - run) <= 1e-6:
        problems.append(f"'as configured' depletion {first:.6g} bp is not the run's {run:.6g} bp")
    deltas = table["depletion_bp_median"] - first
    if not np.allclose(deltas.to_numpy(), table["delta_depletion_bp"].to_numpy(), rtol=0, atol=1e-6):
        problems.append("a delta is not its row's depletion less the 'as configured' one")
    order = [("pd_stress_halved", "<="), ("pd_stress_doubled", ">="), ("mortgage_pd_stress_halved", "<="), ("no_payout", "<=")]
    for name, op in order:
        if name in table.index:
            value = float(table.loc[name, "depletion_bp_median"])
            ok = value <= first + 1e-6 if op == "<=" else value >= first - 1e-6
            if not ok:
                problems.append(f"{name}: depletion {value:.1f} bp should be {op} the run's {first:.1f} bp")
    return dg.AssetCheckResult(
        check_name=SENSITIVITY_CHECK, asset_key=dg.AssetKey("eba_capital_sensitivity"), passed=not problems,
        description="; ".join(problems)[:2000] or None,
        metadata={"run_depletion_bp": dg.MetadataValue.float(run), "rows": dg.MetadataValue.int(len(table)),
                  "file": dg.MetadataValue.path(str(path))},
    )  # fmt: skip


def stage_table_check(book: pd.DataFrame, stages: list) -> dg.AssetCheckResult:
    """The book's loan EAD by segment against the stage table's (relative :data:`STAGE_TOLERANCE`)."""
    loans = book[book["instrument_type"].astype(str) == "loan"]
    in_book = loans.groupby(loans["segment"].astype(str))["ead"].sum()
    in_table = pd.Series({s.segment: float(sum(s.ead)) for s in stages})
    both = pd.DataFrame({"book": in_book, "stage_table": in_table}).fillna(0.0)
    both["rel_diff"] = (both["book"] - both["stage_table"]).abs() / both["stage_table"].where(both["stage_table"] > 0, 1.0)
    bad = both[~(both["rel_diff"] <= STAGE_TOLERANCE)]
    return dg.AssetCheckResult(
        check_name=STAGES_CHECK, asset_key=dg.AssetKey("eba_capital_projection"), passed=bad.empty,
        description=None if bad.empty else "; ".join(
            f"{seg}: book {r.book / 1e9:.3f}bn, stage table {r.stage_table / 1e9:.3f}bn" for seg, r in bad.iterrows())[:2000],
        metadata={"by_segment_bn": dg.MetadataValue.md((both[["book", "stage_table"]] / 1e9).round(3).to_markdown())},
    )  # fmt: skip


__all__ = [
    "EBA_JOB",
    "build_eba_assets",
    "euro_balance_sheet",
    "euro_portfolio",
    "euro_pricing_parity",
    "euro_sensitivities",
    "euro_sensitivities_consistent",
    "euro_sensitivities_path",
    "reconcile_check",
    "require_eba",
    "sensitivity_check",
    "stage_table_check",
    "write_eba_paths",
]
