"""The contract shared by every translator (satellite, transformer): training data, the
:class:`Translator` protocol, and consistency with what the supervisor's scenario fixes.

Units. Targets and shocks are in each factor's shock unit (:mod:`risk_dagster.translate.shockset`):
bp for rates/spreads, log returns for prices and FX, points for vols. A ShockSet holds
*cumulative* changes from the jump-off quarter; models predict *one-quarter* changes and
cumulate them.

Consistency. Where a Fed scenario fixes a factor (``fixed_by_fed`` in the catalog), every sample
reproduces the scenario exactly: the factor's jump-off level is the Fed's own jump-off value
and its shock the scenario's change from it, on the Fed's basis (quarterly *averages* for
rates, quarterly *maximum* for the VIX, quarter-end for prices and FX). The open factors are
then made coherent with the fixed ones (:func:`apply_consistency`): Treasury tenors the Fed
leaves open follow the fixed 3m/5y/10y nodes, the twelve equity sectors aggregate to the
fixed total market, credit yields and the S&P 500 ride on their fixed anchor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt
import pandas as pd

from risk_dagster.market.catalog import RiskFactorCatalog, load_risk_factor_catalog
from risk_dagster.market.history import FactorHistory, default_source_weights
from risk_dagster.paths import data_dir
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.features import jump_off_quarter, macro_features, projection_quarters
from risk_dagster.translate.shockset import FloatArray, ShockSet, shocks_from_levels

__all__ = [
    "ANCHORED_FACTORS",
    "SECTOR_FACTORS",
    "TENOR_YEARS",
    "TrainingSet",
    "Translator",
    "apply_consistency",
    "build_training_set",
    "fixed_factor_paths",
    "jump_off_frame",
    "jump_off_levels",
    "sector_aggregate",
    "sector_weights",
    "to_shockset",
]

TENOR_YEARS: dict[str, float] = {
    "rates.ust.1m": 1 / 12,
    "rates.ust.3m": 0.25,
    "rates.ust.6m": 0.5,
    "rates.ust.1y": 1.0,
    "rates.ust.2y": 2.0,
    "rates.ust.3y": 3.0,
    "rates.ust.5y": 5.0,
    "rates.ust.7y": 7.0,
    "rates.ust.10y": 10.0,
    "rates.ust.20y": 20.0,
    "rates.ust.30y": 30.0,
}
"""Treasury curve factors and their maturities in years."""

SECTOR_FACTORS: dict[str, str] = {
    "equity.sector.nodur": "NoDur",
    "equity.sector.durbl": "Durbl",
    "equity.sector.manuf": "Manuf",
    "equity.sector.enrgy": "Enrgy",
    "equity.sector.chems": "Chems",
    "equity.sector.buseq": "BusEq",
    "equity.sector.telcm": "Telcm",
    "equity.sector.utils": "Utils",
    "equity.sector.shops": "Shops",
    "equity.sector.hlth": "Hlth",
    "equity.sector.money": "Money",
    "equity.sector.other": "Other",
}
"""Equity sector factor -> Kenneth French 12-industry column."""

TOTAL_MARKET = "equity.total_market"

ANCHORED_FACTORS: dict[str, str] = {
    "credit.baa": "rates.ust.10y",
    "credit.aaa": "rates.ust.10y",
    "equity.sp500": TOTAL_MARKET,
}
"""Open factor -> fixed anchor whose correction it takes one for one (credit yields keep their
drawn spread over the 10y Treasury; the S&P 500 its drawn gap to the total market)."""


# =============================================================================== training data
@dataclass
class TrainingSet:
    """Aligned conditioning features and factor changes for fitting a translator.

    Attributes
    ----------
    X
        Training quarter x :data:`~risk_dagster.translate.features.FEATURES` (contemporaneous).
    Y
        Training quarter x factor id: one-quarter changes in shock units (bp, log return,
        points). ``NaN`` where a factor has no history -- a mask, never zeros.
    sample_weight
        Per training quarter: the mean reliability weight of the observations in ``Y`` that
        quarter (each factor's observation weighted by its source's weight, see
        :attr:`factor_weights`), in ``(0, 1]``. Constant when every source has its prior; it
        falls for quarters dominated by a down-weighted source.
    factor_ids, shock_types
        One per ``Y`` column.
    factor_weights
        Per factor, the reliability of its history: its source's weight, or for a factor
        blended from several sources ``sum(w_s^2) / sum(w_s)`` (each source's reliability
        weighted by its say in the blend).
    features
        Every quarter of the Fed history x FEATURES, excluded quarters included: context for
        lags and input windows (a model never sees ``Y`` of an excluded quarter).
    levels
        Factor levels (quarter x factor id) of the whole history: jump-off levels for sampling.
    start, end, excluded
        The window and the quarters left out.
    """

    X: pd.DataFrame
    Y: pd.DataFrame
    sample_weight: pd.Series
    factor_ids: list[str]
    shock_types: list[str]
    factor_weights: pd.Series
    features: pd.DataFrame
    levels: pd.DataFrame
    start: pd.Period
    end: pd.Period
    excluded: list[pd.Period] = field(default_factory=list)

    @property
    def quarters(self) -> pd.PeriodIndex:
        return pd.PeriodIndex(self.X.index, freq="Q-DEC", name="quarter")

    @property
    def mask(self) -> pd.DataFrame:
        """``True`` where ``Y`` is observed."""
        return self.Y.notna()

    def summary(self) -> dict[str, Any]:
        """Plain-JSON summary for metadata."""
        return {
            "start": str(self.start),
            "end": str(self.end),
            "n_quarters": int(len(self.X)),
            "n_factors": len(self.factor_ids),
            "observed_share": float(self.mask.to_numpy().mean()) if self.Y.size else 0.0,
            "excluded": [str(q) for q in self.excluded],
            "sample_weight_range": [float(self.sample_weight.min()), float(self.sample_weight.max())]
            if len(self.sample_weight)
            else [],
        }


def _factor_reliability(sources: str, weights: Mapping[str, float]) -> float:
    ws = np.array([weights[s] for s in str(sources).split(",") if s])
    if ws.size == 0 or ws.sum() <= 0:
        return 0.0
    return float((ws**2).sum() / ws.sum())


def build_training_set(
    factor_history: FactorHistory,
    fed_history: MacroScenario,
    source_weights: Mapping[str, float] | None = None,
    *,
    factor_ids: Sequence[str] | None = None,
    start: str | pd.Period = "1990Q1",
    exclude: Sequence[pd.Period] = (),
) -> TrainingSet:
    """Features of the Fed history and factor changes, aligned by quarter.

    Parameters
    ----------
    factor_history
        :func:`~risk_dagster.market.history.build_factor_history` output.
    fed_history
        The Fed historic table the features come from (``load_fed_history("2026")``).
    source_weights
        Source id -> reliability weight (e.g. after anomaly down-weighting); sources not
        named take their prior from the data contracts.
    factor_ids
        Factors to model; every factor with at least 20 quarters of history by default.
    start
        First training quarter (the end is the last quarter with both features and a change).
    exclude
        Quarters dropped from ``X``/``Y`` (leave-crisis-out backtests).

    Returns
    -------
    TrainingSet
        Quarters where at least one factor is observed.
    """
    ids = list(factor_ids) if factor_ids is not None else factor_history.usable(20)
    unknown = [f for f in ids if f not in factor_history.changes.columns]
    if unknown:
        raise KeyError(f"build_training_set: factors without history: {unknown}")
    features = macro_features(fed_history.wide())
    start_q = pd.Period(start, freq="Q-DEC")
    excluded = sorted({pd.Period(q, freq="Q-DEC") for q in exclude})
    common = features.index.intersection(factor_history.changes.index)
    quarters = common[(common >= start_q) & ~common.isin(excluded)].sort_values()
    Y = factor_history.changes.loc[quarters, ids].astype("float64")
    Y = Y[Y.notna().any(axis=1)]
    quarters = pd.PeriodIndex(Y.index, freq="Q-DEC", name="quarter")
    Y.index = quarters

    coverage = factor_history.coverage.loc[ids]
    needed = sorted({s for src in coverage["sources"] for s in str(src).split(",") if s})
    weights = default_source_weights(needed)
    if source_weights is not None:
        weights.update({k: float(v) for k, v in source_weights.items()})
    factor_weights = pd.Series(
        {f: _factor_reliability(coverage.at[f, "sources"], weights) for f in ids}, name="factor_weight"
    )
    # Per quarter: mean reliability of that quarter's observations.
    observed = Y.notna().to_numpy()
    w = factor_weights.reindex(ids).to_numpy()
    sample_weight = pd.Series((observed * w).sum(axis=1) / observed.sum(axis=1), index=quarters, name="sample_weight")

    return TrainingSet(
        X=features.loc[quarters],
        Y=Y,
        sample_weight=sample_weight,
        factor_ids=ids,
        shock_types=[str(factor_history.coverage.at[f, "shock_type"]) for f in ids],
        factor_weights=factor_weights,
        features=features,
        levels=factor_history.levels[ids].copy(),
        start=quarters[0] if len(quarters) else start_q,
        end=quarters[-1] if len(quarters) else start_q,
        excluded=excluded,
    )


# =============================================================================== the protocol
@runtime_checkable
class Translator(Protocol):
    """What the satellite and the transformer both offer; each is a drop-in for the other."""

    model_id: str
    version: str

    def fit(self, training: TrainingSet) -> Self:
        """Fit on a training set; returns ``self``."""
        ...

    def sample(self, scenario: MacroScenario, n_samples: int, seed: int, *, history: MacroScenario) -> ShockSet:
        """Joint shocks ``[n_samples, quarters, factors]``: cumulative changes from the jump-off
        quarter for every projected quarter, consistent with what the scenario fixes."""
        ...

    def predictive_changes(
        self, X: pd.DataFrame, n_samples: int, seed: int, *, context: pd.DataFrame | None = None
    ) -> FloatArray:
        """``[n_samples, len(X), factors]`` one-quarter changes given features ``X`` (rows: the
        quarters to predict); ``context`` holds earlier quarters' features for lags/windows."""
        ...


