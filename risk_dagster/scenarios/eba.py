"""Reader for the EBA/ESRB EU-wide stress-test macro-financial scenario (baseline and adverse).

**This reader is built against a hand-made fixture** (``tests/fixtures/eba/``, marked as such)
in the layout the EBA publishes its scenario tables in; the real 2025 scenario is shipped in a
long layout derived from the EBA's workbook and read by :mod:`risk_dagster.scenarios.eba_long`
(``risk_dagster/data/PROVENANCE.md``, section 6). The fixture's layout: per variable, rows = countries (EU27, the
EU and euro-area aggregates, a few other economies), columns = the baseline years then the
adverse years. Expect to adjust the layout details below when a real file is added.

Layouts accepted
----------------
**CSV, long by variable** (one row per scenario, country and variable)::

    Scenario,Country,Variable,Unit,2025,2026,2027
    Baseline,DE,Real GDP growth,% y-o-y,0.3,1.2,1.3
    Adverse,DE,Real GDP growth,% y-o-y,-2.4,-2.1,0.6

Column names are case-insensitive; year columns are 4-digit and strictly increasing.

**Workbook (.xlsx), one sheet per variable**:

* the sheet name is the variable (a catalog id or alias: ``Real GDP growth``, ``HICP`` ...);
  sheets named ``Notes``, ``Cover``, ``Contents`` or ``README`` are skipped;
* row 1: ``Unit`` in A1 and the unit in B1;
* row 2: the scenario name (``Baseline``, ``Adverse``) above the first year column of its
  block; the blank cells to its right belong to the same block;
* row 3: ``Code``, ``Country``, then the years of each block (``2025 2026 2027 2025 2026 2027``);
* rows 4+: one row per country, ISO code in column A (name in B, informative only).

In both layouts: ``Scenario`` is ``Baseline`` or ``Adverse`` (``... scenario`` also accepted);
``Country`` is an EU country code (``EL`` for Greece; ``GR`` and ``GB`` are accepted as
aliases of ``EL`` and ``UK``), ``EU``/``EA`` for the aggregates, or the English name; blank
cells are missing values (euro-area countries have no exchange rate), never zeros.

Output
------
One :class:`~risk_dagster.scenarios.model.MacroScenario` per scenario in the file,
``source="eba"``, ``kind`` ``baseline``/``adverse``, ``scenario_id`` ``eba-<year>-<kind>``
where ``<year>`` is the exercise year, the first projected year (the 2025 exercise projects
2025-2027 from end-2024, so ``jump_off`` is ``2024Q4``). Values are annual and placed at the
year's Q4. Catalog ids are per concept (``data_contracts/catalogs/variables_eba.yaml``); the
country is a suffix of the variable id after a double underscore, in lower case:
``eba_real_gdp_growth__de``, ``eba_fx_rate__pl``, ``eba_unemployment_rate__eu``
(:data:`COUNTRY_SEPARATOR`, the one ``risk_dagster.scenarios.frames`` splits on). Growth
rates are annual % changes, unemployment and long-term rates % levels, exchange rates
national currency per euro.

A file that cannot be accepted raises :class:`~risk_dagster.errors.InputFileError` naming
file, line (the CSV header / the workbook's first row is line 1), column and one of the rules
``empty_file``, ``binary_file``, ``undecodable`` (UTF-16/32), ``bad_quoting``, ``missing_column``, ``unknown_column``,
``years_not_increasing``, ``wrong_field_count``, ``missing_value``, ``non_numeric``,
``duplicate_row``, ``unknown_variable``, ``unknown_country``, ``unknown_scenario``,
``unit_mismatch``, ``out_of_range`` (each variable's plausible range from the catalog).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from risk_dagster.errors import InputFileError
from risk_dagster.scenarios.catalog import load_variable_catalog, normalise_header
from risk_dagster.scenarios.model import TIDY_COLUMNS, MacroScenario
from risk_dagster.scenarios.textio import csv_rows, decode_text_file, parse_number, resolve_variable, sniff_header

SOURCE = "eba"
COUNTRY_SEPARATOR = "__"
CSV_COLUMNS: tuple[str, ...] = ("scenario", "country", "variable", "unit")
SKIPPED_SHEETS = frozenset({"notes", "cover", "contents", "readme"})
SCENARIO_KINDS: dict[str, str] = {"baseline": "baseline", "adverse": "adverse"}

#: Country codes as the EBA writes them (EU protocol order), with English names.
COUNTRIES: dict[str, str] = {
    "BE": "Belgium", "BG": "Bulgaria", "CZ": "Czechia", "DK": "Denmark", "DE": "Germany",
    "EE": "Estonia", "IE": "Ireland", "EL": "Greece", "ES": "Spain", "FR": "France",
    "HR": "Croatia", "IT": "Italy", "CY": "Cyprus", "LV": "Latvia", "LT": "Lithuania",
    "LU": "Luxembourg", "HU": "Hungary", "MT": "Malta", "NL": "Netherlands", "AT": "Austria",
    "PL": "Poland", "PT": "Portugal", "RO": "Romania", "SI": "Slovenia", "SK": "Slovakia",
    "FI": "Finland", "SE": "Sweden",
    "EU": "European Union", "EA": "Euro area",
    # EEA members and the main non-EU economies the ESRB scenario also covers.
    "NO": "Norway", "IS": "Iceland", "LI": "Liechtenstein", "UK": "United Kingdom",
    "CH": "Switzerland", "US": "United States", "JP": "Japan", "CN": "China",
}  # fmt: skip
_COUNTRY_ALIASES = {"GR": "EL", "GB": "UK", "EU27": "EU", "EA20": "EA", "EURO AREA": "EA"}

_SNIFF_BYTES = 8192
_YEAR_RE = re.compile(r"^\d{4}$")


# --------------------------------------------------------------------------- names
def country_code(text: str) -> str | None:
    """EBA country code for a code or English name (``"Greece"``/``"GR"`` -> ``"EL"``), else None."""
    key = " ".join(str(text).split()).upper()
    key = _COUNTRY_ALIASES.get(key, key)
    if key in COUNTRIES:
        return key
    by_name = {name.upper(): code for code, name in COUNTRIES.items()}
    return by_name.get(key)


def variable_id(concept: str, country: str) -> str:
    """Scenario variable id of a catalog concept for one country (``eba_real_gdp_growth__de``)."""
    return f"{concept}{COUNTRY_SEPARATOR}{country.lower()}"


# --------------------------------------------------------------------------- parsing
@dataclass(frozen=True)
class _Point:
    scenario: str  # as written
    country: str  # as written
    variable: str  # as written (sheet name in a workbook)
    unit: str
    year: int
    value: float
    line: int
    column: str


def _year(path: Path, cell: object, line: int, column: str) -> int:
    text = str(int(cell)) if isinstance(cell, int | float) and float(cell).is_integer() else str(cell).strip()
    if not _YEAR_RE.match(text):
        raise InputFileError(path, "unknown_column", f"column {text!r} is not a 4-digit year", line, column)
    return int(text)


def _check_increasing(path: Path, years: list[int], headers: list[str], line: int) -> None:
    for i in range(1, len(years)):
        if years[i] <= years[i - 1]:
            raise InputFileError(
                path,
                "years_not_increasing",
                f"year {years[i]} follows {years[i - 1]}; years must increase",
                line,
                headers[i],
            )


def _read_csv(path: Path) -> list[_Point]:
    text = decode_text_file(path, fallback_encoding="cp1252")  # Excel "CSV" on Windows
    rows = csv_rows(path, text, strict=False)
    try:
        _, header = next(rows)
    except StopIteration:
        raise InputFileError(path, "empty_file", "the file has no header") from None
    lowered = [h.casefold() for h in header]
    index: dict[str, int] = {}
    for name in CSV_COLUMNS:
        if name not in lowered:
            raise InputFileError(path, "missing_column", f"column {name!r} is missing (header: {header})", 1, name)
        index[name] = lowered.index(name)
    year_cols = [(pos, header[pos]) for pos in range(len(header)) if pos not in index.values()]
    if not year_cols:
        raise InputFileError(path, "missing_column", "no year columns after Scenario, Country, Variable, Unit", 1)
    years = [_year(path, name, 1, name) for _, name in year_cols]
    _check_increasing(path, years, [name for _, name in year_cols], 1)

    points: list[_Point] = []
    for line, row in rows:
        if len(row) != len(header):
            raise InputFileError(
                path, "wrong_field_count", f"{len(row)} fields where the header has {len(header)}", line
            )
        keys = {}
        for name in CSV_COLUMNS:
            cell = row[index[name]]
            if not cell and name != "unit":
                raise InputFileError(path, "missing_value", f"{name} is blank", line, header[index[name]])
            keys[name] = cell
        for (pos, column), year in zip(year_cols, years, strict=True):
            value = parse_number(path, row[pos], line, column)
            if value is not None:
                points.append(_Point(**keys, year=year, value=value, line=line, column=column))
    return points


def _read_workbook(path: Path) -> list[_Point]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise InputFileError(path, "binary_file", f"not a readable .xlsx workbook ({exc})") from None
    points: list[_Point] = []
    try:
        for sheet in workbook.worksheets:
            if sheet.title.strip().casefold() in SKIPPED_SHEETS:
                continue
            points.extend(_read_sheet(path, sheet.title, list(sheet.iter_rows(values_only=True))))
    finally:
        workbook.close()
    return points


def _read_sheet(path: Path, title: str, rows: list[tuple[object, ...]]) -> list[_Point]:
    where = f"sheet {title!r}"
    if len(rows) < 3:
        raise InputFileError(path, "missing_column", f"{where}: needs the unit, scenario and year rows", len(rows) + 1)
    unit_row, scenario_row, year_row = rows[0], rows[1], rows[2]
    if str(unit_row[0] or "").strip().casefold() != "unit" or len(unit_row) < 2:
        raise InputFileError(path, "missing_column", f"{where}: A1 must read 'Unit', B1 the unit", 1, "Unit")
    unit = str(unit_row[1] or "").strip()
    if str(year_row[0] or "").strip().casefold() not in {"code", "country code"}:
        raise InputFileError(path, "missing_column", f"{where}: A3 must read 'Code'", 3, "Code")

    # Column -> (scenario, year); the scenario name is written once above its block.
    columns: list[tuple[int, str, int, str]] = []
    current: str | None = None
    for pos in range(2, len(year_row)):
        label = scenario_row[pos] if pos < len(scenario_row) else None
        if label is not None and str(label).strip():
            current = str(label).strip()
        if year_row[pos] is None or not str(year_row[pos]).strip():
            continue
        if current is None:
            raise InputFileError(path, "missing_column", f"{where}: year column without a scenario above it", 2)
        column = f"{current} {year_row[pos]}"
        columns.append((pos, current, _year(path, year_row[pos], 3, column), column))
    if not columns:
        raise InputFileError(path, "missing_column", f"{where}: no year columns in row 3", 3)
    for scenario in dict.fromkeys(c[1] for c in columns):
        block = [c for c in columns if c[1] == scenario]
        _check_increasing(path, [c[2] for c in block], [c[3] for c in block], 3)

    points: list[_Point] = []
    for line, row in enumerate(rows[3:], start=4):
        if all(cell is None or not str(cell).strip() for cell in row):
            continue
        code = str(row[0] or "").strip()
        if not code:
            raise InputFileError(path, "missing_value", f"{where}: country code is blank", line, "Code")
        for pos, scenario, year, column in columns:
            cell = row[pos] if pos < len(row) else None
            value = parse_number(path, cell, line, f"{column} ({title})")
            if value is not None:
                points.append(_Point(scenario, code, title, unit, year, value, line, f"{column} ({title})"))
    return points


# --------------------------------------------------------------------------- public API
def _is_xlsx(path: Path) -> bool:
    return path.suffix.lower() in {".xlsx", ".xlsm"}


def can_read(path: str | Path) -> bool:
    """Whether ``path`` looks like an EBA scenario file (CSV header or workbook sheet names).

    Never raises. A CSV qualifies by its ``Scenario, Country, Variable, Unit`` header (an
    IAMC ``Model``/``Region`` header is left to the NGFS reader); a workbook by at least one
    sheet named after an EBA catalog variable.
    """
    path = Path(path)
    try:
        if _is_xlsx(path):
            from openpyxl import load_workbook

            workbook = load_workbook(path, read_only=True)
            try:
                titles = [normalise_header(t) for t in workbook.sheetnames]
            finally:
                workbook.close()
            catalog = load_variable_catalog().lookup(SOURCE)
            return any(t in catalog for t in titles)
    except Exception:  # noqa: BLE001 - a file we cannot open is simply not ours
        return False
    first = sniff_header(path, _SNIFF_BYTES)
    if first is None:
        return False
    header = {h.casefold() for h in first}
    return set(CSV_COLUMNS) <= header and not {"model", "region"} & header


def read(path: str | Path) -> list[MacroScenario]:
    """Read an EBA scenario CSV or workbook into one :class:`MacroScenario` per scenario.

    Parameters
    ----------
    path
        CSV (long by variable) or ``.xlsx`` (one sheet per variable); see the module docstring.

    Returns
    -------
    list of MacroScenario
        Baseline first when present, then adverse; annual values at each year's Q4.

    Raises
    ------
    InputFileError
        When the file breaks one of the rules listed in the module docstring.
    """
    path = Path(path)
    if _is_xlsx(path):
        if not path.read_bytes().strip():
            raise InputFileError(path, "empty_file", "the file is empty")
        points = _read_workbook(path)
    else:
        points = _read_csv(path)
    if not points:
        raise InputFileError(path, "empty_file", "the file has no data values")

    rows: dict[str, list[tuple[str, int, float]]] = {}
    units: dict[str, dict[str, str]] = {}
    seen: dict[tuple[str, str, int], int] = {}
    for p in points:
        kind = SCENARIO_KINDS.get(normalise_header(p.scenario).removesuffix("scenario"))
        if kind is None:
            raise InputFileError(
                path, "unknown_scenario", f"scenario {p.scenario!r} is not Baseline or Adverse", p.line, "Scenario"
            )
        country = country_code(p.country)
        if country is None:
            raise InputFileError(path, "unknown_country", f"country {p.country!r} is not known", p.line, "Country")
        entry = resolve_variable(path, SOURCE, p.variable, p.unit, p.line)
        variable = variable_id(entry.id, country)
        key = (kind, variable, p.year)
        if key in seen:
            raise InputFileError(
                path,
                "duplicate_row",
                f"{p.scenario} / {country} / {p.variable} {p.year} already given on line {seen[key]}",
                p.line,
                p.column,
            )
        seen[key] = p.line
        if not entry.in_range(p.value):
            raise InputFileError(
                path,
                "out_of_range",
                f"{p.variable} for {country} = {p.value:g}, outside the plausible range "
                f"[{entry.minimum:g}, {entry.maximum:g}] ({entry.unit})",
                p.line,
                p.column,
            )
        rows.setdefault(kind, []).append((variable, p.year, p.value))
        units.setdefault(kind, {})[variable] = entry.unit

    exercise = min(p.year for p in points)  # first projected year names the exercise
    scenarios = []
    for kind in ("baseline", "adverse"):
        if kind not in rows:
            continue
        scenario_id = f"eba-{exercise}-{kind}"
        variables, years, values = zip(*rows[kind], strict=True)
        data = pd.DataFrame(
            {
                "scenario_id": scenario_id,
                "quarter": pd.PeriodIndex([pd.Period(year=y, quarter=4, freq="Q-DEC") for y in years]),
                "variable": list(variables),
                "value": pd.Series(values, dtype="float64"),
            }
        )[list(TIDY_COLUMNS)]
        scenarios.append(
            MacroScenario(
                scenario_id=scenario_id,
                data=data,
                source=SOURCE,
                kind=kind,
                name=f"EBA {exercise} EU-wide stress test, {kind} scenario",
                vintage=str(exercise),
                jump_off=pd.Period(year=exercise - 1, quarter=4, freq="Q-DEC"),
                files=[str(path)],
                units=units[kind],
            )
        )
    return scenarios
