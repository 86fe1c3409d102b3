"""The test of each statistic: AI at least as conservative as traditional, with a bootstrap bound.

For statistic ``s`` with direction ``dir`` (:mod:`.registry`): ``d = dir x (s(AI) - s(traditional))``.
Its one-sided 95% lower bound is the 5% percentile of ``d*`` over resamples (percentile bootstrap,
at least 1,000 resamples, seeded). The statistic passes when the bound is at least ``-tol``,
``tol = max(5% of |s(traditional)|, the unit's floor)``.

Statistics 1-20 (:func:`bootstrap_test`) resample the samples of the sets. **Paired by default**,
a deliberate departure from DESIGN.md's "the sets are independent draws": sample ``i`` of both
sets carries the same loan-loss residual draw (common random numbers,
:func:`~risk_dagster.capital.loan_losses.project_loan_losses`), so the sets are not independent
and resampling them independently adds the variance of that shared draw twice, which widens the
bound of every loss and capital statistic by noise the comparison does not contain. The pairs
``(AI_i, traditional_i)`` are i.i.d. across ``i`` (each ``i`` its own residual and its own,
independent, generated factors), so resampling pairs is valid for the generated part too.
``paired=False`` gives the independent resampling. Point values use every sample of each set;
pairs are the first ``min(n_AI, n_traditional)`` samples.

Statistics 21-25 (:func:`calibration_test`) resample moving blocks of consecutive stress quarters
(:data:`BLOCK_LENGTH`), the same blocks for both models (paired across models).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from risk_dagster.conservativeness.calibration import CALIBRATION_FUNCTIONS, QuarterCalibration
from risk_dagster.conservativeness.registry import BY_ID, StatisticSpec, tolerance
from risk_dagster.conservativeness.statistics import STATISTIC_FUNCTIONS, SetOutcomes

MIN_RESAMPLES = 1000
CONFIDENCE = 0.95
BLOCK_LENGTH = 4
"""Consecutive stress quarters per block of the calibration bootstrap (a year: stress clusters)."""
_BLOCK = 100  # resamples evaluated at once (memory: block x samples per outcome)


@dataclass(frozen=True)
class StatisticTest:
    """One statistic's verdict."""

    number: int
    id: str
    direction: int
    unit: str
    ai: float
    traditional: float
    difference: float
    """``dir x (AI - traditional)``: positive = AI more conservative."""
    lower_bound: float
    tolerance: float
    passed: bool
    resamples: int

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _resampled(function, outcomes: SetOutcomes, index: np.ndarray) -> np.ndarray:
    return np.asarray(function(outcomes.take(index)), dtype=np.float64)


def bootstrap_test(
    ai: SetOutcomes,
    traditional: SetOutcomes,
    jump_off_cet1_capital: float,
    *,
    ids: Sequence[str] | None = None,
    n_resamples: int = MIN_RESAMPLES,
    seed: int = 0,
    confidence: float = CONFIDENCE,
    paired: bool = True,
) -> list[StatisticTest]:
    """Test every sample statistic (1-20 by default) of ``ai`` against ``traditional``.

    ``paired=True`` (the default, see the module notes) draws the same sample indexes in both sets
    (their first ``min(n_ai, n_trad)`` samples), so what the sets share by common random numbers
    (the loan-loss residuals) cancels from the difference; ``False`` resamples each set on its own.

    Raises
    ------
    ValueError
        For fewer than :data:`MIN_RESAMPLES` resamples or an empty set.
    """
    if n_resamples < MIN_RESAMPLES:
        raise ValueError(f"n_resamples: at least {MIN_RESAMPLES}, got {n_resamples}")
    if ai.samples == 0 or traditional.samples == 0:
        raise ValueError("bootstrap_test: a set without samples")
    ids = list(ids) if ids is not None else list(STATISTIC_FUNCTIONS)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    points = {sid: (float(STATISTIC_FUNCTIONS[sid](ai)), float(STATISTIC_FUNCTIONS[sid](traditional))) for sid in ids}
    # the same resample indexes serve every statistic (one resampled world per draw)
    if paired:
        n = min(ai.samples, traditional.samples)
        ai, traditional = ai.take(np.arange(n)), traditional.take(np.arange(n))
    blocks = []
    for start in range(0, n_resamples, _BLOCK):
        b = min(_BLOCK, n_resamples - start)
        ia = rng.integers(0, ai.samples, (b, ai.samples))
        blocks.append((ia, ia if paired else rng.integers(0, traditional.samples, (b, traditional.samples))))
    out = []
    for sid in ids:
        f = STATISTIC_FUNCTIONS[sid]
        d_star = np.concatenate([BY_ID[sid].direction * (_resampled(f, ai, ia) - _resampled(f, traditional, it))
                                 for ia, it in blocks])  # fmt: skip
        out.append(_verdict(sid, *points[sid], d_star, jump_off_cet1_capital, confidence))
    return out


