"""Consistency with what the supervisor's scenario fixes.

Where a Fed scenario fixes a factor (``fixed_by_fed`` in the catalog), every sample reproduces
the scenario exactly: the factor's jump-off level is the Fed's own jump-off value and its shock
the scenario's change from it, on the Fed's basis (quarterly *averages* for rates, quarterly
*maximum* for the VIX, quarter-end for prices and FX). A factor fixed by a market variable
(``fixed_by_market``: the EBA's swap and government rates, its stock-price path) is reproduced
the same way when the scenario gives that variable; its jump-off is the publisher's own starting
point, which the canonical scenario carries at its jump-off quarter (basis ``scenario``), since
the Fed history has no such variable. The open factors are then made coherent
with the fixed ones (:func:`apply_consistency`): Treasury tenors the Fed leaves open follow the
fixed 3m/5y/10y nodes, the twelve equity sectors aggregate to the fixed total market, credit
yields and the S&P 500 ride on their fixed anchor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from risk_dagster.market.catalog import RiskFactorCatalog, load_risk_factor_catalog
from risk_dagster.market.history import FactorHistory
from risk_dagster.market.loaders import load_french_market_caps
from risk_dagster.paths import data_dir
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.features import (
    jump_off_quarter,
    projection_quarters,
)
from risk_dagster.translate.shockset import FloatArray, ShockSet, shocks_from_levels

if TYPE_CHECKING:  # the coherence model imports this module's curve helpers
    from risk_dagster.translate.coherence import CoherenceModel

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

EUR_SWAP_TENOR_YEARS: dict[str, float] = {
    "rates.swap.eur.1m": 1 / 12,
    "rates.swap.eur.3m": 0.25,
    "rates.swap.eur.6m": 0.5,
    "rates.swap.eur.1y": 1.0,
    "rates.swap.eur.10y": 10.0,
    "rates.swap.eur.20y": 20.0,
    "rates.swap.eur.30y": 30.0,
}
"""EUR swap-curve factors with a history of their own and their maturities (the 2-7y knots are
derived, :mod:`risk_dagster.translate.curve_knots`)."""

CURVE_TENORS: dict[str, dict[str, float]] = {"ust": TENOR_YEARS, "eur_swap": EUR_SWAP_TENOR_YEARS}
"""Curves whose open tenors follow the fixed ones by maturity (step 1 of :func:`apply_consistency`)."""

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

PINNED_FACTORS: dict[str, str] = {"rates.eur.aaa.10y": "rates.gov.de.10y"}
"""Open factor -> anchor whose shock it takes exactly when the scenario fixes the anchor (its spread
over the anchor stays at the jump-off). The ECB's AAA euro-area 10y yield follows the Bund: Germany
is the core AAA issuer, the spread between them moved by tens of bp in 2004-2023, and the AAA
history (2004-2023 only) is too short for the translators' drawn spread over a fixed Bund to be
trusted (it came out 60 bp off in the EBA 2025 adverse scenario)."""



# =============================================================================== consistency
def _jump_base(
    scenario: MacroScenario, hist: pd.DataFrame, expression: Sequence[str], jump: pd.Period
) -> tuple[float, str] | None:
    """The fixing variables' value at the jump-off and its basis: the Fed history's (``fed``), else
    the scenario's own starting point at its jump-off quarter (``scenario``); ``None`` when neither."""
    base = _fed_value(hist, expression)
    if base is not None and jump in base.index and np.isfinite(base.loc[jump]):
        return float(base.loc[jump]), "fed"
    own = _fed_value(scenario.wide(), expression)
    if own is not None and jump in own.index and np.isfinite(own.loc[jump]):
        return float(own.loc[jump]), "scenario"
    return None


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
        Factors of the ShockSet; those the catalog marks ``fixed_by_fed`` or ``fixed_by_market``
        (when the scenario gives the variable) are returned.
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
        if not factor.is_fixable:
            continue
        expr = factor.fixing_variables
        path = _fed_value(proj, expr)
        base = _jump_base(scenario, hist, expr, jump)
        if path is None or base is None:
            continue
        values, base_value = path.to_numpy(dtype=np.float64), base[0]
        if not np.isfinite(values).all() or not np.isfinite(base_value):
            continue
        shock = shocks_from_levels(
            np.array([base_value]), values[:, None], [factor.shock_type]
        )[:, 0]
        out[fid] = np.asarray(shock, dtype=np.float64)
    return out


