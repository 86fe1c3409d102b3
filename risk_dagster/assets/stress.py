"""Portfolio and stress assets: the book, gated by its contract, revalued under each scenario set."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from risk_dagster.assets.contract_checks import (
    contract_check_name,
    contract_check_specs,
)
from risk_dagster.capital.balance_sheet import BalanceSheet
from risk_dagster.capital.intraday import intraday_trading_stress, intraday_violations
from risk_dagster.capital.loan_losses import FittedLossRates, project_loan_losses
from risk_dagster.capital.loss_rates import scenario_drivers
from risk_dagster.capital.scenario_capital import LOSS_LINE_NOTES, LOSS_LINES, ScenarioStress, scenario_stress
from risk_dagster.engine.losses import top_contributors
from risk_dagster.engine.sensitivities import (
    DEFAULT_BUMPS,
    LOAN_SCOPE,
    MARKET_SCOPE,
    book_sensitivities,
    segment_summary,
    sensitivity_consistency,
    top_factors,
)
from risk_dagster.engine.parity import PARITY_TOLERANCE, book_parity
from risk_dagster.engine.service import engine_policy, revalue_book
from risk_dagster.portfolio.positions import PortfolioContractError, load_portfolio
from risk_dagster.portfolio.sample_book import composition, load_sample_book
from risk_dagster.report.charts import loss_histogram_png, png_markdown
from risk_dagster.assets.retries import retry_transient
from risk_dagster.resources import ACCELERATOR_POOL, CapitalSettings, EngineSettings, OutputDir, RunSettings
from risk_dagster.market.snapshot import MarketSnapshot, read_snapshot
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.scenarios.registry import is_eba_scenario
from risk_dagster.storage import write_bytes, write_csv, write_json, write_npz, write_parquet
from risk_dagster.translate.shockset import ShockSet

PORTFOLIO_CONTRACT = "portfolio_positions"
SENSITIVITIES_CHECK = "sensitivities_consistent"
SENSITIVITIES_FILE = "sensitivities.parquet"


@dg.asset(
    group_name="portfolio",
    check_specs=contract_check_specs("portfolio", [PORTFOLIO_CONTRACT]),
    kinds={"pandas", "parquet"},
    description="The bank's positions (the shipped 10,000-position sample book unless a book is configured), "
    "gated by the portfolio contract.",
)
def portfolio(engine_settings: EngineSettings) -> Iterator[dg.Output | dg.AssetCheckResult]:
    try:
        if engine_settings.portfolio_path:
            book = load_portfolio(Path(engine_settings.portfolio_path))
            source = engine_settings.portfolio_path
            if engine_settings.portfolio_as_of:
                book.attrs["as_of"] = engine_settings.portfolio_as_of  # the engine measures terms from it
        else:
            book = load_sample_book(validate=True)
            source = "shipped sample book"
    except PortfolioContractError as error:
        yield dg.AssetCheckResult(
            check_name=contract_check_name(PORTFOLIO_CONTRACT),
            passed=False,
            description=str(error)[:2000],
            metadata={"violations": dg.MetadataValue.json(error.as_dict())},
        )
        raise dg.Failure(description=str(error)[:2000]) from None
    yield dg.AssetCheckResult(
        check_name=contract_check_name(PORTFOLIO_CONTRACT), passed=True, metadata={"positions": len(book)}
    )
    yield dg.Output(
        book,
        metadata={
            "source": source,
            "dagster/row_count": dg.MetadataValue.int(len(book)),
            "composition": dg.MetadataValue.md(composition(book).to_markdown()),
            "as_of": dg.MetadataValue.text(str(book.attrs.get("as_of") or "the scenario's jump-off")),
        },
    )


def sensitivities_path(output_dir: OutputDir) -> Path:
    """Where the ``sensitivities`` asset writes its parquet (the CSV sits next to it)."""
    return output_dir.subdir("stress") / SENSITIVITIES_FILE


@dg.asset(
    group_name="stress",
    kinds={"torch", "parquet"},
    pool=ACCELERATOR_POOL,
    description="First-order sensitivities of the book's loss to every risk factor it depends on (DV01 by "
    "tenor, CS01 by curve, equity and FX delta, vega), by segment and total, by bump-and-reprice at the "
    "valuation date through the engine (central differences). Loans are a separate scope: the sensitivity "
    "of the first quarter's expected credit loss (the engine's loan kernel is a path model).",
)
@retry_transient
def sensitivities(
    context: dg.AssetExecutionContext,
    output_dir: OutputDir,
    engine_settings: EngineSettings,
    portfolio: pd.DataFrame,
) -> dg.Output[pd.DataFrame]:
    t0 = time.perf_counter()
    precision = engine_policy(engine_settings.precision).pricing_dtype
    frame = book_sensitivities(portfolio, dtype=precision, device=engine_settings.device)
    seconds = time.perf_counter() - t0
    path = write_parquet(sensitivities_path(output_dir), frame)
    csv = write_csv(path.with_suffix(".csv"), frame)
    top = top_factors(frame).assign(per_reader_unit=lambda t: (t["per_reader_unit"] / 1e6).round(3))
    top = top.rename(columns={"per_reader_unit": "usd_mn"})[["factor_id", "reader_measure", "usd_mn", "reader_unit"]]
    by_segment = (segment_summary(frame) / 1e6).round(3)
    by_segment.index = [f"{scope}: {segment}" for scope, segment in by_segment.index]
    context.log.info("sensitivities: %d rows, %d factors, %.2f s", len(frame), frame["factor_id"].nunique(), seconds)
    return dg.Output(
        frame,
        metadata={
            "top_factors": dg.MetadataValue.md(
                top.to_markdown(index=False) + "\n\nUSD mn of loss (positive = loss) per reader unit, market "
                "positions, book total; the largest five of each class."
            ),
            "by_segment": dg.MetadataValue.md(
                by_segment.to_markdown() + "\n\nUSD mn of loss: dv01 = every Treasury knot +1bp (dv01_swap: the "
                "foreign swap curves), cs01 = every credit curve +1bp, equity/fx/real-estate delta = every such "
                f"factor +1% (FX as quoted), vega = +1 vol point. `{MARKET_SCOPE}`: revalued positions; "
                f"`{LOAN_SCOPE}`: change of the first quarter's expected credit loss of the loans (informational, "
                "not in the market totals)."
            ),
            "dagster/row_count": dg.MetadataValue.int(len(frame)),
            "n_factors": dg.MetadataValue.int(int(frame["factor_id"].nunique())),
            "bumps": dg.MetadataValue.json(DEFAULT_BUMPS),
            "valuation_date": frame.attrs.get("valuation_date", ""),
            "engine": dg.MetadataValue.json({k: frame.attrs.get(k) for k in ("dtype", "device", "n_positions", "n_loans")}),
            "seconds": dg.MetadataValue.float(round(seconds, 3)),
            "output_path": dg.MetadataValue.path(str(path)),
            "csv_path": dg.MetadataValue.path(str(csv)),
        },
    )


@dg.asset_check(
    asset=sensitivities,
    name=SENSITIVITIES_CHECK,
    blocking=True,
    additional_ins={"portfolio": dg.AssetIn("portfolio")},
    description="Recomputed from the written sensitivities.parquet and the book: segments sum to the total "
    "(1e-9 relative); the linearised loss of 32 small joint random moves matches the full revaluation's odd part "
    "(antithetic pairs) within 2% of the gross first-order move; each factor's +-bump, revalued again, gives its "
    "delta and gamma (1e-6).",
)
def sensitivities_consistent(
    output_dir: OutputDir, engine_settings: EngineSettings, portfolio: pd.DataFrame
) -> dg.AssetCheckResult:
    return sensitivities_check_result(sensitivities_path(output_dir), portfolio, engine_settings)


def sensitivities_check_result(path: Path, portfolio: pd.DataFrame, engine_settings: EngineSettings) -> dg.AssetCheckResult:
    """The sensitivities file at ``path`` recomputed against ``portfolio`` (the U.S. book's check and the euro book's)."""
    if not path.is_file():
        return dg.AssetCheckResult(passed=False, description=f"{path} is missing")
    frame = pd.read_parquet(path)
    precision = engine_policy(engine_settings.precision).pricing_dtype
    result = sensitivity_consistency(frame, portfolio, dtype=precision, device=engine_settings.device)
    description = "; ".join(result.failures)[:2000] if result.failures else (
        f"segments add up; linearised vs full revaluation within {result.linear_max_rel_error:.3%} of the gross "
        f"move (odd part; {result.linearisation_max_rel_error:.2%} with the curvature), bumps recomputed within "
        f"{result.factor_max_rel_error:.1e}"
    )
    return dg.AssetCheckResult(
        passed=result.passed,
        description=description,
        metadata={
            "segment_sum_max_rel_error": dg.MetadataValue.float(float(result.segment_sum_max_rel_error)),
            "linear_max_rel_error": dg.MetadataValue.float(float(result.linear_max_rel_error)),
            "linearisation_max_rel_error": dg.MetadataValue.float(float(result.linearisation_max_rel_error)),
            "factor_max_rel_error": dg.MetadataValue.float(float(result.factor_max_rel_error)),
            "worst_tolerance_ratio": dg.MetadataValue.float(float(result.worst_tolerance_ratio)),
            "details": dg.MetadataValue.json(result.to_metadata()),
            "path": dg.MetadataValue.path(str(path)),
        },
    )


def engine_revaluer(engine_settings: EngineSettings) -> Any:
    """The run's engine as a :data:`~risk_dagster.capital.market_lines.Revaluer`."""

    def revaluer(positions: pd.DataFrame, shocks: ShockSet, quarters: Any, age_book: bool) -> Any:
        return revalue_book(positions, shocks, engine_settings, list(quarters), age_book)

    return revaluer


