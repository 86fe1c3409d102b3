"""How a :class:`MacroScenario` is laid out for the data contract(s) that govern it.

The Fed's domestic and international tables have one contract each and are validated in their
canonical wide form (a ``quarter`` column "YYYYQn" and one column per variable id); EBA
scenarios are validated in the long form ``country, variable, year, value``.
"""

from __future__ import annotations

import pandas as pd

from risk_dagster.scenarios.catalog import load_variable_catalog
from risk_dagster.scenarios.model import MacroScenario

EBA_COUNTRY_SEPARATOR = "__"


def contract_frames(scenario: MacroScenario) -> dict[str, pd.DataFrame]:
    """Frames to validate, keyed by contract dataset id (empty when no contract applies)."""
    if scenario.source in {"fed", "user"} and _is_fed_layout(scenario):
        return _fed_frames(scenario)
    if scenario.source == "eba":
        return {"eba_adverse": _eba_frame(scenario)}
    if scenario.source == "ngfs":
        return {"ngfs_iamc": _iamc_frame(scenario)}
    return {}


def governed_variables(scenario: MacroScenario, dataset_id: str) -> list[str]:
    """The scenario's variables that the contract ``dataset_id`` governs, recomputed from the catalog.

    Independent of :func:`contract_frames`: a scenario for which ``contract_frames`` builds no
    frame of a contract must hold none of that contract's variables, else they would reach the
    models unvalidated (the ``macro_scenarios`` asset checks this for every contract that does
    not apply).
    """
    catalog = load_variable_catalog()
    if dataset_id.startswith("fed_scenario_"):
        scope = dataset_id.removeprefix("fed_scenario_")
        ids = set(catalog.ids(source="fed", scope=scope))
        return [v for v in scenario.variables if v in ids]
    if dataset_id == "eba_adverse":
        ids = set(catalog.ids(source="eba"))
        return [v for v in scenario.variables if v.split(EBA_COUNTRY_SEPARATOR, 1)[0] in ids]
    if dataset_id == "ngfs_iamc":
        ids = set(catalog.ids(source="ngfs"))
        return [v for v in scenario.variables if v in ids]
    raise KeyError(f"no scenario contract {dataset_id!r}")


def merge_contract_frames(scenarios: list[MacroScenario]) -> dict[str, pd.DataFrame]:
    """Contract frames of several scenarios stacked per contract (e.g. all NGFS scenarios of a file)."""
    stacked: dict[str, list[pd.DataFrame]] = {}
    for scenario in scenarios:
        for dataset_id, frame in contract_frames(scenario).items():
            stacked.setdefault(dataset_id, []).append(frame)
    return {k: pd.concat(v, ignore_index=True) for k, v in stacked.items()}


def _is_fed_layout(scenario: MacroScenario) -> bool:
    catalog = load_variable_catalog()
    fed_ids = set(catalog.ids(source="fed"))
    return bool(set(scenario.variables) & fed_ids)


def _fed_frames(scenario: MacroScenario) -> dict[str, pd.DataFrame]:
    catalog = load_variable_catalog()
    frames: dict[str, pd.DataFrame] = {}
    present = set(scenario.variables)
    for scope in ("domestic", "international"):
        ids = [v for v in catalog.ids(source="fed", scope=scope) if v in present]
        if not ids:
            continue
        wide = scenario.wide(ids)
        frame = wide.reset_index()
        frame["quarter"] = frame["quarter"].astype(str)
        frames[f"fed_scenario_{scope}"] = frame
    return frames


def _eba_frame(scenario: MacroScenario) -> pd.DataFrame:
    data = scenario.data
    split = data["variable"].str.split(EBA_COUNTRY_SEPARATOR, n=1, expand=True)
    return pd.DataFrame(
        {
            "country": split[1].str.upper() if split.shape[1] > 1 else None,
            "variable": split[0],
            "year": data["quarter"].map(lambda q: q.year).astype("int64"),
            "value": data["value"].astype("float64"),
        }
    )


def _iamc_frame(scenario: MacroScenario) -> pd.DataFrame:
    attrs = scenario.data.attrs
    iamc_names = attrs.get("iamc_variables", {})
    wide = scenario.data.assign(year=scenario.data["quarter"].map(lambda q: str(q.year))).pivot(
        index="variable", columns="year", values="value"
    )
    wide.columns.name = None
    frame = wide.reset_index()
    frame.insert(0, "Model", attrs.get("model", ""))
    frame.insert(1, "Scenario", scenario.name)
    frame.insert(2, "Region", attrs.get("region", ""))
    frame.insert(3, "Variable", frame.pop("variable").map(lambda v: iamc_names.get(v, v)))
    frame.insert(4, "Unit", [scenario.units.get(v, "") for v in wide.index])
    return frame
