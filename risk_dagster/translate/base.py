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

Coherence over the horizon (:class:`CoherenceModel`, fitted with every translator). Models
draw *one-quarter* changes; summing them over a 13-quarter path turns quantities that are
stationary in reality (the spread of an open tenor to the Fed's curve -- beyond 10y and below 3m
to its adjacent tenor, 30y over 20y over 10y, 1m over 3m --, credit spreads, fed
funds to the 3m bill) into random walks, lets short rates fall far below zero when the Fed's
3m sits at the zero lower bound, and compounds a stress-scaled residual into cumulative moves
no history shows. The coherence step, shared by both translators, makes those spreads
mean-revert (AR(1), persistence estimated from history), bounds short rates by a soft zero
lower bound, and keeps every other open factor's cumulative path within the historical
envelope of h-quarter moves (times a margin below the plausibility filter's).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np
import numpy.typing as npt
import pandas as pd

from risk_dagster.market.loaders import load_french_market_caps
from risk_dagster.market.catalog import RiskFactorCatalog, load_risk_factor_catalog
from risk_dagster.market.history import FactorHistory, default_source_weights
from risk_dagster.paths import data_dir
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.features import jump_off_quarter, macro_features, macro_path, projection_quarters
from risk_dagster.translate.shockset import FloatArray, ShockSet, shocks_from_levels

__all__ = [
    "ANCHORED_FACTORS",
    "COHERENCE_FORMAT",
    "CoherenceModel",
    "SECTOR_FACTORS",
    "TENOR_YEARS",
    "TrainingSet",
    "Translator",
    "apply_consistency",
    "assemble_shockset",
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
def sector_weights(asof: pd.Period | None = None, path: str | Path | None = None) -> dict[str, float]:
    """Market-capitalisation weights of the twelve equity sectors.

    From the Kenneth French file's ``Number of Firms in Portfolios`` x ``Average Firm Size``
    blocks (the value-weighted portfolios' sizes, via
    :func:`~risk_dagster.market.loaders.load_french_market_caps`), at the last month of
    ``asof``'s quarter or the file's last month before it. Falls back to equal weights when the
    file or its blocks are missing (a documented approximation, not an error).

    Returns
    -------
    dict
        Sector factor id -> weight, summing to 1.
    """
    equal = {f: 1.0 / len(SECTOR_FACTORS) for f in SECTOR_FACTORS}
    file = Path(path) if path is not None else data_dir() / "market" / "12_Industry_Portfolios.CSV"
    try:
        sizes = load_french_market_caps(file).set_index("date")
    except (OSError, ValueError):
        return equal
    if asof is not None:
        last = pd.Period(asof, freq="Q-DEC").asfreq("M", how="end")
        sizes = sizes[sizes.index.to_period("M") <= last]
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


# =============================================================================== coherence
COHERENCE_FORMAT = "risk_dagster.translate.base.coherence/1"

FED_CURVE_NODES: tuple[str, ...] = ("rates.ust.3m", "rates.ust.5y", "rates.ust.10y")
"""Treasury tenors a Fed scenario fixes; the open tenors' spreads are measured against the
curve interpolated between them (flat beyond 3m and 10y, as in :func:`apply_consistency`)."""

FED_FUNDS = "rates.fedfunds"
CP_RATE = "rates.cp3m"
CP_SPREAD = "credit.spread.cp3m_fedfunds"

SHORT_RATE_ANCHORS: dict[str, str] = {FED_FUNDS: "rates.ust.3m"}
"""Open money-market rate -> the fixed rate its spread is measured against."""

CREDIT_YIELD_SPREADS: dict[str, tuple[str, str]] = {
    "credit.baa": ("rates.ust.10y", "credit.spread.baa_10y"),
    "credit.aaa": ("rates.ust.10y", "credit.spread.aaa_10y"),
}
"""Credit yield -> (Treasury anchor, its spread factor): ``yield = anchor + spread`` in changes
(in history ``BAA = GS10 + (BAA - GS10)`` up to the Treasury blend's basis, <= 19 bp)."""

_UNIT_FLOORS = {"absolute_bp": 25.0, "log_return": 0.025}
"""Smallest envelope per shock unit (other units: 2.5 points): the plausibility filter's own
``move_multiple`` floors, so a flat history never forbids every move."""


def _ar1_phi(spread: pd.Series) -> tuple[float, int, float, float]:
    """OLS AR(1) coefficient of a quarterly series around its mean, from the pairs of
    *consecutive* observed quarters (a gap never links two distant quarters).

    Returns
    -------
    tuple
        ``(phi, n_pairs, mean, minimum)``; ``phi`` NaN with fewer than 20 pairs.
    """
    s = spread.dropna()
    if s.empty:
        return float("nan"), 0, float("nan"), float("nan")
    lo = float(s.min())
    idx = pd.PeriodIndex(s.index, freq="Q-DEC")
    s = pd.Series(s.to_numpy(dtype=np.float64), index=idx)
    prev = s.reindex(idx - 1)
    ok = prev.notna().to_numpy()
    n = int(ok.sum())
    mu = float(s.mean())
    if n < 20:
        return float("nan"), n, mu, lo
    x, y = prev.to_numpy()[ok] - mu, s.to_numpy()[ok] - mu
    return float((x * y).sum() / (x * x).sum()), n, mu, lo


def _diff_sd(spread: pd.Series) -> float:
    """Standard deviation of a quarterly series' first differences over *consecutive* observed
    quarters (the spread's historical one-quarter change); NaN with fewer than 20 pairs."""
    s = spread.dropna()
    idx = pd.PeriodIndex(s.index, freq="Q-DEC")
    s = pd.Series(s.to_numpy(dtype=np.float64), index=idx)
    d = (s - s.reindex(idx - 1).to_numpy()).dropna()
    return float(d.std(ddof=1)) if len(d) >= 20 else float("nan")


def _outer_tenor_chain(tenors: Sequence[str], nodes: Sequence[str]) -> dict[str, str]:
    """Open tenor -> its adjacent tenor toward the fixed nodes, for the tenors outside them
    (shorter than the first node, longer than the last): ``20y -> 10y``, ``30y -> 20y``,
    ``1m -> 3m``. Tenors between two nodes are interpolated and not chained."""
    ordered = sorted((f for f in tenors if f in TENOR_YEARS), key=TENOR_YEARS.__getitem__)
    if not nodes or any(n not in ordered for n in nodes):
        return {}
    first, last = ordered.index(nodes[0]), ordered.index(nodes[-1])
    chain = {ordered[k]: ordered[k - 1] for k in range(last + 1, len(ordered))}
    chain.update({ordered[k]: ordered[k + 1] for k in range(first - 1, -1, -1)})
    return chain


def _ar_path(increments: FloatArray, phi: float) -> FloatArray:
    """Cumulative deviation of an AR(1) driven by ``increments`` (``[..., quarters]``).

    ``dev_t = phi dev_{t-1} + kappa eps_t`` with ``kappa = sqrt((1 + phi) / 2)``: the drawn
    one-quarter change of a spread has the variance of a historical *first difference*, which
    for an AR(1) is ``2 sigma^2 / (1 + phi)`` with ``sigma^2`` the innovation variance, so
    ``kappa`` turns it back into an innovation and the stationary variance of ``dev`` is the
    spread's historical variance. ``phi = 1`` gives the plain cumulative sum.
    """
    kappa = float(np.sqrt((1.0 + phi) / 2.0))
    out = np.empty_like(increments)
    dev = np.zeros(increments.shape[:-1])
    for t in range(increments.shape[-1]):
        dev = phi * dev + kappa * increments[..., t]
        out[..., t] = dev
    return out


def _soft_floor(level: FloatArray, floor: float, width: float) -> FloatArray:
    """``floor + width * softplus((level - floor) / width)``: the identity well above the floor
    (within 0.01 bp from ``floor + 0.7``pp at width 0.1), never below it (a shadow-rate map)."""
    x = (level - floor) / width
    return floor + width * (np.logaddexp(0.0, x))


@dataclass
class CoherenceModel:
    """How a translator's summed one-quarter draws are made coherent over a whole path.

    Fitted from the training history (:meth:`fit`) alongside each translator and stored with it
    (:meth:`to_dict`: arrays for safetensors, the rest JSON). Applied by
    :func:`apply_consistency` (``coherence=``) to the drawn cumulative shocks:

    1. **Open tenors and fed funds: the Fed's curve plus a mean-reverting spread.** Each open
       Treasury tenor is the curve the scenario fixes (:data:`FED_CURVE_NODES`) interpolated at
       its maturity plus a spread ``s``; fed funds is the fixed 3m plus a spread. The spread
       follows an AR(1) around its historical mean ``mu`` from its jump-off value ``s_0``:
       ``s_t - mu = phi (s_{t-1} - mu) + kappa e_t``, ``e_t`` the drawn one-quarter change of the
       spread (open factor minus its drawn interpolated anchor: the joint residual dependence
       survives) *less the model's mean change of it*. The mean drift is dropped because the
       fixed curve is the better conditional mean: the regressions see the 3m and 10y changes
       but not the Fed's 5y, and their quarter-end changes run ahead of the Fed's quarterly
       averages in the fastest quarters (2025 severely adverse, first quarter: about -70 bp on
       the 2y beyond the interpolated curve, more than the spread's largest historical move).
       ``kappa = sqrt((1 + phi) / 2)`` turns a first difference into an AR innovation
       (:func:`_ar_path`). ``s_0 - mu`` is also why: the jump-off spread mixes the Fed's
       quarterly-average nodes with quarter-end tenors (and sometimes a stale as-of date), so
       reverting to it would carry basis noise through the whole path.

       **Outside the fixed nodes the curve is chained** (:attr:`chain`): 20y is a spread over the
       10y, 30y a spread over the (coherent) 20y, 1m a spread over the 3m, each AR(1) with the
       persistence ``phi``, mean and jump-off value of THAT adjacent spread, and each the
       historical standard deviation of the adjacent spread's one-quarter change
       (:attr:`spread_diff_sd`) as the ceiling of its innovations: the drawn innovations ``e``
       are multiplied by ``min(1, spread_diff_sd / rms(e))``, ``rms`` over all samples and
       quarters of the draw (so the model's timing of stress and each sample's relative size
       survive, and a model already as tight as history is untouched). Why: with one separate
       spread to the 10y each, the 20y and the 30y carry two deviations whose difference
       wanders, while in history 30y-20y is the tightest spread of the curve (first-difference
       sd 7 bp, range -41..44 bp). The transformer's joint draws (low-rank correlation, own
       Student-t mixing per factor) put the 20y-30y change correlation at 0.89 (history 0.99),
       so its drawn 30y-20y change has 5x history's sd; the satellite's stress-scaled residual
       vectors about 2x. Its envelope (step 3) shrinks only the chained spread's deviation,
       around the already-shrunk inner tenor. Tenors between the nodes (6m ... 7y) are as above.
    2. **Credit spreads** (``credit.spread.*`` the scenario leaves open, CP-fed funds included):
       their cumulative change is ``dev_t = phi dev_{t-1} + kappa eps_t`` with ``eps_t`` the full
       drawn one-quarter change (the macro-driven widening is the scenario's credit stress and is
       kept), i.e. mean reversion toward the jump-off level instead of a random walk.
    3. **Envelope.** Every open factor's cumulative path (but those set by an identity in
       step 4) is kept within ``margin`` times its largest historical h-quarter move (:attr:`envelope`, training quarters, h =
       1..``horizon``; longer horizons scale with ``sqrt(h)``): the path's deviation from the
       model's conditional-mean path is shrunk by the single factor ``lambda in [0, 1]`` that
       just fits every h-quarter move (a path inside is untouched; a shrunk one keeps its shape).
       Why here rather than by capping the stress scale: the one-quarter distribution (what the
       backtest scores) stays as fitted; the stress-scaled residuals only break history when
       *summed* over a long severe path. ``margin`` = 1.5 is below the filter's 2.0x (whose
       envelope, from the whole history, is at least as wide), so the filter still polices.
    4. **Identities.** ``cp3m = fed funds + (CP - fed funds)`` (exact in FRED-MD) and the Aaa and
       Baa yields = 10y Treasury + their spread (:data:`CREDIT_YIELD_SPREADS`), so yields and
       spread factors agree sample by sample.
    5. **Floors.** Open Treasury tenors, fed funds and CP: a soft zero lower bound on the level
       ``zlb_floor + zlb_width * softplus((r - zlb_floor) / zlb_width)`` (:func:`_soft_floor`),
       the identity above about ``zlb_floor + 0.7`` pp and never below ``zlb_floor`` = -0.25 %
       (quarter-end history's minimum is 0.0 %, daily bills touched about -0.1 %: a shadow rate
       with a little room, no hard wall). Credit spreads other than CP-fed funds: the same map
       at ``min(0, historical minimum)`` with width ``spread_floor_width`` (a spread below zero
       is no credit spread). CP-fed funds is recomputed from the floored rates.

    Attributes
    ----------
    phi
        Spread id -> AR(1) coefficient used (tenors and fed funds by their factor id: their
        spread to the interpolated fixed curve / the 3m; credit spreads by their id).
    phi_raw, phi_pairs, spread_mean, spread_min
        Unclipped OLS estimate, number of consecutive-quarter pairs behind it, mean and minimum
        of the spread in the training quarters (quarter-end levels).
    nodes
        Curve nodes the tenor spreads were measured against.
    chain, spread_diff_sd
        Open tenor outside the nodes -> the adjacent tenor its spread is measured against
        (its ``phi``/``spread_mean``/``spread_min`` are then those of that adjacent spread),
        and the standard deviation of that spread's historical one-quarter change (bp). Empty
        for a model saved before the chain (it keeps its spreads to the interpolated curve).
    envelope_ids, envelope
        Factors with an envelope and ``[factors, horizon]`` their largest ``|h-quarter change|``
        in training (shock units), non-decreasing in h, floored like the filter's.
    margin, zlb_floor, zlb_width, spread_floor_width, phi_max
        The parameters above (``phi`` is clipped to ``[0, phi_max]``; ``phi = 1`` -- the old
        random walk -- where a spread has under 20 quarter pairs of history).
    """

    phi: dict[str, float]
    phi_raw: dict[str, float]
    phi_pairs: dict[str, int]
    spread_mean: dict[str, float]
    spread_min: dict[str, float]
    nodes: list[str]
    envelope_ids: list[str]
    envelope: FloatArray
    chain: dict[str, str] = field(default_factory=dict)
    spread_diff_sd: dict[str, float] = field(default_factory=dict)
    margin: float = 1.5
    zlb_floor: float = -0.25
    zlb_width: float = 0.10
    spread_floor_width: float = 0.05
    phi_max: float = 0.98

    # ------------------------------------------------------------------ fit
    @classmethod
    def fit(
        cls,
        training: TrainingSet,
        *,
        horizon: int = 40,
        margin: float = 1.5,
        zlb_floor: float = -0.25,
        zlb_width: float = 0.10,
        spread_floor_width: float = 0.05,
        phi_max: float = 0.98,
    ) -> CoherenceModel:
        """Estimate the spreads' persistence and the move envelope from the training quarters.

        Only quarter-end levels of the training window (the quarter before the first training
        quarter to the last) are used, excluded quarters (leave-crisis-out) masked.

        Parameters
        ----------
        training
            :func:`build_training_set` output.
        horizon
            Longest horizon of the envelope.
        margin, zlb_floor, zlb_width, spread_floor_width, phi_max
            See the class docstring.
        """
        ids = list(training.factor_ids)
        levels = training.levels.reindex(columns=ids).copy()
        levels.index = pd.PeriodIndex(levels.index, freq="Q-DEC")
        levels = levels.reindex(pd.period_range(training.start - 1, training.end, freq="Q-DEC"))
        levels.loc[levels.index.isin(training.excluded)] = np.nan

        spreads: dict[str, pd.Series] = {}
        nodes = [f for f in FED_CURVE_NODES if f in levels.columns]
        chain: dict[str, str] = {}
        if len(nodes) == len(FED_CURVE_NODES):
            chain = _outer_tenor_chain(list(levels.columns), nodes)
            node_years = np.array([TENOR_YEARS[f] for f in nodes])
            for f in TENOR_YEARS:
                if f in chain:
                    spreads[f] = levels[f] - levels[chain[f]]
                elif f not in nodes and f in levels.columns:
                    w = _interp_weights(np.array([TENOR_YEARS[f]]), node_years)[0]
                    spreads[f] = levels[f] - levels[nodes].to_numpy(dtype=np.float64) @ w
        else:
            nodes = []
        for f, anchor_id in SHORT_RATE_ANCHORS.items():
            if f in levels.columns and anchor_id in levels.columns:
                spreads[f] = levels[f] - levels[anchor_id]
        for f in ids:
            if f.startswith("credit.spread."):
                spreads[f] = levels[f]
        est = {f: _ar1_phi(sp) for f, sp in spreads.items()}

        # Envelope of h-quarter moves: rolling sums over consecutive observed quarters only.
        Y = training.Y.copy()
        Y.index = pd.PeriodIndex(Y.index, freq="Q-DEC")
        Y = Y.reindex(pd.period_range(training.start, training.end, freq="Q-DEC"))
        env = np.full((len(ids), horizon), np.nan)
        for j, f in enumerate(ids):
            col = Y[f]
            if col.notna().sum() < 20:
                continue
            for h in range(1, horizon + 1):
                m = col.rolling(h, min_periods=h).sum().abs().max()
                env[j, h - 1] = float(m) if np.isfinite(m) else (env[j, h - 2] if h > 1 else np.nan)
            floor = _UNIT_FLOORS.get(training.shock_types[j], 2.5)
            env[j] = np.maximum.accumulate(np.maximum(np.nan_to_num(env[j], nan=floor), floor))
        has = np.isfinite(env).all(axis=1)
        return cls(
            phi={f: (float(np.clip(e[0], 0.0, phi_max)) if np.isfinite(e[0]) else 1.0) for f, e in est.items()},
            phi_raw={f: e[0] for f, e in est.items()},
            phi_pairs={f: e[1] for f, e in est.items()},
            spread_mean={f: e[2] for f, e in est.items()},
            spread_min={f: e[3] for f, e in est.items()},
            nodes=nodes,
            envelope_ids=[f for f, k in zip(ids, has, strict=True) if k],
            envelope=env[has],
            chain=chain,
            spread_diff_sd={f: _diff_sd(spreads[f]) * 100.0 for f in chain},  # bp
            margin=float(margin),
            zlb_floor=float(zlb_floor),
            zlb_width=float(zlb_width),
            spread_floor_width=float(spread_floor_width),
            phi_max=float(phi_max),
        )

    # ------------------------------------------------------------------ limits
    def move_limit(self, factor_id: str, horizon: int) -> float:
        """Allowed ``|h-quarter move|`` of an open factor's path (``inf`` without an envelope)."""
        if factor_id not in self.envelope_ids:
            return float("inf")
        env = self.envelope[self.envelope_ids.index(factor_id)]
        if horizon <= env.size:
            return self.margin * float(env[horizon - 1])
        return self.margin * float(env[-1]) * float(np.sqrt(horizon / env.size))

    # ------------------------------------------------------------------ apply
    def transform(
        self,
        shocks: FloatArray,
        factor_ids: Sequence[str],
        fixed: Mapping[str, FloatArray],
        *,
        jump_off: FloatArray | None = None,
        center: FloatArray | None = None,
        curve: bool = True,
    ) -> tuple[FloatArray, set[str]]:
        """Steps 1-5 of the class docstring on cumulative shocks.

        Parameters
        ----------
        shocks
            ``[samples, quarters, factors]`` drawn cumulative shocks (not modified).
        factor_ids
            Ids of the last axis.
        fixed
            Factor id -> ``[quarters]`` fixed cumulative shock.
        jump_off
            ``[factors]`` jump-off levels (the ShockSet's). Without them the tenor spreads
            revert to their jump-off value and no floor applies.
        center
            ``[quarters, factors]`` (or ``[samples, quarters, factors]``) the model's
            conditional-mean cumulative path; the per-quarter median of the samples when
            ``None``.
        curve
            Rebuild the open tenors on the fixed curve (step 1 for tenors).

        Returns
        -------
        tuple
            The transformed copy, and the ids it determined (open tenors, fed funds, CP,
            credit yields), which the caller must not correct again.
        """
        out = np.array(shocks, dtype=np.float64, copy=True)
        n_q = out.shape[1]
        pos = {f: i for i, f in enumerate(factor_ids)}
        j0 = np.asarray(jump_off, dtype=np.float64) if jump_off is not None else np.full(len(pos), np.nan)
        owned: set[str] = set()
        if center is None:
            base = np.nanmedian(out, axis=0)[None]
        else:
            c = np.asarray(center, dtype=np.float64)
            base = np.array(c[None] if c.ndim == 2 else c, copy=True)
        steps = np.arange(1, n_q + 1)

        def inc(x: FloatArray) -> FloatArray:
            return np.diff(x, axis=1, prepend=0.0)

        raw, base_raw = out.copy(), base.copy()  # the drawn paths, before any step

        def spread_to(f: str, anchor_w: Mapping[str, float], diff_sd: float = np.nan) -> None:
            """Step 1 for one open rate: ``anchor`` (weights on fixed factors, or one open tenor
            already made coherent) + AR spread, its innovations capped at ``diff_sd`` (bp)."""
            drawn = {k: sum(w * x[:, :, pos[a]] for a, w in anchor_w.items()) for k, x in (("s", raw), ("c", base_raw))}
            e = (inc(raw[:, :, pos[f]]) - inc(drawn["s"])) - (inc(base_raw[:, :, pos[f]]) - inc(drawn["c"]))
            if np.isfinite(diff_sd) and e.size:
                with np.errstate(invalid="ignore"):
                    rms = float(np.sqrt(np.nanmean(e**2)))
                if np.isfinite(rms) and rms > diff_sd:
                    e = e * (diff_sd / rms)
            s0 = j0[pos[f]] - sum(w * j0[pos[a]] for a, w in anchor_w.items())
            gap = s0 - self.spread_mean.get(f, np.nan)
            decay = (self.phi[f] ** steps - 1.0) * (gap if np.isfinite(gap) else 0.0) * 100.0  # bp
            if all(a in fixed for a in anchor_w):
                level_part = sum(w * fixed[a] for a, w in anchor_w.items()) + decay  # [Q]
                out[:, :, pos[f]] = level_part[None, :] + _ar_path(e, self.phi[f])
                base[:, :, pos[f]] = level_part[None, :]
            else:  # chained to an open tenor: its coherent path, sample by sample
                def anchor(x: FloatArray) -> FloatArray:
                    return sum(w * (fixed[a][None, :] if a in fixed else x[:, :, pos[a]]) for a, w in anchor_w.items())

                out[:, :, pos[f]] = anchor(out) + decay[None, :] + _ar_path(e, self.phi[f])
                base[:, :, pos[f]] = anchor(base) + decay[None, :]
            owned.add(f)

        # 1. Open tenors on the fixed curve (outside the nodes: chained to the adjacent tenor),
        # fed funds on the fixed 3m.
        chained: dict[str, str] = {}  # open tenor -> the OPEN tenor it is chained to
        if curve and self.nodes and all(f in fixed for f in self.nodes):
            node_years = np.array([TENOR_YEARS[f] for f in self.nodes])
            for f in TENOR_YEARS:  # in maturity order: an inner tenor before the one chained to it
                if f in pos and f not in fixed and f in self.phi:
                    parent = self.chain.get(f)
                    if parent is not None and parent in pos and (parent in fixed or parent in owned):
                        spread_to(f, {parent: 1.0}, self.spread_diff_sd.get(f, np.nan))
                        if parent not in fixed:
                            chained[f] = parent
                        continue
                    w = _interp_weights(np.array([TENOR_YEARS[f]]), node_years)[0]
                    spread_to(f, {a: float(v) for a, v in zip(self.nodes, w, strict=True) if v != 0.0})
        for f, anchor in SHORT_RATE_ANCHORS.items():
            if f in pos and f not in fixed and anchor in fixed and f in self.phi:
                spread_to(f, {anchor: 1.0})

        # 2. Credit spreads: cumulative change mean-reverting toward the jump-off level.
        for f in factor_ids:
            if f.startswith("credit.spread.") and f not in fixed and f in self.phi:
                for x in (out, base):
                    x[:, :, pos[f]] = _ar_path(inc(x[:, :, pos[f]]), self.phi[f])

        # 3. Envelope (deviation from the center shrunk) of every open factor not set by an
        # identity: open tenors and fed funds included (their center is the fixed curve plus
        # the decaying jump-off spread, so only the spread noise is shrunk).
        # A tenor chained to an open one keeps its spread to it: only the spread's deviation is
        # shrunk, around the inner tenor's already-shrunk path.
        identities = {CP_RATE, *CREDIT_YIELD_SPREADS}
        chain_spread = {f: (out[:, :, pos[f]] - out[:, :, pos[p]], base[:, :, pos[f]] - base[:, :, pos[p]])
                        for f, p in chained.items()}  # fmt: skip
        for f in factor_ids:
            if f in fixed or f in identities or f not in self.envelope_ids or f in chained:
                continue
            if f in TENOR_YEARS and f not in owned:
                continue  # left to apply_consistency's plain curve step
            i = pos[f]
            out[:, :, i] = self._shrink(out[:, :, i], np.broadcast_to(base[:, :, i], out.shape[:2]), f)
        for f, p in chained.items():  # inner tenors first (maturity order)
            sp_out, sp_base = chain_spread[f]
            out[:, :, pos[f]] = out[:, :, pos[p]] + sp_out
            if f in self.envelope_ids:
                center_f = np.broadcast_to(out[:, :, pos[p]] + sp_base, out.shape[:2])
                out[:, :, pos[f]] = self._shrink(out[:, :, pos[f]], center_f, f)

        # 4. Identities.
        cp_tied = CP_RATE in pos and CP_RATE not in fixed and FED_FUNDS in pos and CP_SPREAD in pos
        cp_tied = cp_tied and CP_SPREAD not in fixed
        if cp_tied:
            for x in (out, base):
                x[:, :, pos[CP_RATE]] = x[:, :, pos[FED_FUNDS]] + x[:, :, pos[CP_SPREAD]]
            owned.add(CP_RATE)

        # 5. Floors on levels (a jump-off level is needed).
        def floor_level(i: int, floor: float, width: float) -> None:
            if np.isfinite(j0[i]):
                for x in (out, base):
                    level = j0[i] + x[:, :, i] / 100.0  # absolute_bp: percent level
                    x[:, :, i] = (_soft_floor(level, floor, width) - j0[i]) * 100.0

        for f in factor_ids:
            if f.startswith("credit.spread.") and f != CP_SPREAD and f not in fixed and f in self.spread_min:
                floor = min(0.0, self.spread_min[f]) if np.isfinite(self.spread_min[f]) else 0.0
                floor_level(pos[f], floor, self.spread_floor_width)
        for f in (*TENOR_YEARS, FED_FUNDS, CP_RATE):
            if f in pos and f not in fixed:
                floor_level(pos[f], self.zlb_floor, self.zlb_width)
        if cp_tied:
            for x in (out, base):  # keep CP = fed funds + spread after both were floored
                x[:, :, pos[CP_SPREAD]] = x[:, :, pos[CP_RATE]] - x[:, :, pos[FED_FUNDS]]
        for f, (anchor, spread) in CREDIT_YIELD_SPREADS.items():
            if f in pos and f not in fixed and anchor in fixed and spread in pos:
                for x in (out, base):
                    x[:, :, pos[f]] = fixed[anchor][None, :] + x[:, :, pos[spread]]
                owned.add(f)

        return out, owned

    def _shrink(self, path: FloatArray, center: FloatArray, factor_id: str) -> FloatArray:
        """``center + lambda (path - center)`` per sample, ``lambda`` the largest value in
        ``[0, 1]`` keeping every h-quarter move within the envelope (constraints the center
        itself already breaks are left to the filter: the scenario's severity is not ours)."""
        n = path.shape[0]
        p = np.concatenate([np.zeros((n, 1)), path], axis=1)
        c = np.concatenate([np.zeros((n, 1)), center], axis=1)
        d = p - c
        lam = np.ones(n)
        with np.errstate(divide="ignore", invalid="ignore"):
            for h in range(1, path.shape[1] + 1):
                limit = self.move_limit(factor_id, h)
                cm = c[:, h:] - c[:, :-h]
                dm = d[:, h:] - d[:, :-h]
                room = limit - np.sign(dm) * cm  # |cm + lam dm| <= limit for lam in [0, bound]
                ok = (np.abs(cm) <= limit) & (np.abs(dm) > 0) & np.isfinite(dm)
                lam = np.minimum(lam, np.where(ok, room / np.abs(dm), np.inf).min(axis=1))
        lam = np.clip(np.nan_to_num(lam, nan=1.0), 0.0, 1.0)
        return center + lam[:, None] * (path - center)

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """Plain state: ``arrays`` (float64, for safetensors) and JSON-able fields."""
        spreads = sorted(self.phi)

        def column(values: Mapping[str, float]) -> FloatArray:
            return np.array([values.get(k, np.nan) for k in spreads], dtype=np.float64)

        return {
            "format": COHERENCE_FORMAT,
            "spreads": spreads,
            "phi_pairs": {k: int(v) for k, v in self.phi_pairs.items()},
            "nodes": list(self.nodes),
            "envelope_ids": list(self.envelope_ids),
            "margin": self.margin,
            "zlb_floor": self.zlb_floor,
            "zlb_width": self.zlb_width,
            "spread_floor_width": self.spread_floor_width,
            "phi_max": self.phi_max,
            "chain": dict(self.chain),
            "arrays": {
                "coherence_phi": column(self.phi),
                "coherence_phi_raw": column(self.phi_raw),
                "coherence_spread_mean": column(self.spread_mean),
                "coherence_spread_min": column(self.spread_min),
                "coherence_envelope": np.ascontiguousarray(self.envelope, dtype=np.float64),
                "coherence_spread_diff_sd": column(self.spread_diff_sd),
            },
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any], arrays: Mapping[str, Any] | None = None) -> CoherenceModel:
        """Rebuild from :meth:`to_dict` output (``arrays`` may be passed separately, e.g. read
        back from a safetensors file)."""
        if state.get("format") != COHERENCE_FORMAT:
            raise ValueError(f"CoherenceModel.from_dict: format {state.get('format')!r}, expected {COHERENCE_FORMAT!r}")
        a = {k: np.asarray(v, dtype=np.float64) for k, v in (arrays if arrays is not None else state["arrays"]).items()}
        spreads = list(state["spreads"])

        def mapping(key: str) -> dict[str, float]:
            return dict(zip(spreads, map(float, a[key]), strict=True))

        return cls(
            phi=mapping("coherence_phi"),
            phi_raw=mapping("coherence_phi_raw"),
            phi_pairs={k: int(v) for k, v in state.get("phi_pairs", {}).items()},
            spread_mean=mapping("coherence_spread_mean"),
            spread_min=mapping("coherence_spread_min"),
            nodes=list(state["nodes"]),
            envelope_ids=list(state["envelope_ids"]),
            envelope=a["coherence_envelope"].reshape(len(state["envelope_ids"]), -1),
            margin=float(state["margin"]),
            zlb_floor=float(state["zlb_floor"]),
            zlb_width=float(state["zlb_width"]),
            spread_floor_width=float(state.get("spread_floor_width", 0.05)),
            phi_max=float(state.get("phi_max", 0.98)),
            # Saved before the chained outer tenors: none (spreads to the interpolated curve).
            chain={k: str(v) for k, v in state.get("chain", {}).items()},
            spread_diff_sd={
                k: v
                for k, v in (mapping("coherence_spread_diff_sd") if "coherence_spread_diff_sd" in a else {}).items()
                if np.isfinite(v)
            },
        )

    def summary(self) -> dict[str, Any]:
        """Plain-JSON documentation of the parameters (metadata)."""

        def rounded(values: Mapping[str, float]) -> dict[str, float | None]:
            return {k: (round(float(v), 4) if np.isfinite(v) else None) for k, v in sorted(values.items())}

        return {
            "phi": rounded(self.phi),
            "phi_raw": rounded(self.phi_raw),
            "phi_pairs": dict(sorted(self.phi_pairs.items())),
            "spread_mean": rounded(self.spread_mean),
            "nodes": list(self.nodes),
            "chain": dict(sorted(self.chain.items())),
            "spread_diff_sd_bp": rounded(self.spread_diff_sd),
            "envelope_margin": self.margin,
            "zlb_floor": self.zlb_floor,
            "zlb_width": self.zlb_width,
            "spread_floor_width": self.spread_floor_width,
            "phi_max": self.phi_max,
        }


def apply_consistency(
    shocks: FloatArray,
    factor_ids: Sequence[str],
    fixed_paths: Mapping[str, FloatArray],
    *,
    equity_weights: Mapping[str, float] | None = None,
    curve: bool = True,
    anchors: Mapping[str, str] | None = None,
    coherence: CoherenceModel | None = None,
    jump_off: FloatArray | None = None,
    center: FloatArray | None = None,
) -> FloatArray:
    """Impose the fixed factor paths on every sample and keep the open factors coherent.

    Steps, on cumulative shocks:

    0. With ``coherence``: :meth:`CoherenceModel.transform` -- open tenors and fed funds as the
       fixed curve plus a mean-reverting spread (outside the 3m/10y nodes chained tenor to
       adjacent tenor), mean-reverting credit spreads, CP and credit
       yields by identity, a soft zero lower bound, the envelope on the other open factors.
       The factors it determines skip steps 1-2.
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
    coherence
        The translator's fitted :class:`CoherenceModel`; ``None`` skips step 0 (plain sums).
    jump_off
        ``[factors]`` jump-off levels (for the zero lower bound of step 0).
    center
        The model's conditional-mean cumulative path (``[quarters, factors]``) for step 0's
        envelope.

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

    owned: set[str] = set()
    if coherence is not None:
        out, owned = coherence.transform(out, factor_ids, fixed, jump_off=jump_off, center=center, curve=curve)

    if curve:
        nodes = sorted((f for f in fixed if f in TENOR_YEARS), key=TENOR_YEARS.__getitem__)
        open_tenors = [f for f in TENOR_YEARS if f in pos and f not in fixed and f not in owned]
        if nodes and open_tenors:
            w = _interp_weights(
                np.array([TENOR_YEARS[f] for f in open_tenors]), np.array([TENOR_YEARS[f] for f in nodes])
            )
            c = np.stack([correction[f] for f in nodes], axis=-1)  # [S, Q, nodes]
            shift = c @ w.T  # [S, Q, open]
            for k, f in enumerate(open_tenors):
                out[:, :, pos[f]] += shift[:, :, k]

    for f, anchor in (ANCHORED_FACTORS if anchors is None else anchors).items():
        if f in pos and f not in fixed and f not in owned and anchor in correction:
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


OneQuarterDraws = Callable[[pd.DataFrame, pd.DataFrame], FloatArray]
"""``(X, context) -> [samples, len(X), factors]`` one-quarter changes (the model's draws)."""

OneQuarterMean = Callable[[pd.DataFrame, pd.DataFrame], FloatArray]
"""``(X, context) -> [len(X), factors]`` the model's conditional-mean one-quarter changes."""


def assemble_shockset(
    translator: Any,
    scenario: MacroScenario,
    history: MacroScenario,
    one_quarter_changes: OneQuarterDraws,
    mean_changes: OneQuarterMean,
    *,
    seed: int,
    lookback: int,
    factor_history: FactorHistory | None = None,
    catalog: RiskFactorCatalog | None = None,
    equity_weights: Mapping[str, float] | None = None,
    metadata: Callable[[pd.DataFrame], Mapping[str, Any]] | None = None,
) -> ShockSet:
    """The sampling assembly every translator's ``sample()`` shares.

    The Fed macro path (``lookback`` quarters of history before the jump-off) and its features,
    the model's one-quarter draws for the projected quarters, summed into cumulative shocks, the
    scenario's fixed factor paths imposed and the open factors made coherent
    (:func:`apply_consistency` with the translator's :class:`CoherenceModel`, the envelope
    centred on the cumulative ``mean_changes``), then jump-off levels and provenance
    (:func:`to_shockset`). A translator only supplies its draws and its mean.

    Parameters
    ----------
    translator
        A fitted translator: ``factor_ids_``, ``shock_types_``, ``levels_``, ``coherence_``,
        ``training_summary_``, ``model_id`` and ``version`` are read.
    scenario, history
        The projection and the Fed history it jumps off from.
    one_quarter_changes
        ``(X, context)`` -> ``[samples, len(X), factors]`` drawn one-quarter changes, ``X`` the
        projected quarters' features and ``context`` the whole macro path's features; the
        number of samples and the seed are the caller's.
    mean_changes
        ``(X, context)`` -> ``[len(X), factors]`` the conditional-mean one-quarter changes
        whose cumulative path the envelope shrinks a sample's residual toward.
    seed
        Recorded in the ShockSet.
    lookback
        Quarters of history before the jump-off in the macro path (the model's lags/window).
    factor_history
        Market levels for the open factors' jump-off; the translator's training levels by default.
    catalog
        Risk-factor catalog (which factors are fixed); the shipped one by default.
    equity_weights
        Sector weights for the aggregation to the total market; French caps at the jump-off.
    metadata
        ``X -> dict``: the translator's own metadata, recorded before ``training`` and
        ``coherence``.

    Returns
    -------
    ShockSet
        ``[samples, quarters, factors]``, fixed factors exactly on the scenario's path.
    """
    feats = macro_features(macro_path(scenario, history, lookback=lookback))
    X = feats.loc[projection_quarters(scenario)]
    cumulative = np.cumsum(one_quarter_changes(X, feats), axis=1)
    ids = translator.factor_ids_
    fixed = fixed_factor_paths(scenario, history, ids, catalog)
    weights = equity_weights if equity_weights is not None else sector_weights(jump_off_quarter(scenario))
    levels = factor_history if factor_history is not None else translator.levels_
    coherence: CoherenceModel | None = translator.coherence_
    shocks = apply_consistency(
        cumulative,
        ids,
        fixed,
        equity_weights=weights,
        coherence=coherence,
        jump_off=jump_off_levels(scenario, history, levels, ids, catalog),
        center=np.cumsum(mean_changes(X, feats), axis=0),
    )
    meta = dict(metadata(X)) if metadata is not None else {}
    meta["training"] = translator.training_summary_
    meta["coherence"] = coherence.summary() if coherence is not None else None
    return to_shockset(
        shocks,
        scenario=scenario,
        history=history,
        levels=levels,
        factor_ids=ids,
        shock_types=translator.shock_types_,
        model_id=translator.model_id,
        model_version=translator.version,
        seed=seed,
        fixed_paths=fixed,
        metadata=meta,
        catalog=catalog,
    )
