"""Synthetic tail scenarios: novel, severe and plausible macro paths beyond the regulatory ones.

The scenario set ``synthetic-tail`` is built by *stressed conditioning*: new macro paths are
made from the Fed's severely adverse scenario and the crisis episodes of the Fed's own
history, then any translator samples granular shocks from them like from a Fed scenario.

Construction (all in a transformed space where deviations add up):

* Transform. Price indices and FX rates (:data:`~risk_dagster.translate.features.RETURN_VARIABLES`)
  are taken in logs; the BBB and mortgage yields as spreads over the 10y Treasury and the
  prime rate as a spread over the 3m bill (so scaling widens the spread rather than moving the
  yield with the Treasury); everything else (growth rates, unemployment, Treasury rates, VIX)
  as is.
* Fed shape. ``D_fed = T(severely adverse) - T(baseline)``, per projected quarter.
* Crisis shapes (:data:`CRISIS_EPISODES`: 1990, 2001, 2008-09, 2020). The Fed history from the
  quarter after the episode's jump-off, as a deviation from a no-crisis counterfactual: the
  jump-off level held flat for levels, rates, spreads and log prices; the mean of the four
  quarters up to the jump-off for growth and inflation rates. Each variable's shape is then
  brought to the Fed's size: its adverse part (the direction the Fed's path moves, or the
  known adverse direction of :data:`ADVERSE_DIRECTION`) is multiplied so its peak equals
  the Fed's adverse peak, while favourable moves (rebounds) are never amplified and are cut
  at the Fed path's own most favourable deviation from baseline (so no 2020 stimulus spike
  or 35% GDP rebound leaks into a tail scenario). A variable the crisis left calm in that direction, or that the history lacks in
  the episode (the euro before 1999), takes the Fed's shape. The crisis supplies *timing*
  (a V in 2020, a slow grind in 1990), the Fed the direction and size.
* Mix and scale. ``D = k x (w x D_fed + (1 - w) x D_crisis)`` with ``k > 1`` (1.25 to 1.5 by
  default) and ``w`` the weight of the Fed shape (``1`` for a pure scaled Fed path).
* Severity floor. For every variable of :data:`ADVERSE_DIRECTION` (real GDP growth,
  unemployment, equity, house and CRE prices, VIX, BBB spread) the adverse part is scaled up,
  never down, until its peak is at least ``k`` times the Fed's: mixing two shapes with
  different timing would otherwise soften the peak, and the set is meant to be *more*
  severe than the Fed's in every key dimension.
* Step limit (plausibility wins over severity). No quarter-on-quarter move of a level, rate,
  spread or log price may exceed ``max_step`` (1.5) times the larger of the variable's
  largest one-quarter move in the Fed history and in the Fed's own severely adverse path
  (from its jump-off): the path follows its target at that speed limit, so a crisis shape
  mixed in cannot produce a one-quarter crash several times anything ever seen. A pure
  scaled Fed path with ``k <= max_step`` is rarely limited; a V-shaped mix may see its peak
  softened, but the key variables are then held at least as adverse as the step-limited
  ``k x Fed`` path in every quarter (the envelope of two step-limited paths is step-limited). Growth and inflation rates are not limited
  (they are already quarterly rates; the catalog range bounds them).
* Back-transform onto the baseline: ``path = T^-1(T(baseline) + D)``; Treasury rates floored at
  ``rate_floor`` (0%: the US effective lower bound; the Fed has never projected negative
  Treasury yields, though the catalog allows -2% for other jurisdictions), then every variable
  clipped to the variable catalog's plausible range (``minimum``/``maximum``).

The paths are :class:`~risk_dagster.scenarios.model.MacroScenario` objects (kind ``custom``,
source ``synthetic``, ids ``synthetic-tail-<n>``, the Fed scenario's jump-off and quarters), so
any translator's ``sample`` takes them, and its fixed-factor consistency applies as for a Fed
scenario. :func:`generate_synthetic_tail` stacks samples of all paths into one ShockSet.
Filtering by the plausibility filter is wired by the caller.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.scenarios.catalog import VariableCatalog, load_variable_catalog
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.features import (
    GROWTH_VARIABLES,
    RETURN_VARIABLES,
    jump_off_quarter,
    projection_quarters,
)
from risk_dagster.translate.shockset import ShockSet

__all__ = [
    "ADVERSE_DIRECTION",
    "CRISIS_EPISODES",
    "SCENARIO_SET_ID",
    "SPREAD_ANCHORS",
    "TREASURY_RATES",
    "SyntheticRecipe",
    "crisis_shape",
    "default_recipes",
    "generate_synthetic_tail",
    "path_index",
    "scenario_severity",
    "synthetic_tail_scenarios",
]

SCENARIO_SET_ID = "synthetic-tail"

CRISIS_EPISODES: dict[str, str] = {
    "1990": "1990Q2",  # 1990-91 recession (Gulf War oil shock, S&L crisis, CRE bust)
    "2001": "2000Q4",  # 2001 recession and the dot-com equity bust
    "2008": "2008Q2",  # the global financial crisis from Lehman (2008Q3) on
    "2020": "2019Q4",  # the COVID-19 shock
}
"""Crisis episode -> its jump-off quarter (the last quarter before the stress)."""

ADVERSE_DIRECTION: dict[str, float] = {
    "real_gdp_growth": -1.0,
    "unemployment_rate": 1.0,
    "equity_total_market": -1.0,
    "house_price_index": -1.0,
    "cre_price_index": -1.0,
    "vix": 1.0,
    "bbb_yield": 1.0,  # in the transformed space: the BBB - 10y spread
}
"""Key variables and the direction that is adverse; these get the severity floor."""

SPREAD_ANCHORS: dict[str, str] = {
    "bbb_yield": "treasury_10y",
    "mortgage_rate": "treasury_10y",
    "prime_rate": "treasury_3m",
}
"""Yields handled as spreads over a Treasury anchor."""

TREASURY_RATES: tuple[str, ...] = ("treasury_3m", "treasury_5y", "treasury_10y")
"""Rates floored at ``rate_floor``."""


# =============================================================================== transforms
def _to_space(wide: pd.DataFrame) -> pd.DataFrame:
    """Levels -> the additive space (logs of prices, spreads of yields)."""
    out = wide.astype("float64").copy()
    for v in RETURN_VARIABLES:
        if v in out.columns:
            out[v] = np.log(out[v].where(out[v] > 0))
    for v, anchor in SPREAD_ANCHORS.items():
        if v in out.columns and anchor in wide.columns:
            out[v] = wide[v] - wide[anchor]
    return out


def _from_space(space: pd.DataFrame, rate_floor: float | None) -> pd.DataFrame:
    """Inverse of :func:`_to_space`; Treasury anchors are floored *before* the spreads are
    added back, so a floored 10y carries the (wider) BBB spread on top of it."""
    out = space.copy()
    if rate_floor is not None:
        for v in TREASURY_RATES:
            if v in out.columns:
                out[v] = out[v].clip(lower=rate_floor)
    for v in RETURN_VARIABLES:
        if v in out.columns:
            out[v] = np.exp(space[v])
    for v, anchor in SPREAD_ANCHORS.items():
        if v in out.columns and anchor in out.columns:
            out[v] = space[v] + out[anchor]
    return out


def _direction(variable: str, fed_dev: np.ndarray) -> float:
    """Adverse direction: the known one for key variables, else the sign of the Fed's largest
    deviation (0 when the Fed leaves the variable on its baseline)."""
    if variable in ADVERSE_DIRECTION:
        return ADVERSE_DIRECTION[variable]
    finite = np.where(np.isfinite(fed_dev), fed_dev, 0.0)
    if not finite.size or np.max(np.abs(finite)) == 0.0:
        return 0.0
    return float(np.sign(finite[np.argmax(np.abs(finite))]))


def _scale_adverse(dev: np.ndarray, direction: float, factor: float) -> np.ndarray:
    """Multiply only the adverse part of a deviation path (rebounds are left alone)."""
    adverse = direction * dev > 0
    return np.where(adverse, dev * factor, dev)


def _adverse_peak(dev: np.ndarray, direction: float) -> float:
    return float(np.max(direction * dev, initial=0.0))


# =============================================================================== shapes
def _fed_deviation(severely_adverse: MacroScenario, baseline: MacroScenario) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``T(severely adverse) - T(baseline)`` on the projected quarters, and ``T(baseline)``."""
    quarters = projection_quarters(severely_adverse)
    variables = [v for v in severely_adverse.variables if v in baseline.variables]
    sa = severely_adverse.wide(variables).reindex(quarters)
    base = baseline.wide(variables).reindex(quarters)
    if base.isna().any().any():
        missing = base.columns[base.isna().any()].tolist()
        raise ValueError(
            f"synthetic tail: baseline {baseline.scenario_id!r} lacks {missing} in some quarter of "
            f"{severely_adverse.scenario_id!r} ({quarters[0]}..{quarters[-1]})"
        )
    base_space = _to_space(base)
    return _to_space(sa) - base_space, base_space


