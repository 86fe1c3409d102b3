"""Hard rules of the plausibility filter: limits derived from history, applied to every sample.

* ``finite``: no NaN / inf shock;
* level floors: ``credit_spread_floor`` (spreads >= 0, lowered to history's minimum minus a
  tolerance where history itself went below: Aaa-10y touched -0.01), ``rate_floor`` (rates and
  yields >= -1 %), ``vol_floor`` (vols > 5 points), ``index_floor`` (EPU >= 0);
* ``price_positive``: prices, indices and FX (``log_return`` factors) finite and > 0;
* ``curve_coherence``: adjacent and key Treasury tenor spreads within the historical range
  widened by a margin;
* ``move_multiple``: every h-quarter move within the path at most a multiple of the factor's
  largest historical h-quarter move.

Parameters in ``data_contracts/catalogs/plausibility_rules.yaml``; statistical limits derived
from the :class:`~risk_dagster.market.history.FactorHistory` (:func:`derive_hard_rules`). Each is
vectorised over samples: :func:`hard_rule_violations` returns ``rule -> bool[samples]``."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import yaml

from risk_dagster.market.history import FactorHistory
from risk_dagster.paths import contracts_dir
from risk_dagster.translate.plausibility.persistence import (
    from_json_state,
    to_json_state,
)
from risk_dagster.translate.shockset import FloatArray, ShockSet, levels_from_shocks

BoolArray = npt.NDArray[np.bool_]

HARD_RULES: tuple[str, ...] = (
    "finite",
    "credit_spread_floor",
    "rate_floor",
    "vol_floor",
    "index_floor",
    "price_positive",
    "curve_coherence",
    "move_multiple",
)
"""Hard rules in report order (the level floors are those named in the YAML)."""

ASSET_CLASSES: tuple[str, ...] = (
    "rates",
    "credit",
    "equity",
    "fx",
    "volatility",
    "commodity",
    "real_estate",
    "conditions",
)
"""Asset classes of the catalog; the discriminator's per-class features follow this order."""

_CLASS_OF_PREFIX = {
    "rates": "rates",
    "credit": "credit",
    "equity": "equity",
    "fx": "fx",
    "vol": "volatility",
    "commodity": "commodity",
    "realestate": "real_estate",
    "conditions": "conditions",
}


def load_plausibility_rules(path: str | Path | None = None) -> dict[str, Any]:
    """The rule parameters (``plausibility_rules.yaml``) as a plain dict."""
    file = Path(path) if path is not None else contracts_dir() / "catalogs" / "plausibility_rules.yaml"
    doc = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    if not isinstance(doc, dict) or "level_floors" not in doc:
        raise ValueError(f"{file}: not a plausibility rules file (no level_floors)")
    return doc


def asset_class_of(factor_id: str) -> str:
    return _CLASS_OF_PREFIX.get(factor_id.split(".", 1)[0], "other")


def _select(patterns: Sequence[str], factor_ids: Sequence[str]) -> list[str]:
    return [f for f in factor_ids if any(fnmatch.fnmatchcase(f, p) for p in patterns)]


def _unit_floor(shock_type: str, move: Mapping[str, Any]) -> float:
    """Smallest move limit, in the factor's shock unit (flat histories must not forbid all moves)."""
    if shock_type == "absolute_bp":
        return float(move.get("floor_bp", 25.0))
    if shock_type == "log_return":
        return float(move.get("floor_log", 0.025))
    return float(move.get("floor_points", 2.5))



