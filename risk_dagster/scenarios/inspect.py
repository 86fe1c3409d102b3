"""What a scenario file holds, told from its content: the engine of ``scenarios inspect``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from risk_dagster.scenarios import fed
from risk_dagster.scenarios.catalog import load_variable_catalog
from risk_dagster.scenarios.registry import check_projection, detect_reader


def _fed_summary(path: Path) -> dict[str, object]:
    table = fed.read_fed_table(path)
    if table.kind != "historic":  # history is described as it is; a projection must be usable
        check_projection(path, table.kind, table.jump_off, table.first_quarter, table.last_quarter)
    catalog = load_variable_catalog()
    present = table.variables
    scopes = ("domestic", "international") if table.scope == "combined" else (table.scope,)
    expected = [v for s in scopes for v in catalog.ids(source=fed.SOURCE, scope=s)]
    return {
        "path": str(path),
        "layout": "fed",
        "source": fed.SOURCE,
        "kind": table.kind,
        "scope": table.scope,
        "scenario_name": table.scenario_name,
        "vintage": table.detected_vintage,
        "first_quarter": str(table.first_quarter),
        "last_quarter": str(table.last_quarter),
        "n_quarters": len(table.wide.index),
        "jump_off": str(table.jump_off),
        "variables": present,
        "missing": [v for v in expected if v not in present],
        "columns": dict(table.column_map),
        "units": {k: v for k, v in table.units.items() if k in present},
    }


def _joined(values: Iterable[object]) -> str | None:
    unique = [str(v) for v in dict.fromkeys(values) if v is not None]
    return ", ".join(unique) if unique else None


def _other_summary(path: Path, module: object) -> dict[str, object]:
    scenarios = module.read(path)  # type: ignore[attr-defined]
    for scenario in scenarios:
        if scenario.kind != "historic":
            check_projection(path, scenario.kind, scenario.jump_off, scenario.first_quarter, scenario.last_quarter)
    layout = getattr(module, "SOURCE", module.__name__.rsplit(".", 1)[-1])  # type: ignore[attr-defined]
    catalog = load_variable_catalog()
    variables = list(dict.fromkeys(v for s in scenarios for v in s.variables))
    quarters = sorted({q for s in scenarios for q in s.quarters})
    sources = list(dict.fromkeys(s.source for s in scenarios)) or [layout]

    def scope_of(vid: str) -> str | None:
        # EBA ids carry a country suffix (eba_real_gdp_growth__de): look up the concept.
        base = vid.split("__", 1)[0]
        return catalog.get(base).scope if base in catalog else None

    present_base = {v.split("__", 1)[0] for v in variables}
    expected = [v for src in sources for v in catalog.ids(source=src)]
    return {
        "path": str(path),
        "layout": layout,
        "source": _joined(sources),
        "kind": _joined(s.kind for s in scenarios),
        "scope": _joined(scope_of(v) for v in variables),
        "scenario_name": _joined(s.name for s in scenarios),
        "vintage": _joined(s.vintage for s in scenarios),
        "first_quarter": str(quarters[0]) if quarters else None,
        "last_quarter": str(quarters[-1]) if quarters else None,
        "n_quarters": len(quarters),
        "jump_off": _joined(str(s.jump_off) if s.jump_off is not None else None for s in scenarios),
        "variables": variables,
        "missing": [v for v in expected if v not in present_base],
        "scenarios": [s.scenario_id for s in scenarios],
    }


def inspect_file(path: str | Path) -> dict[str, object]:
    """Describe one scenario file of any known layout.

    Parameters
    ----------
    path
        A Fed, NGFS or EBA scenario file.

    Returns
    -------
    dict
        Plain-JSON summary with at least ``path, kind, scope, scenario_name, vintage,
        first_quarter, last_quarter, n_quarters, variables`` (canonical ids present) and
        ``missing`` (catalog variables of that scope and source absent from the file).

    Raises
    ------
    InputFileError
        When the file is refused by its reader or recognised by none.
    OSError
        When the file cannot be opened.
    """
    path = Path(path)
    module = detect_reader(path)
    if module is fed:
        return _fed_summary(path)
    return _other_summary(path, module)


def inspect_paths(paths: Iterable[str | Path]) -> list[dict[str, object]]:
    """:func:`inspect_file` for each path, raising on the first bad file."""
    return [inspect_file(p) for p in paths]