def crisis_shape(
    history: MacroScenario,
    jump_off: str | pd.Period,
    horizon: int,
    variables: Sequence[str],
) -> pd.DataFrame:
    """Raw deviation of a crisis episode from its no-crisis counterfactual, in the additive space.

    Parameters
    ----------
    history
        The Fed historic table.
    jump_off
        The episode's last pre-stress quarter.
    horizon
        Quarters after the jump-off.
    variables
        Variables wanted.

    Returns
    -------
    pandas.DataFrame
        ``horizon`` rows (``h = 1..horizon``, positional index) x ``variables``: changes from
        the jump-off (levels, rates, spreads, log prices) or from the mean of the four quarters
        up to the jump-off (growth and inflation rates). ``NaN`` where the history lacks the
        variable in the window.

    Raises
    ------
    ValueError
        When the history does not cover the window.
    """
    jump = pd.Period(jump_off, freq="Q-DEC")
    hist = history.wide()
    window = pd.period_range(jump - 3, jump + horizon, freq="Q-DEC")
    if window[0] < hist.index.min() or window[-1] > hist.index.max():
        raise ValueError(
            f"crisis_shape: history {history.scenario_id!r} ({hist.index.min()}..{hist.index.max()}) "
            f"does not cover {window[0]}..{window[-1]}"
        )
    space = _to_space(hist.reindex(columns=list(variables)).reindex(window))
    after = space.loc[jump + 1 : jump + horizon]
    reference = space.loc[jump].copy()
    growth = [v for v in variables if v in GROWTH_VARIABLES]
    reference[growth] = space.loc[jump - 3 : jump, growth].mean(skipna=False)
    out = after - reference
    return out.reset_index(drop=True)