# =============================================================================== hard rules
@dataclass
class HardRules:
    """Hard-rule limits derived from history, ready to check a ShockSet.

    Attributes
    ----------
    floors
        Rule name -> factor id -> ``(floor, strict)``: level must be ``>= floor`` (``> floor``
        when strict).
    curve_pairs
        ``(name, long, short, low, high, margin)``: ``level[long] - level[short]`` within
        ``[low - margin, high + margin]``, ``[low, high]`` the historical range (stretched to
        the ShockSet's jump-off spread when ``curve_include_jump_off``).
    max_moves
        Factor id -> ``[max_horizon]`` largest historical ``|h-quarter change|`` (h = 1..), shock
        units, already floored.
    multiple
        Allowed multiple of the largest historical move.
    history_floors
        Factor id -> historical minimum used to lower a floor (for the report).
    asset_class
        Factor id -> asset class (catalog), for the severity scaling of move limits.
    scale_with_fixed, max_scale
        Severity scaling (see :func:`severity_scale`) on/off and its cap.
    curve_include_jump_off
        Stretch each curve range to contain the jump-off spread before widening.
    history_start
        Factor id -> first quarter of its history of changes (``"1990Q1"``).
    window_moves
        Factor id -> start quarter -> its largest ``|h-quarter change|`` counting only quarters
        from that start on (like :attr:`max_moves`, unscaled by ``multiple``), for every later
        history start of a factor of the same asset class: the yardstick of
        :func:`severity_scale` for an open factor with a shorter history than the fixed ones.
    """

    floors: dict[str, dict[str, tuple[float, bool]]]
    curve_pairs: list[tuple[str, str, str, float, float, float]]
    max_moves: dict[str, FloatArray]
    multiple: float
    history_floors: dict[str, float] = field(default_factory=dict)
    asset_class: dict[str, str] = field(default_factory=dict)
    scale_with_fixed: bool = True
    max_scale: float = 3.0
    curve_include_jump_off: bool = True
    history_start: dict[str, str] = field(default_factory=dict)
    window_moves: dict[str, dict[str, FloatArray]] = field(default_factory=dict)

    def move_limit(self, factor_id: str, horizon: int) -> float:
        """Allowed ``|h-quarter move|`` of a factor (``inf`` when it has no history)."""
        moves = self.max_moves.get(factor_id)
        if moves is None:
            return float("inf")
        return self.multiple * _limit_at(moves, horizon)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON table of every limit (for metadata and the documentation pack)."""
        return {
            "floors": {r: {f: {"floor": v, "strict": s} for f, (v, s) in fl.items()} for r, fl in self.floors.items()},
            "history_floors": dict(self.history_floors),
            "curve_pairs": [
                {"name": n, "long": lo_id, "short": sh_id, "hist_low": round(a, 4), "hist_high": round(b, 4),
                 "margin": round(m, 4)}
                for n, lo_id, sh_id, a, b, m in self.curve_pairs
            ],
            "curve_include_jump_off": self.curve_include_jump_off,
            "move_multiple": self.multiple,
            "move_scale_with_fixed": self.scale_with_fixed,
            "move_max_scale": self.max_scale,
            "max_moves_q1_q4_q9": {
                f: [round(float(m[h - 1]), 4) for h in (1, 4, 9) if h <= len(m)] for f, m in self.max_moves.items()
            },
        }

    def to_state(self) -> tuple[dict[str, Any], dict[str, FloatArray]]:
        """Exact state for saving: a JSON-able dict and the ``max_moves`` arrays.

        Unlike :meth:`to_dict` (a rounded table for people), nothing is rounded:
        :meth:`from_state` rebuilds limits equal to these bit for bit.

        Returns
        -------
        tuple
            ``(doc, arrays)``: ``doc`` holds every scalar/table (non-finite floats tagged, see
            :func:`to_json_state`); ``arrays`` maps ``max_moves.<factor id>`` to the float64 limits.
        """
        doc = {
            "floors": {r: {f: [float(v), bool(st)] for f, (v, st) in fl.items()} for r, fl in self.floors.items()},
            "curve_pairs": [[n, lg, sh, float(a), float(b), float(m)] for n, lg, sh, a, b, m in self.curve_pairs],
            "max_moves": list(self.max_moves),
            "multiple": float(self.multiple),
            "history_floors": {f: float(v) for f, v in self.history_floors.items()},
            "asset_class": dict(self.asset_class),
            "scale_with_fixed": bool(self.scale_with_fixed),
            "max_scale": float(self.max_scale),
            "curve_include_jump_off": bool(self.curve_include_jump_off),
            "history_start": dict(self.history_start),
            "window_moves": {f: list(w) for f, w in self.window_moves.items()},
        }
        arrays = {f"max_moves.{f}": np.ascontiguousarray(m, dtype=np.float64) for f, m in self.max_moves.items()}
        for f, per in self.window_moves.items():
            for start, m in per.items():
                arrays[f"window_moves.{f}@{start}"] = np.ascontiguousarray(m, dtype=np.float64)
        return to_json_state(doc), arrays

    @classmethod
    def from_state(cls, doc: Mapping[str, Any], arrays: Mapping[str, FloatArray]) -> HardRules:
        """Rebuild from :meth:`to_state` output.

        Raises
        ------
        KeyError
            When ``arrays`` lacks a ``max_moves`` entry ``doc`` names.
        """
        d = from_json_state(doc)
        return cls(
            floors={r: {f: (float(v), bool(st)) for f, (v, st) in fl.items()} for r, fl in d["floors"].items()},
            curve_pairs=[(str(n), str(lg), str(sh), float(a), float(b), float(m)) for n, lg, sh, a, b, m in d["curve_pairs"]],
            max_moves={str(f): np.asarray(arrays[f"max_moves.{f}"], dtype=np.float64) for f in d["max_moves"]},
            multiple=float(d["multiple"]),
            history_floors={str(f): float(v) for f, v in d["history_floors"].items()},
            asset_class={str(f): str(c) for f, c in d["asset_class"].items()},
            scale_with_fixed=bool(d["scale_with_fixed"]),
            max_scale=float(d["max_scale"]),
            curve_include_jump_off=bool(d["curve_include_jump_off"]),
            # Saved before the window yardstick: none (the class scale alone, as then).
            history_start={str(f): str(q) for f, q in d.get("history_start", {}).items()},
            window_moves={
                str(f): {str(q): np.asarray(arrays[f"window_moves.{f}@{q}"], dtype=np.float64) for q in starts}
                for f, starts in d.get("window_moves", {}).items()
            },
        )


def derive_hard_rules(factor_history: FactorHistory, params: Mapping[str, Any] | None = None) -> HardRules:
    """Hard-rule limits from the rule parameters and the factor history.

    Parameters
    ----------
    factor_history
        Levels (for floors and curve ranges) and changes (for the largest moves).
    params
        :func:`load_plausibility_rules` output; the shipped file by default.

    Returns
    -------
    HardRules
    """
    params = dict(params) if params is not None else load_plausibility_rules()
    levels, changes = factor_history.levels, factor_history.changes
    ids = list(levels.columns)

    floors: dict[str, dict[str, tuple[float, bool]]] = {}
    history_floors: dict[str, float] = {}
    for rule, spec in (params.get("level_floors") or {}).items():
        floor, strict = float(spec["floor"]), bool(spec.get("strict", False))
        tol = spec.get("history_tolerance")
        per: dict[str, tuple[float, bool]] = {}
        for f in _select(spec["factors"], ids):
            value = floor
            hist = levels[f].dropna()
            # Lower (never raise) the floor where history itself went below it.
            if tol is not None and len(hist) and float(hist.min()) < floor:
                history_floors[f] = float(hist.min())
                value = float(hist.min()) - float(tol)
            per[f] = (value, strict)
        floors[str(rule)] = per

    curve = params.get("curve_coherence") or {}
    pairs: list[tuple[str, str]] = []
    tenors = [t for t in curve.get("tenors", []) if t in levels.columns]
    if curve.get("adjacent", True):
        pairs += [(b, a) for a, b in zip(tenors[:-1], tenors[1:], strict=True)]
    pairs += [(str(lg), str(sh)) for lg, sh in curve.get("key_spreads", []) if lg in levels and sh in levels]
    curve_pairs: list[tuple[str, str, str, float, float, float]] = []
    for long_id, short_id in dict.fromkeys(pairs):
        spread = (levels[long_id] - levels[short_id]).dropna()
        if len(spread) < int(curve.get("min_history", 20)):
            continue
        lo, hi = float(spread.min()), float(spread.max())
        margin = max(float(curve.get("margin_abs", 1.0)), float(curve.get("margin_rel", 0.5)) * (hi - lo))
        name = f"{long_id.rsplit('.', 1)[-1]}-{short_id.rsplit('.', 1)[-1]}"
        curve_pairs.append((name, long_id, short_id, lo, hi, margin))

    move = params.get("move_multiple") or {}
    horizon = int(move.get("max_horizon", 40))
    shock_types = factor_history.coverage["shock_type"].to_dict()
    min_history = int(move.get("min_history", 20))
    unit_floor = {f: _unit_floor(shock_types.get(f, "absolute"), move) for f in changes.columns}
    max_moves: dict[str, FloatArray] = {}
    history_start: dict[str, str] = {}
    for f in changes.columns:
        col = changes[f]
        if col.notna().sum() < min_history:
            continue
        max_moves[f] = _largest_moves(col, horizon, unit_floor[f])
        history_start[f] = str(col.first_valid_index())
    # The same yardstick measured from every later history start of the factor's asset class.
    classes = factor_history.coverage["asset_class"].to_dict()
    window_moves: dict[str, dict[str, FloatArray]] = {}
    for f, start in history_start.items():
        later = {q for g, q in history_start.items() if classes.get(g) == classes.get(f) and _after(q, start)}
        labels = list(changes.index.astype(str))
        for q in sorted(later):
            col = changes[f].iloc[labels.index(q):]
            if col.notna().sum() >= min_history:
                window_moves.setdefault(f, {})[q] = _largest_moves(col, horizon, unit_floor[f])
    return HardRules(
        floors=floors,
        curve_pairs=curve_pairs,
        max_moves=max_moves,
        multiple=float(move.get("multiple", 2.0)),
        history_floors=history_floors,
        asset_class={str(f): str(c) for f, c in factor_history.coverage["asset_class"].items()},
        scale_with_fixed=bool(move.get("scale_with_fixed", True)),
        max_scale=float(move.get("max_scale", 3.0)),
        curve_include_jump_off=bool(curve.get("include_jump_off", True)),
        history_start=history_start,
        window_moves=window_moves,
    )


def _after(a: str, b: str) -> bool:
    """Quarter label ``a`` strictly after ``b``."""
    return pd.Period(a, freq="Q-DEC") > pd.Period(b, freq="Q-DEC")


def _largest_moves(col: pd.Series, horizon: int, floor: float) -> FloatArray:
    """``[horizon]`` largest ``|h-quarter change|`` of a series, monotone in h and floored."""
    limit = np.empty(horizon)
    for h in range(1, horizon + 1):
        # rolling sum needs all h quarters observed: a gap never fakes a long move.
        m = col.rolling(h, min_periods=h).sum().abs().max()
        limit[h - 1] = float(m) if np.isfinite(m) else (limit[h - 2] if h > 1 else np.inf)
    # Monotone in h (a longer horizon may always move as far as a shorter one) and floored.
    return np.maximum.accumulate(np.maximum(limit, floor))


def severity_scale(shockset: ShockSet, rules: HardRules) -> dict[str, float]:
    """How far beyond history the scenario itself goes, per asset class and per open factor.

    For each factor the scenario fixes (``shockset.metadata["fixed_factors"]``), the largest ratio,
    over horizons and windows, of its move (median over samples: robust to a few broken
    samples) to its largest historical move; per asset class the largest such ratio, clipped
    to ``[1, max_scale]``. The move limits of every factor of that class are multiplied by it: a
    supervisor's path that is itself 1.4x beyond history carries the open factors of its class
    with it (severity is the scenario's; the rule polices shape), while classes the scenario
    leaves within history keep the plain limit.

    **Same history on both sides.** An open factor's own limit comes from its own history; where
    that starts later than a fixed sibling's (the 2y/3y/7y Treasury tenors from 1990, the Fed's
    3m/5y/10y from 1976), the fixed factor's move is also measured against its largest move
    *from that later start on* (:attr:`HardRules.window_moves`), and the open factor gets the
    larger of the two ratios (same clip). Without this a scenario within the fixed factors'
    1976+ range but beyond anything since 1990 (the 2025 severely adverse: the 5y -350 bp in one
    quarter, 0.8x its 1980 move but 2.3x its largest since 1990) would forbid the open tenors the
    very move that keeps them on the supervisor's curve.

    Returns
    -------
    dict
        Asset class -> scale (>= 1), and open factor id -> its own scale where the window
        yardstick gives more than its class; absent keys mean 1 (see :func:`scale_of`).
    """
    if not rules.scale_with_fixed or shockset.n_samples == 0:
        return {}
    fixed = [f for f in shockset.metadata.get("fixed_factors", []) if f in rules.max_moves and f in shockset.factor_ids]
    out: dict[str, float] = {}
    central_path: dict[str, FloatArray] = {}
    for f in fixed:
        col = shockset.factor(f)
        if not np.isfinite(col).any(axis=0).all():
            continue  # a quarter with no finite value: nothing to measure
        central = np.nanmedian(col, axis=0)
        if not np.isfinite(central).all():
            continue
        central_path[f] = np.concatenate([[0.0], central])
        c = rules.asset_class.get(f, asset_class_of(f))
        out[c] = min(max(out.get(c, 1.0), _path_ratio(central_path[f], rules.max_moves[f])), rules.max_scale)
    fixed_set = set(shockset.metadata.get("fixed_factors", []))
    for g in shockset.factor_ids:
        start = rules.history_start.get(g)
        if g in fixed_set or start is None:
            continue
        c = rules.asset_class.get(g, asset_class_of(g))
        ratio = out.get(c, 1.0)
        for f, path in central_path.items():
            moves = rules.window_moves.get(f, {}).get(start)
            if moves is not None and rules.asset_class.get(f, asset_class_of(f)) == c:
                ratio = max(ratio, min(_path_ratio(path, moves), rules.max_scale))
        if ratio > out.get(c, 1.0):
            out[g] = ratio
    return out


def scale_of(scale: Mapping[str, float], rules: HardRules, factor_id: str) -> float:
    """A factor's move-limit scale from :func:`severity_scale` output (its own, else its class's)."""
    if factor_id in scale:
        return float(scale[factor_id])
    return float(scale.get(rules.asset_class.get(factor_id, asset_class_of(factor_id)), 1.0))


def _limit_at(moves: FloatArray, horizon: int) -> float:
    """Largest historical ``horizon``-quarter move; random-walk scaling beyond the derived ones."""
    if horizon <= len(moves):
        return float(moves[horizon - 1])
    return float(moves[-1]) * float(np.sqrt(horizon / len(moves)))


def _path_ratio(path: FloatArray, moves: FloatArray) -> float:
    """Largest ratio, over horizons h and windows, of a path's h-quarter move to ``moves[h]``."""
    ratio = 1.0
    for h in range(1, len(path)):
        move = np.abs(path[h:] - path[:-h]).max()
        ratio = max(ratio, float(move) / _limit_at(moves, h))
    return ratio


