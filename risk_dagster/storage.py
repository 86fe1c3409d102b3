"""Atomic writes: a failed run never leaves a half-written or clobbered output.

Everything the system writes to its output folder goes through these helpers: the content is
written to a temporary file in the target folder and then renamed over the target, so the
previous good file stays until a complete new one exists.
"""

from __future__ import annotations

import json
import os
import tempfile
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
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


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
