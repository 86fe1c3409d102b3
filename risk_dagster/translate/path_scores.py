"""Scores of the multi-quarter paths production draws, at rolling origins.

The rolling-origin evaluation (:mod:`risk_dagster.translate.rolling_origin`) scores one-quarter
predictive changes. Production uses something else: whole paths of levels over a scenario's
horizon, drawn by :meth:`Translator.sample` -- the model's one-quarter draws cumulated, the
scenario's fixed factors imposed and the open factors made coherent
(:func:`~risk_dagster.translate.assembly.assemble_shockset`, which calls
:func:`~risk_dagster.translate.consistency.apply_consistency` with the model's
:class:`~risk_dagster.translate.coherence.CoherenceModel`), jump-off levels added. This module
scores those paths.

At each origin ``o`` (a block of consecutive quarters ``o .. o + H - 1``):

* every model is fitted on the quarters before ``o`` only
  (:func:`~risk_dagster.translate.backtest.window_training_set` with every later quarter left
  out), or a model already fitted so is reused (``fitted``);
* the realized macro scenario of the block (:func:`realized_scenario`: the Fed historic table's
  rows for the block's quarters, jump-off ``o - 1``) is translated by :func:`draw_paths`, the
  same call :func:`~risk_dagster.translate.pipeline.draw_filtered` (``risk-dagster translate``,
  the Dagster assets) makes -- ``translator.sample(scenario, n, seed, history=fed_history,
  factor_history=...)`` -- with a factor history cut before ``o`` (:func:`history_before`), so
  the jump-off levels are the market levels at ``o - 1`` and the transformer's lagged inputs
  are realized changes before ``o`` only; optionally through the plausibility filter too;
* the drawn levels of the open factors are scored against the realized levels.

Conventions (where each is made)
--------------------------------
* Open factors: those the risk-factor catalog does not mark ``fixed_by_fed``
  (:attr:`RiskFactor.is_fixed_by_fed`), as in
  :func:`~risk_dagster.translate.backtest.run_backtest`. A fixed factor's path is the Fed's,
  data in a scenario, not a prediction.
* Realized levels: :attr:`FactorHistory.levels` (quarter-end market levels in each factor's
  catalog unit) at the block's quarters. Drawn levels: :attr:`ShockSet.levels` (the jump-off
  level, the market level at ``o - 1`` or the last before it, moved by the cumulative shock).
* Levels are compared in each factor's shock unit relative to the common jump-off level
  (:func:`path_coordinates`, through :func:`~risk_dagster.translate.shockset.shocks_from_levels`):
  rates, yields and spreads (``absolute_bp``) as the level difference in bp, prices, indices
  and FX (``log_return``) as the log of the level ratio, vols and other ``absolute`` factors as
  the level difference in points. Draws and realization share the jump-off, so this is a
  per-factor affine (or log) map of the levels.
* Energy score (:func:`path_energy_score`): one score per origin over the joint vector of
  every valid (horizon, open factor) cell of the block. Each coordinate is divided by the
  factor's full-sample std of one-quarter changes (the yardstick of ``run_backtest``: 1990
  onward, every quarter, ``ddof=1``) **times sqrt(h)**: the h-quarter change of a random walk
  with that quarterly std has std ``sigma * sqrt(h)``, so every cell is of order one and the
  late horizons do not dominate the score (``sqrt_h=False`` divides by the std alone).
* Coverage (:func:`horizon_coverage`): whether each realized level lies in the central 90% /
  99% interval of the drawn levels (empirical quantiles,
  :func:`~risk_dagster.translate.backtest.interval_coverage`), per horizon ``h = 1..H``.
* Cells: a (horizon, factor) cell is scored only when the realized level, the jump-off and
  every model's draws there are finite, so all models are scored on the same cells.
* Stress: a coverage cell is a stress cell when its quarter is a stress quarter
  (:func:`~risk_dagster.translate.rolling_origin.stress_quarters`); an origin counts as a
  stress origin for the energy score when its block holds at least one stress quarter.

Pooling: per seed set, the energy score is the mean over origins and the coverage at ``h`` the
mean over the cells (origins x factors) at ``h``; reported as the mean over seed sets, with
each seed set's value. The comparison ratio (challenger / benchmark summed path energy score)
has a moving-block bootstrap interval over chronological origins (:func:`block_bootstrap_ratio`).

Conditioning ablation (:func:`satellite_inputs_transformer`): the transformer restricted to the
satellite's information set, to tell what its extra inputs bring.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from risk_dagster.market.catalog import RiskFactorCatalog, load_risk_factor_catalog
from risk_dagster.market.history import FactorHistory
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.backtest import (
    ModelFactory,
    _clean,
    _instantiate,
    _seed_pairs,
    energy_score,
    interval_coverage,
    window_training_set,
)
from risk_dagster.translate.features import SATELLITE_REGRESSORS, check_conditioning
from risk_dagster.translate.protocol import Translator
from risk_dagster.translate.shockset import FloatArray, ShockSet, shocks_from_levels
from risk_dagster.translate.training import build_training_set

__all__ = [
    "ABLATION_MODEL",
    "PathScores",
    "block_bootstrap_ratio",
    "draw_paths",
    "history_before",
    "horizon_coverage",
    "open_factor_scale",
    "path_coordinates",
    "path_energy_score",
    "path_scores",
    "realized_scenario",
    "satellite_inputs",
    "satellite_inputs_transformer",
]

ABLATION_MODEL = "transformer_satellite_inputs"
"""Name of the transformer restricted to the satellite's inputs (:func:`satellite_inputs_transformer`)."""

