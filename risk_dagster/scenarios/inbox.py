"""The scenario inbox: supervisor files dropped in a folder, validated, accepted or rejected.

Layout under the inbox folder (configurable; ``OUTPUT/inbox`` by default)::

    inbox/<file>                 dropped here (only files at the top level are read)
    inbox/accepted/<file>        validated: its scenarios are partitions of the library
    inbox/rejected/<file>        refused, with <file>.error.txt beside it (file, row, column, rule)

A file is validated by the readers and contracts of :func:`~risk_dagster.scenarios.registry.read_scenario_files`
(layout detected, every value checked, a projection long enough for the capital horizon). A file
is identified by its name, size and modification time (:func:`file_key`): the same file dropped
again is not processed twice, an edited one is. Nothing here knows Dagster.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from risk_dagster.errors import InputFileError
from risk_dagster.storage import write_text

ACCEPTED = "accepted"
REJECTED = "rejected"
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


def file_key(path: Path) -> str:
    """``name:size:mtime_ns``: what identifies one version of an inbox file."""
    st = path.stat()
    return f"{path.name}:{st.st_size}:{st.st_mtime_ns}"


def pending(inbox: str | Path, seen: set[str] = frozenset()) -> list[Path]:
    """Scenario files at the top of the inbox not processed yet (by :func:`file_key`), oldest first."""
    folder = Path(inbox)
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
             and p.suffix.lower() in SCENARIO_SUFFIXES and file_key(p) not in seen]  # fmt: skip
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def accepted_files(inbox: str | Path) -> list[str]:
    """Every accepted file (the library reads their scenarios as partitions)."""
    folder = Path(inbox) / ACCEPTED
    return sorted(str(p) for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def process(path: str | Path, inbox: str | Path, *, copy: bool = False) -> InboxOutcome:
    """Validate one file; move it (``copy``: copy it) to ``accepted/`` or, refused, to ``rejected/``.

    The scenario ids are read from the accepted folder as a whole, so a Fed international table
    that arrives after its domestic table joins the same scenario.
    """
    from risk_dagster.scenarios.registry import read_scenario_files

    src, root = Path(path), Path(inbox)
    key = file_key(src)
    try:
        scenarios = read_scenario_files([src])
    except InputFileError as error:
        _move(src, root / REJECTED, copy=copy)
        write_text(root / REJECTED / f"{src.name}.error.txt", f"{error}\n")
        return InboxOutcome(src.name, key, error=str(error))
    target = _move(src, root / ACCEPTED, copy=copy)
    others = [f for f in accepted_files(root) if f != str(target)]
    own = {s.scenario_id for s in scenarios}
    ids = tuple(sorted(s.scenario_id for s in read_scenario_files([*others, str(target)]) if s.scenario_id in own
                       or str(target) in s.files))  # fmt: skip
    return InboxOutcome(src.name, key, scenario_ids=ids)


def _move(src: Path, folder: Path, *, copy: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / src.name
    if target.resolve() == src.resolve():
        return target
    tmp = folder / f".{src.name}.incoming"
    shutil.copy2(src, tmp)
    os.replace(tmp, target)  # the folder never shows a half-copied file
    if not copy:
        src.unlink()
    return target


__all__ = ["ACCEPTED", "REJECTED", "SCENARIO_SUFFIXES", "InboxOutcome", "accepted_files", "file_key", "pending", "process"]