# =============================================================================== consistency
def _fed_value(frame: pd.DataFrame, expression: Sequence[str]) -> pd.Series | None:
    if any(v not in frame.columns for v in expression):
        return None
    values = frame[expression[0]].astype("float64")
    if len(expression) == 2:
        values = values - frame[expression[1]].astype("float64")
    return values


def fixed_factor_paths(
    scenario: MacroScenario,
    history: MacroScenario,
    factor_ids: Sequence[str],
    catalog: RiskFactorCatalog | None = None,
) -> dict[str, FloatArray]:
    """The exact cumulative shock of every factor the scenario fixes, per projected quarter.

    The shock is the scenario's value relative to the Fed's own jump-off value (history at the
    scenario's jump-off quarter, same basis as the scenario), in the factor's shock unit, so
    ``levels_from_shocks(fed_jump_off, shock)`` gives back the scenario's value.

    Parameters
    ----------
    scenario
        The projection.
    history
        The Fed historic table holding the jump-off quarter (the scenario's vintage).
    factor_ids
        Factors of the ShockSet; those the catalog marks ``fixed_by_fed`` are returned.
    catalog
        The risk-factor catalog; the shipped one by default.

    Returns
    -------
    dict
        Factor id -> ``[quarters]`` float64 cumulative shock. A factor is left out (stays open)
        when the scenario or the history lacks one of its variables in some quarter (e.g. a
        domestic-only scenario leaves the FX rates open).
    """
    catalog = catalog if catalog is not None else load_risk_factor_catalog()
    jump = jump_off_quarter(scenario)
    proj = scenario.wide().reindex(projection_quarters(scenario))
    hist = history.wide()
    out: dict[str, FloatArray] = {}
    for fid in factor_ids:
        factor = catalog.get(fid)
        if not factor.is_fixed_by_fed:
            continue
        expr = factor.fixed_by_fed_variables
        path = _fed_value(proj, expr)
        base = _fed_value(hist, expr)
        if path is None or base is None or jump not in base.index:
            continue
        values, base_value = path.to_numpy(dtype=np.float64), float(base.loc[jump])
        if not np.isfinite(values).all() or not np.isfinite(base_value):
            continue
        shock = shocks_from_levels(
            np.array([base_value]), values[:, None], [factor.shock_type]
        )[:, 0]
        out[fid] = np.asarray(shock, dtype=np.float64)
    return out