def _levels(shockset: ShockSet) -> FloatArray:
    with np.errstate(over="ignore", invalid="ignore"):
        return levels_from_shocks(shockset.jump_off, shockset.shocks, shockset.shock_types)


def rule_checks(
    shockset: ShockSet, rules: HardRules, class_scale: Mapping[str, float] | None = None
) -> dict[str, tuple[BoolArray, dict[str, int]]]:
    """Rule -> (violation per sample, factor/pair -> number of samples it breaks)."""
    if class_scale is None:
        class_scale = severity_scale(shockset, rules)
    shocks = shockset.shocks
    n = shocks.shape[0]
    pos = {f: i for i, f in enumerate(shockset.factor_ids)}
    finite_shock = np.isfinite(shocks)
    lv = _levels(shockset)
    has_jump = np.isfinite(shockset.jump_off)
    out: dict[str, tuple[BoolArray, dict[str, int]]] = {}

    def collect(bad_by_key: Mapping[str, BoolArray]) -> tuple[BoolArray, dict[str, int]]:
        any_bad = np.zeros(n, dtype=bool)
        counts: dict[str, int] = {}
        for key, bad in bad_by_key.items():
            any_bad |= bad
            if bad.any():
                counts[key] = int(bad.sum())
        return any_bad, counts

    bad_finite = {f: ~finite_shock[:, :, i].all(axis=1) for f, i in pos.items()}
    out["finite"] = collect(bad_finite)

    for rule, per in rules.floors.items():
        bad: dict[str, BoolArray] = {}
        for f, (floor, strict) in per.items():
            i = pos.get(f)
            if i is None or not has_jump[i]:
                continue  # no level to check without a jump-off (reported by the caller's data)
            x = lv[:, :, i]
            below = (x <= floor) if strict else (x < floor)
            bad[f] = (below & np.isfinite(x)).any(axis=1)
        out[rule] = collect(bad)

    bad_price: dict[str, BoolArray] = {}
    for f, i in pos.items():
        if shockset.shock_types[i] != "log_return" or not has_jump[i]:
            continue
        x = lv[:, :, i]
        # Only where the shock itself is finite: a NaN shock is the `finite` rule's.
        broken = finite_shock[:, :, i] & ~(np.isfinite(x) & (x > 0))
        bad_price[f] = broken.any(axis=1)
    out["price_positive"] = collect(bad_price)

    bad_curve: dict[str, BoolArray] = {}
    for name, long_id, short_id, lo, hi, margin in rules.curve_pairs:
        if long_id not in pos or short_id not in pos:
            continue
        spread0 = shockset.jump_off[pos[long_id]] - shockset.jump_off[pos[short_id]]
        if rules.curve_include_jump_off and np.isfinite(spread0):
            # The jump-off is today's curve (for a Fed scenario partly on the Fed's averaging
            # basis): whatever it is, it is where every path starts, never implausible.
            lo, hi = min(lo, float(spread0)), max(hi, float(spread0))
        lo, hi = lo - margin, hi + margin
        spread = lv[:, :, pos[long_id]] - lv[:, :, pos[short_id]]
        bad_curve[name] = (np.isfinite(spread) & ((spread < lo) | (spread > hi))).any(axis=1)
    out["curve_coherence"] = collect(bad_curve)

    # Every h-quarter move inside the path, from the jump-off (shock 0) onwards.
    q = shocks.shape[1]
    path = np.concatenate([np.zeros((n, 1, shocks.shape[2])), shocks], axis=1)
    bad_move: dict[str, BoolArray] = {}
    ids = [f for f in pos if f in rules.max_moves]
    if ids and q:
        idx = np.array([pos[f] for f in ids])
        sub = path[:, :, idx]
        worst = np.zeros((n, len(ids)), dtype=bool)
        with np.errstate(invalid="ignore"):
            for h in range(1, q + 1):
                limit = np.array([rules.move_limit(f, h) * scale_of(class_scale, rules, f) for f in ids])
                move = np.abs(sub[:, h:, :] - sub[:, :-h, :])
                worst |= (move > limit[None, None, :]).any(axis=1)
        bad_move = {f: worst[:, k] for k, f in enumerate(ids)}
    out["move_multiple"] = collect(bad_move)
    return out


