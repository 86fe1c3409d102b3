"""A drop folder: files validated, then moved to ``accepted/`` or, refused, to ``rejected/`` with the error.

Layout under an inbox folder::

    <inbox>/<file>                 dropped here (only files at the top level are read)
    <inbox>/accepted/<file>        validated
    <inbox>/rejected/<file>        refused, with <file>.error.txt beside it (file, row, column, rule)

A file is identified by its name, size and modification time (:func:`file_key`): the same file
dropped again is not processed twice, an edited one is. Moves are atomic (copy to a hidden name,
then rename), so the accepted folder never shows a half-copied file. Used by the scenario inbox
(:mod:`risk_dagster.scenarios.inbox`) and the market inbox (:mod:`risk_dagster.market.snapshot`).
Nothing here knows Dagster.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from risk_dagster.errors import InputFileError
from risk_dagster.storage import write_text

ACCEPTED = "accepted"
REJECTED = "rejected"

T = TypeVar("T")


def file_key(path: Path) -> str:
    """``name:size:mtime_ns``: what identifies one version of an inbox file."""
    st = path.stat()
    return f"{path.name}:{st.st_size}:{st.st_mtime_ns}"


def pending(inbox: str | Path, suffixes: Iterable[str], seen: set[str] = frozenset()) -> list[Path]:
    """Files at the top of the inbox with one of ``suffixes``, not processed yet (by
    :func:`file_key`), oldest first; hidden files and other suffixes (a README, a partial download)
    are left where they are."""
    folder = Path(inbox)
    if not folder.is_dir():
        return []
    allowed = {s.lower() for s in suffixes}
    files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
             and p.suffix.lower() in allowed and file_key(p) not in seen]  # fmt: skip
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def triage(src: Path, inbox: str | Path, validate: Callable[[Path], T], *, copy: bool = False) -> tuple[Path, T | None, str | None]:
    """Validate ``src`` and move (``copy``: copy) it to ``accepted/`` or ``rejected/``.

    Returns
    -------
    tuple
        ``(where it went, what validate returned or None, the error or None)``. A refused file
        gets ``<file>.error.txt`` beside it; only :class:`~risk_dagster.errors.InputFileError`
        refuses a file, anything else is a bug and propagates.
    """
    root = Path(inbox)
    try:
        value = validate(src)
    except InputFileError as error:
        target = move(src, root / REJECTED, copy=copy)
        write_text(root / REJECTED / f"{src.name}.error.txt", f"{error}\n")
        return target, None, str(error)
    return move(src, root / ACCEPTED, copy=copy), value, None


def move(src: Path, folder: Path, *, copy: bool = False) -> Path:
    """Move (or copy) ``src`` into ``folder`` atomically; the target when it is already there."""
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


def accepted_files(inbox: str | Path) -> list[str]:
    """Every accepted file, sorted by name."""
    folder = Path(inbox) / ACCEPTED
    return sorted(str(p) for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")) if folder.is_dir() else []