LEVELS: tuple[float, float] = (0.90, 0.99)
"""Central-interval levels whose coverage is reported."""

PlausibilityFactory = Callable[[FactorHistory], Any]
"""``past history -> fitted PlausibilityFilter`` (fitted on the quarters before the origin)."""

_ES_CHUNK_FLOATS = 4_000_000
"""Floats of one pairwise block of :func:`~risk_dagster.translate.backtest.energy_score` (32 MB)."""


# =============================================================================== inputs
def realized_scenario(fed_history: MacroScenario, quarters: Sequence[str | pd.Period]) -> MacroScenario:
    """The Fed historic table's rows for ``quarters`` as a projection from the quarter before.

    Parameters
    ----------
    fed_history
        The Fed historic table (``load_fed_history("2026")``).
    quarters
        Consecutive quarters of the block (sorted here).

    Returns
    -------
    MacroScenario
        ``kind`` ``custom``, ``source`` that of the history, ``jump_off`` the quarter before the
        first, every variable the history has for those quarters (a missing value stays absent:
        a fixed factor whose Fed variable is missing in a quarter is then left open, as
        :func:`~risk_dagster.translate.consistency.fixed_factor_paths` does for any scenario).
    """
    wq = sorted({pd.Period(q, freq="Q-DEC") for q in quarters})
    if not wq:
        raise ValueError("realized_scenario: no quarters")
    if (wq[-1] - wq[0]).n + 1 != len(wq):
        raise ValueError(f"realized_scenario: quarters {wq[0]}..{wq[-1]} are not consecutive")
    wide = fed_history.wide()
    missing = [str(q) for q in wq if q not in wide.index]
    if missing:
        raise ValueError(f"realized_scenario: {fed_history.scenario_id} has no rows for {missing}")
    return MacroScenario.from_wide(
        f"realized-{wq[0]}-{wq[-1]}",
        wide.loc[wq],
        source=fed_history.source,
        kind="custom",
        name=f"Realized Fed variables {wq[0]}-{wq[-1]}",
        vintage=fed_history.vintage,
        jump_off=wq[0] - 1,
        units=dict(fed_history.units),
    )


def history_before(factor_history: FactorHistory, origin: str | pd.Period) -> FactorHistory:
    """The factor history cut to the quarters before ``origin`` (levels and changes).

    What a model sampling a path from ``origin`` may see: jump-off levels at ``origin - 1`` (or
    the last before it) and, for the transformer, realized lagged changes before ``origin``.
    ``coverage`` (shock types, classes, sources) is kept as it is.
    """
    o = pd.Period(origin, freq="Q-DEC")
    levels = factor_history.levels[pd.PeriodIndex(factor_history.levels.index, freq="Q-DEC") < o]
    changes = factor_history.changes[pd.PeriodIndex(factor_history.changes.index, freq="Q-DEC") < o]
    return replace(factor_history, levels=levels.copy(), changes=changes.copy(), end=min(factor_history.end, o - 1))


