"""Any scenario's variables as conditioning: map them onto the canonical ones, condition on what is given.

The translators are trained on the Fed's history and condition on its domestic variables
(:mod:`risk_dagster.translate.features`). A scenario of another publisher gives other variables
(the EBA: per-country GDP, unemployment, HICP, property prices, long-term and swap rates, equity,
FX, as annual figures) or only some of the Fed's. Two steps make it translatable:

1. **Canonical variables** (:func:`to_canonical`). The scenario's variables of one region are
   mapped onto the Fed's canonical ids by ``data_contracts/catalogs/conditioning_map.yaml``,
   annual figures to the quarters after the jump-off by the rule stated there for each
   (growth spread evenly, indices chained from the jump-off level of the Fed history, annual
   average levels interpolated from the jump-off level). A Fed scenario is returned as is.
2. **Conditioning on what is given** (:func:`condition_on`). A translator whose inputs the
   scenario does not all give is replaced by the same model *fitted on the inputs it gives*
   (:func:`available_features`): the satellite re-estimated with the available regressors and
   stress-scale drivers, the transformer re-trained with ``TransformerConfig.conditioning`` set
   to the available features (the same configuration and seeds otherwise; the hidden features
   masked in its network's tokens, left out of its skip path and read as the training centre
   by its stress scale). Both models get the same information, so the comparison stays like for
   like. What the scenario leaves open -- including what the Fed would fix, the VIX or the BBB
   spread -- is generated; what it gives is reproduced (the assembly fixes every catalog factor
   whose Fed variable the canonical scenario carries).

   Why refit rather than impute: a missing regressor read at its training mean translates an
   adverse scenario as if, say, the Treasury curve or the VIX did not move, and leaves factors
   that are exact functions of a missing regressor (the VIX factor when the VIX is not given)
   without any uncertainty. A model fitted without the input has the right conditional mean
   and the residual spread of not knowing it. (Training the transformer once with random masks
   of its inputs would avoid the refit; that is not built: the refit costs seconds per scenario.)

A scenario giving none of the activity variables (real GDP growth, unemployment) is refused by
:func:`~risk_dagster.translate.features.check_conditioning`, naming what it gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from risk_dagster.paths import contracts_dir
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.features import (
    FEATURES,
    SATELLITE_REGRESSORS,
    available_features,
    check_conditioning,
    feature_inputs,
    jump_off_quarter,
)
from risk_dagster.translate.protocol import Translator
from risk_dagster.translate.training import TrainingSet

__all__ = [
    "RULES",
    "condition_on",
    "conditioning_info",
    "hidden_features",
    "load_conditioning_map",
    "quarterly_path",
    "restricted_copy",
    "to_canonical",
]

_OWN_START_RULES = frozenset({"level_from_start", "index_from_deviation"})
"""Rules whose jump-off value is the publisher's own (carried at the canonical jump-off quarter)."""

RULES: tuple[str, ...] = (
    "growth_even", "index_from_growth", "level_interpolated", "level_from_start", "index_from_deviation",
    "ratio_from_start",
)  # fmt: skip
"""Annual-to-quarterly rules of the conditioning map (stated in its YAML header)."""


@lru_cache(maxsize=4)
def _load(path: str) -> dict[str, Any]:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    sources = doc.get("sources")
    if not isinstance(sources, dict):
        raise ValueError(f"{path}: not a conditioning map (no sources)")
    for source, regions in sources.items():
        for region, entries in (regions or {}).items():
            for variable, spec in (entries or {}).items():
                if spec.get("rule") not in RULES:
                    raise ValueError(f"{path}: {source}/{region}/{variable}: rule {spec.get('rule')!r} not in {RULES}")
    return doc


def load_conditioning_map(path: str | Path | None = None) -> dict[str, Any]:
    """The shipped (or a given) ``conditioning_map.yaml`` as a dict, rules validated."""
    file = Path(path) if path is not None else contracts_dir() / "catalogs" / "conditioning_map.yaml"
    return _load(str(file))


def _annual(series: pd.Series) -> dict[int, float]:
    """Year -> value of annual figures placed at each year's Q4 (any quarter of it accepted)."""
    out: dict[int, float] = {}
    for q, v in series.dropna().items():
        out[pd.Period(q, freq="Q-DEC").year] = float(v)
    return out


def _interpolated(annual: Mapping[int, float], quarters: pd.PeriodIndex, start: float) -> np.ndarray:
    """Linear in time from ``start`` at the jump-off (t = 0) to each year's figure at mid-year, flat after."""
    jump = quarters[0] - 1
    years = sorted(y for y in annual if y >= quarters[0].year)
    t_knots = [0.0] + [float((pd.Period(f"{y}Q2", freq="Q-DEC") - jump).n) + 0.5 for y in years]
    v_knots = [start] + [annual[y] for y in years]
    t = np.array([(q - jump).n for q in quarters], dtype=np.float64)
    return np.interp(t, np.array(t_knots), np.array(v_knots))


