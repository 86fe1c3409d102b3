"""The canonical macro scenario object shared by every reader and every consumer.

A :class:`MacroScenario` is a tidy frame ``scenario_id, quarter (Period[Q-DEC]), variable,
value`` plus metadata. Variable ids are the canonical snake_case ids of the variable catalog
(``data_contracts/catalogs/variables_*.yaml``). Missing observations (for example a
series that had not started yet) are simply absent rows, never zeros.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

ScenarioKind = Literal["historic", "baseline", "adverse", "severely_adverse", "custom"]
ScenarioScope = Literal["domestic", "international", "combined", "regional", "climate"]

SCENARIO_KINDS: tuple[str, ...] = ("historic", "baseline", "adverse", "severely_adverse", "custom")
TIDY_COLUMNS: tuple[str, ...] = ("scenario_id", "quarter", "variable", "value")
CAPITAL_HORIZON_QUARTERS = 9
"""The planning horizon of a supervisory stress test: the nine quarters PQ1-PQ9 after the
jump-off (12 CFR 225.8, the Fed's capital plan rule; the Fed's files carry 13 quarters). A
projection shorter than this cannot be used for capital."""


def horizon_quarters(jump_off: pd.Period | None, first: pd.Period, last: pd.Period) -> int:
    """Quarters a projection spans after its jump-off (its first quarter's predecessor if unknown).

    Annual paths (EBA, NGFS: values at Q4) count every quarter they span, so the EBA's
    2025-2027 path from the 2024 jump-off spans 12.
    """
    start = jump_off if jump_off is not None else first - 1
    return int(last.ordinal - start.ordinal)


@dataclass
class MacroScenario:
    """One regulatory (or user) macro scenario.

    Attributes
    ----------
    scenario_id
        Partition key, e.g. ``fed-2026-severely-adverse``.
    data
        Tidy frame with columns :data:`TIDY_COLUMNS`; ``quarter`` is a ``Period[Q-DEC]``
        column, ``value`` float64, one row per (quarter, variable) observed.
    source
        Publisher: ``fed``, ``eba``, ``ngfs`` or ``user``.
    vintage
        Publication vintage when it can be told (``2026``, ``2026-proposed``), else ``None``.
    kind
        ``historic``, ``baseline``, ``adverse``, ``severely_adverse`` or ``custom``.
    name
        Name as published (``Supervisory Severely Adverse``).
    jump_off
        Last actual quarter before the scenario's first projected quarter, when known.
    files
        The files the scenario was read from.
    units
        Unit of each variable present (``percent``, ``index``, ``usd_per_eur`` ...).
    """

    scenario_id: str
    data: pd.DataFrame
    source: str
    kind: str
    name: str
    vintage: str | None = None
    jump_off: pd.Period | None = None
    files: list[str] = field(default_factory=list)
    units: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in TIDY_COLUMNS if c not in self.data.columns]
        if missing:
            raise ValueError(f"MacroScenario {self.scenario_id!r} data lacks columns {missing}")
        if self.kind not in SCENARIO_KINDS:
            raise ValueError(f"MacroScenario {self.scenario_id!r}: unknown kind {self.kind!r}")
        if self.data.duplicated(["quarter", "variable"]).any():
            raise ValueError(f"MacroScenario {self.scenario_id!r} has duplicate (quarter, variable) rows")

    # ----------------------------------------------------------------- views
    @property
    def variables(self) -> list[str]:
        """Canonical ids of the variables present, in catalog order of first appearance."""
        return list(dict.fromkeys(self.data["variable"]))

    @property
    def quarters(self) -> pd.PeriodIndex:
        """Sorted quarters covered."""
        return pd.PeriodIndex(sorted(self.data["quarter"].unique()), freq="Q-DEC")

    @property
    def first_quarter(self) -> pd.Period:
        return self.quarters[0]

    @property
    def last_quarter(self) -> pd.Period:
        return self.quarters[-1]

    def wide(self, variables: Sequence[str] | None = None) -> pd.DataFrame:
        """Quarter x variable frame (``NaN`` where not observed)."""
        frame = self.data.pivot(index="quarter", columns="variable", values="value")
        frame.index = pd.PeriodIndex(frame.index, freq="Q-DEC", name="quarter")
        frame = frame.sort_index()
        frame.columns.name = None
        order = list(variables) if variables is not None else self.variables
        return frame.reindex(columns=order)

    def series(self, variable: str) -> pd.Series:
        """One variable as a quarter-indexed series."""
        sub = self.data[self.data["variable"] == variable]
        if sub.empty:
            raise KeyError(f"{self.scenario_id}: no variable {variable!r}")
        return pd.Series(
            sub["value"].to_numpy(dtype=float),
            index=pd.PeriodIndex(sub["quarter"], freq="Q-DEC", name="quarter"),
            name=variable,
        ).sort_index()

    def summary(self) -> dict[str, object]:
        """Plain-JSON summary used by the CLI, run summaries and Dagster metadata."""
        return {
            "scenario_id": self.scenario_id,
            "source": self.source,
            "kind": self.kind,
            "name": self.name,
            "vintage": self.vintage,
            "jump_off": str(self.jump_off) if self.jump_off is not None else None,
            "first_quarter": str(self.first_quarter),
            "last_quarter": str(self.last_quarter),
            "n_quarters": len(self.quarters),
            "variables": self.variables,
            "files": list(self.files),
        }

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_wide(
        cls,
        scenario_id: str,
        wide: pd.DataFrame,
        **metadata: object,
    ) -> MacroScenario:
        """Build from a quarter-indexed wide frame; NaN cells become absent rows."""
        index = pd.PeriodIndex(wide.index, freq="Q-DEC", name="quarter")
        long = (
            wide.set_axis(index, axis=0)
            .rename_axis(columns="variable")
            .stack(future_stack=True)
            .rename("value")
            .reset_index()
        )
        long = long.dropna(subset=["value"])
        long.insert(0, "scenario_id", scenario_id)
        long["value"] = long["value"].astype("float64")
        long = long[list(TIDY_COLUMNS)].reset_index(drop=True)
        return cls(scenario_id=scenario_id, data=long, **metadata)  # type: ignore[arg-type]


def combine(
    scenario_id: str,
    parts: Iterable[MacroScenario],
    **overrides: object,
) -> MacroScenario:
    """Merge parts of one scenario (e.g. the Fed's domestic and international tables).

    Metadata is taken from the first part unless overridden; a variable present in two parts
    for the same quarter is an error.
    """
    parts = list(parts)
    if not parts:
        raise ValueError("combine() needs at least one part")
    data = pd.concat([p.data.assign(scenario_id=scenario_id) for p in parts], ignore_index=True)
    first = parts[0]
    metadata: dict[str, object] = {
        "source": first.source,
        "kind": first.kind,
        "name": first.name,
        "vintage": first.vintage,
        "jump_off": first.jump_off,
        "files": [f for p in parts for f in p.files],
        "units": {k: v for p in parts for k, v in p.units.items()},
    }
    metadata.update(overrides)
    return MacroScenario(scenario_id=scenario_id, data=data, **metadata)  # type: ignore[arg-type]
