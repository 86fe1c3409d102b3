"""Reader of the EBA/ESRB 2025 scenario in its shipped long layout: the macro block.

The file (``risk_dagster/data/eba/eba2025_macro.csv``, provenance in ``data/PROVENANCE.md``
section 6) has one row per ``scenario, variable, measure, unit, key, tenor, sector, year,
value``. This reader takes the six macro concepts every country block carries and returns them
as the template reader (:mod:`risk_dagster.scenarios.eba`) does: one
:class:`~risk_dagster.scenarios.model.MacroScenario` per scenario (``eba-2025-adverse``,
``eba-2025-baseline``), ``source="eba"``, variable ids ``<catalog id>__<key in lower case>``
(``eba_real_gdp_growth__us``), annual values at each year's Q4, jump-off 2024Q4. The rest of
the file (swap curves, FX, iTraxx, equity and commodity deviations, sector GVA, the starting
points) is left to the euro-area work; rows of those variables are skipped here.

Concepts (file ``variable``/``measure`` -> catalog id of ``variables_eba.yaml``):
``real_gdp``/growth -> ``eba_real_gdp_growth``, ``unemployment_rate``/level ->
``eba_unemployment_rate``, ``hicp``/growth -> ``eba_hicp_inflation``,
``residential_property_prices``/growth -> ``eba_residential_property_prices``,
``commercial_property_prices``/growth -> ``eba_commercial_property_prices``,
``long_term_rate``/level -> ``eba_long_term_rate``. Only the ``adverse`` and ``baseline`` rows
of the projected years are read (``historical`` and ``starting_point`` rows are 2024 values,
the jump-off, which the translation takes from the Fed history).

A file that cannot be read raises :class:`~risk_dagster.errors.InputFileError` naming the file,
line, column and rule (``missing_column``, ``non_numeric``, ``duplicate_row``, ``no_macro_rows``).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from risk_dagster.errors import InputFileError
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.scenarios.textio import sniff_header

__all__ = ["COLUMNS", "CONCEPTS", "can_read", "read", "shipped_file"]

COLUMNS: tuple[str, ...] = ("scenario", "variable", "measure", "unit", "key", "tenor", "sector", "year", "value")
"""Header of the long layout."""

CONCEPTS: dict[tuple[str, str], str] = {
    ("real_gdp", "growth"): "eba_real_gdp_growth",
    ("unemployment_rate", "level"): "eba_unemployment_rate",
    ("hicp", "growth"): "eba_hicp_inflation",
    ("residential_property_prices", "growth"): "eba_residential_property_prices",
    ("commercial_property_prices", "growth"): "eba_commercial_property_prices",
    ("long_term_rate", "level"): "eba_long_term_rate",
}
"""(file variable, measure) -> catalog id of the concept."""

_KINDS = {"adverse": "adverse", "baseline": "baseline"}


def can_read(path: str | Path) -> bool:
    """Whether ``path`` is a CSV with exactly the long layout's header. Never raises."""
    try:
        first = sniff_header(Path(path), 4096)
    except Exception:  # noqa: BLE001 - a file we cannot open is simply not ours
        return False
    return first is not None and [h.strip().casefold() for h in first] == list(COLUMNS)


def shipped_file() -> Path:
    """The shipped 2025 scenario file."""
    return Path(__file__).resolve().parents[1] / "data" / "eba" / "eba2025_macro.csv"


def _error(path: Path, line: int, column: str, rule: str, message: str) -> InputFileError:
    return InputFileError(path, rule, message, row=line, column=column)


def read(path: str | Path | None = None) -> list[MacroScenario]:
    """The adverse and baseline macro blocks of a long-layout EBA file (the shipped one by default)."""
    file = Path(path) if path is not None else shipped_file()
    rows: dict[tuple[str, str, int], float] = {}
    with file.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise _error(file, 1, missing[0], "missing_column", f"the long layout needs the columns {', '.join(COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            concept = CONCEPTS.get((row["variable"], row["measure"]))
            kind = _KINDS.get(row["scenario"])
            if concept is None or kind is None or not row["key"]:
                continue
            try:
                year, value = int(row["year"]), float(row["value"])
            except ValueError:
                raise _error(file, line, "value", "non_numeric", f"year {row['year']!r} / value {row['value']!r}") from None
            if not np.isfinite(value):
                raise _error(file, line, "value", "non_numeric", f"value {row['value']!r} is not a finite number")
            key = (kind, f"{concept}__{row['key'].strip().lower()}", year)
            if key in rows:
                raise _error(file, line, "key", "duplicate_row", f"{kind} {key[1]} {year} appears twice")
            rows[key] = value
    if not rows:
        raise _error(file, 2, "variable", "no_macro_rows", "no adverse or baseline row of the six macro concepts")
    first_year = min(y for _, _, y in rows)
    out: list[MacroScenario] = []
    for kind in ("adverse", "baseline"):
        cells = {(v, y): x for (k, v, y), x in rows.items() if k == kind}
        if not cells:
            continue
        variables = sorted({v for v, _ in cells})
        years = sorted({y for _, y in cells})
        index = pd.PeriodIndex([pd.Period(f"{y}Q4", freq="Q-DEC") for y in years], name="quarter")
        wide = pd.DataFrame(
            {v: [cells.get((v, y), np.nan) for y in years] for v in variables}, index=index, dtype="float64"
        )
        out.append(
            MacroScenario.from_wide(
                f"eba-{first_year}-{kind}",
                wide,
                source="eba",
                kind=kind,
                name=f"EBA/ESRB {first_year} EU-wide stress test, {kind} (macro block)",
                vintage=str(first_year),
                jump_off=pd.Period(f"{first_year - 1}Q4", freq="Q-DEC"),
                files=[str(file)],
                units={v: ("percent" if "unemployment" in v or "long_term" in v else "percent_yoy") for v in variables},
            )
        )
    return out