def quarterly_path(rule: str, annual: Mapping[int, float], quarters: pd.PeriodIndex, start: float) -> np.ndarray:
    """One canonical variable's values at ``quarters`` (after the jump-off) by ``rule``.

    ``start`` is the Fed history's jump-off level, or for :data:`_OWN_START_RULES` and
    ``ratio_from_start`` the publisher's own starting value (``annual`` then holds it at the
    jump-off year too).
    """
    values = np.full(len(quarters), np.nan)
    if rule == "growth_even":
        for i, q in enumerate(quarters):
            values[i] = annual.get(q.year, np.nan)
        return values
    if rule == "index_from_growth":
        level = start
        for i, q in enumerate(quarters):
            g = annual.get(q.year, np.nan)
            level = level * (1.0 + g / 100.0) ** 0.25
            values[i] = level
        return values
    if rule == "index_from_deviation":
        return _interpolated({y: 100.0 * (1.0 + d / 100.0) for y, d in annual.items()}, quarters, 100.0)
    # level_interpolated and level_from_start differ only by where ``start`` comes from
    return _interpolated(annual, quarters, start)


def _own_start(wide: pd.DataFrame, variable: str, jump: pd.Period) -> float:
    """The publisher's own value of ``variable`` at the jump-off quarter (NaN when not given)."""
    if jump in wide.index and variable in wide.columns:
        return float(wide.loc[jump, variable])
    return float("nan")


def to_canonical(
    scenario: MacroScenario, history: MacroScenario, *, region: str | None = None, mapping: Mapping[str, Any] | None = None
) -> MacroScenario:
    """The scenario on the Fed's canonical variables (a Fed or user scenario: unchanged).

    Parameters
    ----------
    scenario
        A scenario of a source listed in the conditioning map (``eba``), annual values at Q4.
    history
        The Fed historic table holding the jump-off quarter (levels that indices and
        interpolated levels start from).
    region
        The region block mapped: ``ea`` for a euro-area bank (the map's default for the EBA; it
        carries the US block too), ``us`` for a US bank's book, ``eu`` for the template fixture.
        ``None``: the map's ``default_regions`` entry of the source, else ``us``.
    mapping
        :func:`load_conditioning_map` output; the shipped map by default.

    Returns
    -------
    MacroScenario
        Same id, source, kind and jump-off; canonical variables at every quarter from the
        jump-off's next to the last Q4 of the scenario; ``units`` name the rule applied. Market
        variables measured from the publisher's own start (``level_from_start``,
        ``index_from_deviation``) also carry that start at the jump-off quarter: the fixed
        factors' shocks are measured from it (:mod:`risk_dagster.translate.consistency`).

    Raises
    ------
    ValueError
        When the source has no map for ``region``, none of its variables is in the scenario, or
        the history lacks the jump-off quarter.
    """
    doc = mapping if mapping is not None else load_conditioning_map()
    per_source = (doc.get("sources") or {}).get(scenario.source)
    if per_source is None:
        return scenario
    if region is None:
        region = str((doc.get("default_regions") or {}).get(scenario.source, "us"))
    entries = per_source.get(region)
    if not entries:
        raise ValueError(f"{scenario.scenario_id}: the conditioning map has no {scenario.source}/{region} block")
    wide = scenario.wide()
    present = {v: spec for v, spec in entries.items() if v in wide.columns and wide[v].notna().any()}
    targets = {str(spec["to"]) for spec in entries.values()}
    if not present and set(wide.columns) <= targets:
        return scenario  # already on the canonical variables (this function's own output)
    if not present:
        raise ValueError(
            f"{scenario.scenario_id}: none of the mapped {scenario.source}/{region} variables "
            f"({', '.join(entries)}) is in the scenario"
        )
    jump = jump_off_quarter(scenario)
    hist = history.wide()
    if jump not in hist.index:
        raise ValueError(f"{scenario.scenario_id}: the history {history.scenario_id!r} lacks the jump-off quarter {jump}")
    last = pd.Period(f"{max(q.year for q in scenario.quarters)}Q4", freq="Q-DEC")
    quarters = pd.period_range(jump + 1, last, freq="Q-DEC", name="quarter")
    out: dict[str, np.ndarray] = {}
    starts: dict[str, float] = {}
    units: dict[str, str] = {}
    for variable, spec in present.items():
        target, rule = str(spec["to"]), str(spec["rule"])
        scale = float(spec.get("scale", 1.0))  # the publisher's unit to the canonical one (iTraxx bp -> percent)
        fed_start = float(hist.loc[jump, target]) if target in hist.columns else np.nan
        own = scale * _own_start(wide, variable, jump)
        if rule in ("level_from_start", "ratio_from_start") and not np.isfinite(own):
            raise ValueError(f"{scenario.scenario_id}: {variable} has no starting value at the jump-off {jump} "
                             f"(rule {rule} measures the path from it)")
        if rule == "level_from_start":
            start = own
        elif rule == "index_from_deviation":
            start = 100.0
        else:
            start = fed_start
            if rule != "growth_even" and not np.isfinite(start):
                raise ValueError(f"{scenario.scenario_id}: no jump-off level of {target} in {history.scenario_id!r}")
        annual = {y: scale * v for y, v in _annual(wide[variable].loc[wide.index > jump]).items()}
        if rule == "ratio_from_start":
            annual = {y: fed_start * v / own for y, v in annual.items()}
        out[target] = quarterly_path(rule, annual, quarters, start)
        if rule in _OWN_START_RULES:
            starts[target] = start
        units[target] = f"{rule} from {variable}"
    frame = pd.DataFrame(out, index=quarters)
    if starts:  # the publisher's own starting points, at the jump-off quarter
        frame = pd.concat([pd.DataFrame(starts, index=pd.PeriodIndex([jump], freq="Q-DEC", name="quarter")), frame])
    return MacroScenario.from_wide(
        scenario.scenario_id,
        frame,
        source=scenario.source,
        kind=scenario.kind,
        name=f"{scenario.name} ({region.upper()} block on canonical variables)",
        vintage=scenario.vintage,
        jump_off=jump,
        files=list(scenario.files),
        units=units,
    )


