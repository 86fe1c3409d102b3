"""Conservativeness assets: the AI set against the traditional set of each scenario (issue 11, in progress)."""

import dagster as dg
import numpy as np
import pandas as pd

from risk_dagster.capital.scenario_capital import SetCapital
from risk_dagster.conservativeness.bootstrap import bootstrap_test, results_frame
from risk_dagster.conservativeness.registry import BY_ID
from risk_dagster.conservativeness.statistics import set_outcomes
from risk_dagster.report.charts import conservativeness_bounds_png, png_markdown
from risk_dagster.resources import OutputDir, RunSettings
from risk_dagster.storage import write_csv, write_json, write_parquet
from risk_dagster.translate.shockset import ShockSet

N_RESAMPLES = 1000


def build_conservativeness_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The per-scenario conservativeness table."""

    @dg.asset(
        group_name="conservativeness",
        partitions_def=partitions,
        kinds={"numpy"},
        description="Statistics 1-20 of the 25 (DESIGN.md) for the AI and the traditional sets of the scenario on the "
        "same book: values, d = direction x (AI - traditional), the one-sided 95% bootstrap lower bound of d "
        "(1,000 seeded resamples of each set), the tolerance and the verdict. Statistics 21-25 (backtest), the "
        "blocking checks and the overlay are still to come.",
    )
    def conservativeness(
        context: dg.AssetExecutionContext,
        output_dir: OutputDir,
        run_settings: RunSettings,
        capital_projection: dict[str, SetCapital],
        granular_shocks: ShockSet,
        traditional_shocks: ShockSet,
        sensitivities: pd.DataFrame,
    ) -> dg.Output[pd.DataFrame]:
        folder = output_dir.subdir("conservativeness", context.partition_key)
        ai = set_outcomes(capital_projection["ai"], granular_shocks, sensitivities)
        traditional = set_outcomes(capital_projection["traditional"], traditional_shocks, sensitivities)
        cet1 = capital_projection["ai"].projection.start_cet1_capital
        table = results_frame(bootstrap_test(ai, traditional, cet1, n_resamples=N_RESAMPLES, seed=run_settings.seed))
        write_parquet(folder / "outcomes_ai.parquet", ai.to_frame())
        write_parquet(folder / "outcomes_traditional.parquet", traditional.to_frame())
        write_csv(folder / "statistics.csv", table.reset_index())
        write_json(folder / "statistics.json", {"statistics": table.reset_index().to_dict(orient="records")})
        png = conservativeness_bounds_png(table, title=f"{context.partition_key}: 95% lower bounds of d against -tolerance")
        (folder / "bounds.png").write_bytes(png)
        shown = table.assign(
            name=[BY_ID[i].name for i in table.index], dir=[BY_ID[i].arrow for i in table.index],
            scale=[1e9 if u == "usd" else (0.01 if u == "ratio" else 1.0) for u in table["unit"]],
        )  # fmt: skip
        for column in ("ai", "traditional", "difference", "lower_bound", "tolerance"):
            shown[column] = shown[column] / shown["scale"]
        shown["verdict"] = np.where(shown["passed"], "pass", "FAIL")
        shown = shown[["number", "name", "dir", "unit", "ai", "traditional", "difference", "lower_bound", "tolerance", "verdict"]]
        passed = int(table["passed"].sum())
        return dg.Output(
            table,
            metadata={
                "statistics": dg.MetadataValue.md(
                    shown.round(4).to_markdown() + "\n\nUSD amounts in bn, ratios in percent, shares as they are; d = "
                    "direction x (AI - traditional): positive means the AI set is more conservative; pass when the "
                    "bound >= -tolerance."
                ),
                "bounds_chart": dg.MetadataValue.md(png_markdown(png, "bounds against tolerances")),
                "passed": dg.MetadataValue.int(passed),
                "tested": dg.MetadataValue.int(len(table)),
                "failed": dg.MetadataValue.json(sorted(table.index[~table["passed"]])),
                "output_path": dg.MetadataValue.path(str(folder)),
            },
        )

    return [conservativeness]


__all__ = ["build_conservativeness_assets"]
