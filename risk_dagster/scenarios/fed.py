"""Reader of the Federal Reserve's supervisory scenario tables (CCAR / DFAST CSVs).

A Fed table is a CSV with a ``Scenario Name`` column, a ``Date`` column (``YYYY Qn``) and one
column per macro variable: the domestic tables have 16 variables, the international ones 12.
What a table *is* (historic / baseline / severely adverse, domestic / international) is told
from its content, never from its file name: the Fed has renumbered its tables across vintages
(``Table_1A`` ... ``Table_3B`` in 2025, names in 2026) and users rename files.

Columns are matched through the variable catalog (:mod:`risk_dagster.scenarios.catalog`) with
case, whitespace and punctuation ignored. Blank cells before a series starts (the BBB yield
before 1988 Q4, the VIX before 1990 Q1) are missing observations, not zeros. Anything else
that is wrong raises :class:`~risk_dagster.errors.InputFileError` naming file, line, column
and rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from risk_dagster.errors import InputFileError
from risk_dagster.scenarios.catalog import Variable, load_variable_catalog, normalise_header
from risk_dagster.scenarios.model import MacroScenario, combine
from risk_dagster.scenarios.textio import csv_rows, parse_number, read_text, sniff_header

SOURCE = "fed"
_SNIFF_BYTES = 64 * 1024

_SCENARIO_KEYS = frozenset({"scenarioname", "scenarioid", "scenariotitle"})
_DATE_KEYS = frozenset({"date", "quarter", "period", "dates"})
_DATE_RE = re.compile(r"^(\d{4})\s*[Qq](\d+)$")
# Only a blank cell is missing in a Fed table; these markers are refused ("leave it blank").
_BLANK_ONLY = frozenset({""})
_MISSING_MARKERS = frozenset({"na", "n/a", "nan", "#n/a", "null", "none", "-", "--", ".", "missing"})

_HISTORIC_NAMES = frozenset({"actual", "actuals", "historic", "historical", "history"})


# ----------------------------------------------------------------------------- result type
@dataclass
class FedTable:
    """One Fed scenario table, parsed and validated.

    Attributes
    ----------
    path
        File read.
    kind
        ``historic``, ``baseline``, ``adverse``, ``severely_adverse`` or ``custom``, from the
        ``Scenario Name`` column.
    scope
        ``domestic``, ``international``, or ``combined`` when both kinds of variable are present.
    scenario_name
        The scenario name as written (``Supervisory Severely Adverse``, ``Actual``).
    wide
        Values, indexed by ``PeriodIndex(freq="Q-DEC", name="quarter")``, one float column per
        canonical variable id in catalog order; ``NaN`` where the file's cell was blank.
    units
        Unit of each variable present.
    column_map
        Header as written -> canonical id.
    """

    path: Path
    kind: str
    scope: str
    scenario_name: str
    wide: pd.DataFrame
    units: dict[str, str] = field(default_factory=dict)
    column_map: dict[str, str] = field(default_factory=dict)

    @property
    def first_quarter(self) -> pd.Period:
        """First quarter of the table."""
        return self.wide.index[0]

    @property
    def last_quarter(self) -> pd.Period:
        """Last quarter of the table."""
        return self.wide.index[-1]

    @property
    def variables(self) -> list[str]:
        """Canonical ids with at least one observation."""
        return [c for c in self.wide.columns if self.wide[c].notna().any()]

    @property
    def detected_vintage(self) -> str:
        """Vintage told from content.

        A projection belongs to the year of its first projected quarter (the 2026 scenarios
        start 2026 Q1); a history table to the year after its last actual quarter.
        """
        if self.kind == "historic":
            return str(self.last_quarter.year + 1)
        return str(self.first_quarter.year)

    @property
    def jump_off(self) -> pd.Period:
        """Last actual quarter: the table's end for history, the quarter before it starts else."""
        if self.kind == "historic":
            return self.last_quarter
        return self.first_quarter - 1


# ----------------------------------------------------------------------------- sniffing
def can_read(path: str | Path) -> bool:
    """Whether the file looks like a Fed scenario table, from its header alone (never raises).

    True when the header has a ``Scenario Name`` column, or a ``Date`` column next to a Fed
    variable, or mostly Fed variables. A Fed-like file that is broken further down is still
    claimed, so :func:`read_fed_table` can say precisely what is wrong with it.
    """
    header = sniff_header(path, _SNIFF_BYTES)
    if header is None:
        return False
    return _fed_like_header(header)


