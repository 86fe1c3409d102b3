"""Quarterly history of every catalog risk factor with a source (derived factors have none): levels,
shocks in each factor's unit, coverage.

:func:`build_factor_history` turns the Fed historic table (a quarter x canonical-variable
frame) and the shipped market histories (:func:`load_history_sources`) into a
:class:`FactorHistory`. Where several sources measure the same quantity (the catalog's
``blend`` entries: the Treasury curve and FRED-MD for Treasury yields, the Fed and H.10 for
USD/EUR, EIA and FRED-MD for WTI ...) they are blended per quarter with
:func:`risk_dagster.quality.reliability.blend_sources`, using the sources' reliability
weights (priors from ``data_contracts/sources.yaml`` unless given).
:func:`overlapping_quantities` gives the reliability assessment its pairs of sources.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import yaml

from risk_dagster.market.catalog import RiskFactor, RiskFactorCatalog, SeriesRef, load_risk_factor_catalog
from risk_dagster.market.loaders import HISTORY_SOURCES, to_quarterly
from risk_dagster.paths import contracts_dir
from risk_dagster.quality.reliability import blend_sources, load_source_policy

__all__ = [
    "FED_DATASET",
    "FactorHistory",
    "build_factor_history",
    "default_source_weights",
    "load_history_sources",
    "overlapping_quantities",
]

FED_DATASET = "fed_history"
"""Dataset id under which catalog entries name the Fed historic table."""

COMPOUND_BASE = 100.0
"""Level of a cumulated-return index (equity sectors) at the first quarter of the window."""


@dataclass
class FactorHistory:
    """Quarterly factor history.

    Attributes
    ----------
    levels
        Quarter x factor id, float64, in each factor's catalog unit; NaN where a factor has
        no history (never zero-filled). Equity sectors are indices cumulated from returns,
        100 at the window's first quarter.
    changes
        Quarter x factor id in each factor's shock unit: bp (``absolute_bp``: percent
        difference x 100), log return (``log_return``), points (``vol_points``,
        ``absolute``). The first quarter's change uses the quarter before the window when
        the data has it.
    coverage
        One row per factor id: ``asset_class``, ``shock_type``, ``first_quarter``,
        ``last_quarter`` (Periods, NaT when none), ``n_quarters`` (non-NaN levels in the
        window) and ``sources`` (comma-separated source ids that contributed).
    weights_used
        Factor id -> {source id -> weight} for every blended factor.
    start, end
        The window.
    """

    levels: pd.DataFrame
    changes: pd.DataFrame
    coverage: pd.DataFrame
    weights_used: dict[str, dict[str, float]]
    start: pd.Period
    end: pd.Period
    notes: list[str] = field(default_factory=list)

    def contract_frame(self) -> pd.DataFrame:
        """The levels as the ``factor_history`` data contract reads them: a ``quarter`` column
        (``2008Q4`` text) and one column per factor."""
        levels = self.levels.reset_index()
        levels["quarter"] = levels["quarter"].astype(str)
        return levels

    @property
    def factor_ids(self) -> list[str]:
        return list(self.levels.columns)

    def usable(self, min_quarters: int = 20) -> list[str]:
        """Factor ids with at least ``min_quarters`` quarters of levels."""
        return self.coverage.index[self.coverage["n_quarters"] >= min_quarters].tolist()

    def levels_table(self) -> pd.DataFrame:
        """Levels with the quarter as a ``quarter`` string column (``1976Q1``), as in the
        ``factor_history`` data contract."""
        table = self.levels.copy()
        table.insert(0, "quarter", self.levels.index.astype(str))
        return table.reset_index(drop=True)

    def summary(self) -> dict[str, Any]:
        """Plain-JSON summary for Dagster metadata."""
        cov = self.coverage
        return {
            "start": str(self.start),
            "end": str(self.end),
            "n_factors": int(len(cov)),
            "n_usable": len(self.usable()),
            "by_class": {str(k): int(v) for k, v in cov.groupby("asset_class").size().items()},
            "blended": sorted(self.weights_used),
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- inputs
def load_history_sources() -> dict[str, pd.DataFrame]:
    """Every shipped history dataset, by dataset id (see :data:`HISTORY_SOURCES`)."""
    return {dataset_id: source.load() for dataset_id, source in HISTORY_SOURCES.items()}


def usable_sources(sources: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Each frame as the history and the reliability detectors use it: a source with a documented
    repair (:attr:`HistorySource.repair`, the damaged Euribor/EURIRS scrape) repaired, the others as
    loaded. The contracts check the frames as published, before this."""
    return {name: (HISTORY_SOURCES[name].usable(frame) if name in HISTORY_SOURCES else frame) for name, frame in sources.items()}


