"""The sampling assembly every translator's ``sample()`` shares: the macro path and its features,
the model's one-quarter draws cumulated, the scenario's fixed paths imposed and the open factors
made coherent, then jump-off levels and provenance (:func:`assemble_shockset`, :func:`to_shockset`),
and the derived spreads by rating bucket appended (:func:`~risk_dagster.translate.rating_spreads.add_rating_spreads`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.market.catalog import RiskFactorCatalog
from risk_dagster.market.history import FactorHistory
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.coherence import CoherenceModel
from risk_dagster.translate.consistency import (
    apply_consistency,
    fixed_factor_paths,
    jump_off_frame,
    sector_weights,
    stale_jump_offs,
)
from risk_dagster.translate.features import (
    jump_off_quarter,
    macro_features,
    macro_path,
    projection_quarters,
)
from risk_dagster.translate.curve_knots import add_curve_knots
from risk_dagster.translate.itraxx import add_itraxx
from risk_dagster.translate.sovereign import add_sovereign_factors
from risk_dagster.translate.rating_spreads import ANCHOR_FACTOR, add_rating_spreads
from risk_dagster.translate.shockset import FloatArray, ShockSet


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
    (:func:`to_shockset`), the curve knots without history (:mod:`~risk_dagster.translate.curve_knots`:
    the scenario's where it fixes them, else interpolated in maturity), and last the seven spreads by rating bucket derived from the set's
    BBB-10y and Baa-10y spreads (:func:`~risk_dagster.translate.rating_spreads.add_rating_spreads`;
    left out, with a metadata note, when the translator has no BBB-10y factor) and the iTraxx indices
    from them or the scenario (:mod:`~risk_dagster.translate.itraxx`). A translator only supplies its
    draws and its mean.

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
        ``[samples, quarters, factors]``, fixed factors exactly on the scenario's path: the
        translator's factors in its order, then the rating-bucket factors.
    """
    feats = macro_features(macro_path(scenario, history, lookback=lookback))
    X = feats.loc[projection_quarters(scenario)]
    cumulative = np.cumsum(one_quarter_changes(X, feats), axis=1)
    ids = translator.factor_ids_
    fixed = fixed_factor_paths(scenario, history, ids, catalog)
    weights = equity_weights if equity_weights is not None else sector_weights(jump_off_quarter(scenario))
    levels = factor_history if factor_history is not None else translator.levels_
    coherence: CoherenceModel | None = translator.coherence_
    jump = jump_off_frame(scenario, history, levels, ids, catalog)
    shocks = apply_consistency(
        cumulative,
        ids,
        fixed,
        equity_weights=weights,
        coherence=coherence,
        jump_off=jump["level"].to_numpy(dtype=np.float64),
        center=np.cumsum(mean_changes(X, feats), axis=0),
        stale=stale_jump_offs(jump, scenario),
    )
    meta = dict(metadata(X)) if metadata is not None else {}
    meta["training"] = translator.training_summary_
    meta["coherence"] = coherence.summary() if coherence is not None else None
    drawn = to_shockset(
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
    drawn = add_curve_knots(drawn, scenario, history, catalog=catalog)
    if ANCHOR_FACTOR not in drawn.factor_ids:
        drawn.metadata["rating_spreads"] = f"not derived: the translator has no {ANCHOR_FACTOR} factor"
        return drawn
    drawn = add_itraxx(add_rating_spreads(drawn), scenario, history, catalog=catalog)
    return add_sovereign_factors(drawn, scenario, history, catalog=catalog)
