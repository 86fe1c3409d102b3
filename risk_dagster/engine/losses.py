"""Loss statistics of a :class:`~risk_dagster.engine.revalue.StressResult`.

Each quarter of a ShockSet is revalued as an instantaneous shock of today's book (loans
accumulate expected loss along the path), so a sample's *horizon loss* is the largest total
loss over the projection quarters: the worst point of its path. Losses are positive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.engine.revalue import StressResult
from risk_dagster.translate.shockset import FloatArray


def horizon_losses(result: StressResult) -> tuple[FloatArray, np.ndarray]:
    """Per sample: the largest total loss over the quarters, and the quarter index where it occurs."""
    total = result.total_loss
    worst_quarter = np.argmax(total, axis=1)
    return total[np.arange(total.shape[0]), worst_quarter], worst_quarter


@dataclass(frozen=True)
class LossSummary:
    """Distribution of horizon losses and its split by segment."""

    scenario_id: str
    n_samples: int
    mean: float
    median: float
    var_95: float
    var_99: float
    es_99: float
    max: float
    by_segment: dict[str, float]
    by_quarter: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "n_samples": self.n_samples,
            "mean": self.mean,
            "median": self.median,
            "var_95": self.var_95,
            "var_99": self.var_99,
            "es_99": self.es_99,
            "max": self.max,
            "by_segment": self.by_segment,
            "by_quarter": self.by_quarter,
        }


def summarize_losses(result: StressResult) -> LossSummary:
    """Mean, median, 95%/99% VaR, 99% expected shortfall and the mean loss of each segment.

    The segment split is taken at each sample's worst quarter, so segments add up to the mean
    horizon loss; ``by_quarter`` is the mean total loss of each projection quarter.
    """
    losses, worst = horizon_losses(result)
    if losses.size == 0:
        raise ValueError(f"{result.scenario_id}: no samples to summarize")
    var_99 = float(np.quantile(losses, 0.99))
    tail = losses[losses >= var_99]
    at_worst = result.loss[np.arange(losses.size), worst, :]  # [samples, segments]
    return LossSummary(
        scenario_id=result.scenario_id,
        n_samples=int(losses.size),
        mean=float(losses.mean()),
        median=float(np.median(losses)),
        var_95=float(np.quantile(losses, 0.95)),
        var_99=var_99,
        es_99=float(tail.mean()),
        max=float(losses.max()),
        by_segment={segment: float(v) for segment, v in zip(result.segments, at_worst.mean(axis=0), strict=True)},
        by_quarter={q: float(v) for q, v in zip(result.quarters, result.total_loss.mean(axis=0), strict=True)},
    )


def top_contributors(result: StressResult, positions: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """Positions losing most on the central (median) path, at that path's worst quarter."""
    central = result.central_pnl
    worst_column = central.sum(axis=0).idxmin()
    loss = -central[worst_column]
    frame = pd.DataFrame({"position_id": central.index, "loss": loss.to_numpy()})
    info = positions.set_index("position_id")[["instrument_type", "segment", "notional"]]
    frame = frame.join(info, on="position_id")
    frame["quarter"] = worst_column
    return frame.sort_values("loss", ascending=False).head(n).reset_index(drop=True)