def default_source_weights(source_ids: list[str] | None = None) -> dict[str, float]:
    """Prior reliability weight of each source, from the data contracts.

    Reads the contract-level ``customProperties`` ``source`` / ``reliabilityWeight`` of every
    ``data_contracts/datasets/*.yaml`` (they must equal ``sources.yaml``, which the quality
    layer checks). A source with no contract falls back to its ``sources.yaml`` prior.

    Parameters
    ----------
    source_ids
        Sources wanted; every source with a contract when ``None``.

    Raises
    ------
    KeyError
        When a wanted source has neither a contract nor a ``sources.yaml`` entry.
    """
    priors = _contract_priors()
    ids = source_ids if source_ids is not None else sorted(priors)
    out: dict[str, float] = {}
    for source in ids:
        if source in priors:
            out[source] = priors[source]
            continue
        try:
            out[source] = float(load_source_policy().prior(source))
        except Exception as exc:  # the policy file is another module's; name what is missing
            raise KeyError(f"no reliability prior for source {source!r}: no contract and {exc}") from exc
    return out


@lru_cache(maxsize=1)
def _contract_priors() -> dict[str, float]:
    priors: dict[str, float] = {}
    for path in sorted((contracts_dir() / "datasets").glob("*.yaml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            continue  # a broken contract is reported by the contract compiler, not here
        props = {
            p.get("property"): p.get("value")
            for p in doc.get("customProperties") or []
            if isinstance(p, dict)
        }
        source, weight = props.get("source"), props.get("reliabilityWeight")
        if isinstance(source, str) and isinstance(weight, (int, float)) and source not in priors:
            priors[source] = float(weight)
    return priors


def _as_quarterly(fed_history: pd.DataFrame) -> pd.DataFrame:
    frame = fed_history.copy()
    if not isinstance(frame.index, pd.PeriodIndex):
        try:
            frame.index = pd.PeriodIndex(frame.index, freq="Q-DEC")
        except (TypeError, ValueError) as exc:
            raise ValueError("fed_history must be indexed by quarter (PeriodIndex, freq Q-DEC)") from exc
    frame.index = pd.PeriodIndex(frame.index.asfreq("Q-DEC"), name="quarter")
    if not frame.index.is_unique:
        raise ValueError("fed_history has duplicate quarters")
    return frame.sort_index().apply(pd.to_numeric, errors="coerce").astype("float64")


class _Quarterly:
    """Quarterly series of source columns, computed once per (dataset, columns, rule)."""

    def __init__(self, fed: pd.DataFrame, sources: Mapping[str, pd.DataFrame]) -> None:
        self.fed = fed
        self.sources = sources
        self._cache: dict[tuple[str, str, str | None, str], pd.Series | None] = {}

    def get(self, ref: SeriesRef, how: str | None = None) -> pd.Series | None:
        """The reference's quarterly series, or ``None`` when its dataset/column is absent."""
        rule = how or ref.aggregation
        key = (ref.dataset, ref.series, ref.minus, rule)
        if key not in self._cache:
            self._cache[key] = self._compute(ref, rule)
        return self._cache[key]

    def _compute(self, ref: SeriesRef, rule: str) -> pd.Series | None:
        if ref.dataset == FED_DATASET:
            frame = self.fed
            if any(c not in frame.columns for c in ref.columns):
                return None
            values = frame[ref.series] - (frame[ref.minus] if ref.minus else 0.0)
            return values.astype("float64")
        frame = self.sources.get(ref.dataset)
        if frame is None or any(c not in frame.columns for c in ref.columns):
            return None
        # A spread is differenced at the native frequency, so both legs come from one date.
        values = frame[ref.series] - (frame[ref.minus] if ref.minus else 0.0)
        native = pd.DataFrame({"date": frame["date"], "value": values})
        return to_quarterly(native, {"value": rule})["value"]  # type: ignore[dict-item]


# --------------------------------------------------------------------------- builder
def _changes(levels: pd.Series, shock_type: str) -> pd.Series:
    if shock_type == "absolute_bp":
        return levels.diff() * 100.0
    if shock_type == "log_return":
        # A non-positive level (never at quarter end in the shipped data) has no log return.
        return np.log(levels.where(levels > 0)).diff()
    return levels.diff()


def _full_index(series: list[pd.Series]) -> pd.PeriodIndex:
    idx = pd.PeriodIndex([], freq="Q-DEC", name="quarter")
    for s in series:
        idx = idx.union(s.index)
    return pd.PeriodIndex(idx, freq="Q-DEC", name="quarter")


def build_factor_history(
    fed_history: pd.DataFrame,
    *,
    sources: dict[str, pd.DataFrame] | None = None,
    weights: Mapping[str, float] | None = None,
    start: str | pd.Period = "1976Q1",
    end: str | pd.Period | None = None,
    catalog: RiskFactorCatalog | None = None,
) -> FactorHistory:
    """Quarterly levels and changes of every catalog factor.

    Parameters
    ----------
    fed_history
        The Fed historic table as a wide frame: ``PeriodIndex(freq="Q-DEC", name="quarter")``
        x canonical variable ids (``treasury_10y``, ``equity_total_market``, ``usd_per_eur``
        ...), e.g. ``registry.load_fed_history("2026").wide()``.
    sources
        Dataset id -> loader frame (``date`` + series), as :func:`load_history_sources`
        returns; loaded from the shipped files when ``None``. A dataset left out leaves its
        factors without history (NaN), it is not an error.
    weights
        Source id -> reliability weight for blending; sources not named take their prior
        from ``sources.yaml``.
    start, end
        Window (inclusive). ``end`` defaults to the Fed history's last quarter.
    catalog
        Factor catalog; the shipped one by default. Derived factors (``source: derived``, e.g.
        the spreads by rating bucket) have no history and are left out: the frames hold
        :meth:`RiskFactorCatalog.with_history`'s factors, in catalog order.

    Returns
    -------
    FactorHistory
    """
    catalog = (catalog if catalog is not None else load_risk_factor_catalog()).with_history()
    fed = _as_quarterly(fed_history)
    sources = usable_sources(sources if sources is not None else load_history_sources())
    start_q = pd.Period(start, freq="Q-DEC")
    end_q = pd.Period(end, freq="Q-DEC") if end is not None else (fed.index.max() if len(fed) else None)
    if end_q is None:
        raise ValueError("build_factor_history: give `end` when fed_history is empty")
    if end_q < start_q:
        raise ValueError(f"build_factor_history: end {end_q} is before start {start_q}")
    window = pd.period_range(start_q, end_q, freq="Q-DEC", name="quarter")

    needed = sorted({s for f in catalog for s in f.sources})
    w_all = default_source_weights(needed)
    if weights is not None:
        w_all.update({k: float(v) for k, v in weights.items()})

    quarterly = _Quarterly(fed, sources)
    levels: dict[str, pd.Series] = {}
    changes: dict[str, pd.Series] = {}
    cover: dict[str, dict[str, Any]] = {}
    weights_used: dict[str, dict[str, float]] = {}
    notes: list[str] = []

    for factor in catalog:
        lvl, chg, used = _factor_history(factor, quarterly, w_all, window)
        if len(used) > 1:
            weights_used[factor.id] = {s: w_all[s] for s in used}
        levels[factor.id] = lvl
        changes[factor.id] = chg
        valid = lvl.dropna()
        cover[factor.id] = {
            "asset_class": factor.asset_class,
            "shock_type": factor.shock_type,
            "first_quarter": valid.index.min() if len(valid) else pd.NaT,
            "last_quarter": valid.index.max() if len(valid) else pd.NaT,
            "n_quarters": int(len(valid)),
            "sources": ",".join(used),
        }
        if not len(valid):
            notes.append(f"{factor.id}: no history in {start_q}..{end_q} (dataset {factor.dataset} absent or empty)")

    level_frame = pd.DataFrame(levels, index=window).astype("float64")
    change_frame = pd.DataFrame(changes, index=window).astype("float64")
    coverage = pd.DataFrame.from_dict(cover, orient="index")
    coverage.index.name = "factor_id"
    return FactorHistory(
        levels=level_frame,
        changes=change_frame,
        coverage=coverage,
        weights_used=weights_used,
        start=start_q,
        end=end_q,
        notes=notes,
    )


def _factor_history(
    factor: RiskFactor,
    quarterly: _Quarterly,
    weights: Mapping[str, float],
    window: pd.PeriodIndex,
) -> tuple[pd.Series, pd.Series, list[str]]:
    """Levels and changes on ``window`` plus the sources that had data there."""
    if factor.aggregation == "compound":
        returns = quarterly.get(factor.primary)
        if returns is None:
            empty = pd.Series(np.nan, index=window, dtype="float64")
            return empty, empty.copy(), []
        r = returns.reindex(window)
        # The index is cumulated only inside the window so that it starts at a readable 100;
        # a missing return breaks nothing after it (cumsum skips it) but its level is NaN.
        cum = r.cumsum()
        first = r.first_valid_index()
        level = COMPOUND_BASE * np.exp(cum - r.loc[first]) if first is not None else cum
        level = level.where(r.notna())
        return level.astype("float64"), r.astype("float64"), ([factor.source] if r.notna().any() else [])

    by_source: dict[str, pd.Series] = {}
    for ref in factor.refs:
        series = quarterly.get(ref)
        if series is not None and series.notna().any():
            by_source[ref.source] = series
    if not by_source:
        empty = pd.Series(np.nan, index=window, dtype="float64")
        return empty, empty.copy(), []
    if len(by_source) == 1:
        full = next(iter(by_source.values()))
    else:
        full = blend_sources(by_source, {s: weights[s] for s in by_source})
    full = full.reindex(_full_index(list(by_source.values()))).astype("float64")
    # Changes are taken on the full span, so the window's first quarter has one when the
    # quarter before it is known; then both are cut to the window.
    change = _changes(full, factor.shock_type)
    level = full.reindex(window)
    used = [s for s, series in by_source.items() if series.reindex(window).notna().any()]
    return level, change.reindex(window).astype("float64"), used


# --------------------------------------------------------------------------- overlaps
def overlapping_quantities(
    fed_history: pd.DataFrame,
    sources: Mapping[str, pd.DataFrame],
) -> dict[str, dict[str, pd.Series]]:
    """Quarterly series of the same quantity from several sources, for the reliability checks.

    Each pair is put on a like-for-like basis, since the Fed reports rates as quarterly
    averages: Treasury yields are quarterly means of the Treasury daily curve and of FRED-MD's
    monthly averages; exchange rates are quarter-end values; equity is the quarterly log
    return in percent (Fed DJ total market at quarter end vs the S&P 500 monthly average of
    the quarter's last month); WTI is the quarterly mean of EIA daily and FRED-MD monthly
    prices.

    Parameters
    ----------
    fed_history
        Fed historic wide frame (quarter x canonical variable).
    sources
        Dataset id -> loader frame; datasets absent are skipped.

    Returns
    -------
    dict
        Quantity -> {source id -> quarterly series}; only quantities with at least two
        sources present. Quantities: ``treasury_3m``, ``treasury_5y``, ``treasury_10y``
        (percent), ``equity_total_market_return`` (percent log return per quarter),
        ``usd_per_eur``, ``mortgage_rate`` (percent), ``wti`` (USD per barrel),
        ``euro_stoxx_50_return`` (percent log return per quarter, quarter-end index).
    """
    fed = _as_quarterly(fed_history)
    q = _Quarterly(fed, usable_sources(sources))

    def ref(dataset: str, series: str) -> SeriesRef:
        return SeriesRef("", dataset, series, "last")

    def fed_col(name: str) -> pd.Series | None:
        return fed[name] if name in fed.columns and fed[name].notna().any() else None

    def pct_logret(series: pd.Series | None) -> pd.Series | None:
        if series is None:
            return None
        return 100.0 * np.log(series.where(series > 0)).diff()

    spec: dict[str, dict[str, pd.Series | None]] = {}
    for quantity, tenor, md in (
        ("treasury_3m", "3 Mo", "TB3MS"),
        ("treasury_5y", "5 Yr", "GS5"),
        ("treasury_10y", "10 Yr", "GS10"),
    ):
        spec[quantity] = {
            "fed": fed_col(quantity),
            "treasury": q.get(ref("treasury_par_curve", tenor), "mean"),
            "fred_md": q.get(ref("fred_md", md), "mean"),
        }
    spec["equity_total_market_return"] = {
        "fed": pct_logret(fed_col("equity_total_market")),
        "fred_md": pct_logret(q.get(ref("fred_md", "S&P 500"), "last")),
    }
    spec["usd_per_eur"] = {
        "fed": fed_col("usd_per_eur"),
        "h10": q.get(ref("h10_usdeur", "DEXUSEU"), "last"),
    }
    spec["mortgage_rate"] = {
        "fed": fed_col("mortgage_rate"),
        "fred_qd": q.get(ref("fred_qd", "MORTGAGE30US"), "last"),
    }
    spec["wti"] = {
        "eia": q.get(ref("eia_wti", "DCOILWTICO"), "mean"),
        "fred_md": q.get(ref("fred_md", "OILPRICEx"), "mean"),
    }
    spec["euro_stoxx_50_return"] = {  # two Yahoo snapshots of one index, quarter end
        "yahoo": pct_logret(q.get(ref("stoxx50e_1986", "Close"), "last")),
        "yfinance": pct_logret(q.get(ref("stoxx50e_2007", "Close"), "last")),
    }
    out: dict[str, dict[str, pd.Series]] = {}
    for quantity, by_source in spec.items():
        present = {
            s: series.dropna().rename(quantity)
            for s, series in by_source.items()
            if series is not None and series.notna().any()
        }
        if len(present) >= 2:
            out[quantity] = present
    return out


def source_frames(
    fed_history: pd.DataFrame,
    sources: Mapping[str, pd.DataFrame],
) -> dict[str, pd.DataFrame]:
    """Each publishing source's observations as one time-indexed frame, for the reliability checks.

    Datasets of one source (H.10's two FX series) are joined on their dates; the Fed history is
    its quarter-indexed wide frame. A source with a documented repair is assessed on its repaired
    rows (:func:`usable_sources`): its damage as published is the contract's finding, which costs
    it weight through ``contract_failures``. ``frame.attrs["dataset"]`` names the datasets for the report.

    Parameters
    ----------
    fed_history
        Fed historic wide frame (quarter x canonical variable).
    sources
        Dataset id -> loader frame (a ``date`` column plus series columns).
    """
    grouped: dict[str, list[tuple[str, pd.DataFrame]]] = {}
    for dataset_id, frame in usable_sources(sources).items():
        grouped.setdefault(HISTORY_SOURCES[dataset_id].source, []).append((dataset_id, frame))
    frames: dict[str, pd.DataFrame] = {}
    fed = fed_history.copy()
    fed.attrs = {"dataset": "fed_history"}
    frames["fed"] = fed
    for source, members in grouped.items():
        indexed = [f.set_index(pd.DatetimeIndex(f["date"], name="date")).drop(columns="date") for _, f in members]
        joined = indexed[0] if len(indexed) == 1 else pd.concat(indexed, axis=1, join="outer").sort_index()
        joined.attrs = {"dataset": "+".join(name for name, _ in members)}
        frames[source] = joined
    return frames
