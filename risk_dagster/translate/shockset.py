"""The canonical ShockSet: joint granular shocks ``[samples, quarters, factors]`` for one scenario.

Shocks are changes from the jump-off level in each factor's shock unit (see the risk-factor
catalog): basis points for ``absolute_bp`` factors (rates, yields, spreads quoted in percent),
log returns for ``log_return`` factors (prices, indices, FX), points for ``vol_points`` and
``absolute`` factors. :func:`levels_from_shocks` and :func:`shocks_from_levels` are the one
place where that convention is applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from risk_dagster.storage import write_npz

FloatArray = npt.NDArray[np.float64]

SHOCK_TYPES: tuple[str, ...] = ("absolute_bp", "log_return", "vol_points", "absolute")
_BP_PER_PERCENT = 100.0


def levels_from_shocks(jump_off: FloatArray, shocks: FloatArray, shock_types: Sequence[str]) -> FloatArray:
    """Levels reached by applying ``shocks`` (``[..., factors]``) to ``jump_off`` (``[factors]``)."""
    kinds = _kinds(shock_types, shocks.shape[-1])
    base = np.broadcast_to(np.asarray(jump_off, dtype=np.float64), shocks.shape)
    out = base + shocks  # vol_points and absolute
    out = np.where(kinds == "absolute_bp", base + shocks / _BP_PER_PERCENT, out)
    with np.errstate(over="ignore"):  # exp of the bp columns is computed and discarded
        out = np.where(kinds == "log_return", base * np.exp(shocks), out)
    return out


def shocks_from_levels(jump_off: FloatArray, levels: FloatArray, shock_types: Sequence[str]) -> FloatArray:
    """Inverse of :func:`levels_from_shocks`."""
    kinds = _kinds(shock_types, levels.shape[-1])
    base = np.broadcast_to(np.asarray(jump_off, dtype=np.float64), levels.shape)
    out = levels - base
    out = np.where(kinds == "absolute_bp", (levels - base) * _BP_PER_PERCENT, out)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(kinds == "log_return", np.log(levels / base), out)
    return out


def _kinds(shock_types: Sequence[str], n_factors: int) -> npt.NDArray[np.str_]:
    kinds = np.asarray(list(shock_types))
    if kinds.shape != (n_factors,):
        raise ValueError(f"{len(kinds)} shock types for {n_factors} factors")
    unknown = sorted(set(kinds) - set(SHOCK_TYPES))
    if unknown:
        raise ValueError(f"unknown shock types {unknown}; expected one of {SHOCK_TYPES}")
    return kinds


def record_jump_off(metadata: dict[str, Any], basis: Mapping[str, str], asof: Mapping[str, str | None]) -> None:
    """Record the jump-off basis and date of appended (derived) factors in a set's metadata, in place,
    where the set records them (``jump_off_basis`` / ``jump_off_asof`` mappings)."""
    for key, values in (("jump_off_basis", basis), ("jump_off_asof", asof)):
        if isinstance(metadata.get(key), Mapping):
            metadata[key] = {**metadata[key], **values}


@dataclass
class ShockSet:
    """Joint shocks of every factor for every quarter of one scenario.

    Attributes
    ----------
    shocks
        ``[samples, quarters, factors]`` float64: change from the jump-off level in the
        factor's shock unit.
    jump_off
        ``[factors]`` float64: factor levels at the jump-off quarter.
    factor_ids, shock_types
        One per factor, in array order.
    quarters
        Projection quarters as strings (``2026Q1``), in array order.
    scenario_id, model_id, model_version, seed
        Provenance: which scenario, which model (id and version) drew the samples, with what seed.
    metadata
        Anything else worth keeping (plausibility rejection counts, lane, ...), JSON-able.
    """

    shocks: FloatArray
    jump_off: FloatArray
    factor_ids: list[str]
    shock_types: list[str]
    quarters: list[str]
    scenario_id: str
    model_id: str
    model_version: str
    seed: int
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.shocks = np.asarray(self.shocks, dtype=np.float64)
        self.jump_off = np.asarray(self.jump_off, dtype=np.float64)
        n_samples, n_quarters, n_factors = self.shocks.shape
        if len(self.factor_ids) != n_factors or len(self.shock_types) != n_factors:
            raise ValueError(f"ShockSet: {n_factors} factors in the array, {len(self.factor_ids)} ids")
        if len(self.quarters) != n_quarters:
            raise ValueError(f"ShockSet: {n_quarters} quarters in the array, {len(self.quarters)} labels")
        if self.jump_off.shape != (n_factors,):
            raise ValueError("ShockSet: jump_off must have one level per factor")
        _kinds(self.shock_types, n_factors)

    @property
    def n_samples(self) -> int:
        return int(self.shocks.shape[0])

    @property
    def levels(self) -> FloatArray:
        """``[samples, quarters, factors]`` levels reached."""
        return levels_from_shocks(self.jump_off, self.shocks, self.shock_types)

    def factor_index(self, factor_id: str) -> int:
        try:
            return self.factor_ids.index(factor_id)
        except ValueError:
            raise KeyError(f"ShockSet {self.scenario_id}: no factor {factor_id!r}") from None

    def factor(self, factor_id: str) -> FloatArray:
        """``[samples, quarters]`` shocks of one factor."""
        return self.shocks[:, :, self.factor_index(factor_id)]

    def select(self, samples: npt.ArrayLike) -> ShockSet:
        """A ShockSet of a subset of samples (boolean mask or indexes)."""
        return ShockSet(
            shocks=self.shocks[np.asarray(samples)],
            jump_off=self.jump_off,
            factor_ids=list(self.factor_ids),
            shock_types=list(self.shock_types),
            quarters=list(self.quarters),
            scenario_id=self.scenario_id,
            model_id=self.model_id,
            model_version=self.model_version,
            seed=self.seed,
            metadata=dict(self.metadata),
        )

    def with_factors(
        self,
        shocks: FloatArray,
        jump_off: FloatArray,
        factor_ids: Sequence[str],
        shock_types: Sequence[str],
        metadata: Mapping[str, Any],
        *,
        base_shocks: FloatArray | None = None,
    ) -> ShockSet:
        """A copy with factors appended on the last axis (derived factors: the curve knots, the rating
        spreads), ``metadata`` replacing the set's; ``base_shocks`` replaces the existing factors' shocks
        when given (a step that also adjusts them)."""
        base = self.shocks if base_shocks is None else np.asarray(base_shocks, dtype=np.float64)
        added = np.asarray(shocks, dtype=np.float64).reshape(base.shape[0], base.shape[1], len(factor_ids))
        return ShockSet(
            shocks=np.concatenate([base, added], axis=2),
            jump_off=np.concatenate([self.jump_off, np.asarray(jump_off, dtype=np.float64)]),
            factor_ids=[*self.factor_ids, *factor_ids],
            shock_types=[*self.shock_types, *shock_types],
            quarters=list(self.quarters),
            scenario_id=self.scenario_id,
            model_id=self.model_id,
            model_version=self.model_version,
            seed=self.seed,
            metadata=dict(metadata),
        )

    # ----------------------------------------------------------------- persistence
    def save_npz(self, path: str | Path) -> Path:
        """Write a NumPy ``.npz`` (atomically): ``shocks``, ``levels``, ``factor_ids``, ``quarters``,
        ``shock_types``, ``jump_off`` and provenance; no pickled objects."""
        import json

        return write_npz(
            path,
            shocks=self.shocks,
            levels=self.levels,
            jump_off=self.jump_off,
            factor_ids=np.asarray(self.factor_ids, dtype=str),
            quarters=np.asarray(self.quarters, dtype=str),
            shock_types=np.asarray(self.shock_types, dtype=str),
            scenario_id=np.asarray(self.scenario_id),
            model_id=np.asarray(self.model_id),
            model_version=np.asarray(self.model_version),
            seed=np.asarray(self.seed, dtype=np.int64),
            metadata=np.asarray(json.dumps(self.metadata, default=str)),
        )

    @classmethod
    def load_npz(cls, path: str | Path) -> ShockSet:
        """Read a file written by :meth:`save_npz` (``allow_pickle=False``)."""
        import json

        with np.load(path, allow_pickle=False) as data:
            return cls(
                shocks=data["shocks"],
                jump_off=data["jump_off"],
                factor_ids=[str(x) for x in data["factor_ids"]],
                shock_types=[str(x) for x in data["shock_types"]],
                quarters=[str(x) for x in data["quarters"]],
                scenario_id=str(data["scenario_id"]),
                model_id=str(data["model_id"]),
                model_version=str(data["model_version"]),
                seed=int(data["seed"]),
                metadata=json.loads(str(data["metadata"])),
            )
