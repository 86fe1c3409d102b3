"""Reader of the EBA/ESRB 2025 scenario in its shipped long layout: macro and market blocks.

The file (``risk_dagster/data/eba/eba2025_macro.csv``, provenance in ``data/PROVENANCE.md``
section 6) has one row per ``scenario, variable, measure, unit, key, tenor, sector, year,
value``. This reader returns, as the template reader (:mod:`risk_dagster.scenarios.eba`) does,
one :class:`~risk_dagster.scenarios.model.MacroScenario` per scenario (``eba-2025-adverse``,
``eba-2025-baseline``), ``source="eba"``, variable ids ``<catalog id>__<key>`` with the key in
snake case (``eba_real_gdp_growth__us``, ``eba_swap_rate__eur_10y``,
``eba_stock_price_deviation__european_union``, ``eba_fx_rate__eur_usd``, ``eba_itraxx__overall_5y``),
annual values at each year's Q4, jump-off 2024Q4.

Concepts (file ``variable``/``measure`` -> catalog id of ``variables_eba.yaml``):

======================================  ===============================  ==========================
file variable / measure                 catalog id                       key of the id
======================================  ===============================  ==========================
real_gdp / growth                       eba_real_gdp_growth              country or area
unemployment_rate / level               eba_unemployment_rate            country or area
hicp / growth                           eba_hicp_inflation               country or area
residential_property_prices / growth    eba_residential_property_prices  country or area
commercial_property_prices / growth     eba_commercial_property_prices   country or area
long_term_rate / level                  eba_long_term_rate               country or area
swap_rate / level                       eba_swap_rate                    currency_tenor (eur_10y)
stock_prices / deviation_from_start     eba_stock_price_deviation        market (european_union)
fx_rate / level                         eba_fx_rate                      pair (eur_usd)
itraxx / level                          eba_itraxx                       index (overall_5y)
======================================  ===============================  ==========================

Quirks of the publication, and how they are read:

* **Starting points.** Rates have two 2024 rows: ``starting_point`` (the level at the end of
  2024) and ``starting_point_average`` (the 2024 average). The end-2024 level is the jump-off
  (the projection starts from it), so the ``starting_point`` row is kept as the value at the
  jump-off quarter 2024Q4; the average is not read. FX and iTraxx give a ``historical`` 2024
  row, kept at 2024Q4 the same way, and so do the macro concepts (2024 growth rates, the 2024
  unemployment rate; commercial property has none). The translation takes the jump-off of the
  Fed's canonical variables from the Fed history (:mod:`risk_dagster.translate.conditioning`);
  the euro-area credit drivers start from these 2024 values (:mod:`risk_dagster.capital.eba_credit`).
* **Stock prices** are given for the adverse scenario only, as the percent deviation of each
  year from the starting point (not a growth rate and not a level); the baseline fixes no equity
  path. Their unit is ``percent_deviation_from_start``.
* **FX** levels are national currency per euro (EUR/USD 1.08 = USD per EUR) and are flat in
  both scenarios at the 2024 value: the EBA does not shock exchange rates.
* Commodities and sector GVA are not read (no factor of the catalog is fixed by them).

A file that cannot be read raises :class:`~risk_dagster.errors.InputFileError` naming the file,
line, column and rule (``missing_column``, ``non_numeric``, ``duplicate_row``, ``no_macro_rows``).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from risk_dagster.errors import InputFileError
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.scenarios.textio import sniff_header

__all__ = ["COLUMNS", "CONCEPTS", "MARKET_CONCEPTS", "UNITS", "can_read", "read", "shipped_file", "variable_key"]

COLUMNS: tuple[str, ...] = ("scenario", "variable", "measure", "unit", "key", "tenor", "sector", "year", "value")
"""Header of the long layout."""

CONCEPTS: dict[tuple[str, str], str] = {
    ("real_gdp", "growth"): "eba_real_gdp_growth",
    ("unemployment_rate", "level"): "eba_unemployment_rate",
    ("hicp", "growth"): "eba_hicp_inflation",
    ("residential_property_prices", "growth"): "eba_residential_property_prices",
    ("commercial_property_prices", "growth"): "eba_commercial_property_prices",
    ("long_term_rate", "level"): "eba_long_term_rate",
    ("swap_rate", "level"): "eba_swap_rate",
    ("stock_prices", "deviation_from_start"): "eba_stock_price_deviation",
    ("fx_rate", "level"): "eba_fx_rate",
    ("itraxx", "level"): "eba_itraxx",
}
"""(file variable, measure) -> catalog id of the concept."""

MARKET_CONCEPTS: frozenset[str] = frozenset({"eba_long_term_rate", "eba_swap_rate", "eba_fx_rate", "eba_itraxx"})
"""Concepts whose 2024 starting point is kept at the jump-off quarter (module docstring)."""

UNITS: dict[str, str] = {
    "eba_real_gdp_growth": "percent_yoy",
    "eba_unemployment_rate": "percent",
    "eba_hicp_inflation": "percent_yoy",
    "eba_residential_property_prices": "percent_yoy",
    "eba_commercial_property_prices": "percent_yoy",
    "eba_long_term_rate": "percent",
    "eba_swap_rate": "percent",
    "eba_stock_price_deviation": "percent_deviation_from_start",
    "eba_fx_rate": "national_currency_per_eur",
    "eba_itraxx": "bp",
}
"""Unit of each concept's values."""