def _normalized_crisis(fed_dev: pd.DataFrame, raw: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Bring each variable's crisis shape to the Fed's adverse peak (see module docstring).

    Returns the shape and the variables that fell back to the Fed's shape.
    """
    out = pd.DataFrame(index=fed_dev.index, columns=fed_dev.columns, dtype="float64")
    fallback = []
    for v in fed_dev.columns:
        fed = fed_dev[v].to_numpy(dtype=np.float64)
        crisis = raw[v].to_numpy(dtype=np.float64) if v in raw.columns else np.full(len(fed), np.nan)
        direction = _direction(v, fed)
        fed_peak = _adverse_peak(fed, direction)
        crisis_peak = _adverse_peak(crisis, direction) if np.isfinite(crisis).all() else 0.0
        # A crisis move smaller than a tenth of the Fed's in the adverse direction is noise,
        # not a shape: amplifying it would invent a timing the episode never had.
        if direction == 0.0 or fed_peak == 0.0 or crisis_peak <= 0.1 * fed_peak:
            out[v] = fed
            if direction != 0.0 and fed_peak > 0.0:
                fallback.append(v)
        else:
            shaped = _scale_adverse(crisis, direction, fed_peak / crisis_peak)
            # Rebounds no larger than the Fed path's own most favourable deviation: a tail
            # scenario must not borrow 2020's stimulus spikes or 35% GDP rebound.
            favourable_limit = float(np.max(-direction * fed, initial=0.0))
            out[v] = np.where(-direction * shaped > favourable_limit, -direction * favourable_limit, shaped)
    return out, fallback


def _step_caps(
    severely_adverse: MacroScenario,
    history: MacroScenario,
    variables: Sequence[str],
    max_step: float | None,
) -> tuple[pd.Series, pd.Series]:
    """The jump-off point in the additive space and each variable's one-quarter move cap
    (``inf`` for growth rates and where nothing is known)."""
    jump = jump_off_quarter(severely_adverse)
    hist = history.wide()
    if jump not in hist.index:
        raise ValueError(f"synthetic tail: history {history.scenario_id!r} lacks the jump-off quarter {jump}")
    hist_space = _to_space(hist.reindex(columns=list(variables)))
    start = hist_space.loc[jump]
    fed = _to_space(severely_adverse.wide(list(variables)).reindex(projection_quarters(severely_adverse)))
    fed_steps = pd.concat([start.to_frame().T, fed]).diff().abs().max()
    hist_steps = hist_space.sort_index().diff().abs().max()
    cap = pd.concat([fed_steps, hist_steps], axis=1).max(axis=1) * (max_step if max_step is not None else np.inf)
    cap[[v for v in variables if v in GROWTH_VARIABLES]] = np.inf
    return start, cap.fillna(np.inf).reindex(list(variables)).fillna(np.inf)


def _limit_steps(target: pd.DataFrame, start: pd.Series, cap: pd.Series) -> pd.DataFrame:
    """Follow ``target`` from ``start`` moving at most ``cap`` per quarter (per variable)."""
    values = target.to_numpy(dtype=np.float64).copy()
    prev = start.reindex(target.columns).to_numpy(dtype=np.float64)
    limit = cap.reindex(target.columns).to_numpy(dtype=np.float64)
    for t in range(values.shape[0]):
        step = values[t] - prev
        ok = np.isfinite(prev) & np.isfinite(step)
        values[t] = np.where(ok, prev + np.clip(np.where(ok, step, 0.0), -limit, limit), values[t])
        prev = values[t]
    return pd.DataFrame(values, index=target.index, columns=target.columns)


# =============================================================================== recipes
@dataclass(frozen=True)
class SyntheticRecipe:
    """How one synthetic path is made: ``k x (w x Fed + (1 - w) x crisis)``.

    Attributes
    ----------
    scale
        ``k`` (> 1): the multiple of the Fed's deviations from baseline.
    crisis
        Episode of :data:`CRISIS_EPISODES` whose shape is mixed in, or ``None``.
    fed_weight
        ``w`` in ``[0, 1]``; 1 for a pure scaled Fed path.
    """

    scale: float
    crisis: str | None = None
    fed_weight: float = 1.0

    def __post_init__(self) -> None:
        if not self.scale >= 1.0:
            raise ValueError(f"SyntheticRecipe: scale must be >= 1 (a tail scenario), got {self.scale}")
        if not 0.0 <= self.fed_weight <= 1.0:
            raise ValueError(f"SyntheticRecipe: fed_weight must be in [0, 1], got {self.fed_weight}")
        if self.crisis is None and self.fed_weight != 1.0:
            raise ValueError("SyntheticRecipe: without a crisis the Fed weight is 1")

    def describe(self) -> str:
        if self.crisis is None:
            return f"{self.scale:.3g} x Fed severely adverse"
        return f"{self.scale:.3g} x ({self.fed_weight:.2f} Fed severely adverse + {1 - self.fed_weight:.2f} {self.crisis} crisis shape)"


def default_recipes(
    n_paths: int,
    *,
    scales: Sequence[float] = (1.25, 1.5),
    crises: Sequence[str] = tuple(CRISIS_EPISODES),
    seed: int = 0,
) -> list[SyntheticRecipe]:
    """The recipes of ``n_paths`` synthetic paths.

    The first ``len(scales)`` paths are the Fed's severely adverse deviations scaled by each of
    ``scales``; the rest cycle through ``crises``, each with a scale drawn uniformly in
    ``[min(scales), max(scales)]`` and a Fed weight uniform in ``[0.25, 0.75]`` (seeded).

    Raises
    ------
    ValueError
        For ``n_paths < 1``.
    """
    if n_paths < 1:
        raise ValueError(f"default_recipes: n_paths must be >= 1, got {n_paths}")
    rng = np.random.default_rng(seed)
    lo, hi = float(min(scales)), float(max(scales))
    recipes = [SyntheticRecipe(scale=float(k)) for k in list(scales)[:n_paths]]
    crises = list(crises)
    i = 0
    while len(recipes) < n_paths:
        if not crises:
            recipes.append(SyntheticRecipe(scale=float(rng.uniform(lo, hi))))
            continue
        recipes.append(
            SyntheticRecipe(
                scale=round(float(rng.uniform(lo, hi)), 4),
                crisis=crises[i % len(crises)],
                fed_weight=round(float(rng.uniform(0.25, 0.75)), 4),
            )
        )
        i += 1
    return recipes


# =============================================================================== paths
def synthetic_tail_scenarios(
    severely_adverse: MacroScenario,
    baseline: MacroScenario,
    history: MacroScenario,
    *,
    n_paths: int = 8,
    scales: Sequence[float] = (1.25, 1.5),
    crises: Mapping[str, str] | None = None,
    recipes: Sequence[SyntheticRecipe] | None = None,
    seed: int = 0,
    rate_floor: float | None = 0.0,
    max_step: float | None = 1.5,
    catalog: VariableCatalog | None = None,
) -> list[MacroScenario]:
    """Severe, plausible macro paths ``synthetic-tail-1 .. -n`` (see the module docstring).

    Parameters
    ----------
    severely_adverse, baseline
        The Fed's scenarios of one vintage (same projected quarters).
    history
        The Fed historic table (crisis episodes).
    n_paths
        Number of paths (ignored when ``recipes`` is given).
    scales
        Multiples ``k`` of the Fed's deviations (:func:`default_recipes`).
    crises
        Episode -> jump-off quarter; :data:`CRISIS_EPISODES` by default.
    recipes
        Explicit recipes instead of :func:`default_recipes`.
    seed
        Seed of the recipe draws; the same seed gives the same paths.
    rate_floor
        Floor of the Treasury rates in percent; ``None`` for the catalog's minimum only.
    max_step
        Speed limit of one-quarter moves, as a multiple of the largest historical / Fed move
        (see the module docstring); ``None`` for no limit.
    catalog
        Variable catalog for the plausible ranges; the shipped one by default.

    Returns
    -------
    list of MacroScenario
        Kind ``custom``, source ``synthetic``, the Fed scenario's vintage, jump-off and
        quarters; ``name`` says the recipe.
    """
    episodes = dict(CRISIS_EPISODES if crises is None else crises)
    catalog = catalog if catalog is not None else load_variable_catalog()
    if recipes is None:
        recipes = default_recipes(n_paths, scales=scales, crises=tuple(episodes), seed=seed)
    fed_dev, base_space = _fed_deviation(severely_adverse, baseline)
    quarters = fed_dev.index
    start_space, step_cap = _step_caps(severely_adverse, history, fed_dev.columns, max_step)
    shapes: dict[str, pd.DataFrame] = {}
    for recipe in recipes:
        if recipe.crisis is not None and recipe.crisis not in shapes:
            if recipe.crisis not in episodes:
                raise ValueError(f"synthetic tail: unknown crisis {recipe.crisis!r}; known {sorted(episodes)}")
            raw = crisis_shape(history, episodes[recipe.crisis], len(quarters), list(fed_dev.columns))
            shape, _ = _normalized_crisis(fed_dev.reset_index(drop=True), raw)
            shapes[recipe.crisis] = shape.set_axis(quarters, axis=0)

    out = []
    for n, recipe in enumerate(recipes, start=1):
        mix = fed_dev if recipe.crisis is None else recipe.fed_weight * fed_dev + (1 - recipe.fed_weight) * shapes[recipe.crisis]
        dev = recipe.scale * mix
        for v, direction in ADVERSE_DIRECTION.items():
            if v not in dev.columns:
                continue
            target = recipe.scale * _adverse_peak(fed_dev[v].to_numpy(), direction)
            col = dev[v].to_numpy(dtype=np.float64)
            peak = _adverse_peak(col, direction)
            if peak <= 0.0:
                dev[v] = recipe.scale * fed_dev[v]
            elif peak < target:
                dev[v] = _scale_adverse(col, direction, target / peak)
        target = base_space + dev
        if max_step is not None:
            target = _limit_steps(target, start_space, step_cap)
            # Key variables never less adverse, in any quarter, than the step-limited k x Fed
            # path: the envelope of two step-limited paths is step-limited, so this keeps both
            # the speed limit and "more severe than the Fed" (k > 1).
            fed_space = _limit_steps(base_space + recipe.scale * fed_dev, start_space, step_cap)
            for v, direction in ADVERSE_DIRECTION.items():
                if v in target.columns:
                    pick = np.maximum if direction > 0 else np.minimum
                    target[v] = pick(target[v], fed_space[v])
        levels = _from_space(target, rate_floor)
        for v in levels.columns:
            if v in catalog:
                var = catalog.get(v)
                levels[v] = levels[v].clip(var.minimum, var.maximum)
        scenario_id = f"{SCENARIO_SET_ID}-{n}"
        out.append(
            MacroScenario.from_wide(
                scenario_id,
                levels,
                source="synthetic",
                kind="custom",
                name=f"Synthetic tail {n}: {recipe.describe()}",
                vintage=severely_adverse.vintage,
                jump_off=jump_off_quarter(severely_adverse),
                files=[],
                units={v: u for v, u in severely_adverse.units.items() if v in levels.columns},
            )
        )
    return out


def scenario_severity(scenario: MacroScenario, history: MacroScenario | None = None) -> dict[str, float]:
    """Headline severity of a macro path, for metadata and tests.

    Returns
    -------
    dict
        ``peak_unemployment`` (%), ``min_real_gdp_growth`` (annualized %), ``equity_trough``,
        ``house_trough``, ``cre_trough`` (log change of the trough from the jump-off level,
        taken from ``history`` when given, else the first projected quarter), ``peak_vix``,
        ``peak_bbb_spread`` (BBB - 10y, pp). Keys whose variables are absent are left out.
    """
    quarters = projection_quarters(scenario)
    wide = scenario.wide().reindex(quarters)
    jump = jump_off_quarter(scenario)
    start = history.wide().reindex([jump]) if history is not None else wide.iloc[:1]
    out: dict[str, float] = {}
    if "unemployment_rate" in wide:
        out["peak_unemployment"] = float(wide["unemployment_rate"].max())
    if "real_gdp_growth" in wide:
        out["min_real_gdp_growth"] = float(wide["real_gdp_growth"].min())
    for key, v in (("equity_trough", "equity_total_market"), ("house_trough", "house_price_index"), ("cre_trough", "cre_price_index")):
        if v in wide and v in start:
            out[key] = float(np.log(wide[v].min() / float(start[v].iloc[0])))
    if "vix" in wide:
        out["peak_vix"] = float(wide["vix"].max())
    if "bbb_yield" in wide and "treasury_10y" in wide:
        out["peak_bbb_spread"] = float((wide["bbb_yield"] - wide["treasury_10y"]).max())
    return out


# =============================================================================== shocks
def generate_synthetic_tail(
    translator: Any,
    history: MacroScenario,
    *,
    severely_adverse: MacroScenario | None = None,
    baseline: MacroScenario | None = None,
    scenarios: Sequence[MacroScenario] | None = None,
    n_paths: int = 8,
    n_samples_per_path: int = 1000,
    seed: int = 0,
    sample_kwargs: Mapping[str, Any] | None = None,
    **path_kwargs: Any,
) -> ShockSet:
    """Granular shocks of the ``synthetic-tail`` set: samples of every synthetic path, stacked.

    Parameters
    ----------
    translator
        Any fitted translator (``sample(scenario, n_samples, seed, history=...)``).
    history
        The Fed historic table (jump-off values, crisis episodes).
    severely_adverse, baseline
        The Fed scenarios the paths are built from; ``fed-<vintage>-severely-adverse`` /
        ``-baseline`` of the history's vintage by default.
    scenarios
        Ready-made paths (e.g. :func:`synthetic_tail_scenarios` output) instead.
    n_paths, seed, path_kwargs
        Passed to :func:`synthetic_tail_scenarios`.
    n_samples_per_path
        Samples drawn from each path.
    seed
        Also seeds the draws: path ``i`` is sampled with the ``i``-th integer of
        ``numpy.random.SeedSequence(seed)``, so paths do not share residual draws.
    sample_kwargs
        Extra keyword arguments of ``translator.sample`` (``factor_history`` ...).

    Returns
    -------
    ShockSet
        ``[n_paths x n_samples_per_path, quarters, factors]``, ``scenario_id``
        ``synthetic-tail``; metadata ``paths`` lists each path's scenario id, name, seed,
        severity and its sample range ``[start, stop)`` (:func:`path_index` expands it).

    Raises
    ------
    ValueError
        When the paths disagree on quarters, factors or jump-off levels.
    """
    if scenarios is None:
        if severely_adverse is None or baseline is None:
            from risk_dagster.scenarios.registry import load_scenario

            vintage = history.vintage or "2026"
            severely_adverse = severely_adverse or load_scenario(f"fed-{vintage}-severely-adverse")
            baseline = baseline or load_scenario(f"fed-{vintage}-baseline")
        scenarios = synthetic_tail_scenarios(
            severely_adverse, baseline, history, n_paths=n_paths, seed=seed, **path_kwargs
        )
    if not scenarios:
        raise ValueError("generate_synthetic_tail: no synthetic path")
    seeds = np.random.SeedSequence(seed).generate_state(len(scenarios), dtype=np.uint32)
    parts: list[ShockSet] = []
    paths: list[dict[str, Any]] = []
    start = 0
    for scenario, path_seed in zip(scenarios, seeds, strict=True):
        part = translator.sample(scenario, int(n_samples_per_path), int(path_seed), history=history, **dict(sample_kwargs or {}))
        first = parts[0] if parts else part
        if part.factor_ids != first.factor_ids or part.quarters != first.quarters:
            raise ValueError(f"generate_synthetic_tail: {scenario.scenario_id} gives other factors or quarters than {first.scenario_id}")
        if not np.array_equal(part.jump_off, first.jump_off, equal_nan=True):
            raise ValueError(f"generate_synthetic_tail: {scenario.scenario_id} jumps off from other levels than {first.scenario_id}")
        parts.append(part)
        paths.append(
            {
                "scenario_id": scenario.scenario_id,
                "name": scenario.name,
                "seed": int(path_seed),
                "start": start,
                "stop": start + part.n_samples,
                "severity": scenario_severity(scenario, history),
            }
        )
        start += part.n_samples
    first = parts[0]
    keep = ("history_id", "jump_off_quarter", "fixed_factors", "jump_off_basis", "jump_off_asof")
    metadata = {k: first.metadata[k] for k in keep if k in first.metadata}
    metadata.update({"scenario_set": SCENARIO_SET_ID, "n_paths": len(parts), "paths": paths})
    return dataclasses.replace(
        first,
        shocks=np.concatenate([p.shocks for p in parts], axis=0),
        scenario_id=SCENARIO_SET_ID,
        seed=int(seed),
        metadata=metadata,
    )


def path_index(shockset: ShockSet) -> np.ndarray:
    """``[samples]`` int: the position (0-based) in ``metadata["paths"]`` of each sample's path.

    Raises
    ------
    ValueError
        When the set has no ``paths`` metadata (not from :func:`generate_synthetic_tail`) or
        the ranges do not cover its samples. A subset (``select``) keeps the metadata of the
        full set, so call this before selecting and index the result alongside.
    """
    paths = shockset.metadata.get("paths")
    if not paths:
        raise ValueError(f"path_index: ShockSet {shockset.scenario_id} has no 'paths' metadata")
    out = np.full(shockset.n_samples, -1, dtype=np.int64)
    for i, p in enumerate(paths):
        out[int(p["start"]) : int(p["stop"])] = i
    if (out < 0).any() or int(paths[-1]["stop"]) != shockset.n_samples:
        raise ValueError(f"path_index: the path ranges of {shockset.scenario_id} do not match its {shockset.n_samples} samples")
    return out