def fixed_factor_gaps(
    shockset: ShockSet,
    scenario: MacroScenario,
    history: MacroScenario,
    catalog: RiskFactorCatalog | None = None,
) -> dict[str, float]:
    """Fixed factor -> largest ``|shock - the scenario's shock|`` over every sample and quarter.

    The factors are those of :func:`fixed_factor_paths` among the set's factors; a non-finite
    value in the set gives ``inf`` (a missing value is no reproduction of the supervisor's path).
    Shock units; a set with no sample gives 0 for every factor.
    """
    out: dict[str, float] = {}
    for factor_id, path in fixed_factor_paths(scenario, history, shockset.factor_ids, catalog).items():
        values = shockset.factor(factor_id)
        if not values.size:
            out[factor_id] = 0.0
        elif not np.isfinite(values).all():
            out[factor_id] = float("inf")
        else:
            out[factor_id] = float(np.max(np.abs(values - path[None, : values.shape[1]])))
    return out


def jump_off_frame(
    scenario: MacroScenario,
    history: MacroScenario,
    levels: pd.DataFrame | FactorHistory,
    factor_ids: Sequence[str],
    catalog: RiskFactorCatalog | None = None,
) -> pd.DataFrame:
    """Jump-off level of each factor, with its date and basis.

    Fixed factors take the Fed's value at the jump-off quarter (``basis`` ``fed``), or for a
    market variable the Fed history lacks, the scenario's own starting point (``basis``
    ``scenario``), so levels reproduce the scenario. Open factors take their market level at the jump-off quarter, or
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
        # a Fed-fixed factor keeps the Fed's basis even where a scenario leaves it open (an EBA
        # scenario and the VIX); a market-fixed one only where the scenario gives its variable
        if factor.is_fixed_by_fed or (factor.is_fixable and factor.fixing_variables[0] in scenario.variables):
            base = _jump_base(scenario, hist, factor.fixing_variables, jump)
            # an index the publisher gives as deviations (100 at its start) is no market level
            if base is not None and not scenario.units.get(factor.fixing_variables[0], "").startswith("index_from_deviation"):
                rows[fid] = {"level": base[0], "asof": str(jump), "basis": base[1]}
                continue
        series = frame[fid].loc[:jump].dropna() if fid in frame.columns else pd.Series(dtype="float64")
        if len(series):
            rows[fid] = {"level": float(series.iloc[-1]), "asof": str(series.index[-1]), "basis": "market"}
        else:
            rows[fid] = {"level": np.nan, "asof": None, "basis": "none"}
    _refresh_stale_open(rows, frame, str(jump))
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "factor_id"
    return out


def _refresh_stale_open(rows: dict[str, dict[str, Any]], frame: pd.DataFrame, jump: str) -> None:
    """Stale open jump-offs made coherent with current ones, in place (the EBA fixes the EUR 3m and
    1y at end-2024 while the shipped 6m Euribor ends in 2022; the ECB AAA 10y ends in 2023):

    * a EUR swap-curve tenor (:data:`EUR_SWAP_TENOR_YEARS`) whose level predates the jump-off, with
      current tenors of the curve on both sides: linear in maturity between the nearest (basis ``interpolated``);
    * an anchored or pinned factor (:data:`ANCHORED_FACTORS`, :data:`PINNED_FACTORS`) whose anchor is current: the anchor's level plus
      the factor's spread over it at the factor's last observed quarter (basis ``anchored``).
    """
    current = {f for f, r in rows.items() if r["asof"] == jump and np.isfinite(r["level"])}
    # The Treasury curve's stale open tenors are the coherence model's (their spread to the fixed
    # curve decays from the stale level, CoherenceModel.transform): only the EUR curve is refreshed.
    tenors = EUR_SWAP_TENOR_YEARS
    for f, t in tenors.items():
        if f not in rows or f in current or rows[f]["basis"] != "market":
            continue
        lower = [g for g in tenors if g in current and tenors[g] < t]
        upper = [g for g in tenors if g in current and tenors[g] > t]
        if not lower or not upper:
            continue
        lo = max(lower, key=tenors.__getitem__)
        hi = min(upper, key=tenors.__getitem__)
        a = (t - tenors[lo]) / (tenors[hi] - tenors[lo])
        rows[f] = {"level": (1 - a) * rows[lo]["level"] + a * rows[hi]["level"], "asof": jump, "basis": "interpolated"}
    for f, anchor in {**ANCHORED_FACTORS, **PINNED_FACTORS}.items():
        if f not in rows or rows[f]["basis"] != "market" or rows[f]["asof"] in (None, jump) or anchor not in current:
            continue
        seen = pd.Period(rows[f]["asof"], freq="Q-DEC")
        if anchor not in frame.columns or seen not in frame.index or not np.isfinite(frame.loc[seen, anchor]):
            continue
        spread = rows[f]["level"] - float(frame.loc[seen, anchor])
        rows[f] = {"level": rows[anchor]["level"] + spread, "asof": jump, "basis": "anchored"}


def stale_jump_offs(jump: pd.DataFrame, scenario: MacroScenario) -> list[str]:
    """Factors of a :func:`jump_off_frame` whose level is older than the scenario's jump-off quarter."""
    quarter = str(jump_off_quarter(scenario))
    return [str(f) for f, asof in jump["asof"].items() if asof is not None and asof != quarter]


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


