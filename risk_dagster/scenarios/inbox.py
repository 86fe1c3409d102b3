"""The scenario inbox: supervisor files dropped in a folder, validated, accepted or rejected.

Layout and file identity as :mod:`risk_dagster.inbox` (``OUTPUT/inbox`` by default): a file is
validated by the readers and contracts of :func:`~risk_dagster.scenarios.registry.read_scenario_files`
(layout detected, every value checked, a projection long enough for the capital horizon); an
accepted file's scenarios are partitions of the library. Nothing here knows Dagster.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from risk_dagster import inbox as drop_folder
from risk_dagster.inbox import ACCEPTED, REJECTED, accepted_files, file_key

SCENARIO_SUFFIXES = (".csv", ".xlsx", ".xls", ".parquet")
"""Files the inbox reads (others, such as a README or a partial download, are left where they are)."""


@dataclass(frozen=True)
class InboxOutcome:
    """What became of one inbox file: accepted with its scenario ids, or rejected with the error."""

    name: str
    key: str
    scenario_ids: tuple[str, ...] = ()
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.error is None


def pending(inbox: str | Path, seen: set[str] = frozenset()) -> list[Path]:
    """Scenario files at the top of the inbox not processed yet (by :func:`file_key`), oldest first."""
    return drop_folder.pending(inbox, SCENARIO_SUFFIXES, seen)


def process(path: str | Path, inbox: str | Path, *, copy: bool = False) -> InboxOutcome:
    """Validate one file; move it (``copy``: copy it) to ``accepted/`` or, refused, to ``rejected/``.

    The scenario ids are read from the accepted folder as a whole, so a Fed international table
    that arrives after its domestic table joins the same scenario.
    """
    from risk_dagster.scenarios.registry import read_scenario_files

    src, root = Path(path), Path(inbox)
    key = file_key(src)
    target, scenarios, error = drop_folder.triage(src, root, lambda p: read_scenario_files([p]), copy=copy)
    if error is not None:
        return InboxOutcome(src.name, key, error=error)
    others = [f for f in accepted_files(root) if f != str(target)]
    own = {s.scenario_id for s in scenarios}
    ids = tuple(sorted(s.scenario_id for s in read_scenario_files([*others, str(target)]) if s.scenario_id in own
                       or str(target) in s.files))  # fmt: skip
    return InboxOutcome(src.name, key, scenario_ids=ids)


__all__ = ["ACCEPTED", "REJECTED", "SCENARIO_SUFFIXES", "InboxOutcome", "accepted_files", "file_key", "pending", "process"]