def _fed_like_header(header: Sequence[str]) -> bool:
    catalog = load_variable_catalog()
    keys = [normalise_header(h) for h in header]
    n_vars = sum(catalog.resolve_column(h, source=SOURCE) is not None for h in header if h.strip())
    if any(k in _SCENARIO_KEYS for k in keys):
        return True
    if any(k in _DATE_KEYS for k in keys) and n_vars >= 1:
        return True
    named = [h for h in header if h.strip()]
    return n_vars >= 2 and n_vars * 2 > len(named)


# ----------------------------------------------------------------------------- parsing
def scenario_kind(name: str) -> str:
    """Scenario kind from a published scenario name.

    ``Actual`` is history; ``Supervisory Severely Adverse`` / ``Severely Adverse``,
    ``Supervisory Adverse`` / ``Adverse`` and ``Supervisory Baseline`` / ``Baseline`` are the
    supervisory scenarios of every vintage; anything else is ``custom``.
    """
    key = normalise_header(name)
    if key in _HISTORIC_NAMES:
        return "historic"
    if "severelyadverse" in key:
        return "severely_adverse"
    if "adverse" in key:
        return "adverse"
    if "baseline" in key:
        return "baseline"
    return "custom"


def _parse_quarter(path: Path, text: str, line: int, column: str) -> pd.Period:
    match = _DATE_RE.match(text.strip())
    if match is None:
        raise InputFileError(
            path, "bad_date", f"date {text!r} is not of the form 'YYYY Qn' (e.g. '2026 Q1')", row=line, column=column
        )
    year, quarter = int(match.group(1)), int(match.group(2))
    if not 1 <= quarter <= 4:
        raise InputFileError(
            path, "bad_date", f"date {text!r} names quarter {quarter}; quarters run Q1 to Q4", row=line, column=column
        )
    return pd.Period(year=year, quarter=quarter, freq="Q-DEC")


def _parse_value(path: Path, text: str, line: int, column: str, var: Variable) -> float:
    value = parse_number(
        path, text, line, column, missing=_BLANK_ONLY, refused_markers=_MISSING_MARKERS, grouped=True, label=var.id
    )
    if value is None:
        return math.nan
    if not var.in_range(value):
        message = (
            f"{value:g} for {var.id} is outside the plausible range "
            f"[{var.minimum:g}, {var.maximum:g}] {var.unit}"
        )
        if var.transformation == "rate" and var.in_range(value / 100):
            message += f"; basis points? {value / 100:g} percent would fit"
        raise InputFileError(path, "out_of_range", message, row=line, column=column)
    return value


@dataclass
class _Header:
    scenario_col: int
    date_col: int
    variables: dict[int, Variable]  # position -> variable
    ignored: list[int]  # unnamed columns, accepted only if empty
    names: list[str]


def _parse_header(path: Path, header: list[str]) -> _Header:
    catalog = load_variable_catalog()
    names = [h.strip() for h in header]
    scenario_cols = [i for i, h in enumerate(names) if normalise_header(h) in _SCENARIO_KEYS]
    date_cols = [i for i, h in enumerate(names) if normalise_header(h) in _DATE_KEYS]
    resolved = {
        i: catalog.resolve_column(h, source=SOURCE)
        for i, h in enumerate(names)
        if h and i not in scenario_cols and i not in date_cols
    }
    if not scenario_cols and not date_cols and not any(resolved.values()):
        raise InputFileError(
            path,
            "unrecognised_layout",
            "the header names no 'Scenario Name', no 'Date' and no Fed variable column",
            row=1,
        )
    for label, cols in (("Scenario Name", scenario_cols), ("Date", date_cols)):
        if not cols:
            raise InputFileError(path, "missing_column", f"no '{label}' column in the header", row=1)
        if len(cols) > 1:
            raise InputFileError(
                path, "duplicate_column", f"the '{label}' column appears {len(cols)} times", row=1, column=names[cols[1]]
            )
    seen: dict[str, int] = {}
    variables: dict[int, Variable] = {}
    for i, var in resolved.items():
        if var is None:
            raise InputFileError(
                path,
                "unknown_column",
                f"{names[i]!r} is not a Fed scenario variable (see data_contracts/catalogs/variables_fed.yaml)",
                row=1,
                column=names[i],
            )
        if var.id in seen:
            raise InputFileError(
                path,
                "duplicate_column",
                f"{names[i]!r} and {names[seen[var.id]]!r} are both {var.id}",
                row=1,
                column=names[i],
            )
        seen[var.id] = i
        variables[i] = var
    if not variables:
        raise InputFileError(path, "missing_column", "no Fed variable column in the header", row=1)
    ignored = [i for i, h in enumerate(names) if not h]
    return _Header(scenario_cols[0], date_cols[0], variables, ignored, names)