def jump_off_frame(
    scenario: MacroScenario,
    history: MacroScenario,
    levels: pd.DataFrame | FactorHistory,
    factor_ids: Sequence[str],
    catalog: RiskFactorCatalog | None = None,
) -> pd.DataFrame:
    """Jump-off level of each factor, with its date and basis.

    Fixed factors take the Fed's value at the jump-off quarter (``basis`` ``fed``), so levels
    reproduce the scenario. Open factors take their market level at the jump-off quarter, or
    the last one before it when the history ends earlier (``basis`` ``market``, ``asof`` the
    quarter used: a stale level is visible, not hidden).

    Returns
    -------
    pandas.DataFrame
        Index factor id; columns ``level`` (float, NaN when no level at all), ``asof``
        (quarter string) and ``basis``.
    """
    catalog = catalog if catalog is not None else load_risk_factor_catalog()
    frame = levels.levels if isinstance(levels, FactorHistory) else levels
    jump = jump_off_quarter(scenario)
    hist = history.wide()
    rows: dict[str, dict[str, Any]] = {}
    for fid in factor_ids:
        factor = catalog.get(fid)
        if factor.is_fixed_by_fed:
            base = _fed_value(hist, factor.fixed_by_fed_variables)
            if base is not None and jump in base.index and np.isfinite(base.loc[jump]):
                rows[fid] = {"level": float(base.loc[jump]), "asof": str(jump), "basis": "fed"}
                continue
        series = frame[fid].loc[:jump].dropna() if fid in frame.columns else pd.Series(dtype="float64")
        if len(series):
            rows[fid] = {"level": float(series.iloc[-1]), "asof": str(series.index[-1]), "basis": "market"}
        else:
            rows[fid] = {"level": np.nan, "asof": None, "basis": "none"}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "factor_id"
    return out


