"""One asset check per data contract, built from the contracts themselves (as PUDL does per table).

The checks run *inside* the asset that reads the data (``check_specs`` on the asset): the frame
is validated before it is handed downstream, so a blocking failure raises and the previous good
materialization of the asset stays in place, while the failed check, with its structured
failure metadata, is still recorded and visible in the Dagster UI.
"""


from collections.abc import Iterable, Iterator, Mapping
from datetime import date

import dagster as dg
import pandas as pd

from risk_dagster.quality.contracts import ContractValidation, load_contract, validate_frame
from risk_dagster.quality.results import check_name as contract_check_name
from risk_dagster.quality.results import failure_summary



def contract_check_specs(asset_key: str | dg.AssetKey, dataset_ids: Iterable[str]) -> list[dg.AssetCheckSpec]:
    """Check specs, one per contract, blocking when the contract says so."""
    specs = []
    for dataset_id in dataset_ids:
        contract = load_contract(dataset_id)
        specs.append(
            dg.AssetCheckSpec(
                name=contract_check_name(dataset_id),
                asset=asset_key,
                blocking=contract.blocking,
                description=f"Data contract `{dataset_id}` v{contract.version} ({contract.name}), "
                f"compiled to a Great Expectations suite"
                + (" — blocking" if contract.blocking else ""),
            )
        )
    return specs


def check_result(
    validation: ContractValidation,
    asset_key: str | dg.AssetKey | None = None,
    scenario: str | None = None,
) -> dg.AssetCheckResult:
    """The Dagster check result of one contract validation, with structured failure metadata.

    ``scenario`` names the partition in the metadata: the UI does not show which partition a
    check of a partitioned asset evaluated.
    """
    metadata: dict[str, object] = {
        "expectations": validation.n_expectations,
        "failed": validation.n_failed,
        "rows": validation.n_rows,
        "result": dg.MetadataValue.md(validation.to_markdown()),
        "details": dg.MetadataValue.json(validation.to_metadata()),
    }
    if scenario is not None:
        metadata["scenario"] = scenario
    return dg.AssetCheckResult(
        check_name=contract_check_name(validation.dataset_id),
        asset_key=asset_key,
        passed=validation.success,
        severity=dg.AssetCheckSeverity.ERROR if validation.blocking else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=None if validation.success else failure_summary(validation),
    )


def validate_and_check(
    frames: Mapping[str, pd.DataFrame],
    *,
    asset_key: str | dg.AssetKey | None = None,
    as_of: date | None = None,
    scenario: str | None = None,
) -> Iterator[dg.AssetCheckResult]:
    """Validate each frame against its contract, yield the check results, then gate.

    Raises
    ------
    dagster.Failure
        After all results were yielded, when a blocking contract failed: the asset produces
        no output, so what downstream assets last saw stays intact.
    """
    blocking_failures: list[ContractValidation] = []
    for dataset_id, frame in frames.items():
        validation = validate_frame(dataset_id, frame, as_of=as_of)
        yield check_result(validation, asset_key, scenario)
        if validation.blocking and not validation.success:
            blocking_failures.append(validation)
    _gate(blocking_failures)


def validate_each_and_check(
    frames_by_scenario: Mapping[str, Mapping[str, pd.DataFrame]], *, as_of: date | None = None
) -> Iterator[dg.AssetCheckResult]:
    """:func:`validate_and_check` for an asset that holds several scenarios, each validated alone
    (stacked, their quarters would repeat): one result per contract, failed when any scenario's
    frame fails, naming that scenario; then the same gate."""
    blocking_failures: list[ContractValidation] = []
    dataset_ids = dict.fromkeys(d for frames in frames_by_scenario.values() for d in frames)
    for dataset_id in dataset_ids:
        validations = {sid: validate_frame(dataset_id, frames[dataset_id], as_of=as_of)
                       for sid, frames in frames_by_scenario.items() if dataset_id in frames}  # fmt: skip
        failed = [sid for sid, v in validations.items() if not v.success]
        shown = validations[failed[0]] if failed else next(iter(validations.values()))
        result = check_result(shown, scenario=failed[0] if failed else ", ".join(validations))
        if failed:
            result = result._replace(description=f"{', '.join(failed)}: {result.description}")
        yield result
        if shown.blocking and failed:
            blocking_failures.append(shown)
    _gate(blocking_failures)


def _gate(blocking_failures: list[ContractValidation]) -> None:
    """After every result was yielded: stop the asset when a blocking contract failed."""
    if blocking_failures:
        raise dg.Failure(
            description="; ".join(failure_summary(v) for v in blocking_failures),
            metadata={v.dataset_id: dg.MetadataValue.json(v.to_metadata()) for v in blocking_failures},
        )
