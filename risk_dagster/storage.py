"""Atomic writes: a failed run never leaves a half-written or clobbered output.

Everything the system writes to its output folder goes through these helpers: the content is
written to a temporary file in the target folder and then renamed over the target, so the
previous good file stays until a complete new one exists.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` and rename the result onto ``path``.

    Parameters
    ----------
    path
        Final location; its folder is created when missing.
    write
        Writes the complete content to the temporary path it is given.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; an output is as readable as any new file
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def replace_folder(tmp: str | Path, target: str | Path) -> Path:
    """Move the complete folder ``tmp`` to ``target``, replacing what was there (the folder write).

    The old folder is renamed aside first and removed only once the new one is in place (put
    back if the second rename fails): a folder is never half-overwritten. ``tmp`` must be on the
    same file system (make it beside ``target``).
    """
    tmp, target = Path(tmp), Path(target)
    if not target.exists():
        os.replace(tmp, target)
        return target
    old = target.with_name(f".{target.name}.{uuid.uuid4().hex}.old")
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return target


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Atomically write bytes (a chart, a PDF)."""
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def write_npz(path: str | Path, **arrays: Any) -> Path:
    """Atomically write numpy arrays as a compressed ``.npz`` (no object arrays: a reader loads it
    with ``allow_pickle=False``)."""
    import numpy as np

    pickled = [name for name, a in arrays.items() if np.asarray(a).dtype == object]
    if pickled:
        raise ValueError(f"{path}: object arrays would be pickled: {pickled}")

    def write(tmp: Path) -> None:
        with tmp.open("wb") as handle:  # a handle: numpy would append .npz to a path without it
            np.savez_compressed(handle, **arrays)

    return atomic_write(path, write)


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write UTF-8 text."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, obj: Any) -> Path:
    """Atomically write indented JSON (non-JSON scalars such as numpy numbers become str)."""
    return write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def write_parquet(path: str | Path, frame: pd.DataFrame) -> Path:
    """Atomically write a DataFrame as parquet (Period columns/indexes stored as strings)."""
    return atomic_write(path, lambda tmp: _periods_to_str(frame).to_parquet(tmp))


def write_csv(path: str | Path, frame: pd.DataFrame, *, index: bool = False) -> Path:
    """Atomically write a DataFrame as CSV (UTF-8, no index unless asked)."""
    return atomic_write(path, lambda tmp: frame.to_csv(tmp, index=index))


def _periods_to_str(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    if isinstance(out.index, pd.PeriodIndex):
        out.index = out.index.astype(str)
    for column in out.columns:
        if isinstance(out[column].dtype, pd.PeriodDtype):
            out[column] = out[column].astype(str)
    return out


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)
