"""Full-revaluation stress engine: torch kernels, curves, precision policy, QuantLib parity.

- :mod:`~risk_dagster.engine.curves`: base Treasury zero curve and the one shocking rule;
- :mod:`~risk_dagster.engine.precision`: :class:`PrecisionPolicy`, :func:`resolve_device`;
- :mod:`~risk_dagster.engine.kernels`: cash-flow map and per-type torch kernels;
- :mod:`~risk_dagster.engine.revalue`: :func:`revalue` -> :class:`StressResult`, chunking, cache;
- :mod:`~risk_dagster.engine.quantlib_oracle`: QuantLib pricer, run only in a subprocess
  (never imported by the engine: QuantLib must not share a process with ORE or the engine).

Names are imported lazily so that ``python -m risk_dagster.engine.quantlib_oracle`` does not
load torch into the QuantLib process.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ZeroCurve": "curves",
    "bootstrap_par_curve": "curves",
    "treasury_zero_curve": "curves",
    "PrecisionPolicy": "precision",
    "resolve_device": "precision",
    "RevaluationCache": "revalue",
    "StressResult": "revalue",
    "revalue": "revalue",
    "shockset_matrix": "revalue",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"risk_dagster.engine.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'risk_dagster.engine' has no attribute {name!r}")