def jump_off_levels(
    scenario: MacroScenario,
    history: MacroScenario,
    factor_history: FactorHistory | pd.DataFrame,
    factor_ids: Sequence[str],
    catalog: RiskFactorCatalog | None = None,
) -> FloatArray:
    """``[factors]`` levels at the jump-off quarter (see :func:`jump_off_frame`)."""
    frame = jump_off_frame(scenario, history, factor_history, factor_ids, catalog)
    return frame["level"].to_numpy(dtype=np.float64)


@lru_cache(maxsize=4)
def _french_sizes(path: str) -> pd.DataFrame:
    """Monthly market capitalisation (number of firms x average firm size) per industry."""
    lines = Path(path).read_text(encoding="latin-1").splitlines()

    def block(title: str) -> pd.DataFrame:
        start = next(i for i, line in enumerate(lines) if line.strip() == title)
        header = [c.strip() for c in lines[start + 1].split(",")][1:]
        rows = []
        for line in lines[start + 2 :]:
            if not line.strip():
                break
            cells = [c.strip() for c in line.split(",")]
            rows.append([cells[0], *map(float, cells[1:])])
        frame = pd.DataFrame(rows, columns=["yyyymm", *header]).set_index("yyyymm")
        return frame.where(frame > -99.0)  # -99.99 / -999 are the file's missing markers

    return block("Number of Firms in Portfolios") * block("Average Firm Size")