def unchecked_level_rules(shockset: ShockSet, rules: HardRules) -> dict[str, list[str]]:
    """Level rule -> factors of the set it could not check, for want of a jump-off level.

    The level floors and ``price_positive`` judge levels, which need the factor's jump-off level;
    a factor without one (no market history at the jump-off) is skipped by them, and reported
    here so the skip is never silent (the ``finite`` and ``move_multiple`` rules still apply).
    """
    pos = {f: i for i, f in enumerate(shockset.factor_ids)}
    missing = {f for f, i in pos.items() if not np.isfinite(shockset.jump_off[i])}
    out: dict[str, list[str]] = {}
    for rule, per in rules.floors.items():
        skipped = sorted(f for f in per if f in missing)
        if skipped:
            out[rule] = skipped
    prices = sorted(f for f in missing if shockset.shock_types[pos[f]] == "log_return")
    if prices:
        out["price_positive"] = prices
    return out


def hard_rule_violations(
    shockset: ShockSet, rules: HardRules, *, class_scale: Mapping[str, float] | None = None
) -> dict[str, BoolArray]:
    """Which samples break which hard rule.

    Parameters
    ----------
    shockset
        Generated shocks ``[samples, quarters, factors]``.
    rules
        :func:`derive_hard_rules` output.
    class_scale
        Severity scale of the move limits per asset class; :func:`severity_scale` of
        ``shockset`` when ``None`` (pass the parent's when checking a subset, so both use the
        same limits).

    Returns
    -------
    dict
        Rule name (:data:`HARD_RULES` order; level floors as named in the YAML) -> ``bool``
        array ``[samples]``, ``True`` where the sample breaks the rule.
    """
    return {rule: bad for rule, (bad, _) in rule_checks(shockset, rules, class_scale).items()}


class PlausibilityError(RuntimeError):
    """The filter's guarantee failed: an accepted sample breaks a hard rule."""


def hard_rule_counts(
    shockset: ShockSet, rules: HardRules, *, class_scale: Mapping[str, float] | None = None
) -> dict[str, int]:
    """Hard rule -> number of samples of ``shockset`` that break it (every rule, zeros included).

    Recomputed from the samples themselves: this is what the ``no_sample_breaks_a_hard_rule``
    asset check asserts of an accepted set. ``class_scale`` defaults to the set's own
    :func:`severity_scale`, which equals its parent's whenever every sample carries the
    supervisor's fixed path (the scale is a median over samples of the fixed factors).
    """
    return {r: int(v.sum()) for r, v in hard_rule_violations(shockset, rules, class_scale=class_scale).items()}