def draw_paths(
    translator: Translator,
    scenario: MacroScenario,
    fed_history: MacroScenario,
    factor_history: FactorHistory,
    *,
    n_samples: int,
    seed: int,
    plausibility: Any | None = None,
) -> ShockSet:
    """Draw paths exactly as production does: :meth:`Translator.sample` (consistency and
    coherence applied by the shared assembly), through the plausibility filter when given
    (:func:`~risk_dagster.translate.pipeline.draw_filtered`, the call of ``risk-dagster
    translate`` and of the Dagster assets).

    Parameters
    ----------
    translator
        A fitted translator.
    scenario, fed_history
        The projection and the Fed history it jumps off from.
    factor_history
        Market levels for the open factors' jump-off (and the transformer's lagged changes).
    n_samples, seed
        Draws and sampling seed.
    plausibility
        A fitted :class:`~risk_dagster.translate.plausibility.PlausibilityFilter`; none: every
        drawn path is kept.

    Returns
    -------
    ShockSet
        ``[samples, quarters, factors]`` cumulative shocks (the accepted ones with a filter).
    """
    if plausibility is not None:
        from risk_dagster.translate.pipeline import draw_filtered

        accepted, _ = draw_filtered(
            translator, scenario, fed_history, plausibility, n_samples=n_samples, seed=seed, factor_history=factor_history
        )
        return accepted
    check_conditioning(scenario)  # as draw_filtered does
    return translator.sample(scenario, n_samples, seed, history=fed_history, factor_history=factor_history)  # type: ignore[call-arg]


def open_factor_scale(
    factor_history: FactorHistory,
    fed_history: MacroScenario,
    *,
    source_weights: Mapping[str, float] | None = None,
    catalog: RiskFactorCatalog | None = None,
) -> pd.Series:
    """Open factor id -> full-sample std of its one-quarter changes (shock units, ``ddof=1``).

    The same yardstick as :func:`~risk_dagster.translate.backtest.run_backtest` (its
    ``settings["scale"]``): the full training set (1990 onward, every quarter), the factors the
    catalog does not mark ``fixed_by_fed``, in training-set order.
    """
    catalog = catalog if catalog is not None else load_risk_factor_catalog()
    full = build_training_set(factor_history, fed_history, source_weights)
    open_ids = [f for f in full.factor_ids if not catalog.get(f).is_fixed_by_fed]
    return full.Y[open_ids].std(ddof=1).astype("float64")


# =============================================================================== scoring
def path_coordinates(
    levels: FloatArray,
    jump_off: FloatArray,
    shock_types: Sequence[str],
    scale: FloatArray,
    *,
    sqrt_h: bool = True,
) -> FloatArray:
    """Levels as standardized cumulative changes from the jump-off.

    Parameters
    ----------
    levels
        ``[..., H, F]`` levels (a realized ``[H, F]`` path or ``[M, H, F]`` draws), horizon
        ``h = 1..H`` on the second-to-last axis.
    jump_off
        ``[F]`` jump-off levels.
    shock_types
        ``[F]`` catalog shock types (bp for ``absolute_bp``, log return for ``log_return``,
        points otherwise; :func:`~risk_dagster.translate.shockset.shocks_from_levels`).
    scale
        ``[F]`` std of one-quarter changes in the same units.
    sqrt_h
        Divide horizon ``h`` by ``scale * sqrt(h)`` (default) rather than by ``scale``.

    Returns
    -------
    numpy.ndarray
        Same shape as ``levels``; NaN (or inf) where a level or the jump-off is missing or a
        price is not positive.
    """
    x = np.asarray(levels, dtype=np.float64)
    if x.ndim < 2:
        raise ValueError(f"path_coordinates: levels of shape {x.shape}, expected [..., H, F]")
    shocks = shocks_from_levels(np.asarray(jump_off, dtype=np.float64), x, list(shock_types))
    h = np.arange(1, x.shape[-2] + 1, dtype=np.float64)
    divisor = np.asarray(scale, dtype=np.float64)[None, :] * (np.sqrt(h) if sqrt_h else np.ones_like(h))[:, None]
    return shocks / divisor


def _valid(obs: FloatArray, draws: FloatArray, valid: npt.NDArray[np.bool_] | None) -> npt.NDArray[np.bool_]:
    y, x = np.asarray(obs, np.float64), np.asarray(draws, np.float64)
    if x.ndim != 3 or y.shape != x.shape[1:]:
        raise ValueError(f"path scores: obs {y.shape} and draws {x.shape} do not match ([H, F] and [M, H, F])")
    ok = np.isfinite(y) & np.isfinite(x).all(axis=0)
    return ok if valid is None else ok & np.asarray(valid, dtype=bool)