_KINDS = {"adverse": "adverse", "baseline": "baseline"}
_STARTING_ROWS = {"eba_long_term_rate": "starting_point", "eba_swap_rate": "starting_point",
                  "eba_fx_rate": "historical", "eba_itraxx": "historical",
                  **{c: "historical" for c in ("eba_real_gdp_growth", "eba_unemployment_rate", "eba_hicp_inflation",
                                                "eba_residential_property_prices", "eba_commercial_property_prices")}}  # fmt: skip


def variable_key(concept: str, key: str, tenor: str = "") -> str:
    """Suffix of a variable id: the file's key (and tenor) in snake case.

    ``("eba_swap_rate", "EUR", "10Y")`` -> ``eur_10y``; ``"EUR/USD"`` -> ``eur_usd``;
    ``"iTraxx Overall 5y"`` -> ``overall_5y``; ``"European Union"`` -> ``european_union``.
    """
    text = key.strip()
    if concept == "eba_itraxx" and text.lower().startswith("itraxx "):
        text = text[len("itraxx ") :]
    if tenor:
        text = f"{text} {tenor.strip()}"
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


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
    starts: set[tuple[str, str, int]] = set()
    with file.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise _error(file, 1, missing[0], "missing_column", f"the long layout needs the columns {', '.join(COLUMNS)}")
        for line, row in enumerate(reader, start=2):
            concept = CONCEPTS.get((row["variable"], row["measure"]))
            if concept is None or not row["key"]:
                continue
            starting = row["scenario"] == _STARTING_ROWS.get(concept)
            kinds = ("adverse", "baseline") if starting else ((_KINDS[row["scenario"]],) if row["scenario"] in _KINDS else ())
            if not kinds:
                continue
            try:
                year, value = int(row["year"]), float(row["value"])
            except ValueError:
                raise _error(file, line, "value", "non_numeric", f"year {row['year']!r} / value {row['value']!r}") from None
            if not np.isfinite(value):
                raise _error(file, line, "value", "non_numeric", f"value {row['value']!r} is not a finite number")
            variable = f"{concept}__{variable_key(concept, row['key'], row.get('tenor') or '')}"
            for kind in kinds:
                key = (kind, variable, year)
                if key in rows:
                    raise _error(file, line, "key", "duplicate_row", f"{kind} {variable} {year} appears twice")
                rows[key] = value
                if starting:
                    starts.add(key)
    if not rows:
        raise _error(file, 2, "variable", "no_macro_rows", "no adverse or baseline row of the concepts read")
    # the first projected year; the starting-point rows sit at the year before it (the jump-off)
    projected = [y for key, y in ((k, k[2]) for k in rows) if key not in starts]
    if not projected:
        raise _error(file, 2, "scenario", "no_macro_rows", "no adverse or baseline row of a projected year")
    first_year = min(projected)
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
                name=f"EBA/ESRB {first_year} EU-wide stress test, {kind}",
                vintage=str(first_year),
                jump_off=pd.Period(f"{first_year - 1}Q4", freq="Q-DEC"),
                files=[str(file)],
                units={v: UNITS[v.split("__", 1)[0]] for v in variables},
            )
        )
    return out
