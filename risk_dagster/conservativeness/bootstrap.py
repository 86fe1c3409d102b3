"""The test of each statistic: AI at least as conservative as traditional, with a bootstrap bound.

For statistic ``s`` with direction ``dir`` (:mod:`.registry`): ``d = dir x (s(AI) - s(traditional))``.
Its one-sided 95% lower bound is the 5% percentile of ``d*`` over resamples, where each resample
draws the samples of each set with replacement, independently (the sets are independent draws;
percentile bootstrap, at least 1,000 resamples, seeded). The statistic passes when the bound is at
least ``-tol``, ``tol = max(5% of |s(traditional)|, the unit's floor)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from risk_dagster.conservativeness.registry import BY_ID, StatisticSpec, tolerance
from risk_dagster.conservativeness.statistics import STATISTIC_FUNCTIONS, SetOutcomes

MIN_RESAMPLES = 1000
CONFIDENCE = 0.95
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
    paired: bool = False,
) -> list[StatisticTest]:
    """Test every sample statistic (1-20 by default) of ``ai`` against ``traditional``.

    ``paired=True`` draws the same sample indexes in both sets (their first ``min(n_ai, n_trad)``
    samples), which keeps what the sets share by common random numbers (the loan-loss residuals)
    paired, so it cancels from the difference; the generated factors are independent draws either way.

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
        spec: StatisticSpec = BY_ID[sid]
        f = STATISTIC_FUNCTIONS[sid]
        a, t = float(f(ai)), float(f(traditional))
        d_star = np.concatenate([spec.direction * (_resampled(f, ai, ia) - _resampled(f, traditional, it)) for ia, it in blocks])
        bound = float(np.quantile(d_star, 1.0 - confidence))
        tol = tolerance(spec, t, jump_off_cet1_capital)
        out.append(StatisticTest(
            number=spec.number, id=sid, direction=spec.direction, unit=spec.unit, ai=a, traditional=t,
            difference=spec.direction * (a - t), lower_bound=bound, tolerance=tol, passed=bound >= -tol,
            resamples=n_resamples,
        ))  # fmt: skip
    return out


def results_frame(tests: Sequence[StatisticTest]) -> pd.DataFrame:
    """One row per statistic: values, difference, bound, tolerance, verdict."""
    return pd.DataFrame([t.to_dict() for t in tests]).set_index("id")


__all__ = ["CONFIDENCE", "MIN_RESAMPLES", "StatisticTest", "bootstrap_test", "results_frame"]
