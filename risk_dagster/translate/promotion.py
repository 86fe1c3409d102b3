"""The backtest gates a model version passes to move up a lane (experimental -> current -> stable).

A version's backtest scores are recorded in its metadata (``metrics["backtest"]``, by
:meth:`~risk_dagster.translate.registry.ModelRegistry.record_backtest`): the pooled
rolling-origin energy score and 90% coverage of its configuration
(:mod:`risk_dagster.translate.rolling_origin`). Promotion into a lane compares the candidate with
the version it would replace there:

1. ``backtest recorded``: the candidate has an energy score and a 90% coverage.
2. ``coverage_90 within bounds``: in :data:`COVERAGE_90_BOUNDS`.
3. ``not worse than the incumbent beyond noise``: energy score at most
   ``(1 + ENERGY_SCORE_TOLERANCE)`` times the incumbent's (passes when the incumbent has none, or
   the lane is empty).

A gate that fails refuses the promotion unless it is forced with a note; forced promotions and
every gate's outcome are written to the registry history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["COVERAGE_90_BOUNDS", "ENERGY_SCORE_TOLERANCE", "GateResult", "promotion_gates"]

COVERAGE_90_BOUNDS: tuple[float, float] = (0.80, 0.97)
"""Acceptable pooled 90% coverage: the issue's goal band [0.85, 0.95] widened by the seed-set
spread of coverage (a few hundredths), so that noise alone does not block a promotion."""

ENERGY_SCORE_TOLERANCE = 0.01
"""Largest relative increase of the pooled energy score over the incumbent's: twice the
half-width of the 90% block-bootstrap interval of the transformer / satellite energy-score ratio
on the rolling-origin evaluation of the shipped history (0.985, interval 0.981-0.990, 104
quarters; ``risk-dagster backtest --json``, ``rolling_origin.comparison``). The spread between
seed sets is far smaller (about 0.1%), so sampling noise alone never fails this gate."""


@dataclass
class GateResult:
    """Outcome of the promotion gates for one candidate.

    Attributes
    ----------
    checks
        One dict per gate: ``gate``, ``passed``, ``detail``.
    """

    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c["passed"] for c in self.checks)

    def failed(self) -> list[str]:
        return [f"{c['gate']}: {c['detail']}" for c in self.checks if not c["passed"]]

    def lines(self) -> list[str]:
        """One line per gate, for the command line."""
        return [f"  [{'pass' if c['passed'] else 'FAIL'}] {c['gate']}: {c['detail']}" for c in self.checks]


def _scores(metrics: dict[str, Any] | None) -> dict[str, Any]:
    return dict((metrics or {}).get("backtest") or {})


def promotion_gates(
    candidate_metrics: dict[str, Any],
    incumbent_metrics: dict[str, Any] | None,
    *,
    incumbent_ref: str | None = None,
    coverage_bounds: tuple[float, float] = COVERAGE_90_BOUNDS,
    tolerance: float = ENERGY_SCORE_TOLERANCE,
) -> GateResult:
    """Evaluate the gates (see the module docstring) from the versions' recorded metrics."""
    result = GateResult()
    cand = _scores(candidate_metrics)
    es, cov = cand.get("energy_score"), cand.get("coverage_90")
    recorded = es is not None and cov is not None
    result.checks.append(
        {
            "gate": "backtest recorded",
            "passed": recorded,
            "detail": f"energy score {es:.3f}, coverage 90% {cov:.3f} ({cand.get('evaluation', 'backtest')})"
            if recorded
            else "no backtest scores in the version's metadata (ModelRegistry.record_backtest)",
        }
    )
    if not recorded:
        return result
    lo, hi = coverage_bounds
    result.checks.append(
        {"gate": "coverage_90 within bounds", "passed": lo <= cov <= hi, "detail": f"{cov:.3f} in [{lo:.2f}, {hi:.2f}]"}
    )
    inc = _scores(incumbent_metrics)
    inc_es = inc.get("energy_score")
    if incumbent_ref is None or inc_es is None:
        why = "the lane is empty" if incumbent_ref is None else f"{incumbent_ref} has no recorded energy score"
        result.checks.append({"gate": "not worse than the incumbent beyond noise", "passed": True, "detail": f"not compared: {why}"})
    else:
        limit = inc_es * (1.0 + tolerance)
        result.checks.append(
            {
                "gate": "not worse than the incumbent beyond noise",
                "passed": es <= limit,
                "detail": f"{es:.3f} vs {incumbent_ref} {inc_es:.3f} (limit {limit:.3f}, +{tolerance:.0%})",
            }
        )
    return result
