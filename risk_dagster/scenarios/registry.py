"""Discovery of the shipped regulatory scenarios, and loading of any scenario file by content.

Each shipped Fed projection (baseline, severely adverse ...) of each vintage is one Dagster
partition: ``fed-2026-severely-adverse``, ``fed-2026-proposed-baseline``, ``fed-2025-baseline``.
The vintage label comes from the folder under ``risk_dagster/data/fed_scenarios`` (the folder
names are ours); what each table is comes from its content (:mod:`risk_dagster.scenarios.fed`).
Historic tables are not partitions; :func:`load_fed_history` reads them.

User files of any layout the readers know (Fed, NGFS, EBA) go through
:func:`read_scenario_files`, which asks each reader's ``can_read`` in turn.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import pandas as pd

from risk_dagster.errors import InputFileError
from risk_dagster.paths import fed_scenarios_dir
from risk_dagster.scenarios import fed, textio
from risk_dagster.scenarios.model import CAPITAL_HORIZON_QUARTERS, MacroScenario, horizon_quarters

#: Shipped folder -> vintage label.
SHIPPED_VINTAGES: dict[str, str] = {
    "2025": "2025",
    "2026_final": "2026",
    "2026_proposed": "2026-proposed",
}

#: Readers asked in turn, Fed first: its sniff is the strictest about the header.
READER_MODULES: tuple[str, ...] = (
    "risk_dagster.scenarios.fed",
    "risk_dagster.scenarios.ngfs",
    "risk_dagster.scenarios.eba",
    "risk_dagster.scenarios.eba_long",
)

_EXPECTED_LAYOUTS = (
    "a Fed scenario CSV ('Scenario Name', 'Date' as 'YYYY Qn', Fed variable columns), "
    "an NGFS/IAMC CSV (Model, Scenario, Region, Variable, Unit, years) "
    "an EBA scenario CSV/XLSX (country, variable, years) "
    "or the EBA long layout (scenario, variable, measure, unit, key, tenor, sector, year, value)"
)


class UnknownScenarioError(KeyError):
    """A scenario id that is not a shipped partition (a ``KeyError`` with a readable str)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown scenario"


@dataclass(frozen=True)
class ScenarioSource:
    """Where one shipped scenario lives.

    Attributes
    ----------
    scenario_id
        Partition id (``fed-2026-severely-adverse``).
    vintage
        Vintage label (``2026``, ``2026-proposed``).
    kind
        Scenario kind detected from the tables.
    name
        Scenario name as published.
    files
        The tables (domestic first, then international).
    """

    scenario_id: str
    vintage: str
    kind: str
    name: str
    files: tuple[Path, ...]


@cache
def _shipped_tables() -> tuple[tuple[str, tuple[fed.FedTable, ...]], ...]:
    root = fed_scenarios_dir()
    found = []
    for folder, label in SHIPPED_VINTAGES.items():
        directory = root / folder
        if not directory.is_dir():
            raise FileNotFoundError(f"shipped Fed scenario folder is missing: {directory}")
        tables = tuple(fed.read_fed_table(p) for p in sorted(directory.glob("*.csv")))
        found.append((label, tables))
    return tuple(found)


def _scope_rank(table: fed.FedTable) -> int:
    return {"domestic": 0, "international": 1}.get(table.scope, 2)


def discover_shipped_scenarios() -> dict[str, ScenarioSource]:
    """The shipped Fed projections by partition id (read once, then cached).

    Returns
    -------
    dict[str, ScenarioSource]
        ``fed-<vintage>-<kind>`` -> its files, sorted by id; historic tables are left out.
    """
    return dict(_discover())  # a copy: callers may not alter the cache