def read_fed_table(path: str | Path) -> FedTable:
    """Read and validate one Fed scenario table.

    Parameters
    ----------
    path
        A CSV in the Fed's layout, of any vintage and file name.

    Returns
    -------
    FedTable
        Kind and scope detected from content, values by quarter and canonical variable id.

    Raises
    ------
    InputFileError
        On any bad input, with the file, line, column and one of the rules ``empty_file``,
        ``binary_file``, ``undecodable``, ``unrecognised_layout``, ``missing_column``,
        ``unknown_column``, ``duplicate_column``, ``ragged_row``, ``truncated``,
        ``no_data_rows``, ``missing_scenario_name``, ``mixed_scenarios``, ``bad_date``,
        ``non_numeric``, ``out_of_range``, ``duplicate_quarter``, ``out_of_order``, ``bad_quoting``,
        ``quarter_gap``, ``interior_gap``, ``no_values``, ``blank_variable``,
        ``incomplete_projection``.
    OSError
        When the file cannot be opened.
    """
    path = Path(path)
    text = read_text(path)
    rows = list(csv_rows(path, text))  # blank lines carry nothing; a bad CSV is refused here
    if not rows:
        raise InputFileError(path, "empty_file", "the file holds only blank lines")
    header_line, header_row = rows[0]
    head = _parse_header(path, header_row)
    width = len(head.names)
    data_rows = rows[1:]
    if not data_rows:
        raise InputFileError(path, "no_data_rows", "the file has a header but no data rows", row=header_line)

    scenario_name: str | None = None
    first_name_line = 0
    quarters: list[pd.Period] = []
    lines: list[int] = []
    values: dict[int, list[float]] = {i: [] for i in head.variables}
    ends_with_newline = text.endswith(("\n", "\r"))
    for pos, (line, row) in enumerate(data_rows):
        if len(row) > width and not any(c.strip() for c in row[width:]):
            row = row[:width]  # trailing empty cells from a spreadsheet export
        if len(row) != width:
            is_last = pos == len(data_rows) - 1
            if is_last and len(row) < width and not ends_with_newline:
                raise InputFileError(
                    path,
                    "truncated",
                    f"the last line stops after {len(row)} of {width} fields; the file looks cut short",
                    row=line,
                )
            raise InputFileError(
                path, "ragged_row", f"the row has {len(row)} fields but the header has {width}", row=line
            )
        for i in head.ignored:
            if row[i].strip():
                raise InputFileError(
                    path, "unknown_column", f"column {i + 1} has no header but holds {row[i]!r}", row=line
                )
        name = row[head.scenario_col].strip()
        if not name:
            raise InputFileError(
                path, "missing_scenario_name", "the scenario name cell is blank", row=line, column=head.names[head.scenario_col]
            )
        if scenario_name is None:
            scenario_name, first_name_line = name, line
        elif name != scenario_name:
            raise InputFileError(
                path,
                "mixed_scenarios",
                f"scenario {name!r} differs from {scenario_name!r} of line {first_name_line}; "
                "one table holds one scenario",
                row=line,
                column=head.names[head.scenario_col],
            )
        quarter = _parse_quarter(path, row[head.date_col], line, head.names[head.date_col])
        quarters.append(quarter)
        lines.append(line)
        for i, var in head.variables.items():
            values[i].append(_parse_value(path, row[i], line, head.names[i], var))

    _check_sequence(path, quarters, lines, head.names[head.date_col])
    index = pd.PeriodIndex(quarters, freq="Q-DEC", name="quarter")
    catalog = load_variable_catalog()
    order = {vid: k for k, vid in enumerate(catalog.ids(source=SOURCE))}
    positions = sorted(head.variables, key=lambda i: order[head.variables[i].id])
    wide = pd.DataFrame(
        {head.variables[i].id: pd.Series(values[i], index=index, dtype="float64") for i in positions},
        index=index,
    )
    for i in positions:
        _check_interior_gaps(path, wide[head.variables[i].id], lines, head.names[i])
    if scenario_name is None:  # unreachable: data rows exist and each names its scenario
        raise InputFileError(path, "missing_scenario_name", "no row names its scenario", row=header_line)
    kind = scenario_kind(scenario_name)
    _check_usable_values(path, wide, {head.variables[i].id: head.names[i] for i in positions}, lines, kind)

    present = [head.variables[i] for i in positions if wide[head.variables[i].id].notna().any()]
    scopes = {v.scope for v in present} or {head.variables[i].scope for i in positions}
    scope = scopes.pop() if len(scopes) == 1 else "combined"
    return FedTable(
        path=path,
        kind=kind,
        scope=scope,
        scenario_name=scenario_name,
        wide=wide,
        units={head.variables[i].id: head.variables[i].unit for i in positions},
        column_map={head.names[i]: head.variables[i].id for i in positions},
    )


