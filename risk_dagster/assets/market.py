"""Market-history assets: one per shipped history source, and the quarterly factor history."""


from collections.abc import Iterator

import dagster as dg
import pandas as pd

from risk_dagster.assets.contract_checks import contract_check_specs, validate_and_check
from risk_dagster.io_manager import STORAGE_PATH
from risk_dagster.market.catalog import load_risk_factor_catalog
from risk_dagster.market.history import FactorHistory, build_factor_history
from risk_dagster.market.loaders import HISTORY_SOURCES, HistorySource
from risk_dagster.quality.reliability import SourceAssessment
from risk_dagster.resources import MarketInbox, OutputDir, RunSettings
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.storage import write_parquet


def _history_source_asset(spec: HistorySource) -> dg.AssetsDefinition:
    dataset_id = spec.dataset_id

    @dg.asset(
        name=dataset_id,
        group_name="market",
        check_specs=contract_check_specs(dataset_id, [spec.contract]),
        kinds={"pandas", "csv"},
        metadata={STORAGE_PATH: f"market/sources/{dataset_id}.parquet"},
        description=f"{spec.description} (source `{spec.source}`, {spec.frequency}), gated by contract `{spec.contract}`.",
    )
    def _asset(run_settings: RunSettings) -> Iterator[dg.Output | dg.AssetCheckResult]:
        frame = spec.loader()
        yield from validate_and_check({spec.contract: frame}, as_of=run_settings.as_of_date())
        yield dg.Output(frame, metadata=_source_metadata(frame))  # the IO manager writes the parquet

    return _asset


def _source_metadata(frame: pd.DataFrame) -> dict[str, object]:
    dates = pd.to_datetime(frame["date"]) if "date" in frame.columns else None
    meta: dict[str, object] = {
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "n_series": dg.MetadataValue.int(len([c for c in frame.columns if c != "date"])),
    }
    if dates is not None and len(dates):
        meta["first_date"] = str(dates.min().date())
        meta["last_date"] = str(dates.max().date())
    tail = frame.tail(5)
    shown = tail[[c for c in tail.columns][:9]]  # the date and the first series: wide sources have hundreds
    meta["last_rows"] = dg.MetadataValue.md(shown.to_markdown(index=False) + (f"\n\n{len(frame.columns) - 9} more columns"
                                                                             if len(frame.columns) > 9 else ""))
    return meta


HISTORY_SOURCE_ASSETS = [_history_source_asset(spec) for spec in HISTORY_SOURCES.values()]


@dg.asset(
    group_name="market",
    ins={
        "fed_history": dg.AssetIn(),
        "source_reliability": dg.AssetIn(),
        **{spec.dataset_id: dg.AssetIn() for spec in HISTORY_SOURCES.values()},
    },
    check_specs=contract_check_specs("factor_history", ["factor_history"]),
    kinds={"pandas", "parquet"},
    description="Quarterly levels and changes of every risk factor in the catalog, aligned with the Fed's "
    "macro history; overlapping sources blended by their reliability weights.",
)
def factor_history(
    output_dir: OutputDir,
    fed_history: MacroScenario,
    source_reliability: dict[str, SourceAssessment],
    **sources: pd.DataFrame,
) -> Iterator[dg.Output | dg.AssetCheckResult]:
    weights = {name: assessment.weight for name, assessment in source_reliability.items()}
    history = build_factor_history(fed_history.wide(), sources=sources, weights=weights)
    yield from validate_and_check({"factor_history": history.contract_frame()})
    folder = output_dir.subdir("market")
    write_parquet(folder / "factor_levels.parquet", history.levels)
    write_parquet(folder / "factor_changes.parquet", history.changes)
    write_parquet(folder / "factor_coverage.parquet", history.coverage)
    yield dg.Output(history, metadata=factor_history_metadata(history) | {"output_path": dg.MetadataValue.path(str(folder))})


def factor_history_metadata(history: FactorHistory) -> dict[str, object]:
    """Factor counts by class and the coverage table."""
    catalog = load_risk_factor_catalog()
    coverage = history.coverage.copy()
    coverage.insert(0, "class", [catalog.get(f).asset_class for f in coverage.index])
    by_class = coverage.groupby("class").size().rename("factors").to_frame()
    return {
        "n_factors": dg.MetadataValue.int(int(history.levels.shape[1])),
        "n_quarters": dg.MetadataValue.int(int(history.levels.shape[0])),
        "dagster/row_count": dg.MetadataValue.int(int(history.levels.shape[0])),
        "factors_by_class": dg.MetadataValue.md(by_class.to_markdown()),
        "coverage": dg.MetadataValue.md(coverage.to_markdown()),
        "blend_weights": dg.MetadataValue.json(
            {factor: {src: round(float(w), 4) for src, w in by_source.items()} for factor, by_source in history.weights_used.items()}
        ),
    }


@dg.asset(
    group_name="market",
    check_specs=contract_check_specs("market_snapshot", ["market_snapshot"]),
    kinds={"pandas", "csv"},
    description="The desk's latest intraday market snapshot from the market inbox (risk-factor levels at one "
    "time), gated by contract `market_snapshot`: what the intraday refresh values the book on. New files are "
    "validated first; a bad one goes to rejected/ with its error and the previous snapshot stays in use.",
)
def market_snapshot(market_inbox: MarketInbox) -> Iterator[dg.Output | dg.AssetCheckResult]:
    snapshot = market_inbox.latest()
    if snapshot is None:
        raise dg.Failure(f"no market snapshot in {market_inbox.path}: drop a CSV of as_of,factor_id,level there "
                         "(risk_dagster/market/snapshot.py)", allow_retries=False)  # fmt: skip
    frame = snapshot.frame()
    yield from validate_and_check({"market_snapshot": frame})
    yield dg.Output(
        snapshot,
        metadata={
            "as_of": snapshot.as_of.isoformat(),
            "file": dg.MetadataValue.path(snapshot.path),
            "dagster/row_count": dg.MetadataValue.int(len(frame)),
            "levels": dg.MetadataValue.md(frame[["factor_id", "level"]].to_markdown(index=False)),
        },
    )