@cache
def _discover() -> tuple[tuple[str, ScenarioSource], ...]:
    sources: dict[str, ScenarioSource] = {}
    for label, tables in _shipped_tables():
        groups: dict[str, list[fed.FedTable]] = {}
        for table in tables:
            if table.kind == "historic":
                continue
            sid = fed.default_scenario_id(table.kind, label, table.scenario_name)
            groups.setdefault(sid, []).append(table)
        for sid, members in groups.items():
            members.sort(key=_scope_rank)
            sources[sid] = ScenarioSource(
                scenario_id=sid,
                vintage=label,
                kind=members[0].kind,
                name=members[0].scenario_name,
                files=tuple(t.path for t in members),
            )
    return tuple(sorted(sources.items()))


@cache
def _shipped_eba() -> tuple[tuple[str, MacroScenario], ...]:
    from risk_dagster.scenarios import eba_long

    return tuple(sorted((s.scenario_id, s) for s in eba_long.read()))


def shipped_eba_ids() -> list[str]:
    """The shipped EBA 2025 EU-wide stress test scenarios (``eba-2025-adverse``, ``eba-2025-baseline``)."""
    return [sid for sid, _ in _shipped_eba()]


def scenario_partition_ids() -> list[str]:
    """Sorted partition ids of the shipped scenarios: the Fed's projections and the EBA's 2025 scenarios."""
    return sorted([*discover_shipped_scenarios(), *shipped_eba_ids()])


def is_eba_scenario(scenario: MacroScenario) -> bool:
    """Whether a scenario is the EBA's (its source), run on the euro-area bank under the EBA method."""
    return scenario.source == "eba"


EBA_ID_PREFIX = "eba-"
"""The EBA readers name every scenario ``eba-<year>-<kind>`` (:mod:`.eba`, :mod:`.eba_long`): what a
sensor, which sees partition keys only, routes by."""


def is_eba_partition(partition_key: str) -> bool:
    """Whether a scenario partition is an EBA one, from its key alone (:data:`EBA_ID_PREFIX`)."""
    return partition_key.startswith(EBA_ID_PREFIX)


def load_scenario(scenario_id: str) -> MacroScenario:
    """Load one shipped scenario, domestic and international tables merged.

    Parameters
    ----------
    scenario_id
        A partition id from :func:`scenario_partition_ids`.

    Raises
    ------
    UnknownScenarioError
        When the id is not a shipped partition.
    """
    sources = discover_shipped_scenarios()
    eba = dict(_shipped_eba())
    if scenario_id in eba:
        return eba[scenario_id]
    if scenario_id not in sources:
        raise UnknownScenarioError(
            f"unknown scenario {scenario_id!r}; shipped scenarios: {', '.join([*sources, *eba])}"
        )
    source = sources[scenario_id]
    tables = [fed.read_fed_table(p) for p in source.files]
    (scenario,) = fed.scenarios_from_tables(tables, scenario_id=scenario_id, vintage=source.vintage)
    return scenario


def load_fed_history(vintage: str = "2026") -> MacroScenario:
    """The Fed's historic (actual) tables of one shipped vintage, merged.

    Parameters
    ----------
    vintage
        Vintage label: ``2025``, ``2026`` or ``2026-proposed``.

    Returns
    -------
    MacroScenario
        Kind ``historic``, id ``fed-<vintage>-historic``, ``jump_off`` its last quarter.
    """
    for label, tables in _shipped_tables():
        if label == vintage:
            history = sorted((t for t in tables if t.kind == "historic"), key=_scope_rank)
            if not history:
                break
            sid = fed.default_scenario_id("historic", label)
            (scenario,) = fed.scenarios_from_tables(history, scenario_id=sid, vintage=label)
            return scenario
    raise UnknownScenarioError(
        f"no shipped Fed history of vintage {vintage!r}; vintages: {', '.join(SHIPPED_VINTAGES.values())}"
    )