def sector_weights(asof: pd.Period | None = None, path: str | Path | None = None) -> dict[str, float]:
    """Market-capitalisation weights of the twelve equity sectors.

    From the Kenneth French file's ``Number of Firms in Portfolios`` x ``Average Firm Size``
    blocks (the value-weighted portfolios' sizes), at the last month of ``asof``'s quarter or
    the file's last month before it. The market loader exposes only the returns block, so the
    two size blocks are read here. Falls back to equal weights when the file or its blocks
    are missing (a documented approximation, not an error).

    Returns
    -------
    dict
        Sector factor id -> weight, summing to 1.
    """
    equal = {f: 1.0 / len(SECTOR_FACTORS) for f in SECTOR_FACTORS}
    file = Path(path) if path is not None else data_dir() / "market" / "12_Industry_Portfolios.CSV"
    try:
        sizes = _french_sizes(str(file))
    except (OSError, StopIteration, ValueError):
        return equal
    if asof is not None:
        last = pd.Period(asof, freq="Q-DEC").asfreq("M", how="end")
        sizes = sizes[sizes.index.astype(int) <= int(last.strftime("%Y%m"))]
    sizes = sizes.dropna(how="any")
    if sizes.empty:
        return equal
    row = sizes.iloc[-1]
    caps = np.array([float(row[col]) for col in SECTOR_FACTORS.values()])
    return dict(zip(SECTOR_FACTORS, caps / caps.sum(), strict=True))


def _interp_weights(open_years: npt.NDArray[np.float64], node_years: npt.NDArray[np.float64]) -> FloatArray:
    """``[open, nodes]`` linear-interpolation weights in maturity, flat beyond the end nodes."""
    w = np.zeros((open_years.size, node_years.size))
    for i, t in enumerate(open_years):
        if t <= node_years[0]:
            w[i, 0] = 1.0
        elif t >= node_years[-1]:
            w[i, -1] = 1.0
        else:
            j = int(np.searchsorted(node_years, t)) - 1
            a = (t - node_years[j]) / (node_years[j + 1] - node_years[j])
            w[i, j], w[i, j + 1] = 1.0 - a, a
    return w


def apply_consistency(
    shocks: FloatArray,
    factor_ids: Sequence[str],
    fixed_paths: Mapping[str, FloatArray],
    *,
    equity_weights: Mapping[str, float] | None = None,
    curve: bool = True,
    anchors: Mapping[str, str] | None = None,
) -> FloatArray:
    """Impose the fixed factor paths on every sample and keep the open factors coherent.

    Steps, on cumulative shocks:

    1. Treasury curve: at each fixed node (3m, 5y, 10y) the correction ``fixed - drawn`` is
       interpolated linearly in maturity (flat beyond 3m and 10y) and added to the open
       tenors (1m ... 30y), so each sample keeps its drawn curve shape around the fixed nodes.
    2. Anchored factors (:data:`ANCHORED_FACTORS`): add their anchor's correction.
    3. Fixed factors are overwritten with their path.
    4. Equity sectors: a common shift ``d`` (per sample and quarter) makes the buy-and-hold,
       jump-off-cap-weighted portfolio of sectors equal the fixed total market exactly:
       ``log(sum_i w_i exp(s_i + d)) = m``. Relative sector moves are kept as drawn.

    Parameters
    ----------
    shocks
        ``[samples, quarters, factors]`` cumulative shocks (not modified).
    factor_ids
        Ids of the last axis.
    fixed_paths
        :func:`fixed_factor_paths` output (``[quarters]`` each).
    equity_weights
        Sector id -> weight; :func:`sector_weights` (jump-off caps) when ``None``.
    curve
        Apply step 1.
    anchors
        Open factor -> anchor; :data:`ANCHORED_FACTORS` when ``None``, ``{}`` for none.

    Returns
    -------
    numpy.ndarray
        A corrected copy.
    """
    out = np.array(shocks, dtype=np.float64, copy=True)
    if out.ndim != 3 or out.shape[2] != len(factor_ids):
        raise ValueError(f"apply_consistency: shocks of shape {out.shape} for {len(factor_ids)} factors")
    pos = {f: i for i, f in enumerate(factor_ids)}
    fixed = {f: np.asarray(p, dtype=np.float64) for f, p in fixed_paths.items() if f in pos}
    for f, p in fixed.items():
        if p.shape != (out.shape[1],):
            raise ValueError(f"apply_consistency: fixed path of {f} has shape {p.shape}, expected ({out.shape[1]},)")
    correction = {f: p[None, :] - out[:, :, pos[f]] for f, p in fixed.items()}

    if curve:
        nodes = sorted((f for f in fixed if f in TENOR_YEARS), key=TENOR_YEARS.__getitem__)
        open_tenors = [f for f in TENOR_YEARS if f in pos and f not in fixed]
        if nodes and open_tenors:
            w = _interp_weights(
                np.array([TENOR_YEARS[f] for f in open_tenors]), np.array([TENOR_YEARS[f] for f in nodes])
            )
            c = np.stack([correction[f] for f in nodes], axis=-1)  # [S, Q, nodes]
            shift = c @ w.T  # [S, Q, open]
            for k, f in enumerate(open_tenors):
                out[:, :, pos[f]] += shift[:, :, k]

    for f, anchor in (ANCHORED_FACTORS if anchors is None else anchors).items():
        if f in pos and f not in fixed and anchor in correction:
            out[:, :, pos[f]] += correction[anchor]

    for f, p in fixed.items():
        out[:, :, pos[f]] = p[None, :]

    sectors = [f for f in SECTOR_FACTORS if f in pos]
    if TOTAL_MARKET in fixed and sectors:
        weights = dict(equity_weights) if equity_weights is not None else sector_weights()
        w = np.array([weights[f] for f in sectors], dtype=np.float64)
        w = w / w.sum()
        idx = [pos[f] for f in sectors]
        s = out[:, :, idx]
        agg = np.log(np.exp(s) @ w)  # buy-and-hold portfolio's cumulative log return
        out[:, :, idx] = s + (fixed[TOTAL_MARKET][None, :] - agg)[:, :, None]
    return out


