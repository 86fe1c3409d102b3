"""Training data of every translator: the factor history's quarterly changes against the Fed's
macro features, with reliability sample weights (:class:`TrainingSet`).

Units. Targets are one-quarter changes in each factor's shock unit
(:mod:`risk_dagster.translate.shockset`): bp for rates/spreads, log returns for prices and FX,
points for vols. A factor without history in a quarter is masked, never read as a zero change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.market.history import FactorHistory, default_source_weights
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.features import (
    macro_features,
)


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