# ----------------------------------------------------------------------------- user files
def _reader(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:  # that reader is not installed; a broken import still raises
            return None
        raise


def detect_reader(path: str | Path) -> ModuleType:
    """The reader module whose ``can_read`` claims the file.

    Raises
    ------
    InputFileError
        ``empty_file``, ``binary_file``, ``undecodable`` when no reader claims a file that is
        not text, else ``unrecognised_layout`` naming the layouts expected.
    OSError
        When the file cannot be opened.
    """
    path = Path(path)
    if not path.is_file():
        # Let open() give the usual FileNotFoundError / IsADirectoryError.
        path.open("rb").close()
    if path.stat().st_size == 0:
        raise InputFileError(path, "empty_file", "the file is empty (0 bytes); expected a scenario file with a header row")
    unavailable = []
    for name in READER_MODULES:
        module = _reader(name)
        if module is None:
            unavailable.append(name.rsplit(".", 1)[-1])
            continue
        if module.can_read(path):
            return module
    # Nobody claims it: say why as precisely as we can (empty, binary, encoding, HTML, JSON).
    textio.read_text(path)
    note = f" (readers not installed: {', '.join(unavailable)})" if unavailable else ""
    raise InputFileError(
        path, "unrecognised_layout", f"no reader recognises this file; expected {_EXPECTED_LAYOUTS}{note}"
    )


def check_projection(path: str | Path, kind: str, jump_off: pd.Period | None, first: pd.Period, last: pd.Period) -> None:
    """Refuse a table that cannot serve as a scenario projection.

    Raises
    ------
    InputFileError
        ``no_projection`` for a historic (actual) table where a projection is expected;
        ``short_projection`` for a projection spanning fewer than
        :data:`~risk_dagster.scenarios.model.CAPITAL_HORIZON_QUARTERS` quarters after its jump-off.
    """
    if kind == "historic":
        raise InputFileError(
            path,
            "no_projection",
            f"holds only historic (actual) quarters {first}-{last}, not a projection: a scenario file holds a "
            "baseline, adverse, severely adverse or custom path",
        )
    span = horizon_quarters(jump_off, first, last)
    if span < CAPITAL_HORIZON_QUARTERS:
        raise InputFileError(
            path,
            "short_projection",
            f"the {kind} projection spans {span} quarter(s) after its jump-off ({first}-{last}); capital needs "
            f"the {CAPITAL_HORIZON_QUARTERS}-quarter horizon PQ1-PQ{CAPITAL_HORIZON_QUARTERS}",
        )


def read_scenario_files(paths: Sequence[str | Path] | Iterable[str | Path]) -> list[MacroScenario]:
    """Read a user's scenario files of any known layout, where scenario projections are expected.

    Fed tables are grouped into scenarios (a domestic and an international table of one
    scenario become one :class:`MacroScenario`) with ids ``fed-<vintage>-<kind>``, suffixed
    ``-user`` where that id is a shipped partition. NGFS and EBA files give what their
    reader returns.

    Raises
    ------
    InputFileError
        On the first bad file, or one no reader recognises (``unrecognised_layout``); a file
        that is history, not a projection, or a projection shorter than the capital horizon
        (:func:`check_projection`).
    """
    tables: list[fed.FedTable] = []
    others: list[MacroScenario] = []
    for path in paths:
        module = detect_reader(path)
        if module is fed:
            table = fed.read_fed_table(path)
            check_projection(path, table.kind, table.jump_off, table.first_quarter, table.last_quarter)
            tables.append(table)
        else:
            read = module.read(path)
            for scenario in read:
                check_projection(path, scenario.kind, scenario.jump_off, scenario.first_quarter, scenario.last_quarter)
            others.extend(read)
    scenarios = fed.scenarios_from_tables(tables) if tables else []
    shipped = set(scenario_partition_ids()) if scenarios else set()
    for scenario in scenarios:
        if scenario.scenario_id in shipped:
            new_id = f"{scenario.scenario_id}-user"
            scenario.scenario_id = new_id
            scenario.data["scenario_id"] = new_id
    return scenarios + others