def sector_aggregate(shocks: FloatArray, factor_ids: Sequence[str], weights: Mapping[str, float]) -> FloatArray:
    """``[samples, quarters]`` cumulative log return of the cap-weighted sector portfolio."""
    sectors = [f for f in SECTOR_FACTORS if f in factor_ids]
    w = np.array([weights[f] for f in sectors], dtype=np.float64)
    idx = [list(factor_ids).index(f) for f in sectors]
    return np.log(np.exp(shocks[:, :, idx]) @ (w / w.sum()))


# =============================================================================== assembly
def to_shockset(
    shocks: FloatArray,
    *,
    scenario: MacroScenario,
    history: MacroScenario,
    levels: pd.DataFrame | FactorHistory,
    factor_ids: Sequence[str],
    shock_types: Sequence[str],
    model_id: str,
    model_version: str,
    seed: int,
    fixed_paths: Mapping[str, FloatArray] | None = None,
    metadata: Mapping[str, Any] | None = None,
    catalog: RiskFactorCatalog | None = None,
) -> ShockSet:
    """A :class:`ShockSet` with jump-off levels and provenance.

    Metadata records the history vintage, the jump-off quarter, the factors fixed by the
    scenario, and each factor's jump-off basis and date (``fed`` / ``market`` + as-of).
    """
    jump = jump_off_frame(scenario, history, levels, factor_ids, catalog)
    quarters = [str(q) for q in projection_quarters(scenario)]
    meta: dict[str, Any] = {
        "history_id": history.scenario_id,
        "jump_off_quarter": str(jump_off_quarter(scenario)),
        "fixed_factors": sorted(fixed_paths) if fixed_paths is not None else [],
        "jump_off_basis": jump["basis"].to_dict(),
        "jump_off_asof": jump["asof"].to_dict(),
    }
    meta.update(dict(metadata or {}))
    return ShockSet(
        shocks=shocks,
        jump_off=jump["level"].to_numpy(dtype=np.float64),
        factor_ids=list(factor_ids),
        shock_types=list(shock_types),
        quarters=quarters,
        scenario_id=scenario.scenario_id,
        model_id=model_id,
        model_version=model_version,
        seed=int(seed),
        metadata=meta,
    )
