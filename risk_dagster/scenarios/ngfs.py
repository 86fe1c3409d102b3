"""Reader for NGFS climate scenarios in the IAMC layout (NGFS / IIASA Scenario Explorer exports).

Layouts accepted (column names case-insensitive, surrounding spaces ignored):

* **wide** (what the Explorer exports): ``Model, Scenario, Region, Variable, Unit`` followed by
  one column per year (``2020, 2025, ... 2100``), strictly increasing;
* **long**: ``model, scenario, region, variable, unit, year, value``.

What the reader does, and why:

* One :class:`~risk_dagster.scenarios.model.MacroScenario` per (model, scenario, region).
  ``source="ngfs"``; ``kind="custom"`` because an NGFS pathway is a climate transition
  narrative, not a supervisory baseline/adverse scenario, and ``MacroScenario`` has no
  ``climate`` kind.
* ``scenario_id`` is ``ngfs[-<phase>][-<model>][-<region>]-<scenario>`` in slug form, e.g.
  ``ngfs-phase5-net-zero-2050``. The phase (``phase5``) is taken from the Explorer's
  provenance note when it names one and is also the ``vintage``; the model slug is added only
  when the file holds several models and the region slug (last ``|``-segment of the region
  name) only when it holds several regions, so ids stay short yet unique.
* IAMC variable names are mapped to catalog ids through the aliases of the ``source: ngfs``
  entries of ``data_contracts/catalogs/variables_ngfs.yaml`` (``Price|Carbon`` ->
  ``carbon_price``; case, spaces and punctuation ignored, see
  :meth:`~risk_dagster.scenarios.catalog.VariableCatalog.lookup`); the file's ``Unit`` must
  equal the catalog unit after :func:`~risk_dagster.scenarios.textio.normalize_unit`.
* Annual values sit at the year's fourth quarter (``2030`` -> ``Period("2030Q4")``), the
  same convention as the EBA reader; :func:`interpolate_quarterly` fills the quarters in
  between linearly for consumers that need a quarterly path.
* Blank cells are missing (absent rows), never zero. ``nan``/``NA``/``N/A`` also count as
  blank because pandas and R write missing values that way.
* Text repairs: the Explorer's CSV export sometimes loses the degree sign (``Below 2?C``,
  ``Below 2Â°C``, ``Below 2\ufffdC``); these are repaired to ``Below 2°C``. Files that are
  not UTF-8 are decoded as Windows-1252.
* Trailing one-cell lines after the data (the Explorer writes ``© NGFS Phase 5 Scenario
  Explorer https://...``) are provenance text, not rows: they are kept in
  ``scenario.data.attrs["notes"]`` (with ``model``, ``region`` and the IAMC variable names in
  ``attrs`` too) and never parsed as data.

A file that cannot be accepted raises :class:`~risk_dagster.errors.InputFileError` naming file,
line (the header is line 1), column and one of the rules ``empty_file``, ``binary_file``,
``undecodable`` (UTF-16/32), ``bad_quoting``, ``missing_column``, ``unknown_column``, ``years_not_increasing``, ``wrong_field_count``,
``missing_value``, ``non_numeric``, ``duplicate_row``, ``unknown_variable``,
``unit_mismatch``, ``out_of_range``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from risk_dagster.errors import InputFileError
from risk_dagster.scenarios.catalog import load_variable_catalog
from risk_dagster.scenarios.model import TIDY_COLUMNS, MacroScenario
from risk_dagster.scenarios.textio import csv_rows, decode_text_file, parse_number, resolve_variable, sniff_header

SOURCE = "ngfs"
IAMC_COLUMNS: tuple[str, ...] = ("model", "scenario", "region", "variable", "unit")
LONG_COLUMNS: tuple[str, ...] = (*IAMC_COLUMNS, "year", "value")

_SNIFF_BYTES = 8192
_YEAR_RE = re.compile(r"^\d{4}$")
_PHASE_RE = re.compile(r"\bphase\s*([0-9]+|[ivx]+)\b", re.IGNORECASE)
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7, "viii": 8, "ix": 9, "x": 10}
# Degree sign lost by an encoding round trip: "2?C" (replaced), "2Â°C" (UTF-8 read as cp1252),
# "2\ufffdC" (undecodable byte). Only repaired right after a digit, where "°C" is the only reading.
_DEGREE_RE = re.compile(r"(?<=\d)\s?(?:\?|Â°|\ufffd)C\b")


# --------------------------------------------------------------------------- text helpers
def repair_text(text: str) -> str:
    """Undo the degree-sign damage seen in Explorer exports (``Below 2?C`` -> ``Below 2°C``)."""
    return _DEGREE_RE.sub("°C", text)


def slugify(text: str) -> str:
    """Lower-case ASCII slug (``"Below 2°C"`` -> ``"below-2c"``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


# --------------------------------------------------------------------------- parsing
@dataclass(frozen=True)
class _Point:
    model: str
    scenario: str
    region: str
    variable: str  # as written (repaired)
    unit: str
    year: int
    value: float
    line: int
    column: str


def _header_index(path: Path, header: list[str], required: tuple[str, ...]) -> dict[str, int]:
    lowered = [h.casefold() for h in header]
    index: dict[str, int] = {}
    for name in required:
        if name not in lowered:
            raise InputFileError(
                path, "missing_column", f"IAMC column {name!r} is missing (header: {header})", 1, name
            )
        if lowered.count(name) > 1:
            raise InputFileError(path, "duplicate_column", f"column {name!r} appears twice", 1, name)
        index[name] = lowered.index(name)
    return index


def _parse(path: Path, text: str) -> tuple[list[_Point], list[str]]:
    """All data points of the file, plus the trailing provenance lines."""
    rows = csv_rows(path, text, strict=False)
    try:
        _, header = next(rows)
    except StopIteration:
        raise InputFileError(path, "empty_file", "the file has no header") from None
    lowered = {h.casefold() for h in header}
    long_layout = {"year", "value"} <= lowered
    index = _header_index(path, header, LONG_COLUMNS if long_layout else IAMC_COLUMNS)

    year_columns: list[tuple[int, int, str]] = []  # (position, year, header text)
    if not long_layout:
        for pos, name in enumerate(header):
            if pos in index.values():
                continue
            if not _YEAR_RE.match(name):
                raise InputFileError(
                    path, "unknown_column", f"column {name!r} is neither an IAMC column nor a year", 1, name
                )
            year = int(name)
            if year_columns and year <= year_columns[-1][1]:
                raise InputFileError(
                    path,
                    "years_not_increasing",
                    f"year {year} follows {year_columns[-1][1]}; year columns must increase",
                    1,
                    name,
                )
            year_columns.append((pos, year, name))
        if not year_columns:
            raise InputFileError(path, "missing_column", "no year columns after the IAMC columns", 1)

    points: list[_Point] = []
    notes: list[str] = []
    note_line: int | None = None
    for line, row in rows:
        if len(row) == 1 or (len(row) < len(header) and sum(bool(c) for c in row) == 1):
            # A one-cell line: provenance text such as the Explorer's copyright note.
            notes.append(next(c for c in row if c))
            note_line = note_line or line
            continue
        if note_line is not None:
            raise InputFileError(
                path, "wrong_field_count", f"data row after the note on line {note_line}", note_line
            )
        if len(row) != len(header):
            raise InputFileError(
                path, "wrong_field_count", f"{len(row)} fields where the header has {len(header)}", line
            )
        keys = {}
        for name in IAMC_COLUMNS:
            cell = repair_text(row[index[name]])
            if not cell:
                raise InputFileError(path, "missing_value", f"{name} is blank", line, header[index[name]])
            keys[name] = cell
        if long_layout:
            year_text = row[index["year"]]
            if not _YEAR_RE.match(year_text):
                raise InputFileError(
                    path, "non_numeric", f"year {year_text!r} is not a 4-digit year", line, header[index["year"]]
                )
            cells = [(int(year_text), row[index["value"]], header[index["value"]])]
        else:
            cells = [(year, row[pos], name) for pos, year, name in year_columns]
        for year, cell, column in cells:
            value = parse_number(path, cell, line, column)
            if value is not None:
                points.append(_Point(**keys, year=year, value=value, line=line, column=column))
    if not points:
        raise InputFileError(path, "empty_file", "the file has a header but no data values")
    return points, notes


def _validate(path: Path, points: list[_Point]) -> dict[_Point, str]:
    """Catalog id of each point; refuses unknown variables, unit mismatches, duplicates, outliers."""
    ids: dict[_Point, str] = {}
    seen: dict[tuple[str, str, str, str, int], int] = {}
    for p in points:
        entry = resolve_variable(path, SOURCE, p.variable, p.unit, p.line)
        # Two IAMC names for one catalog id count as a duplicate too.
        key = (p.model, p.scenario, p.region, entry.id, p.year)
        if key in seen:
            raise InputFileError(
                path,
                "duplicate_row",
                f"({p.model}, {p.scenario}, {p.region}, {p.variable}) {p.year} already given on line {seen[key]}",
                p.line,
                p.column,
            )
        seen[key] = p.line
        if not entry.in_range(p.value):
            raise InputFileError(
                path,
                "out_of_range",
                f"{p.variable} = {p.value:g} outside the plausible range [{entry.minimum:g}, {entry.maximum:g}]",
                p.line,
                p.column,
            )
        ids[p] = entry.id
    return ids


def _phase(notes: list[str]) -> str | None:
    for note in notes:
        match = _PHASE_RE.search(note)
        if match:
            number = match.group(1).lower()
            return f"phase{_ROMAN.get(number, number)}"
    return None


# --------------------------------------------------------------------------- public API
def can_read(path: str | Path) -> bool:
    """Whether ``path`` looks like an IAMC file (header holds model/scenario/region/variable/unit).

    Never raises: a file it cannot open or decode is simply not an NGFS file.
    """
    header = sniff_header(path, _SNIFF_BYTES)
    if header is None:
        return False
    return set(IAMC_COLUMNS) <= {h.casefold() for h in header}


def read(path: str | Path) -> list[MacroScenario]:
    """Read an NGFS/IAMC CSV into one :class:`MacroScenario` per (model, scenario, region).

    Parameters
    ----------
    path
        IAMC wide or long CSV.

    Returns
    -------
    list of MacroScenario
        In order of first appearance in the file; annual values at each year's Q4.

    Raises
    ------
    InputFileError
        When the file breaks one of the rules listed in the module docstring.
    """
    path = Path(path)
    # Excel on Windows writes cp1252; latin-1 would mis-map its euro/degree/quote bytes.
    points, notes = _parse(path, decode_text_file(path, fallback_encoding="cp1252"))
    ids = _validate(path, points)
    catalog = load_variable_catalog()
    phase = _phase(notes)

    groups: dict[tuple[str, str, str], list[_Point]] = {}
    for p in points:
        groups.setdefault((p.model, p.scenario, p.region), []).append(p)
    several_models = len({k[0] for k in groups}) > 1
    several_regions = len({k[2] for k in groups}) > 1
    region_slugs = {k[2]: slugify(k[2].rsplit("|", 1)[-1]) for k in groups}
    if len(set(region_slugs.values())) < len(region_slugs):  # short names clash: use full names
        region_slugs = {r: slugify(r) for r in region_slugs}

    scenarios: list[MacroScenario] = []
    used: set[str] = set()
    for (model, name, region), group in groups.items():
        parts = ["ngfs"]
        if phase:
            parts.append(phase)
        if several_models:
            parts.append(slugify(model))
        if several_regions:
            parts.append(region_slugs[region])
        parts.append(slugify(name))
        scenario_id = "-".join(parts)
        if scenario_id in used:  # pragma: no cover - only if two names slug alike
            raise InputFileError(path, "duplicate_row", f"two scenarios share the id {scenario_id!r}")
        used.add(scenario_id)
        data = pd.DataFrame(
            {
                "scenario_id": scenario_id,
                "quarter": pd.PeriodIndex([pd.Period(year=p.year, quarter=4, freq="Q-DEC") for p in group]),
                "variable": [ids[p] for p in group],
                "value": pd.Series([p.value for p in group], dtype="float64"),
            }
        )[list(TIDY_COLUMNS)]
        data = data.sort_values(["variable", "quarter"], kind="stable").reset_index(drop=True)
        data.attrs = {
            "model": model,
            "region": region,
            "notes": list(notes),
            "iamc_variables": {ids[p]: p.variable for p in group},
        }
        # Canonical (catalog) spelling: the file's unit equals it up to normalize_unit().
        units = {ids[p]: catalog.get(ids[p]).unit for p in group}
        scenarios.append(
            MacroScenario(
                scenario_id=scenario_id,
                data=data,
                source=SOURCE,
                kind="custom",
                name=name,
                vintage=phase,
                jump_off=None,
                files=[str(path)],
                units=units,
            )
        )
    return scenarios


def interpolate_quarterly(scenario: MacroScenario) -> MacroScenario:
    """Fill the quarters between observed points by linear interpolation, per variable.

    Observed values are kept exactly; nothing is extrapolated before a variable's first or
    after its last observation. Quarters are equally spaced, so interpolating on position is
    linear in time (``2027Q2`` is 6/20 of the way from ``2025Q4`` to ``2030Q4``).

    Parameters
    ----------
    scenario
        Typically an annual scenario from :func:`read` (values at Q4); any frequency works.

    Returns
    -------
    MacroScenario
        Same id and metadata, one row per quarter and variable over each variable's span;
        ``data.attrs["interpolated"]`` is ``True``.
    """
    frames = []
    for variable in scenario.variables:
        series = scenario.series(variable)
        full = pd.period_range(series.index.min(), series.index.max(), freq="Q-DEC", name="quarter")
        filled = series.reindex(full).interpolate(method="linear", limit_area="inside")
        frames.append(
            pd.DataFrame(
                {
                    "scenario_id": scenario.scenario_id,
                    "quarter": full,
                    "variable": variable,
                    "value": filled.to_numpy(dtype="float64"),
                }
            )
        )
    data = pd.concat(frames, ignore_index=True)[list(TIDY_COLUMNS)]
    data.attrs = {**scenario.data.attrs, "interpolated": True}
    return MacroScenario(
        scenario_id=scenario.scenario_id,
        data=data,
        source=scenario.source,
        kind=scenario.kind,
        name=scenario.name,
        vintage=scenario.vintage,
        jump_off=scenario.jump_off,
        files=list(scenario.files),
        units=dict(scenario.units),
    )