def _inputs_of(translator: Translator) -> set[str]:
    """The features a fitted translator conditions on."""
    visible = getattr(translator, "visible_features", None)
    if visible is not None:  # the transformer
        return set(visible)
    regressors = set(getattr(translator, "regressors", SATELLITE_REGRESSORS))
    return regressors | set(getattr(translator, "scale_features", ()))


def conditioning_info(translator: Translator, scenario: MacroScenario) -> dict[str, Any]:
    """What the scenario gives of the translator's inputs (plain JSON, for metadata)."""
    given = available_features(scenario)
    needed = _inputs_of(translator)
    return {
        "given": [f for f in FEATURES if f in given],
        "hidden": sorted(needed - set(given)),
        "restricted": bool(needed - set(given)),
    }


def hidden_features(variables: Sequence[str]) -> list[str]:
    """The features (:data:`FEATURES` order) computed from any of ``variables``."""
    hidden = set(variables)
    return [f for f in FEATURES if set(feature_inputs(f)) & hidden]


def restricted_copy(translator: Translator, hidden: Sequence[str]) -> Translator:
    """An UNFITTED copy of a translator's model that does not condition on the ``hidden``
    features: the same configuration otherwise (the satellite without those regressors and
    stress drivers, the transformer with ``conditioning`` = the other features)."""
    from risk_dagster.translate.satellite import SatelliteTranslator
    from risk_dagster.translate.transformer import TransformerTranslator

    drop = set(hidden)
    out: Any
    if isinstance(translator, TransformerTranslator):
        visible = [f for f in (translator.config.conditioning or FEATURES) if f not in drop]
        out = type(translator)(replace(translator.config, conditioning=tuple(f for f in FEATURES if f in visible)))
    elif isinstance(translator, SatelliteTranslator):
        params = translator.init_params()
        params["regressors"] = [r for r in params["regressors"] if r not in drop]
        params["scale_features"] = [f for f in params["scale_features"] if f not in drop]
        out = type(translator)(**params)
    else:
        raise ValueError(f"restricted_copy: no restricted model for {type(translator).__name__}")
    out.version = getattr(translator, "version", out.version)
    return out  # type: ignore[no-any-return]


def condition_on(translator: Translator, scenario: MacroScenario, training: TrainingSet | None) -> Translator:
    """The translator itself when the scenario gives all its inputs, else the same model
    fitted on the inputs the scenario gives (module docstring).

    Raises
    ------
    ValueError
        From :func:`check_conditioning` (no activity variable), or when a refit is needed and no
        training set is given.
    """
    check_conditioning(scenario)
    info = conditioning_info(translator, scenario)
    if not info["restricted"]:
        return translator
    if training is None:
        raise ValueError(
            f"{scenario.scenario_id}: the scenario leaves out inputs {info['hidden']} of "
            f"{getattr(translator, 'model_id', 'the translator')}; conditioning on what it gives needs the training set"
        )
    restricted: Any = restricted_copy(translator, [f for f in FEATURES if f not in set(info["given"])])
    restricted.fit(training)
    restricted.conditioning_ = {**info, "refitted_from": f"{translator.model_id} {translator.version}"}
    return restricted  # type: ignore[no-any-return]