def path_energy_score(obs: FloatArray, draws: FloatArray, valid: npt.NDArray[np.bool_] | None = None) -> float:
    """Energy score of an ensemble of paths, joint over every valid (horizon, factor) cell.

    :func:`~risk_dagster.translate.backtest.energy_score` of the flattened path, in row chunks
    small enough for long paths (``M x H x F`` is large).

    Parameters
    ----------
    obs
        ``[H, F]`` realized path (e.g. :func:`path_coordinates` of the realized levels).
    draws
        ``[M, H, F]`` drawn paths, same coordinates.
    valid
        ``[H, F]`` cells to score; every cell finite in ``obs`` and in all draws by default
        (also intersected with that).

    Returns
    -------
    float
        The score (lower is better; 0 for draws all equal to the realization); NaN when no
        cell is valid.
    """
    ok = _valid(obs, draws, valid)
    if not ok.any():
        return float("nan")
    y = np.asarray(obs, np.float64)[ok]
    x = np.asarray(draws, np.float64)[:, ok]
    chunk = max(1, _ES_CHUNK_FLOATS // max(1, x.shape[0] * x.shape[1]))
    return energy_score(y, x, chunk=chunk)


def horizon_coverage(
    obs: FloatArray, draws: FloatArray, level: float, valid: npt.NDArray[np.bool_] | None = None
) -> FloatArray:
    """Whether each realized cell lies in the draws' central ``level`` interval.

    Parameters
    ----------
    obs
        ``[H, F]`` realized levels.
    draws
        ``[M, H, F]`` drawn levels.
    level
        Central interval, e.g. 0.90.
    valid
        ``[H, F]`` cells to score (see :func:`path_energy_score`).

    Returns
    -------
    numpy.ndarray
        ``[H, F]`` float: 1.0 inside, 0.0 outside
        (:func:`~risk_dagster.translate.backtest.interval_coverage`), NaN where not valid; the
        coverage at horizon ``h`` is ``np.nanmean(out[h - 1])``.
    """
    ok = _valid(obs, draws, valid)
    out = np.full(ok.shape, np.nan)
    if ok.any():
        y = np.asarray(obs, np.float64)[ok]
        x = np.asarray(draws, np.float64)[:, ok]
        out[ok] = interval_coverage(y, x, level).astype(np.float64)
    return out


def block_bootstrap_ratio(
    benchmark: FloatArray, challenger: FloatArray, *, n_boot: int, block_length: int, seed: int
) -> dict[str, Any]:
    """Ratio of summed scores (challenger / benchmark) with a moving-block bootstrap 90% interval.

    Parameters
    ----------
    benchmark, challenger
        ``[n]`` paired scores in chronological order.
    n_boot, block_length, seed
        Replications, consecutive units per block (clipped to ``[1, n]``), generator seed.

    Returns
    -------
    dict
        ``ratio``, ``interval`` (5% and 95% bootstrap quantiles), ``n`` and ``bootstrap``
        (``n_boot``, ``block_length`` used, ``seed``); ``ratio`` and ``interval`` ``None``
        when ``n`` is 0.
    """
    b = np.asarray(benchmark, dtype=np.float64)
    c = np.asarray(challenger, dtype=np.float64)
    if b.shape != c.shape or b.ndim != 1:
        raise ValueError(f"block_bootstrap_ratio: shapes {b.shape} and {c.shape}")
    n = len(b)
    if n == 0:
        return {"ratio": None, "interval": None, "n": 0}
    ratio = float(c.sum() / b.sum())
    length = max(1, min(block_length, n))
    starts = np.arange(n - length + 1)
    rng = np.random.default_rng(seed)
    draws = np.empty(n_boot)
    n_blocks = -(-n // length)
    for r in range(n_boot):
        pick = np.concatenate([np.arange(s, s + length) for s in rng.choice(starts, n_blocks)])[:n]
        draws[r] = c[pick].sum() / b[pick].sum()
    low, high = np.quantile(draws, [0.05, 0.95])
    return {
        "ratio": ratio,
        "interval": [float(low), float(high)],
        "n": int(n),
        "bootstrap": {"n_boot": int(n_boot), "block_length": int(length), "seed": int(seed)},
    }


# =============================================================================== the ablation
def satellite_inputs() -> list[str]:
    """The satellite's macro inputs: its nine regressors (:data:`SATELLITE_REGRESSORS`, mean,
    with their first lags) and its stress-scale drivers (``SCALE_FEATURES``: VIX level and
    change, unemployment change), in that order without repeats."""
    from risk_dagster.translate.satellite import SCALE_FEATURES

    return list(dict.fromkeys([*SATELLITE_REGRESSORS, *SCALE_FEATURES]))


def satellite_inputs_transformer(config: Any | None = None, *, quick: bool = False) -> ModelFactory:
    """Factory of the conditioning ablation: the transformer restricted to the satellite's inputs.

    The transformer's configuration with ``conditioning`` set to :func:`satellite_inputs` (every
    other feature hidden: masked in the network's tokens, value 0 and observed flag 0), ``window=2``
    (the quarter and its first lag, the satellite's lags) and ``factor_lags=False`` (the satellite
    reads no lagged factor change). Everything else is the transformer's config, and the ensemble
    seeds follow :func:`~risk_dagster.translate.backtest.default_models` (``base_seed = 1000 x
    seed``), so the ablation differs from the transformer by its inputs only (its skip path and
    stress scale already read satellite inputs only).

    Parameters
    ----------
    config
        The transformer's ``TransformerConfig``; its default (``quick``: its small preset).
    quick
        Use ``TransformerConfig.small()`` when no config is given.

    Returns
    -------
    ModelFactory
        ``seed -> unfitted translator``.
    """
    from risk_dagster.translate.features import FEATURES
    from risk_dagster.translate.transformer import TransformerConfig, TransformerTranslator

    base = config if config is not None else (TransformerConfig.small() if quick else TransformerConfig())
    visible = set(satellite_inputs())
    restricted = replace(base, window=2, factor_lags=False, conditioning=tuple(f for f in FEATURES if f in visible))

    def factory(seed: int) -> Translator:
        return TransformerTranslator(restricted, base_seed=1000 * seed)

    return factory


# =============================================================================== results
@dataclass
class PathScores:
    """Raw path scores of a rolling-origin evaluation and their summaries.

    Attributes
    ----------
    origin_scores
        One row per (model, seed_set, origin): ``first_quarter``, ``horizon`` (quarters in the
        block), ``n_cells`` scored, ``energy_score``, ``n_paths`` (drawn, or accepted by the
        filter) and ``stress_origin`` (the block holds a stress quarter).
    cell_scores
        One row per (model, seed_set, origin, h, factor): ``quarter``, ``asset_class``,
        ``in_90``, ``in_99`` (0/1) and ``stress`` (the quarter is a stress quarter).
    settings
        What was run (see :func:`path_scores`).
    """

    origin_scores: pd.DataFrame
    cell_scores: pd.DataFrame
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.origin_scores["model"])) if len(self.origin_scores) else []

    def _slice(self, model: str, *, stress: bool | None) -> dict[str, Any]:
        o = self.origin_scores
        o = o[o["model"] == model]
        c = self.cell_scores
        c = c[c["model"] == model] if len(c) else c
        if stress is not None:
            o = o[o["stress_origin"] == stress]
            c = c[c["stress"] == stress] if len(c) else c
        per_seed = o.groupby("seed_set")["energy_score"].mean()
        out: dict[str, Any] = {
            "energy_score": float(per_seed.mean()) if len(per_seed) else None,
            "n_origins": int(o["origin"].nunique()),
        }
        for level in LEVELS:
            key = f"in_{round(level * 100)}"
            by_h: dict[str, float | None] = {}
            if len(c):
                rates = c.groupby(["h", "seed_set"])[key].mean().groupby("h").mean()
                by_h = {str(int(h)): float(v) for h, v in rates.items()}
            out[f"coverage_{round(level * 100)}_by_horizon"] = by_h
        cells = c[c["seed_set"] == c["seed_set"].min()] if len(c) else c
        out["n_cells_by_horizon"] = {str(int(h)): int(n) for h, n in cells.groupby("h").size().items()} if len(c) else {}
        if stress is None:
            out["by_seed_set"] = {"energy_score": [round(float(v), 4) for v in per_seed]}
        return out

    def model_summary(self, model: str) -> dict[str, Any]:
        """Pooled path energy score and coverage by horizon of one model, overall, for the
        stress and calm subsets, and per origin (seed-averaged energy score)."""
        out = self._slice(model, stress=None)
        out["stress"] = self._slice(model, stress=True)
        out["calm"] = self._slice(model, stress=False)
        o = self.origin_scores[self.origin_scores["model"] == model]
        out["by_origin"] = {str(k): float(v) for k, v in o.groupby("origin", sort=False)["energy_score"].mean().items()}
        return out

    def _origin_es(self, model: str, origins: Collection[str] | None = None) -> pd.Series:
        o = self.origin_scores
        o = o[o["model"] == model]
        if origins is not None:
            o = o[o["origin"].isin(set(origins))]
        es = o.groupby("first_quarter")["energy_score"].mean()  # seed-averaged
        return es.loc[sorted(es.index, key=lambda s: pd.Period(s, freq="Q-DEC"))]

    def ratio(
        self,
        benchmark: str,
        challenger: str,
        *,
        n_boot: int = 2000,
        block_length: int = 2,
        seed: int = 12345,
        stress: bool | None = None,
    ) -> dict[str, Any]:
        """Challenger / benchmark summed path energy score over the origins both scored, with
        a moving-block bootstrap 90% interval over chronological origins
        (:func:`block_bootstrap_ratio`); ``stress``: only the stress (or calm) origins."""
        if benchmark not in self.models or challenger not in self.models:
            return {"benchmark": benchmark, "challenger": challenger, "ratio": None, "interval": None, "n_origins": 0}
        origins = None
        if stress is not None:
            o = self.origin_scores
            origins = set(o.loc[o["stress_origin"] == stress, "origin"])
        b, c = self._origin_es(benchmark, origins), self._origin_es(challenger, origins)
        b, c = b.align(c, join="inner")
        keep = b.notna() & c.notna()
        res = block_bootstrap_ratio(
            b[keep].to_numpy(), c[keep].to_numpy(), n_boot=n_boot, block_length=block_length, seed=seed
        )
        out = {"benchmark": benchmark, "challenger": challenger, "ratio": res["ratio"], "interval": res["interval"],
               "n_origins": res["n"]}  # fmt: skip
        if "bootstrap" in res:
            out["bootstrap"] = {**res["bootstrap"], "over": "chronological origins"}
        return out

    def to_json(
        self,
        *,
        benchmark: str = "satellite",
        challenger: str = "transformer",
        ablation: str = ABLATION_MODEL,
        n_boot: int = 2000,
        block_length: int = 2,
        seed: int = 12345,
    ) -> dict[str, Any]:
        """Plain JSON: per model :meth:`model_summary`; ``comparison`` (challenger / benchmark
        ratio and interval, all origins and ``stress`` origins); with the ablation model,
        ``ablation`` (ablation / benchmark and challenger / ablation); ``settings``."""
        kw = {"n_boot": n_boot, "block_length": block_length, "seed": seed}
        out: dict[str, Any] = {m: self.model_summary(m) for m in self.models}
        out["comparison"] = {
            **self.ratio(benchmark, challenger, **kw),
            "stress": self.ratio(benchmark, challenger, stress=True, **kw),
        }
        if ablation in self.models:
            out["ablation"] = {
                "model": ablation,
                "vs_benchmark": self.ratio(benchmark, ablation, **kw),
                "challenger_vs_ablation": self.ratio(ablation, challenger, **kw),
            }
        out["settings"] = dict(self.settings)
        out["notes"] = list(self.notes)
        return _clean(out)