PARITY_FILE = "parity.csv"
PARITY_CHECK = "engine_matches_quantlib"


def parity_path(output_dir: OutputDir) -> Path:
    """Where ``pricing_parity`` writes its table."""
    return output_dir.subdir("engine") / PARITY_FILE


@dg.asset(
    group_name="portfolio",
    kinds={"torch", "quantlib"},
    pool=ACCELERATOR_POOL,
    check_specs=[
        dg.AssetCheckSpec(
            PARITY_CHECK, asset="pricing_parity",
            description=f"Recomputed from parity.csv: every instrument type's largest relative error against QuantLib "
            f"is at most {PARITY_TOLERANCE:g}, and the 'all' row is the largest of them.",
        )  # fmt: skip
    ],
    description="QuantLib parity of the run's own book: up to 300 market positions (evenly spaced) priced by the "
    "engine in float64 and by QuantLib in its own process, unshocked and under 8 instantaneous shocks; the largest "
    "and median relative error by instrument type (loans and MBS have no QuantLib instrument here).",
)
@retry_transient
def pricing_parity(
    output_dir: OutputDir, run_settings: RunSettings, portfolio: pd.DataFrame
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    table = book_parity(portfolio, seed=run_settings.seed)
    path = write_csv(parity_path(output_dir), table.reset_index())
    yield parity_check(path)
    yield dg.Output(
        table,
        metadata={
            "parity": dg.MetadataValue.md(table.to_markdown(floatfmt=".2e") if len(table) else "no QuantLib-priced position"),
            "max_rel_err": dg.MetadataValue.float(float(table["max_rel_err"].max()) if len(table) else 0.0),
            "positions": dg.MetadataValue.int(int(table.loc["all", "positions"]) if "all" in table.index else 0),
            "output_path": dg.MetadataValue.path(str(path)),
        },
    )


def parity_check(path: Path, asset: str = "pricing_parity") -> dg.AssetCheckResult:
    """The parity table read back: within tolerance by type, and the 'all' row their maximum."""
    frame = pd.read_csv(path)
    problems = []
    by_type = frame[frame["instrument_type"] != "all"]
    for row in by_type.itertuples(index=False):
        if not float(row.max_rel_err) <= PARITY_TOLERANCE:
            problems.append(f"{row.instrument_type}: {float(row.max_rel_err):.3g} > {PARITY_TOLERANCE:g}")
    overall = frame[frame["instrument_type"] == "all"]
    if len(by_type) and (overall.empty or not np.isclose(float(overall["max_rel_err"].iloc[0]), by_type["max_rel_err"].max(), rtol=1e-12, atol=0)):
        problems.append("the 'all' row is not the largest error of the instrument types")
    return dg.AssetCheckResult(
        check_name=PARITY_CHECK,
        asset_key=dg.AssetKey(asset),
        passed=not problems,
        description="; ".join(problems) or None,
        metadata={"types": dg.MetadataValue.int(len(by_type)), "tolerance": PARITY_TOLERANCE,
                  "file": dg.MetadataValue.path(str(path))},
    )  # fmt: skip


def build_stress_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The per-scenario stress asset for the given partitions."""

    @dg.asset(
        group_name="stress",
        partitions_def=partitions,
        kinds={"torch", "statsmodels"},
        pool=ACCELERATOR_POOL,
        description="The Fed's loss lines over PQ1-PQ9 for the AI and the traditional scenario sets, per sample: "
        "loan losses by segment (loss-rate satellites on the scenario's macro path, scaled to the book's PD/LGD, "
        "common random numbers), the trading book's instantaneous global-market-shock loss, AFS fair-value losses "
        "along the aged path, HTM credit losses, operational losses; losses positive, nine-quarter cumulative.",
    )
    @retry_transient
    def stress_results(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        engine_settings: EngineSettings,
        capital_settings: CapitalSettings,
        run_settings: RunSettings,
        portfolio: pd.DataFrame,
        balance_sheet: BalanceSheet,
        loss_rate_satellites: FittedLossRates,
        macro_scenarios: MacroScenario,
        fed_history: MacroScenario,
        granular_shocks: ShockSet,
        traditional_shocks: ShockSet,
        lane_shocks: dict[str, ShockSet],
    ) -> dg.Output[ScenarioStress]:
        if is_eba_scenario(macro_scenarios):
            raise dg.Failure(f"{context.partition_key} is an EBA scenario: the euro-area bank under the EBA method runs "
                             "it (eba_job: eba_stress_results), not the U.S. bank under the Fed's")
        t0 = time.perf_counter()
        folder = output_dir.subdir("stress", context.partition_key)
        sets = {"ai": granular_shocks, "traditional": traditional_shocks}
        drivers = scenario_drivers(fed_history, macro_scenarios)
        # as many loan-loss draws as the largest set of the scenario, every lane's included (the
        # conservativeness test revalues each lane's set on the same draws: common random numbers)
        n_loans = max(s.n_samples for s in (*sets.values(), *lane_shocks.values()))
        loans = project_loan_losses(
            loss_rate_satellites.satellite, drivers, portfolio, loss_rate_satellites.rates,
            n_loans, run_settings.seed, jump_off=drivers.index.min() - 1,
        )  # fmt: skip

        stress, results = scenario_stress(
            context.partition_key, portfolio, sets, loans, engine_revaluer(engine_settings), balance_sheet,
            trading_quarters=capital_settings.trading_shock_quarters,
        )  # fmt: skip
        summaries = {label: stress.summary(label) for label in sets}
        by_line = {label: stress.loss_lines(label) for label in sets}
        for label in sets:
            write_parquet(folder / f"loss_lines_{label}.parquet", by_line[label])
        write_npz(folder / "loan_losses.npz", losses=loans.losses, rates=loans.rates,
                            segments=np.array(loans.segments), quarters=np.array(loans.quarters))
        write_json(folder / "loss_summary.json", summaries)
        totals = {("AI" if k == "ai" else k): by_line[k]["total"].to_numpy() for k in sets}
        png = loss_histogram_png(totals, title=f"{context.partition_key}: nine-quarter total loss")
        write_bytes(folder / "loss_distribution.png", png)
        lines = pd.DataFrame({
            f"{label} {stat}": getattr(by_line[label], stat)() / 1e9
            for label in sets for stat in ("median", "mean")
        }).loc[list(LOSS_LINES)]  # fmt: skip
        lines["definition"] = [LOSS_LINE_NOTES[k] for k in lines.index]
        dist = pd.DataFrame({label: summaries[label]["loss_distribution"] for label in sets})
        trading = pd.DataFrame({label: stress.market[label].trading.by_segment.median() / 1e9 for label in sets})
        loan_table = loans.summary().round(3)
        meta = results["ai"].get("afs", results["ai"].get("trading"))
        meta_info = meta.metadata if meta is not None else {}
        seconds = time.perf_counter() - t0
        context.log.info("stress_results %s: %.1f s", context.partition_key, seconds)
        metadata: dict[str, Any] = {
            "loss_lines": dg.MetadataValue.md(lines.round(2).to_markdown() + "\n\nUSD bn over PQ1-PQ9, losses positive "
                                              "(a negative AFS loss is a fair-value gain)."),
            "loss_distribution": dg.MetadataValue.md((dist).round(2).to_markdown() + "\n\nTotal loss L (USD bn), per sample."),
            "loan_loss_rates": dg.MetadataValue.md(
                loan_table.to_markdown() + "\n\nNine-quarter loss rates in percent of average loans (balance held at "
                "jump-off); k = book EL rate / the industry's long-run charge-off rate scales the satellite."
            ),
            "trading_by_segment": dg.MetadataValue.md(trading.round(2).to_markdown() + "\n\nUSD bn, median, in the "
                                                      "quarter of each sample's trading shock."),
            "pnl_distribution": dg.MetadataValue.md(png_markdown(png, "loss distribution")),
            "ai_loss_var_99_usd_bn": dg.MetadataValue.float(round(summaries["ai"]["loss_distribution"]["var_99"], 3)),
            "traditional_loss_var_99_usd_bn": dg.MetadataValue.float(
                round(summaries["traditional"]["loss_distribution"]["var_99"], 3)
            ),
            "engine": dg.MetadataValue.json(stress.engine),
            "seconds": dg.MetadataValue.float(round(seconds, 2)),
            "output_path": dg.MetadataValue.path(str(folder)),
        }
        if loans.clamped is not None and len(loans.clamped):
            metadata["satellite_drivers_clamped"] = dg.MetadataValue.md(loans.clamped.to_markdown())
        if meta_info:
            metadata["valuation_inputs"] = dg.MetadataValue.md(
                pd.DataFrame({"as of": meta_info.get("as_of", {})}).rename_axis("input").to_markdown()
                + f"\n\nValued on {meta_info.get('valuation_date')}; AFS aged along the path (quarter dates "
                + ", ".join(meta_info.get("quarter_dates", [])) + "); trading book shocked instantaneously"
                + (f"; foreign-curve factors held at zero shock: {len(meta_info['unshocked_factors'])}"
                   if meta_info.get("unshocked_factors") else "")
            )
        if "trading" in results["ai"]:
            top = top_contributors(results["ai"]["trading"], portfolio)
            metadata["top_trading_positions"] = dg.MetadataValue.md(
                _usd_bn(top).to_markdown(index=False) + "\n\nUSD bn, AI set, central (median) path, instantaneous."
            )
        return dg.Output(stress, metadata=metadata)

    return [stress_results]


def build_intraday_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The intraday refresh per scenario (its own job: it reads the market snapshot, which the
    scenario job does not take)."""

    @dg.asset(
        group_name="stress",
        partitions_def=partitions,
        kinds={"torch"},
        pool=ACCELERATOR_POOL,
        check_specs=[dg.AssetCheckSpec(
            INTRADAY_CHECK, asset="intraday_stress", blocking=True,
            description="Recomputed from intraday_jump_off.csv, intraday_losses.parquet and the snapshot file: every "
            "factor the snapshot observes is used at its level and no other jump-off moved, every loss is finite, "
            "and each set's stated 99% VaR is the quantile of its losses.",
        )],  # fmt: skip
        description="The intraday refresh: the trading book's global-market-shock loss (instantaneous, worst of "
        "the first quarters) under the scenario's AI and traditional sets, at the desk's latest market snapshot "
        "(spots, spreads and the sets' jump-off moved onto it), beside the same loss at the scenario's jump-off.",
    )
    @retry_transient
    def intraday_stress(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        engine_settings: EngineSettings,
        capital_settings: CapitalSettings,
        portfolio: pd.DataFrame,
        granular_shocks: ShockSet,
        traditional_shocks: ShockSet,
        market_snapshot: MarketSnapshot,
    ) -> Iterator[dg.Output | dg.AssetCheckResult]:
        refresh = intraday_trading_stress(
            portfolio, {"ai": granular_shocks, "traditional": traditional_shocks}, market_snapshot,
            engine_revaluer(engine_settings), capital_settings.trading_shock_quarters,
        )  # fmt: skip
        folder = output_dir.subdir("stress", context.partition_key)
        write_parquet(folder / INTRADAY_LOSSES, refresh.losses)
        write_csv(folder / INTRADAY_JUMP_OFF, refresh.jump_offs)
        write_json(folder / INTRADAY_SUMMARY, refresh.summary)
        yield intraday_check(folder)
        table = pd.DataFrame({label: {"99% VaR today": d["today"]["var_99"] / 1e9, "99% VaR at jump-off": d["jump_off"]["var_99"] / 1e9,
                                      "median today": d["today"]["median"] / 1e9, "change of 99% VaR": d["change_var_99"] / 1e9}
                              for label, d in refresh.summary["sets"].items()})  # fmt: skip
        yield dg.Output(
            refresh.summary,
            metadata={
                "snapshot": f"{market_snapshot.as_of.isoformat()} ({Path(market_snapshot.path).name})",
                "trading_loss": dg.MetadataValue.md(table.round(3).to_markdown() + "\n\nUSD bn, trading book, "
                                                    "instantaneous, worst of the first quarters; losses positive."),
                "book_moves": dg.MetadataValue.md(refresh.book_moves.round(4).to_markdown(index=False) if len(refresh.book_moves)
                                                  else "(the snapshot moves no spot or spread of the book)"),
                "ai_var_99_today_usd_bn": dg.MetadataValue.float(round(refresh.summary["sets"]["ai"]["today"]["var_99"] / 1e9, 4)),
                "output_path": dg.MetadataValue.path(str(folder)),
            },
        )

    return [intraday_stress]


INTRADAY_CHECK = "intraday_on_snapshot"
INTRADAY_LOSSES = "intraday_losses.parquet"
INTRADAY_JUMP_OFF = "intraday_jump_off.csv"
INTRADAY_SUMMARY = "intraday.json"


def intraday_check(folder: Path) -> dg.AssetCheckResult:
    """The intraday refresh's check, recomputed from its files and the snapshot file they name."""
    import json

    summary = json.loads((folder / INTRADAY_SUMMARY).read_text(encoding="utf-8"))
    snapshot = read_snapshot(summary["file"])
    problems = intraday_violations(pd.read_parquet(folder / INTRADAY_LOSSES), pd.read_csv(folder / INTRADAY_JUMP_OFF),
                                   snapshot.levels, summary)  # fmt: skip
    return dg.AssetCheckResult(
        check_name=INTRADAY_CHECK, asset_key=dg.AssetKey("intraday_stress"), passed=not problems,
        description="; ".join(problems) or None,
        metadata={"snapshot": summary["as_of"], "factors_observed": dg.MetadataValue.int(len(snapshot.levels)),
                  "problems": dg.MetadataValue.json(problems)},
    )  # fmt: skip


def _usd_bn(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in ("loss", "notional"):
        out[column] = (out[column] / 1e9).round(3)
    return out
