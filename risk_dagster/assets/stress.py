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
from risk_dagster.engine.losses import LossSummary, summarize_losses, top_contributors
from risk_dagster.engine.sensitivities import (
    DEFAULT_BUMPS,
    LOAN_SCOPE,
    MARKET_SCOPE,
    book_sensitivities,
    segment_summary,
    sensitivity_consistency,
    top_factors,
)
from risk_dagster.engine.service import engine_policy, revalue_book
from risk_dagster.portfolio.positions import PortfolioContractError, load_portfolio
from risk_dagster.portfolio.sample_book import composition, load_sample_book
from risk_dagster.report.charts import loss_histogram_png, png_markdown
from risk_dagster.resources import EngineSettings, OutputDir
from risk_dagster.storage import write_csv, write_json, write_parquet
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
    description="First-order sensitivities of the book's loss to every risk factor it depends on (DV01 by "
    "tenor, CS01 by curve, equity and FX delta, vega), by segment and total, by bump-and-reprice at the "
    "valuation date through the engine (central differences). Loans are a separate scope: the sensitivity "
    "of the first quarter's expected credit loss (the engine's loan kernel is a path model).",
)
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
    path = sensitivities_path(output_dir)
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


def build_stress_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The per-scenario stress asset for the given partitions."""

    @dg.asset(
        group_name="stress",
        partitions_def=partitions,
        kinds={"torch"},
        description="Full revaluation of the book under the AI and the traditional scenario sets: losses per "
        "sample, quarter and segment; the P&L distribution; the positions contributing most.",
    )
    def stress_results(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        engine_settings: EngineSettings,
        portfolio: pd.DataFrame,
        granular_shocks: ShockSet,
        traditional_shocks: ShockSet,
    ) -> dg.Output[dict[str, Any]]:
        folder = output_dir.subdir("stress", context.partition_key)
        results = {}
        summaries: dict[str, LossSummary] = {}
        for label, shocks in (("ai", granular_shocks), ("traditional", traditional_shocks)):
            result = revalue_book(portfolio, shocks, engine_settings)
            results[label] = result
            summaries[label] = summarize_losses(result)
            write_parquet(folder / f"losses_{label}.parquet", result.loss_frame())
            np.save(folder / f"pnl_{label}.npy", result.pnl)
        write_json(folder / "loss_summary.json", {k: v.to_json() for k, v in summaries.items()})
        png = loss_histogram_png(
            {"AI": results["ai"], "traditional": results["traditional"]},
            title=f"{context.partition_key}: horizon loss distribution",
        )
        (folder / "loss_distribution.png").write_bytes(png)
        by_segment = pd.DataFrame({k: v.by_segment for k, v in summaries.items()}).rename_axis("segment")
        stats = pd.DataFrame({k: {s: getattr(v, s) for s in ("mean", "median", "var_95", "var_99", "es_99", "max")}
                              for k, v in summaries.items()})
        top = top_contributors(results["ai"], portfolio)
        meta = results["ai"].metadata
        return dg.Output(
            {"ai": summaries["ai"].to_json(), "traditional": summaries["traditional"].to_json(),
             "engine": {k: meta.get(k) for k in ("dtype", "device", "chunk_size", "revaluations_per_s") if k in meta}},
            metadata={
                "loss_statistics": dg.MetadataValue.md(
                    (stats / 1e9).round(2).to_markdown() + "\n\nUSD bn; losses positive (a negative loss is a gain); "
                    "horizon loss = the worst quarter of each sample's path."
                ),
                "loss_by_segment": dg.MetadataValue.md(
                    (by_segment / 1e9).round(2).to_markdown() + "\n\nUSD bn, mean over samples at each sample's worst quarter."
                ),
                "pnl_distribution": dg.MetadataValue.md(png_markdown(png, "loss distribution")),
                "top_positions": dg.MetadataValue.md(_usd_bn(top).to_markdown(index=False) + "\n\nUSD bn, central (median) path."),
                "ai_var_99_usd_bn": dg.MetadataValue.float(round(summaries["ai"].var_99 / 1e9, 3)),
                "traditional_var_99_usd_bn": dg.MetadataValue.float(round(summaries["traditional"].var_99 / 1e9, 3)),
                "engine": dg.MetadataValue.json({k: str(v) for k, v in meta.items() if not isinstance(v, dict)}),
                "valuation_inputs": dg.MetadataValue.md(
                    pd.DataFrame({"as of": meta.get("as_of", {})}).rename_axis("input").to_markdown()
                    + f"\n\nValued on {meta.get('valuation_date')}; the book "
                    + ("ages along the path (coupons paid, maturities shortening, options and forwards settled, "
                       "MBS pools amortising): quarter dates " + ", ".join(meta.get("quarter_dates", []))
                       if meta.get("aged") else "is shocked instantaneously in every quarter")
                    + (f"; foreign-curve factors held at zero shock: {len(meta['unshocked_factors'])}"
                       if meta.get("unshocked_factors") else "")
                ),
                "output_path": dg.MetadataValue.path(str(folder)),
            },
        )

    return [stress_results]


def _usd_bn(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in ("loss", "notional"):
        out[column] = (out[column] / 1e9).round(3)
    return out