def _verdict(sid: str, a: float, t: float, d_star: np.ndarray, cet1: float, confidence: float) -> StatisticTest:
    spec: StatisticSpec = BY_ID[sid]
    d_star = d_star[np.isfinite(d_star)]
    bound = float(np.quantile(d_star, 1.0 - confidence)) if d_star.size else float("nan")
    tol = tolerance(spec, t, cet1)
    return StatisticTest(
        number=spec.number, id=sid, direction=spec.direction, unit=spec.unit, ai=a, traditional=t,
        difference=spec.direction * (a - t), lower_bound=bound, tolerance=tol, passed=bool(bound >= -tol),
        resamples=int(d_star.size),
    )  # fmt: skip


def moving_block_indexes(n: int, block_length: int, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``[n_resamples, n]`` positions: each row ``ceil(n / L)`` blocks of ``L`` consecutive positions
    with uniform starts in ``[0, n - L]``, concatenated and cut to ``n`` (moving-block bootstrap)."""
    length = max(1, min(int(block_length), n))
    k = -(-n // length)
    starts = rng.integers(0, n - length + 1, (n_resamples, k))
    return (starts[:, :, None] + np.arange(length)[None, None, :]).reshape(n_resamples, -1)[:, :n]


def calibration_test(
    ai: QuarterCalibration,
    traditional: QuarterCalibration,
    jump_off_cet1_capital: float,
    *,
    n_resamples: int = MIN_RESAMPLES,
    seed: int = 0,
    confidence: float = CONFIDENCE,
    block_length: int = BLOCK_LENGTH,
) -> list[StatisticTest]:
    """Test statistics 21-25: moving blocks of stress quarters, the same for both models.

    Raises
    ------
    ValueError
        For fewer than :data:`MIN_RESAMPLES` resamples, no quarter, or models on different quarters.
    """
    if n_resamples < MIN_RESAMPLES:
        raise ValueError(f"n_resamples: at least {MIN_RESAMPLES}, got {n_resamples}")
    if ai.quarters == 0 or ai.quarters != traditional.quarters:
        raise ValueError(f"calibration_test: {ai.quarters} AI and {traditional.quarters} traditional quarters")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 25]))
    index = moving_block_indexes(ai.quarters, block_length, n_resamples, rng)
    out = []
    for sid, f in CALIBRATION_FUNCTIONS.items():
        a, t = float(f(ai)), float(f(traditional))
        d_star = BY_ID[sid].direction * (np.asarray(f(ai.take(index))) - np.asarray(f(traditional.take(index))))
        out.append(_verdict(sid, a, t, d_star, jump_off_cet1_capital, confidence))
    return out


def results_frame(tests: Sequence[StatisticTest]) -> pd.DataFrame:
    """One row per statistic: values, difference, bound, tolerance, verdict."""
    return pd.DataFrame([t.to_dict() for t in tests]).set_index("id")


__all__ = [
    "BLOCK_LENGTH",
    "CONFIDENCE",
    "MIN_RESAMPLES",
    "StatisticTest",
    "bootstrap_test",
    "calibration_test",
    "moving_block_indexes",
    "results_frame",
]
