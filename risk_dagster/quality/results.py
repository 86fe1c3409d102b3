"""Contract results of the gated inputs, as data: what the reliability weights and the quality report read.

The asset checks in the Dagster UI and these results come from the same function
(:func:`~risk_dagster.quality.contracts.validate_frame`) on the same frames, so the weights depend
on the data through a visible input of the graph rather than on whatever the event log last held.
One entry per gated asset::

    {"asset": "fred_ust", "materialized": True,
     "checks": [{"check": "contract_fred_ust", "passed": True, "description": None,
                 "metadata": {"expectations": 12, "failed": 0, "rows": 9000}}]}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import pandas as pd

from risk_dagster.quality.contracts import ContractValidation, validate_frame

ContractEntry = dict[str, Any]
"""One gated asset's contract results (layout in the module docstring)."""


def check_name(dataset_id: str) -> str:
    """Name of the check that enforces the contract of ``dataset_id`` (``contract_<id>``)."""
    return f"contract_{dataset_id}"


def contract_entry(
    asset: str, frames: Mapping[str, pd.DataFrame | Sequence[pd.DataFrame]], *, as_of: date | None = None
) -> ContractEntry:
    """Validate an asset's frames, one per contract (or several, each validated alone: the
    scenarios of one asset), and summarise them as one entry."""
    checks = []
    for dataset_id, given in frames.items():
        validations = [validate_frame(dataset_id, f, as_of=as_of) for f in ([given] if isinstance(given, pd.DataFrame) else given)]
        checks.append(_check(dataset_id, validations))
    return {"asset": asset, "materialized": True, "checks": checks}


def _check(dataset_id: str, validations: Sequence[ContractValidation]) -> dict[str, Any]:
    failed = [v for v in validations if not v.success]
    shown = failed[0] if failed else validations[0]
    return {
        "check": check_name(dataset_id),
        "passed": not failed,
        "description": None if not failed else "; ".join(failure_summary(v) for v in failed),
        "metadata": {"expectations": shown.n_expectations, "failed": shown.n_failed,
                     "rows": int(sum(v.n_rows for v in validations))},  # fmt: skip
    }


def failure_summary(validation: ContractValidation) -> str:
    """One line: the contract, its first failed expectations (rule, column, rows) and the freshness SLA."""
    parts = []
    for failure in validation.failures[:5]:
        column = failure.get("column")
        where = f" on column '{column}'" if column else ""
        parts.append(f"{failure.get('expectation')}{where} ({failure.get('unexpected_count', '?')} unexpected)")
    more = "" if len(validation.failures) <= 5 else f" and {len(validation.failures) - 5} more"
    fresh = validation.freshness
    if fresh is not None and not fresh.get("ok", True):
        if fresh.get("error"):
            parts.append(f"freshness: {fresh['error']}")
        else:
            parts.append(
                f"freshness: newest {fresh['column']} {fresh['newest']} is {fresh['age_days']} days old "
                f"on {fresh['as_of']} (limit {fresh['limit_days']:.0f} days)"
            )
    return f"contract {validation.dataset_id} failed: " + ", ".join(parts) + more


def contract_failures(
    entries: Sequence[ContractEntry], source_of: Mapping[str, str]
) -> dict[str, list[tuple[str, int, int]]]:
    """Failed contracts per publishing source: ``source -> [(check, failed, expectations)]``, the
    form :func:`~risk_dagster.quality.reliability.assess_sources` lowers a source's weight by.

    Parameters
    ----------
    entries
        Contract results of gated assets (:func:`contract_entry`).
    source_of
        Publishing source of each asset; assets not in it are not history sources and are skipped.
    """
    failures: dict[str, list[tuple[str, int, int]]] = {}
    for entry in entries:
        source = source_of.get(entry["asset"])
        if source is None:
            continue
        for check in entry["checks"]:
            if check["passed"] is False:
                meta = check["metadata"]
                failures.setdefault(source, []).append(
                    (check["check"], int(meta.get("failed") or 1), int(meta.get("expectations") or 1))
                )
    return failures
