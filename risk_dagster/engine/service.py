"""Revalue a book under a ShockSet with the configured backend, and ``risk-dagster stress``.

The one place where engine settings (device, precision, backend, memory budget) turn into a
call of :func:`~risk_dagster.engine.distributed.revalue_with_backend`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from risk_dagster.engine.distributed import revalue_with_backend
from risk_dagster.engine.losses import summarize_losses
from risk_dagster.engine.precision import PrecisionPolicy
from risk_dagster.engine.revalue import StressResult
from risk_dagster.translate.shockset import ShockSet

PRECISIONS = {"fp64": "float64", "fp32": "float32"}


class EngineConfig(Protocol):
    """What the engine needs from its settings (the Dagster ``EngineSettings`` resource fits)."""

    device: str
    precision: str
    backend: str
    dask_address: str
    memory_budget_mb: float


def engine_policy(precision: str) -> PrecisionPolicy:
    """Pricing in fp64 (default) or fp32; aggregates always fp64."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, not {precision!r}")
    return PrecisionPolicy(pricing_dtype=PRECISIONS[precision])


def revalue_book(positions: pd.DataFrame, shocks: ShockSet, settings: EngineConfig) -> StressResult:
    """Every quarter of every sample, on the configured backend."""
    return revalue_with_backend(
        positions,
        shocks,
        backend=settings.backend,  # type: ignore[arg-type]
        address=settings.dask_address or None,
        device=settings.device if settings.backend == "local" else "cpu",
        quarter_index=None,
        policy=engine_policy(settings.precision),
        memory_budget_mb=settings.memory_budget_mb,
    )


class _Settings:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


def stress_command(
    portfolio: str | Path,
    shocks: str | Path,
    out: str | Path,
    *,
    device: str = "auto",
    precision: str = "fp64",
    backend: str = "local",
    dask_address: str = "",
) -> dict[str, Any]:
    """``risk-dagster stress``: losses per sample, quarter and segment to ``out``.

    ``out`` ending in ``.parquet`` gets the tidy table ``sample, quarter, segment, loss``;
    ``.npz`` gets ``loss [samples, quarters, segments]`` with ``segments`` and ``quarters``.
    Returns the loss summary (mean, VaR, ES, by segment).
    """
    from risk_dagster.portfolio.positions import load_portfolio
    from risk_dagster.storage import atomic_write, write_parquet

    book = load_portfolio(Path(portfolio))
    shockset = ShockSet.load_npz(shocks)
    settings = _Settings(device=device, precision=precision, backend=backend, dask_address=dask_address,
                         memory_budget_mb=1024.0)
    result = revalue_book(book, shockset, settings)  # type: ignore[arg-type]
    target = Path(out)
    if target.suffix == ".npz":
        def write(tmp: Path) -> None:
            with tmp.open("wb") as handle:
                np.savez_compressed(handle, loss=result.loss, segments=np.asarray(result.segments, dtype=str),
                                    quarters=np.asarray(result.quarters, dtype=str))
        atomic_write(target, write)
    else:
        write_parquet(target, result.loss_frame())
    summary = summarize_losses(result).to_json()
    summary["out"] = str(target)
    summary["positions"] = len(book)
    summary["scenario_id"] = shockset.scenario_id
    return summary