def maturity_weights(open_years: npt.NDArray[np.float64], node_years: npt.NDArray[np.float64]) -> FloatArray:
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
    coherence: CoherenceModel | None = None,
    jump_off: FloatArray | None = None,
    center: FloatArray | None = None,
    stale: Sequence[str] = (),
) -> FloatArray:
    """Impose the fixed factor paths on every sample and keep the open factors coherent.

    Steps, on cumulative shocks:

    0. With ``coherence``: :meth:`CoherenceModel.transform` -- open tenors and fed funds as the
       fixed curve plus a mean-reverting spread (outside the 3m/10y nodes chained tenor to
       adjacent tenor), mean-reverting credit spreads, CP and credit
       yields by identity, a soft zero lower bound, the envelope on the other open factors.
       The factors it determines skip steps 1-2.
    1. Curves (:data:`CURVE_TENORS`: the Treasury curve, the EUR swap curve): at each fixed node
       (the Fed's 3m, 5y, 10y; the EBA's EUR 1m, 3m, 1y, 10y ...) the correction
       ``fixed - drawn`` is interpolated linearly in maturity (flat beyond the end nodes) and
       added to the open tenors, so each sample keeps its drawn curve shape around the fixed nodes.
    2. Anchored factors (:data:`ANCHORED_FACTORS`): add their anchor's correction.
    3. Fixed factors are overwritten with their path; pinned factors (:data:`PINNED_FACTORS`)
       take their fixed anchor's path.
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
    stale
        Open factors whose jump-off level predates the jump-off quarter (step 0, see
        :meth:`CoherenceModel.transform`).

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
        out, owned = coherence.transform(
            out, factor_ids, fixed, jump_off=jump_off, center=center, curve=curve, stale=stale
        )

    if curve:
        for tenors in CURVE_TENORS.values():
            nodes = sorted((f for f in fixed if f in tenors), key=tenors.__getitem__)
            open_tenors = [f for f in tenors if f in pos and f not in fixed and f not in owned]
            if nodes and open_tenors:
                w = maturity_weights(np.array([tenors[f] for f in open_tenors]), np.array([tenors[f] for f in nodes]))
                c = np.stack([correction[f] for f in nodes], axis=-1)  # [S, Q, nodes]
                shift = c @ w.T  # [S, Q, open]
                for k, f in enumerate(open_tenors):
                    out[:, :, pos[f]] += shift[:, :, k]

    for f, anchor in (ANCHORED_FACTORS if anchors is None else anchors).items():
        if f in pos and f not in fixed and f not in owned and anchor in correction:
            out[:, :, pos[f]] += correction[anchor]

    for f, p in fixed.items():
        out[:, :, pos[f]] = p[None, :]

    for f, anchor in PINNED_FACTORS.items():
        if f in pos and f not in fixed and anchor in fixed:
            out[:, :, pos[f]] = fixed[anchor][None, :]

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
