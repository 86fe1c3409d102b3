"""Portfolio and stress assets: the book, gated by its contract, revalued under each scenario set."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import numpy as np
import pandas as pd

from risk_dagster.assets.contract_checks import contract_check_name, contract_check_specs
from risk_dagster.engine.losses import LossSummary, summarize_losses, top_contributors
from risk_dagster.engine.service import revalue_book
from risk_dagster.portfolio.positions import PortfolioContractError, load_portfolio
from risk_dagster.portfolio.sample_book import composition, load_sample_book
from risk_dagster.report.charts import loss_histogram_png, png_markdown
from risk_dagster.resources import EngineSettings, OutputDir
from risk_dagster.storage import write_json, write_parquet
from risk_dagster.translate.shockset import ShockSet

PORTFOLIO_CONTRACT = "portfolio_positions"


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
                "output_path": dg.MetadataValue.path(str(folder)),
            },
        )

    return [stress_results]


def _usd_bn(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in ("loss", "notional"):
        out[column] = (out[column] / 1e9).round(3)
    return out