def _check_sequence(path: Path, quarters: list[pd.Period], lines: list[int], column: str) -> None:
    # Whole-column checks, in this order, so two swapped rows read as out_of_order and not as
    # the quarter_gap that the first of them would otherwise suggest.
    first_line: dict[pd.Period, int] = {}
    for quarter, line in zip(quarters, lines):
        if quarter in first_line:
            raise InputFileError(
                path,
                "duplicate_quarter",
                f"quarter {quarter} already appears on line {first_line[quarter]}",
                row=line,
                column=column,
            )
        first_line[quarter] = line
    for k in range(1, len(quarters)):
        if quarters[k] < quarters[k - 1]:
            raise InputFileError(
                path,
                "out_of_order",
                f"quarter {quarters[k]} comes after {quarters[k - 1]} (line {lines[k - 1]}); "
                "quarters must run in ascending order",
                row=lines[k],
                column=column,
            )
    for k in range(1, len(quarters)):
        previous, quarter = quarters[k - 1], quarters[k]
        if quarter != previous + 1:
            missing = quarter.ordinal - previous.ordinal - 1
            raise InputFileError(
                path,
                "quarter_gap",
                f"quarter {quarter} follows {previous}: {missing} quarter(s) missing from {previous + 1}",
                row=lines[k],
                column=column,
            )


def _check_usable_values(
    path: Path, wide: pd.DataFrame, headers: dict[str, str], lines: list[int], kind: str
) -> None:
    """Refuse a table that holds nothing usable, or a column it names but never fills.

    * ``no_values``: every value cell is blank.
    * ``blank_variable``: a variable named in the header is blank in every row (of any kind
      of table: the header promises a series the file does not hold).
    * ``incomplete_projection``: in a projection (any kind but ``historic``) a variable is
      blank in its first or last quarters. Only history has series that start late (the BBB
      yield before 1988 Q4); the Fed publishes every variable of a projection for every
      quarter, and the translators condition on whole paths.
    """
    span = f"{wide.index[0]}-{wide.index[-1]}"
    if not wide.notna().to_numpy().any():
        raise InputFileError(
            path,
            "no_values",
            f"every value cell is blank: {len(wide.index)} rows ({span}) of {wide.shape[1]} variable(s), no number",
            row=lines[0],
        )
    for vid, header in headers.items():
        observed = wide[vid].notna().to_numpy()
        if not observed.any():
            raise InputFileError(
                path,
                "blank_variable",
                f"{vid} is blank in every row ({span}); fill the column or leave it out of the header",
                row=lines[0],
                column=header,
            )
        if kind != "historic" and not observed.all():
            blank = [str(q) for q, seen in zip(wide.index, observed) if not seen]
            first_blank = int((~observed).argmax())
            raise InputFileError(
                path,
                "incomplete_projection",
                f"{vid} is blank in {len(blank)} quarter(s) of this {kind} projection ({', '.join(blank[:4])}"
                f"{' ...' if len(blank) > 4 else ''}); a projection gives every variable for every quarter",
                row=lines[first_blank],
                column=header,
            )


def _check_interior_gaps(path: Path, series: pd.Series, lines: list[int], column: str) -> None:
    observed = series.notna().to_numpy()
    if not observed.any():
        return
    first = int(observed.argmax())
    last = len(observed) - 1 - int(observed[::-1].argmax())
    for k in range(first, last + 1):
        if not observed[k]:
            raise InputFileError(
                path,
                "interior_gap",
                f"{series.name} is blank in {series.index[k]} although the series runs from "
                f"{series.index[first]} to {series.index[last]}",
                row=lines[k],
                column=column,
            )