# =============================================================================== the evaluation
def _fitted_for(
    fitted: Mapping[tuple[str, str, int], Translator] | None, name: str, label: str, k: int, origin: pd.Period
) -> Translator | None:
    """A model fitted on the past only for this origin and seed set, if one was handed over.

    Checked by its training summary: the first excluded quarter must be the origin and the
    last training quarter before it (a model fitted for another origin is not used).
    """
    model = (fitted or {}).get((name, label, k))
    summary = getattr(model, "training_summary_", None) if model is not None else None
    if not summary:
        return None
    excluded = summary.get("excluded") or []
    end = summary.get("end")
    if not excluded or excluded[0] != str(origin) or end is None or pd.Period(end, freq="Q-DEC") >= origin:
        return None
    return model


def path_scores(
    factor_history: FactorHistory,
    fed_history: MacroScenario,
    *,
    models: Mapping[str, ModelFactory],
    blocks: Mapping[str, Sequence[str | pd.Period]],
    n_samples: int = 500,
    seeds: Sequence[int | tuple[int, int]] = (0, 1),
    source_weights: Mapping[str, float] | None = None,
    catalog: RiskFactorCatalog | None = None,
    stress: Collection[str | pd.Period] = (),
    scale: Mapping[str, float] | None = None,
    fitted: Mapping[tuple[str, str, int], Translator] | None = None,
    plausibility: PlausibilityFactory | None = None,
    sqrt_h: bool = True,
    progress: Callable[[str], None] | None = None,
) -> PathScores:
    """Score the paths every model draws from every origin against the realized path.

    Parameters
    ----------
    factor_history, fed_history
        The shipped data, as for :func:`~risk_dagster.translate.backtest.run_backtest`.
    models
        Name -> factory (called with the seed set's model seed as ``run_backtest`` does).
    blocks
        Origin label -> the block's consecutive quarters (the origin is the first):
        :func:`~risk_dagster.translate.rolling_origin.origins`.
    n_samples
        Paths drawn per origin, model and seed set.
    seeds
        Seed sets (model seed, sampling seed), as for ``run_backtest``.
    source_weights
        Reliability weights of the training sets.
    catalog
        Risk-factor catalog (open factors, classes); the shipped one by default.
    stress
        Stress quarters (see the module notes).
    scale
        Open factor id -> std of one-quarter changes (``run_backtest``'s ``settings["scale"]``);
        :func:`open_factor_scale` by default. Its keys are the factors scored.
    fitted
        ``(model name, origin label, seed-set index)`` -> a model already fitted on the
        quarters before that origin (the rolling origin hands over its one-quarter models);
        one that is missing, or whose training summary does not end before the origin, is fitted
        here on :func:`~risk_dagster.translate.backtest.window_training_set` (every quarter from
        the origin on left out).
    plausibility
        ``past factor history -> fitted PlausibilityFilter``, called once per origin on
        :func:`history_before`: paths then go through the filter as in production. None: every
        drawn path is scored (paths after consistency and coherence).
    sqrt_h
        Divide horizon ``h`` by ``sqrt(h)`` as well as the factor's std (module notes).
    progress
        Called with one line per origin, model and seed set.

    Returns
    -------
    PathScores
    """
    if not models:
        raise ValueError("path_scores: no model to run")
    catalog = catalog if catalog is not None else load_risk_factor_catalog()
    seed_sets = _seed_pairs(seeds)
    if scale is None:
        scale = open_factor_scale(factor_history, fed_history, source_weights=source_weights, catalog=catalog).to_dict()
    open_ids = list(scale)
    std = np.array([float(scale[f]) for f in open_ids], dtype=np.float64)
    classes = np.array([catalog.get(f).asset_class for f in open_ids])
    stress_q = {pd.Period(q, freq="Q-DEC") for q in stress}
    levels_all = factor_history.levels.set_axis(pd.PeriodIndex(factor_history.levels.index, freq="Q-DEC"), axis=0)
    o_rows: list[dict[str, Any]] = []
    c_frames: list[pd.DataFrame] = []
    timings: dict[str, float] = {m: 0.0 for m in models}
    refitted: dict[str, int] = {m: 0 for m in models}
    notes: list[str] = []
    started = time.perf_counter()

    for label, quarters in blocks.items():
        wq = sorted({pd.Period(q, freq="Q-DEC") for q in quarters})
        origin = wq[0]
        scenario = realized_scenario(fed_history, wq)
        past = history_before(factor_history, origin)
        filt = plausibility(past) if plausibility is not None else None
        realized = levels_all.reindex(index=wq, columns=open_ids).to_numpy(dtype=np.float64)
        stress_h = np.array([q in stress_q for q in wq])
        training = None

        for k, (model_seed, sample_seed) in enumerate(seed_sets):
            drawn: dict[str, tuple[FloatArray, FloatArray, list[str]]] = {}
            for name, factory in models.items():
                t0 = time.perf_counter()
                model = _fitted_for(fitted, name, label, k, origin)
                if model is None:
                    if training is None:
                        training = window_training_set(
                            factor_history, fed_history, wq, source_weights=source_weights, buffer_after=10_000
                        )
                    model = _instantiate(factory, model_seed).fit(training)
                    refitted[name] += 1
                ss = draw_paths(model, scenario, fed_history, past, n_samples=n_samples, seed=sample_seed,
                                plausibility=filt)  # fmt: skip
                if ss.quarters != [str(q) for q in wq]:
                    raise ValueError(f"path_scores: {name} drew quarters {ss.quarters} for block {label}")
                pos = [ss.factor_ids.index(f) if f in ss.factor_ids else -1 for f in open_ids]
                lv = np.full((ss.n_samples, len(wq), len(open_ids)), np.nan)
                jump = np.full(len(open_ids), np.nan)
                types = ["absolute"] * len(open_ids)
                for i, p in enumerate(pos):
                    if p >= 0:
                        lv[:, :, i], jump[i], types[i] = ss.levels[:, :, p], ss.jump_off[p], ss.shock_types[p]
                drawn[name] = (lv, jump, types)
                timings[name] += time.perf_counter() - t0
                if progress is not None:
                    progress(f"paths: {name} {label} seed set {k} ({time.perf_counter() - t0:.1f}s)")

            # Same cells for every model: realized, jump-off and all draws finite.
            coords: dict[str, tuple[FloatArray, FloatArray]] = {}
            valid = np.isfinite(realized)
            for name, (lv, jump, types) in drawn.items():
                z_obs = path_coordinates(realized, jump, types, std, sqrt_h=sqrt_h)
                z = path_coordinates(lv, jump, types, std, sqrt_h=sqrt_h)
                coords[name] = (z_obs, z)
                valid &= np.isfinite(z_obs) & np.isfinite(z).all(axis=0)
            if min(lv.shape[0] for lv, _, _ in drawn.values()) < 2 or not valid.any():
                notes.append(f"{label} seed set {k}: not scored (fewer than two paths, or no valid cell)")
                continue
            hh, ff = np.nonzero(valid)
            for name, (z_obs, z) in coords.items():
                lv = drawn[name][0]
                o_rows.append(
                    {"model": name, "seed_set": k, "origin": label, "first_quarter": str(origin),
                     "horizon": len(wq), "n_cells": int(valid.sum()), "n_paths": int(lv.shape[0]),
                     "energy_score": path_energy_score(z_obs, z, valid), "stress_origin": bool(stress_h.any())}
                )  # fmt: skip
                hits = {lvl: horizon_coverage(realized, lv, lvl, valid) for lvl in LEVELS}
                c_frames.append(
                    pd.DataFrame(
                        {
                            "model": name,
                            "seed_set": k,
                            "origin": label,
                            "h": hh + 1,
                            "quarter": [str(wq[i]) for i in hh],
                            "factor_id": np.array(open_ids)[ff],
                            "asset_class": classes[ff],
                            **{f"in_{round(lvl * 100)}": hits[lvl][hh, ff] for lvl in LEVELS},
                            "stress": stress_h[hh],
                        }
                    )
                )

    settings = {
        "n_samples": int(n_samples),
        "seed_sets": [list(s) for s in seed_sets],
        "origins": [str(min(pd.Period(q, freq="Q-DEC") for q in qs)) for qs in blocks.values()],
        "max_horizon": int(max((len(qs) for qs in blocks.values()), default=0)),
        "paths": "Translator.sample on the realized Fed path of each block (jump-off the quarter before the "
        "origin): one-quarter draws cumulated, fixed factors imposed, open factors made coherent "
        "(assemble_shockset / apply_consistency / CoherenceModel), as risk-dagster translate draws them"
        + ("; then the plausibility filter (fitted on the quarters before the origin)" if plausibility else
           "; no plausibility filter"),
        "plausibility_filter": plausibility is not None,
        "factors_scored": open_ids,
        "levels": "realized: FactorHistory.levels (quarter-end market levels); drawn: ShockSet.levels from the "
        "market jump-off level at the quarter before the origin",
        "coordinates": "cumulative change from the jump-off in the factor's shock unit (bp for rates and spreads, "
        "log return for prices, indices and FX, points for vols), divided by the full-sample std of one-quarter "
        "changes" + (" x sqrt(h)" if sqrt_h else ""),
        "coverage": "realized level inside the central 90% / 99% interval of the drawn levels, per horizon",
        "stress": "coverage: cells whose quarter is a stress quarter; energy score: origins whose block holds one",
        "pooling": "per seed set: mean over origins (energy score), over origins x factors at each horizon "
        "(coverage); then the mean over seed sets",
        "models_fitted_here": refitted,
        "seconds": {"total": round(time.perf_counter() - started, 1), **{m: round(t, 1) for m, t in timings.items()}},
    }
    columns = ["model", "seed_set", "origin", "first_quarter", "horizon", "n_cells", "n_paths", "energy_score",
               "stress_origin"]  # fmt: skip
    return PathScores(
        origin_scores=pd.DataFrame(o_rows, columns=columns),
        cell_scores=pd.concat(c_frames, ignore_index=True) if c_frames else pd.DataFrame(),
        settings=settings,
        notes=notes,
    )
