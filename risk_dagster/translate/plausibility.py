"""The plausibility filter: hard rules plus a learned discriminator on generated ShockSets.

Every translator (satellite, transformer) can draw paths no market would produce: a negative
Baa spread, a VIX at zero, a 30y yield 5 points above the 10y, a 10-sigma equity quarter, a
zig-zag path. :class:`PlausibilityFilter` rejects them and reports how many, by what.

Hard rules (parameters in ``data_contracts/catalogs/plausibility_rules.yaml``; statistical
limits derived from the :class:`~risk_dagster.market.history.FactorHistory` in
:meth:`PlausibilityFilter.fit`):

* ``finite``: no NaN / inf shock;
* level floors: ``credit_spread_floor`` (spreads >= 0, lowered to history's minimum minus a
  tolerance where history itself went below: Aaa-10y touched -0.01), ``rate_floor`` (rates and
  yields >= -1 %), ``vol_floor`` (vols > 5 points), ``index_floor`` (EPU >= 0);
* ``price_positive``: prices, indices and FX (``log_return`` factors) finite and > 0;
* ``curve_coherence``: adjacent and key Treasury tenor spreads within the historical range
  widened by a margin;
* ``move_multiple``: every h-quarter move within the path at most a multiple of the factor's
  largest historical h-quarter move.

Each is vectorised over samples: :func:`hard_rule_violations` returns ``rule -> bool[samples]``.

Discriminator (:class:`PathDiscriminator`): a small torch MLP giving the probability that a
path is a real history window rather than an implausible shape. It sees only *scale-free*
features (multiplying a whole path by a constant leaves them unchanged), so it judges shape --
curve coherence, co-movement signs, smoothness -- never severity: a severely adverse scenario is
by design more severe than most of history and must not be rejected for it. Its negatives are
corrupted copies of real windows (time-shuffled, factor-mixed, sign-flipped, independent
noise, jagged, incoherent curves), not the translators' own samples: training against the
generator would teach it to reject whatever the generator does, good samples included. Its
threshold is the 1st percentile of the real windows' out-of-fold scores.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
import yaml

from risk_dagster.market.history import FactorHistory
from risk_dagster.paths import contracts_dir
from risk_dagster.translate.persistence import ModelFileError, check_model_files
from risk_dagster.translate.shockset import FloatArray, ShockSet, levels_from_shocks

__all__ = [
    "ASSET_CLASSES",
    "HARD_RULES",
    "HardRules",
    "PathDiscriminator",
    "PlausibilityFilter",
    "PlausibilityReport",
    "corrupt_windows",
    "derive_hard_rules",
    "discriminator_file",
    "hard_rule_violations",
    "history_windows",
    "load_plausibility_rules",
    "roc_auc",
    "severity_scale",
]

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


def _asset_class(factor_id: str) -> str:
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


_FLOAT_TAG = "$float"


def _to_json(obj: Any) -> Any:
    """``obj`` as strict JSON: numpy scalars/arrays become Python ones, tuples lists, and a
    non-finite float ``{"$float": "nan" | "inf" | "-inf"}`` (JSON has no NaN).

    Raises
    ------
    TypeError
        On a non-string mapping key or a value JSON cannot hold (it would not load back equal).
    """
    if obj is None or isinstance(obj, (bool, np.bool_, str)):
        return bool(obj) if isinstance(obj, np.bool_) else obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if np.isfinite(x) else {_FLOAT_TAG: "nan" if np.isnan(x) else ("inf" if x > 0 else "-inf")}
    if isinstance(obj, np.ndarray):
        return _to_json(obj.tolist())
    if isinstance(obj, Mapping):
        bad = [k for k in obj if not isinstance(k, str)]
        if bad:
            raise TypeError(f"non-string keys {bad!r} cannot be saved as JSON")
        return {k: _to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_json(v) for v in obj]
    raise TypeError(f"{type(obj).__name__} value {obj!r} cannot be saved as JSON")


def _from_json(obj: Any) -> Any:
    """Inverse of :func:`_to_json` (tagged non-finite floats back to ``float``)."""
    if isinstance(obj, dict):
        if set(obj) == {_FLOAT_TAG}:
            return float(obj[_FLOAT_TAG])
        return {k: _from_json(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_from_json(v) for v in obj]
    return obj


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

    def move_limit(self, factor_id: str, horizon: int) -> float:
        """Allowed ``|h-quarter move|`` of a factor (``inf`` when it has no history)."""
        moves = self.max_moves.get(factor_id)
        if moves is None:
            return float("inf")
        if horizon <= len(moves):
            return self.multiple * float(moves[horizon - 1])
        # Beyond the derived horizons: random-walk scaling of the longest one.
        return self.multiple * float(moves[-1]) * float(np.sqrt(horizon / len(moves)))

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
            :func:`_to_json`); ``arrays`` maps ``max_moves.<factor id>`` to the float64 limits.
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
        }
        arrays = {f"max_moves.{f}": np.ascontiguousarray(m, dtype=np.float64) for f, m in self.max_moves.items()}
        return _to_json(doc), arrays

    @classmethod
    def from_state(cls, doc: Mapping[str, Any], arrays: Mapping[str, FloatArray]) -> HardRules:
        """Rebuild from :meth:`to_state` output.

        Raises
        ------
        KeyError
            When ``arrays`` lacks a ``max_moves`` entry ``doc`` names.
        """
        d = _from_json(doc)
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
    max_moves: dict[str, FloatArray] = {}
    for f in changes.columns:
        col = changes[f]
        if col.notna().sum() < int(move.get("min_history", 20)):
            continue
        limit = np.empty(horizon)
        for h in range(1, horizon + 1):
            # rolling sum needs all h quarters observed: a gap never fakes a long move.
            m = col.rolling(h, min_periods=h).sum().abs().max()
            limit[h - 1] = float(m) if np.isfinite(m) else (limit[h - 2] if h > 1 else np.inf)
        # Monotone in h (a longer horizon may always move as far as a shorter one) and floored.
        limit = np.maximum.accumulate(np.maximum(limit, _unit_floor(shock_types.get(f, "absolute"), move)))
        max_moves[f] = limit
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
    )


def severity_scale(shockset: ShockSet, rules: HardRules) -> dict[str, float]:
    """How far beyond history the scenario itself goes, per asset class.

    For each factor the scenario fixes (``shockset.metadata["fixed_factors"]``), the largest ratio,
    over horizons and windows, of its move (median over samples: robust to a few broken
    samples) to its largest historical move; per asset class the largest such ratio, clipped
    to ``[1, max_scale]``. The move limits of every factor of that class are multiplied by it: a
    supervisor's path that is itself 1.4x beyond history carries the open factors of its class
    with it (severity is the scenario's; the rule polices shape), while classes the scenario
    leaves within history keep the plain limit.

    Returns
    -------
    dict
        Asset class -> scale (>= 1); classes without a fixed factor are absent (scale 1).
    """
    if not rules.scale_with_fixed or shockset.n_samples == 0:
        return {}
    fixed = [f for f in shockset.metadata.get("fixed_factors", []) if f in rules.max_moves and f in shockset.factor_ids]
    out: dict[str, float] = {}
    for f in fixed:
        col = shockset.factor(f)
        if not np.isfinite(col).any(axis=0).all():
            continue  # a quarter with no finite value: nothing to measure
        central = np.nanmedian(col, axis=0)
        if not np.isfinite(central).all():
            continue
        path = np.concatenate([[0.0], central])
        ratio = 1.0
        for h in range(1, len(path)):
            move = np.abs(path[h:] - path[:-h]).max()
            ratio = max(ratio, float(move) / (rules.move_limit(f, h) / rules.multiple))
        c = rules.asset_class.get(f, _asset_class(f))
        out[c] = min(max(out.get(c, 1.0), ratio), rules.max_scale)
    return out


def _levels(shockset: ShockSet) -> FloatArray:
    with np.errstate(over="ignore", invalid="ignore"):
        return levels_from_shocks(shockset.jump_off, shockset.shocks, shockset.shock_types)


def _rule_checks(
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
                limit = np.array(
                    [rules.move_limit(f, h) * class_scale.get(rules.asset_class.get(f, _asset_class(f)), 1.0) for f in ids]
                )
                move = np.abs(sub[:, h:, :] - sub[:, :-h, :])
                worst |= (move > limit[None, None, :]).any(axis=1)
        bad_move = {f: worst[:, k] for k, f in enumerate(ids)}
    out["move_multiple"] = collect(bad_move)
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
    return {rule: bad for rule, (bad, _) in _rule_checks(shockset, rules, class_scale).items()}


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


# =============================================================================== discriminator
def history_windows(
    changes: pd.DataFrame, length: int, *, min_factors: int = 20
) -> tuple[FloatArray, BoolArray, list[str]]:
    """Every window of ``length`` consecutive quarters of the history's one-quarter changes.

    A factor is kept in a window only when it is observed in all its quarters; the others are
    masked (their values set to 0 only as a placeholder; the mask says to ignore them).

    Returns
    -------
    tuple
        ``windows [n, length, factors]`` (shock units), ``mask [n, factors]`` and the windows'
        first quarters (strings).
    """
    values = changes.to_numpy(dtype=np.float64)
    quarters = [str(q) for q in changes.index]
    wins, masks, starts = [], [], []
    for t in range(0, values.shape[0] - length + 1):
        w = values[t : t + length]
        m = np.isfinite(w).all(axis=0)
        if m.sum() < min_factors:
            continue
        wins.append(np.where(m[None, :], w, 0.0))
        masks.append(m)
        starts.append(quarters[t])
    if not wins:
        return np.zeros((0, length, values.shape[1])), np.zeros((0, values.shape[1]), dtype=bool), []
    return np.stack(wins), np.stack(masks), starts


CORRUPTIONS: tuple[str, ...] = ("time_shuffle", "factor_mix", "sign_flip", "noise", "jagged", "curve_noise")
"""Kinds of implausible paths the discriminator learns to tell from history."""


def corrupt_windows(
    windows: FloatArray,
    mask: BoolArray,
    rng: np.random.Generator,
    *,
    kinds: Sequence[str] = CORRUPTIONS,
    factor_ids: Sequence[str] | None = None,
    scale: FloatArray | None = None,
) -> tuple[FloatArray, BoolArray, list[str]]:
    """Implausible paths made from real windows, one per window and kind.

    Kinds: ``time_shuffle`` (each factor's quarters permuted: serial shape lost),
    ``factor_mix`` (each factor from another window: co-movement lost), ``sign_flip`` (a third of
    the factors reversed: wrong-sign co-movements), ``noise`` (independent Gaussian increments at
    each factor's own scale), ``jagged`` (alternating-sign increments added), ``curve_noise``
    (Treasury tenors and other rates replaced by independent noise: incoherent curves).

    Parameters
    ----------
    windows, mask
        :func:`history_windows` output.
    rng
        Source of randomness.
    kinds
        Which corruptions.
    factor_ids
        Ids of the last axis (``curve_noise`` needs them to find the rates).
    scale
        ``[factors]`` typical one-quarter change per factor (``noise``); 1 by default.

    Returns
    -------
    tuple
        Corrupted windows, their masks, and the kind of each.
    """
    n, q, f = windows.shape
    sd = np.ones(f) if scale is None else np.asarray(scale, dtype=np.float64)
    rates = np.array([_asset_class(x) == "rates" for x in factor_ids]) if factor_ids is not None else np.zeros(f, bool)
    out, masks, labels = [], [], []
    for kind in kinds:
        w = windows.copy()
        if kind == "time_shuffle":
            order = np.argsort(rng.random((n, q, f)), axis=1)
            w = np.take_along_axis(w, order, axis=1)
        elif kind == "factor_mix":
            for j in range(f):
                donors = np.flatnonzero(mask[:, j])
                if donors.size:
                    w[:, :, j] = windows[rng.choice(donors, size=n), :, j]
        elif kind == "sign_flip":
            flip = rng.random((n, f)) < 1 / 3
            w = np.where(flip[:, None, :], -w, w)
        elif kind == "noise":
            w = rng.standard_normal((n, q, f)) * sd[None, None, :] * rng.uniform(0.5, 3.0, (n, 1, 1))
        elif kind == "jagged":
            rms = np.sqrt((w**2).mean(axis=1, keepdims=True)) + 1e-12
            alt = (-1.0) ** np.arange(q)[None, :, None]
            w = w + rng.uniform(1.0, 2.0, (n, 1, 1)) * alt * rms
        elif kind == "curve_noise":
            rms = np.sqrt((w[:, :, rates] ** 2).mean(axis=(1, 2), keepdims=True)) + 1e-12
            w[:, :, rates] = rng.standard_normal((n, q, int(rates.sum()))) * rms * rng.uniform(1.0, 2.0, (n, 1, 1))
        else:
            raise ValueError(f"unknown corruption {kind!r}; expected one of {CORRUPTIONS}")
        out.append(np.where(mask[:, None, :], w, 0.0))
        masks.append(mask.copy())
        labels += [kind] * n
    return np.concatenate(out), np.concatenate(masks), labels


def roc_auc(positive: npt.ArrayLike, negative: npt.ArrayLike) -> float:
    """Area under the ROC curve: probability that a positive scores above a negative (ties 1/2)."""
    pos = np.asarray(positive, dtype=np.float64)
    neg = np.asarray(negative, dtype=np.float64)
    if not pos.size or not neg.size:
        return float("nan")
    from scipy.stats import rankdata

    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[: pos.size].sum() - pos.size * (pos.size + 1) / 2) / (pos.size * neg.size))


@dataclass
class _Stats:
    """History statistics behind the features: per-factor scale and correlation."""

    scale: FloatArray  # [F] std of one-quarter changes
    corr: FloatArray  # [F, F] shrunk, positive definite

    @classmethod
    def fit(cls, changes: pd.DataFrame, shrinkage: float) -> _Stats:
        scale = changes.std(ddof=1).to_numpy(dtype=np.float64)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        corr = changes.corr(min_periods=20).to_numpy(dtype=np.float64)
        corr = np.where(np.isfinite(corr), corr, 0.0)
        np.fill_diagonal(corr, 1.0)
        corr = (1 - shrinkage) * corr + shrinkage * np.eye(len(corr))
        # Pairwise-complete correlations need not be PSD: clip the spectrum.
        vals, vecs = np.linalg.eigh(corr)
        corr = (vecs * np.maximum(vals, 1e-3)) @ vecs.T
        d = np.sqrt(np.diag(corr))
        return cls(scale=scale, corr=corr / np.outer(d, d))


FEATURE_NAMES: tuple[str, ...] = (
    "mahal_inc_mean",
    "mahal_inc_max",
    "mahal_cum_mean",
    "mahal_cum_last",
    "pc_share_inc",
    "pc_share_cum",
    "mahal_rates_inc",
    "mahal_rates_cum",
    *(f"autocorr_{c}" for c in ASSET_CLASSES),
    *(f"efficiency_{c}" for c in ASSET_CLASSES),
    "corr_alignment",
    "peakiness",
)
"""Scale-free shape features of a path (see :func:`_features`)."""


def _mahal_ratio(x: FloatArray, inv: FloatArray) -> FloatArray:
    """``log(x' C^-1 x / x'x)`` along the last axis: how far off history's correlation a vector is,
    whatever its size."""
    num = np.einsum("...i,ij,...j->...", x, inv, x)
    den = np.einsum("...i,...i->...", x, x)
    return np.log((num + 1e-9) / (den + 1e-9))


def _features(z: FloatArray, cls_idx: npt.NDArray[np.int64], corr: FloatArray, n_components: int) -> FloatArray:
    """Features of paths sharing one factor subset.

    Parameters
    ----------
    z
        ``[n, quarters, k]`` standardized one-quarter changes of the subset's factors.
    cls_idx
        ``[k]`` index in :data:`ASSET_CLASSES` of each factor.
    corr
        ``[k, k]`` historical correlation of the subset.
    n_components
        Principal components counted in the ``pc_share`` features.

    Returns
    -------
    numpy.ndarray
        ``[n, len(FEATURE_NAMES)]``.
    """
    n, q, k = z.shape
    inv = np.linalg.inv(corr)
    vals, vecs = np.linalg.eigh(corr)
    top = vecs[:, np.argsort(vals)[::-1][: min(n_components, k)]]
    cum = np.cumsum(z, axis=1)
    m_inc = _mahal_ratio(z, inv)
    m_cum = _mahal_ratio(cum, inv)

    def pc_share(x: FloatArray) -> FloatArray:
        return ((x @ top) ** 2).sum(-1) / ((x**2).sum(-1) + 1e-12)

    rates = cls_idx == ASSET_CLASSES.index("rates")
    if rates.sum() >= 2:
        inv_r = np.linalg.inv(corr[np.ix_(rates, rates)])
        m_r_inc = _mahal_ratio(z[:, :, rates], inv_r).mean(1)
        m_r_cum = _mahal_ratio(cum[:, :, rates], inv_r).mean(1)
    else:
        m_r_inc = m_r_cum = np.zeros(n)

    zc = z - z.mean(axis=1, keepdims=True)
    denom = (zc**2).sum(axis=1) + 1e-12
    ac = (zc[:, 1:, :] * zc[:, :-1, :]).sum(axis=1) / denom  # [n, k] lag-1 autocorrelation
    eff = np.abs(z.sum(axis=1)) / (np.abs(z).sum(axis=1) + 1e-12)  # [n, k] net / gross move
    ac_cls = np.zeros((n, len(ASSET_CLASSES)))
    eff_cls = np.zeros((n, len(ASSET_CLASSES)))
    for c in range(len(ASSET_CLASSES)):
        sel = cls_idx == c
        if sel.any():
            ac_cls[:, c] = ac[:, sel].mean(axis=1)
            eff_cls[:, c] = eff[:, sel].mean(axis=1)

    # The window's own correlation matrix vs history's (off-diagonal cosine similarity).
    zs = zc / np.sqrt(denom)[:, None, :]
    r = np.einsum("nqi,nqj->nij", zs, zs)
    off = ~np.eye(k, dtype=bool)
    hist = corr[off]
    win = r[:, off]
    align = (win @ hist) / (np.linalg.norm(win, axis=1) * np.linalg.norm(hist) + 1e-12)

    rms = np.sqrt((z**2).mean(axis=(1, 2))) + 1e-12
    peak = np.log(np.abs(z).max(axis=(1, 2)) / rms + 1e-12)
    return np.column_stack(
        [
            m_inc.mean(1),
            m_inc.max(1),
            m_cum.mean(1),
            m_cum[:, -1],
            pc_share(z).mean(1),
            pc_share(cum[:, -1, :]),
            m_r_inc,
            m_r_cum,
            ac_cls,
            eff_cls,
            align,
            peak,
        ]
    )


class _MLP(torch.nn.Module):
    def __init__(self, n_in: int, hidden: int) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(n_in, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, hidden), torch.nn.Tanh(),
            torch.nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class PathDiscriminator:
    """Probability that a ``[quarters, factors]`` path is a real history window.

    Parameters
    ----------
    quarters
        Path length it is trained for (the ShockSet's number of quarters).
    params
        The YAML's ``discriminator`` section.

    Attributes
    ----------
    threshold
        Scores below it are rejected: the ``reject_quantile`` quantile of the real windows'
        out-of-fold scores.
    metrics
        Out-of-fold AUC (real vs corrupted), per corruption kind, counts, threshold.
    """

    def __init__(self, quarters: int, params: Mapping[str, Any] | None = None) -> None:
        self.quarters = int(quarters)
        self.params = dict(params if params is not None else load_plausibility_rules()["discriminator"])
        self.factor_ids: list[str] = []
        self.threshold: float = 0.0
        self.metrics: dict[str, Any] = {}
        self._stats: _Stats | None = None
        self._model: _MLP | None = None
        self._mu: FloatArray | None = None
        self._sd: FloatArray | None = None

    # ---------------------------------------------------------------- features
    def _feature_matrix(self, windows: FloatArray, mask: BoolArray, stats: _Stats) -> FloatArray:
        """Features of raw-change windows, grouped by their factor subset."""
        cls_all = np.array([ASSET_CLASSES.index(c) if c in ASSET_CLASSES else 0 for c in map(_asset_class, self.factor_ids)])
        z = windows / stats.scale[None, None, :]
        out = np.full((len(windows), len(FEATURE_NAMES)), np.nan)
        patterns, inverse = np.unique(mask, axis=0, return_inverse=True)
        for p, pattern in enumerate(patterns):
            rows = np.flatnonzero(inverse.ravel() == p)
            sel = np.flatnonzero(pattern)
            if sel.size < 2:
                continue
            out[rows] = _features(
                z[np.ix_(rows, np.arange(z.shape[1]), sel)], cls_all[sel], stats.corr[np.ix_(sel, sel)],
                int(self.params.get("n_components", 6)),
            )
        return out

    # ---------------------------------------------------------------- training
    def _train(self, x: FloatArray, y: FloatArray, seed: int) -> tuple[_MLP, FloatArray, FloatArray]:
        mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
        xt = torch.as_tensor((x - mu) / sd, dtype=torch.float32)
        yt = torch.as_tensor(y, dtype=torch.float32)
        # Balanced classes: real windows are outnumbered by their corruptions.
        pos_weight = torch.tensor(float((y == 0).sum()) / max(float((y == 1).sum()), 1.0))
        threads = torch.get_num_threads()
        # A tiny full-batch problem: one thread is ~30x faster than contended intra-op threads.
        torch.set_num_threads(1)
        try:
            model = self._train_loop(xt, yt, pos_weight, seed)
        finally:
            torch.set_num_threads(threads)
        model.eval()
        return model, mu, sd

    def _train_loop(self, xt: torch.Tensor, yt: torch.Tensor, pos_weight: torch.Tensor, seed: int) -> _MLP:
        with torch.random.fork_rng(devices=[]):  # seed locally, leave the caller's RNG alone
            torch.manual_seed(seed)
            model = _MLP(xt.shape[1], int(self.params.get("hidden", 32)))
            opt = torch.optim.Adam(
                model.parameters(),
                lr=float(self.params.get("learning_rate", 0.01)),
                weight_decay=float(self.params.get("weight_decay", 1e-3)),
            )
            loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
            for _ in range(int(self.params.get("epochs", 400))):  # full batch: deterministic
                opt.zero_grad()
                loss = loss_fn(model(xt), yt)
                loss.backward()
                opt.step()
        return model

    @staticmethod
    def _predict(model: _MLP, mu: FloatArray, sd: FloatArray, x: FloatArray) -> FloatArray:
        out = np.full(len(x), np.nan)
        ok = np.isfinite(x).all(axis=1)
        if ok.any():
            with torch.no_grad():
                logits = model(torch.as_tensor((x[ok] - mu) / sd, dtype=torch.float32))
            out[ok] = torch.sigmoid(logits).double().numpy()
        return out

    def _dataset(
        self, changes: pd.DataFrame, rng: np.random.Generator, stats: _Stats
    ) -> tuple[FloatArray, BoolArray, FloatArray, BoolArray, list[str], list[str], npt.NDArray[np.int64]]:
        real, mask, starts = history_windows(changes, self.quarters, min_factors=int(self.params.get("min_factors", 20)))
        reps = max(1, int(self.params.get("negatives_per_window", 6)) // len(CORRUPTIONS))
        fakes, fmask, kinds, src = [], [], [], []
        for _ in range(reps):
            f, m, k = corrupt_windows(real, mask, rng, factor_ids=self.factor_ids, scale=stats.scale)
            fakes.append(f)
            fmask.append(m)
            kinds += k
            src.append(np.tile(np.arange(len(real)), len(CORRUPTIONS)))
        return real, mask, np.concatenate(fakes), np.concatenate(fmask), starts, kinds, np.concatenate(src)

    def _deflate(self, real: FloatArray, mask: BoolArray, stats: _Stats, seed: int) -> FloatArray:
        """Real windows with a random share (0..1) of their common, top-principal-component
        movement removed: extra *real* examples.

        A translator's sample is conditional on a macro path: the common macro factor is given
        (in a baseline, nearly flat), so its co-movement is weaker than in an unconditional
        history window. Without these examples the discriminator would reject every calm
        conditional sample for lacking a crisis' common factor -- severity again, not shape.
        """
        k = int(self.params.get("deflate_components", 3))
        if k <= 0:
            return real[:0]
        rng = np.random.default_rng(seed)
        vals, vecs = np.linalg.eigh(stats.corr)
        top = vecs[:, np.argsort(vals)[::-1][:k]]
        z = real / stats.scale[None, None, :]
        common = (z @ top) @ top.T
        z = z - rng.uniform(0.0, 1.0, (len(real), 1, 1)) * common
        return np.where(mask[:, None, :], z * stats.scale[None, None, :], 0.0)

    def fit(self, changes: pd.DataFrame, *, seed: int = 0) -> Self:
        """Train on the history's one-quarter changes (quarter x factor id, shock units, NaN = missing).

        Out-of-fold scores come from ``folds`` blocked time folds; training windows overlapping
        the test block are purged, and the feature statistics (scales, correlation) and the
        network are refitted per fold. The final model uses every window.
        """
        self.factor_ids = [str(c) for c in changes.columns]
        shrink = float(self.params.get("shrinkage", 0.2))
        rng = np.random.default_rng(seed)
        stats = _Stats.fit(changes, shrink)
        real, mask, fake, fmask, starts, kinds, src = self._dataset(changes, rng, stats)
        n = len(real)
        if n < 10:
            raise ValueError(f"PathDiscriminator: only {n} history windows of {self.quarters} quarters")
        qidx = {str(q): i for i, q in enumerate(changes.index)}
        start_i = np.array([qidx[s] for s in starts])

        # Out-of-fold scores for calibration and honest AUC.
        n_folds = int(self.params.get("folds", 5))
        oof_real = np.full(n, np.nan)
        oof_fake = np.full(len(fake), np.nan)
        blocks = np.array_split(np.arange(n), n_folds)
        for k, test in enumerate(blocks):
            lo, hi = start_i[test].min(), start_i[test].max() + self.quarters - 1
            # Purge: a training window may not share a quarter with the test block.
            train = np.flatnonzero((start_i + self.quarters - 1 < lo) | (start_i > hi))
            if len(train) < 10:
                continue
            quarters_train = sorted({int(t) + j for t in start_i[train] for j in range(self.quarters)})
            fold_stats = _Stats.fit(changes.iloc[quarters_train], shrink)
            tr_fake = np.isin(src, train)
            te_fake = np.isin(src, test)
            deflated = self._deflate(real[train], mask[train], fold_stats, seed + 100 + k)
            x_tr = np.vstack(
                [self._feature_matrix(real[train], mask[train], fold_stats),
                 self._feature_matrix(deflated, mask[train][: len(deflated)], fold_stats),
                 self._feature_matrix(fake[tr_fake], fmask[tr_fake], fold_stats)]
            )
            y_tr = np.concatenate([np.ones(len(train) + len(deflated)), np.zeros(int(tr_fake.sum()))])
            ok = np.isfinite(x_tr).all(axis=1)
            model, mu, sd = self._train(x_tr[ok], y_tr[ok], seed + 1 + k)
            oof_real[test] = self._predict(model, mu, sd, self._feature_matrix(real[test], mask[test], fold_stats))
            oof_fake[te_fake] = self._predict(model, mu, sd, self._feature_matrix(fake[te_fake], fmask[te_fake], fold_stats))

        deflated = self._deflate(real, mask, stats, seed + 100)
        x = np.vstack(
            [self._feature_matrix(real, mask, stats), self._feature_matrix(deflated, mask[: len(deflated)], stats),
             self._feature_matrix(fake, fmask, stats)]
        )
        y = np.concatenate([np.ones(n + len(deflated)), np.zeros(len(fake))])
        ok = np.isfinite(x).all(axis=1)
        self._model, self._mu, self._sd = self._train(x[ok], y[ok], seed)
        self._stats = stats

        q = float(self.params.get("reject_quantile", 0.01))
        finite_real = oof_real[np.isfinite(oof_real)]
        if finite_real.size == 0:  # too little history for folds: fall back to in-sample scores
            finite_real = self._predict(self._model, self._mu, self._sd, x[:n][ok[:n]])
        self.threshold = float(np.quantile(finite_real, q))
        kinds_arr = np.array(kinds)
        fin_fake = np.isfinite(oof_fake)
        self.metrics = {
            "quarters": self.quarters,
            "n_real_windows": int(n),
            "n_corrupted": int(len(fake)),
            "first_window": starts[0],
            "last_window": starts[-1],
            "threshold": self.threshold,
            "reject_quantile": q,
            "oof_auc": roc_auc(finite_real, oof_fake[fin_fake]),
            "oof_auc_by_kind": {
                kd: roc_auc(finite_real, oof_fake[fin_fake & (kinds_arr == kd)]) for kd in CORRUPTIONS
            },
            "oof_real_score_quantiles": {
                str(p): float(np.quantile(finite_real, p)) for p in (0.01, 0.05, 0.5)
            },
            "seed": int(seed),
        }
        return self

    # ---------------------------------------------------------------- persistence
    def to_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        """Exact state for saving (see :meth:`PlausibilityFilter.save`).

        Returns
        -------
        tuple
            ``(doc, tensors)``: ``doc`` (JSON-able) holds ``quarters``, ``params``,
            ``factor_ids``, ``threshold`` and ``metrics``; ``tensors`` holds the MLP's state
            dict (``mlp.<name>``, float32), the feature scalers ``mu``/``sd`` and the history
            statistics ``stats.scale``/``stats.corr`` (float64, bit-for-bit).

        Raises
        ------
        RuntimeError
            When the discriminator is not fitted.
        """
        if self._model is None or self._stats is None or self._mu is None or self._sd is None:
            raise RuntimeError("PathDiscriminator: fit first")
        doc = {
            "quarters": self.quarters,
            "params": self.params,
            "factor_ids": list(self.factor_ids),
            "threshold": self.threshold,
            "metrics": self.metrics,
        }
        tensors = {f"mlp.{k}": v.detach().contiguous().clone() for k, v in self._model.state_dict().items()}
        for name, arr in (("mu", self._mu), ("sd", self._sd), ("stats.scale", self._stats.scale),
                          ("stats.corr", self._stats.corr)):
            tensors[name] = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float64).copy())
        return _to_json(doc), tensors

    @classmethod
    def from_state(cls, doc: Mapping[str, Any], tensors: Mapping[str, torch.Tensor]) -> PathDiscriminator:
        """Rebuild a fitted discriminator from :meth:`to_state` output (no training).

        Raises
        ------
        KeyError
            When a tensor or field is missing.
        ValueError
            When the shapes disagree with each other or with the factor ids.
        """
        d = _from_json(doc)
        disc = cls(int(d["quarters"]), d["params"])
        disc.factor_ids = [str(f) for f in d["factor_ids"]]
        disc.threshold = float(d["threshold"])
        disc.metrics = dict(d["metrics"])
        first = tensors["mlp.net.0.weight"]
        model = _MLP(int(first.shape[1]), int(first.shape[0]))
        model.load_state_dict({k[len("mlp."):]: v for k, v in tensors.items() if k.startswith("mlp.")}, strict=True)
        model.eval()
        mu, sd = tensors["mu"].numpy(), tensors["sd"].numpy()
        scale, corr = tensors["stats.scale"].numpy(), tensors["stats.corr"].numpy()
        n_f, n_in = len(disc.factor_ids), len(FEATURE_NAMES)
        if first.shape[1] != n_in or mu.shape != (n_in,) or sd.shape != (n_in,):
            raise ValueError(f"discriminator for {disc.quarters} quarters: {len(mu)} feature scalers, "
                             f"{first.shape[1]} MLP inputs, expected {n_in}")
        if scale.shape != (n_f,) or corr.shape != (n_f, n_f):
            raise ValueError(f"discriminator for {disc.quarters} quarters: statistics of shape {scale.shape}/"
                             f"{corr.shape} for {n_f} factors")
        disc._model, disc._mu, disc._sd = model, mu, sd
        disc._stats = _Stats(scale=scale, corr=corr)
        return disc

    # ---------------------------------------------------------------- scoring
    def score_windows(self, windows: FloatArray, mask: BoolArray | None = None) -> FloatArray:
        """``[n]`` probability-of-real of raw one-quarter-change paths ``[n, quarters, factors]``
        on this discriminator's factors (``mask`` marks the observed ones)."""
        if self._model is None or self._stats is None or self._mu is None or self._sd is None:
            raise RuntimeError("PathDiscriminator: fit first")
        if len(windows) == 0:
            return np.zeros(0)
        if windows.shape[1] != self.quarters:
            raise ValueError(f"PathDiscriminator: trained on {self.quarters} quarters, got {windows.shape[1]}")
        m = np.isfinite(windows).all(axis=1) if mask is None else (mask & np.isfinite(windows).all(axis=1))
        x = self._feature_matrix(np.where(m[:, None, :], windows, 0.0), m, self._stats)
        return self._predict(self._model, self._mu, self._sd, x)

    def score(self, shockset: ShockSet, *, exclude: Sequence[str] = ()) -> FloatArray:
        """``[samples]`` probability-of-real of each sample's path.

        Factors the discriminator does not know are ignored; those it knows but the ShockSet
        lacks, or listed in ``exclude``, are masked (as missing history is in training).
        """
        skip = set(exclude)
        pos = {f: i for i, f in enumerate(shockset.factor_ids) if f not in skip}
        n, q = shockset.shocks.shape[:2]
        inc = np.diff(np.concatenate([np.zeros((n, 1, shockset.shocks.shape[2])), shockset.shocks], axis=1), axis=1)
        windows = np.zeros((n, q, len(self.factor_ids)))
        mask = np.zeros((n, len(self.factor_ids)), dtype=bool)
        for j, f in enumerate(self.factor_ids):
            if f in pos:
                windows[:, :, j] = inc[:, :, pos[f]]
                mask[:, j] = True
        return self.score_windows(windows, mask)


# =============================================================================== the filter
def _json_float(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


@dataclass
class PlausibilityReport:
    """What :meth:`PlausibilityFilter.apply` found.

    Attributes
    ----------
    accepted
        The samples that pass every rule (possibly empty).
    n_samples, n_accepted
        Samples in / out.
    rejections
        Rule -> samples breaking it (hard rules and ``discriminator``); a sample breaking
        several rules counts in each, so these may add up to more than the rejected total.
    only_rule
        Rule -> samples rejected by that rule alone.
    breaches
        Rule -> factor (or curve pair) -> samples where it breaks the rule (top entries).
    scores
        Discriminator score distribution: threshold, quantiles, histogram (edges and counts).
    parameters
        Rule parameters and derived limits in force.
    """

    accepted: ShockSet
    n_samples: int
    n_accepted: int
    rejections: dict[str, int]
    only_rule: dict[str, int]
    breaches: dict[str, dict[str, int]]
    scores: dict[str, Any]
    parameters: dict[str, Any]
    scenario_id: str = ""

    @property
    def n_rejected(self) -> int:
        return self.n_samples - self.n_accepted

    @property
    def acceptance_rate(self) -> float:
        return self.n_accepted / self.n_samples if self.n_samples else 0.0

    def to_metadata(self) -> dict[str, Any]:
        """Plain-JSON summary (Dagster metadata)."""
        return {
            "scenario_id": self.scenario_id,
            "n_samples": self.n_samples,
            "n_accepted": self.n_accepted,
            "n_rejected": self.n_rejected,
            "acceptance_rate": round(self.acceptance_rate, 6),
            "rejections": dict(self.rejections),
            "only_rule": dict(self.only_rule),
            "breaches": {r: dict(v) for r, v in self.breaches.items()},
            "scores": dict(self.scores),
        }

    def to_markdown(self) -> str:
        """A short Markdown table of the rejections and the score distribution."""
        lines = [
            f"### Plausibility filter: {self.scenario_id}",
            "",
            f"{self.n_accepted} of {self.n_samples} samples accepted ({100 * self.acceptance_rate:.1f}%), "
            f"{self.n_rejected} rejected.",
            "",
            "| rule | rejected | rejected by this rule only | most frequent breaches |",
            "|---|---:|---:|---|",
        ]
        for rule, count in self.rejections.items():
            top = sorted(self.breaches.get(rule, {}).items(), key=lambda kv: -kv[1])[:3]
            lines.append(
                f"| {rule} | {count} | {self.only_rule.get(rule, 0)} | "
                + (", ".join(f"{k} ({v})" for k, v in top) or "-")
                + " |"
            )
        s = self.scores
        if s.get("quantiles"):
            q = s["quantiles"]
            lines += [
                "",
                f"Discriminator (probability of real): threshold {s['threshold']:.3f}; "
                + ", ".join(f"q{k} {v:.3f}" for k, v in q.items() if v is not None),
            ]
        return "\n".join(lines) + "\n"


FILTER_FILE = "filter.json"
"""A saved filter's parameters, seed, hard-rule limits, history layout and discriminator metadata."""

FILTER_ARRAYS_FILE = "filter.safetensors"
"""A saved filter's arrays: hard-rule move limits (``max_moves.<factor id>``) and the history's
one-quarter changes (``history.changes``, kept so an unsaved path length can still be trained)."""

_FILTER_FORMAT = "risk_dagster.translate.plausibility/1"
_DISCRIMINATOR_FILE = re.compile(r"discriminator_[0-9]+\.safetensors")


def discriminator_file(quarters: int) -> str:
    """File name of the saved discriminator for ``quarters``-quarter paths."""
    return f"discriminator_{int(quarters)}.safetensors"


def _is_filter_file(name: str) -> bool:
    return name in (FILTER_FILE, FILTER_ARRAYS_FILE) or _DISCRIMINATOR_FILE.fullmatch(name) is not None


def _replace_folder(tmp: Path, target: Path) -> None:
    """Move the complete folder ``tmp`` to ``target``, replacing what was there.

    The old folder is renamed aside first and removed only once the new one is in place (put
    back if the second rename fails): the previous good filter is never half-overwritten.
    """
    if not target.exists():
        os.replace(tmp, target)
        return
    old = target.with_name(f".{target.name}.{uuid.uuid4().hex}.old")
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


class PlausibilityFilter:
    """Hard rules + discriminator, fitted on the factor history.

    Parameters
    ----------
    params
        :func:`load_plausibility_rules` output; the shipped file by default.

    Notes
    -----
    A fitted filter is persisted with :meth:`save` and rebuilt with :meth:`load` (safetensors +
    JSON, never pickles): a Dagster asset fits it once, the per-scenario assets load it.

    Examples
    --------
    >>> filt = PlausibilityFilter().fit(factor_history, seed=0, quarters=(13,))  # doctest: +SKIP
    >>> report = filt.apply(shockset)                                            # doctest: +SKIP
    >>> report.accepted, report.to_metadata()                                    # doctest: +SKIP
    >>> filt.save(folder); PlausibilityFilter.load(folder).apply(shockset)       # doctest: +SKIP
    """

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params = dict(params) if params is not None else load_plausibility_rules()
        self.rules: HardRules | None = None
        self.seed = 0
        self._changes: pd.DataFrame | None = None
        self._discriminators: dict[int, PathDiscriminator] = {}

    @property
    def uses_discriminator(self) -> bool:
        return bool((self.params.get("discriminator") or {}).get("enabled", True))

    def fit(self, factor_history: FactorHistory, *, seed: int = 0, quarters: Sequence[int] = ()) -> Self:
        """Derive the hard-rule limits and train the discriminators asked for.

        Parameters
        ----------
        factor_history
            Levels (floors, curve ranges) and one-quarter changes (move limits, discriminator).
        seed
            Seed of every discriminator's training.
        quarters
            Path lengths whose discriminators are trained now (about 14 s each), so that
            :meth:`save` writes them; other lengths are trained, with the same seed, the first
            time a ShockSet of that length is seen (:meth:`discriminator`).

        Returns
        -------
        PlausibilityFilter
            ``self``.
        """
        self.rules = derive_hard_rules(factor_history, self.params)
        self.seed = int(seed)
        self._changes = factor_history.changes.copy()
        self._discriminators = {}
        for q in quarters:
            self.discriminator(int(q))
        return self

    def discriminator(self, quarters: int) -> PathDiscriminator:
        """The discriminator for paths of ``quarters`` quarters (trained on first use).

        A filter rebuilt by :meth:`load` has the saved discriminators ready; for a length that
        was not saved it trains one on demand exactly as the original filter would have (same
        history changes, same seed, so the same model: :meth:`save` keeps the history for this),
        which costs the training time (~14 s) in that process. Fit with ``quarters=`` to avoid it.
        """
        if self._changes is None:
            raise RuntimeError("PlausibilityFilter: fit first")
        if quarters not in self._discriminators:
            disc = PathDiscriminator(quarters, self.params.get("discriminator"))
            self._discriminators[quarters] = disc.fit(self._changes, seed=self.seed)
        return self._discriminators[quarters]

    def violations(self, shockset: ShockSet) -> dict[str, BoolArray]:
        """Hard-rule violations (:func:`hard_rule_violations` with the fitted limits)."""
        if self.rules is None:
            raise RuntimeError("PlausibilityFilter: fit first")
        return hard_rule_violations(shockset, self.rules)

    def score(self, shockset: ShockSet) -> FloatArray:
        """``[samples]`` discriminator probability-of-real.

        The factors the scenario fixes (``metadata["fixed_factors"]``) are masked when
        ``mask_fixed_factors``: they are the supervisor's smooth conditional-mean path, the same
        in every sample and unlike any realised history window, and not the generator's to
        answer for (the hard rules still check them and their coherence with the rest).
        """
        if shockset.n_samples == 0:
            return np.zeros(0)
        params = self.params.get("discriminator") or {}
        exclude = shockset.metadata.get("fixed_factors", []) if params.get("mask_fixed_factors", True) else []
        return self.discriminator(len(shockset.quarters)).score(shockset, exclude=exclude)

    def apply(self, shockset: ShockSet) -> PlausibilityReport:
        """Filter a ShockSet.

        Returns
        -------
        PlausibilityReport
            ``accepted`` holds the samples that break no hard rule and score at or above the
            discriminator's threshold (possibly none: the caller decides what to do then).
            ``accepted.metadata["plausibility"]`` records the counts.
        """
        if self.rules is None:
            raise RuntimeError("PlausibilityFilter: fit first")
        n = shockset.n_samples
        scale = severity_scale(shockset, self.rules)
        checks = _rule_checks(shockset, self.rules, scale)
        bad = {rule: v for rule, (v, _) in checks.items()}
        breaches = {rule: dict(sorted(c.items(), key=lambda kv: -kv[1])[:10]) for rule, (_, c) in checks.items()}

        scores_info: dict[str, Any] = {}
        if self.uses_discriminator and n:
            disc = self.discriminator(len(shockset.quarters))
            scores = self.score(shockset)
            # A sample whose features cannot be computed (all factors NaN) is not plausible.
            bad["discriminator"] = ~(np.nan_to_num(scores, nan=-1.0) >= disc.threshold)
            fin = scores[np.isfinite(scores)]
            bins = int(self.params["discriminator"].get("histogram_bins", 20))
            counts, edges = np.histogram(fin, bins=bins, range=(0.0, 1.0))
            scores_info = {
                "threshold": disc.threshold,
                "reject_quantile": disc.metrics.get("reject_quantile"),
                "mean": _json_float(float(fin.mean())) if fin.size else None,
                "quantiles": {str(p): (float(np.quantile(fin, p)) if fin.size else None) for p in (0.01, 0.05, 0.25, 0.5, 0.75, 0.95)},
                "histogram": {"edges": [round(float(e), 4) for e in edges], "counts": [int(c) for c in counts]},
                "oof_auc": _json_float(disc.metrics.get("oof_auc", float("nan"))),
            }

        stack = np.stack(list(bad.values())) if bad else np.zeros((0, n), dtype=bool)
        rejected = stack.any(axis=0) if len(stack) else np.zeros(n, dtype=bool)
        accepted = shockset.select(~rejected)
        # The guarantee: no accepted sample breaks a hard rule (raised, not asserted: it holds
        # under ``python -O`` too).
        broken = {r: c for r, c in hard_rule_counts(accepted, self.rules, class_scale=scale).items() if c}
        if broken:
            raise PlausibilityError(f"plausibility filter accepted samples that break hard rules: {broken}")

        n_rules = stack.sum(axis=0) if len(stack) else np.zeros(n, dtype=int)
        report = PlausibilityReport(
            accepted=accepted,
            n_samples=n,
            n_accepted=int((~rejected).sum()),
            rejections={r: int(v.sum()) for r, v in bad.items()},
            only_rule={r: int((v & (n_rules == 1)).sum()) for r, v in bad.items()},
            breaches=breaches,
            scores=scores_info,
            parameters={**self.summary(), "severity_scale": {k: round(v, 4) for k, v in scale.items()}},
            scenario_id=shockset.scenario_id,
        )
        accepted.metadata["plausibility"] = {
            "n_samples": n,
            "n_accepted": report.n_accepted,
            "acceptance_rate": round(report.acceptance_rate, 6),
            "rejections": dict(report.rejections),
        }
        return report

    # ---------------------------------------------------------------- persistence
    def save(self, directory: str | Path) -> Path:
        """Write the fitted filter to ``directory`` as JSON + safetensors (never a pickle).

        Files written (and nothing else):

        * ``filter.json``: format tag, rule parameters, seed, the hard-rule limits (exact, see
          :meth:`HardRules.to_state`), the history's quarters and factor ids, and per trained
          discriminator its path length, parameters, factor ids, threshold, metrics and file;
        * ``filter.safetensors``: the move limits ``max_moves.<factor id>`` and the history's
          one-quarter changes ``history.changes`` (float64);
        * ``discriminator_<quarters>.safetensors``: per trained discriminator the MLP state dict
          (``mlp.*``), feature scalers (``mu``, ``sd``) and statistics (``stats.scale``,
          ``stats.corr``).

        The folder is written in full under a temporary name beside ``directory`` and then
        renamed onto it: readers see the previous complete filter or the new one, never a mix.

        Parameters
        ----------
        directory
            Target folder: absent, empty, or a previously saved filter (replaced as a whole).

        Returns
        -------
        Path
            The folder.

        Raises
        ------
        RuntimeError
            When the filter is not fitted.
        ModelFileError
            When ``directory`` is a file or holds anything but a saved filter's files (it would
            be deleted by the replacement).
        """
        from safetensors.numpy import save_file as save_numpy
        from safetensors.torch import save_file as save_torch

        if self.rules is None or self._changes is None:
            raise RuntimeError("PlausibilityFilter: fit first")
        target = Path(directory)
        if target.exists():
            if not target.is_dir():
                raise ModelFileError(f"cannot save the plausibility filter to {target}: not a folder")
            foreign = sorted(p.name for p in target.iterdir() if not _is_filter_file(p.name))
            if foreign:
                raise ModelFileError(
                    f"refusing to replace {target}: it holds {foreign}, not only a saved plausibility filter's files"
                )
        rules_doc, arrays = self.rules.to_state()
        changes = self._changes
        arrays["history.changes"] = np.ascontiguousarray(changes.to_numpy(dtype=np.float64))
        index = changes.index
        history = {
            "index": [str(q) for q in index],
            "index_name": None if index.name is None else str(index.name),
            "freq": index.freqstr if isinstance(index, pd.PeriodIndex) else None,
            "columns": [str(c) for c in changes.columns],
            "columns_name": None if changes.columns.name is None else str(changes.columns.name),
        }
        discriminators: dict[str, Any] = {}
        tensors: dict[str, dict[str, torch.Tensor]] = {}
        for q, disc in sorted(self._discriminators.items()):
            ddoc, tens = disc.to_state()
            name = discriminator_file(q)
            discriminators[str(q)] = {**ddoc, "file": name}
            tensors[name] = tens
        doc = {
            "format": _FILTER_FORMAT,
            "params": _to_json(self.params),
            "seed": int(self.seed),
            "hard_rules": rules_doc,
            "history": history,
            "arrays_file": FILTER_ARRAYS_FILE,
            "discriminators": discriminators,
        }
        text = json.dumps(doc, indent=2, allow_nan=False) + "\n"
        meta = {"format": _FILTER_FORMAT}

        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
        try:
            os.chmod(tmp, 0o755)  # mkdtemp's 0o700 would hide the filter from other users
            (tmp / FILTER_FILE).write_text(text, encoding="utf-8")
            save_numpy(arrays, str(tmp / FILTER_ARRAYS_FILE), metadata=meta)
            for name, tens in tensors.items():
                save_torch(tens, str(tmp / name), metadata={**meta, "quarters": name[len("discriminator_"):-len(".safetensors")]})
            check_model_files(tmp)
            _replace_folder(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return target

    @classmethod
    def load(cls, directory: str | Path) -> PlausibilityFilter:
        """Rebuild a filter written by :meth:`save`, exactly and without training.

        Reads JSON (``json``) and safetensors (``safetensors.numpy`` / ``safetensors.torch``)
        only: no pickle, no code from disk. The rebuilt filter gives the same hard-rule limits,
        discriminator scores (bit for bit) and :meth:`apply` results as the saved one; a path
        length without a saved discriminator is trained on demand (see :meth:`discriminator`).

        Parameters
        ----------
        directory
            A folder written by :meth:`save`.

        Returns
        -------
        PlausibilityFilter

        Raises
        ------
        ModelFileError
            When the folder is missing, holds a file that is not JSON/safetensors (a ``.pkl``,
            ...) or one ``filter.json`` does not list, lacks a listed file, or a file is
            corrupted; the message names the path.
        """
        from safetensors.numpy import load_file as load_numpy
        from safetensors.torch import load_file as load_torch

        folder = Path(directory)
        check_model_files(folder)
        path = folder / FILTER_FILE
        if not path.is_file():
            raise ModelFileError(f"missing {path}: {folder} is not a saved plausibility filter")
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelFileError(f"corrupted {path}: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("format") != _FILTER_FORMAT:
            found = doc.get("format") if isinstance(doc, dict) else None
            raise ModelFileError(f"{path}: not a saved plausibility filter (format {found!r}, expected {_FILTER_FORMAT!r})")
        discs = doc.get("discriminators")
        if not isinstance(discs, dict) or not all(isinstance(d, dict) and "file" in d for d in discs.values()):
            raise ModelFileError(f"corrupted {path}: no valid 'discriminators' table")
        listed = {FILTER_FILE, FILTER_ARRAYS_FILE, *(str(d["file"]) for d in discs.values())}
        unlisted = sorted(p.name for p in folder.iterdir() if p.name not in listed)
        if unlisted:
            raise ModelFileError(f"{folder} holds {unlisted}, which {path} does not list: refusing to load it")
        for name in sorted(listed):
            if not (folder / name).is_file():
                raise ModelFileError(f"missing {folder / name} (listed in {path})")

        def read(name: str, loader: Any) -> dict[str, Any]:
            try:
                return dict(loader(str(folder / name)))
            except Exception as exc:  # safetensors raises its own error types on a bad header
                raise ModelFileError(f"corrupted {folder / name}: {exc}") from exc

        arrays = read(FILTER_ARRAYS_FILE, load_numpy)
        try:
            filt = cls(_from_json(doc["params"]))
            filt.rules = HardRules.from_state(doc["hard_rules"], arrays)
            filt.seed = int(doc["seed"])
            hist = doc["history"]
            index = (
                pd.PeriodIndex(hist["index"], freq=hist["freq"], name=hist["index_name"])
                if hist["freq"] is not None
                else pd.Index(hist["index"], name=hist["index_name"])
            )
            filt._changes = pd.DataFrame(
                arrays["history.changes"], index=index, columns=pd.Index(hist["columns"], name=hist["columns_name"])
            )
            for q, ddoc in discs.items():
                disc = PathDiscriminator.from_state(ddoc, read(str(ddoc["file"]), load_torch))
                if disc.quarters != int(q):
                    raise ValueError(f"{ddoc['file']} is for {disc.quarters} quarters, listed under {q}")
                filt._discriminators[int(q)] = disc
        except ModelFileError:
            raise
        except (KeyError, ValueError, TypeError, RuntimeError) as exc:
            raise ModelFileError(f"cannot rebuild the plausibility filter from {folder}: {exc!r}") from exc
        return filt

    def summary(self) -> dict[str, Any]:
        """Plain-JSON rule limits and discriminator metrics."""
        return {
            "hard_rules": self.rules.to_dict() if self.rules is not None else {},
            "discriminators": {str(q): dict(d.metrics) for q, d in self._discriminators.items()},
            "seed": self.seed,
        }