# ----------------------------------------------------------------------------- tables -> scenarios
def _slug(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "-", text.casefold()).strip("-") or "unnamed"


def default_scenario_id(kind: str, vintage: str, name: str = "") -> str:
    """``fed-<vintage>-<kind with dashes>``; a custom scenario adds its name's slug."""
    sid = f"fed-{vintage}-{kind.replace('_', '-')}"
    if kind == "custom":
        sid += f"-{_slug(name)}"
    return sid


def scenarios_from_tables(
    tables: Iterable[FedTable],
    scenario_id: str | None = None,
    vintage: str | None = None,
) -> list[MacroScenario]:
    """Merge Fed tables into scenarios: the domestic and international tables of one scenario.

    Tables are grouped by kind and detected vintage (and name, for custom scenarios); each
    group becomes one :class:`MacroScenario` in order of first appearance.

    Parameters
    ----------
    tables
        Tables from :func:`read_fed_table`.
    scenario_id
        Id to give the scenario; only allowed when the tables make exactly one scenario.
        Default ``fed-<vintage>-<kind>`` (``fed-2026-severely-adverse``).
    vintage
        Vintage label (``2026-proposed``); default the detected one (the year of the first
        projected quarter, or the year after the last actual quarter for history).

    Returns
    -------
    list[MacroScenario]
        With ``jump_off`` the quarter before the first projected quarter (for history: its
        last quarter, the jump-off of the scenarios published with it).

    Raises
    ------
    InputFileError
        ``duplicate_table`` when two tables of one scenario hold the same variables,
        ``mismatched_tables`` when they start in different quarters.
    ValueError
        When ``scenario_id`` is given but the tables make several scenarios.
    """
    groups: dict[tuple[str, str, str], list[FedTable]] = {}
    for table in tables:
        key = (table.kind, table.detected_vintage, table.scenario_name if table.kind == "custom" else "")
        groups.setdefault(key, []).append(table)
    if scenario_id is not None and len(groups) > 1:
        raise ValueError(f"scenario_id {scenario_id!r} given but the tables make {len(groups)} scenarios")

    scenarios: list[MacroScenario] = []
    for (kind, detected, _), members in groups.items():
        _check_group(members)
        label = vintage or detected
        sid = scenario_id or default_scenario_id(kind, label, members[0].scenario_name)
        parts = [
            MacroScenario.from_wide(
                sid,
                t.wide,
                source=SOURCE if kind != "custom" else "user",
                kind=kind,
                name=t.scenario_name,
                vintage=label,
                jump_off=t.jump_off,
                files=[str(t.path)],
                units=dict(t.units),
            )
            for t in members
        ]
        scenario = parts[0] if len(parts) == 1 else combine(sid, parts)
        scenarios.append(_catalog_ordered(scenario))
    return scenarios


def _catalog_ordered(scenario: MacroScenario) -> MacroScenario:
    # Rows by (catalog order, quarter) so ``scenario.variables`` lists variables in catalog
    # order even when some series start late (the VIX in 1990).
    order = {vid: k for k, vid in enumerate(load_variable_catalog().ids())}
    data = scenario.data
    rank = data["variable"].map(order).fillna(len(order))
    scenario.data = (
        data.assign(_rank=rank).sort_values(["_rank", "quarter"], kind="stable").drop(columns="_rank")
    ).reset_index(drop=True)
    return scenario


def _check_group(members: list[FedTable]) -> None:
    first = members[0]
    seen: dict[str, FedTable] = {}
    for table in members:
        anchor = table.last_quarter if table.kind == "historic" else table.first_quarter
        first_anchor = first.last_quarter if first.kind == "historic" else first.first_quarter
        if anchor != first_anchor:
            raise InputFileError(
                table.path,
                "mismatched_tables",
                f"{table.kind} table runs {table.first_quarter}-{table.last_quarter} but "
                f"{first.path.name} runs {first.first_quarter}-{first.last_quarter}",
            )
        for vid in table.wide.columns:
            if vid in seen:
                raise InputFileError(
                    table.path,
                    "duplicate_table",
                    f"{vid} of this {table.kind} scenario is also in {seen[vid].path.name}",
                )
            seen[vid] = table
