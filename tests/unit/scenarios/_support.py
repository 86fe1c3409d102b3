"""Helpers shared by the reader tests: write a variant of a file, expect its refusal."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from risk_dagster.errors import InputFileError


def file_writer(default_name: str) -> Callable[..., Path]:
    """``write(tmp_path, text, name=default_name)``: the text saved as UTF-8, its path returned."""

    def write(tmp_path: Path, text: str, name: str = default_name) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def refusal_of(read: Callable[[Path], object]) -> Callable[[Path], InputFileError]:
    """``refused(path)``: the InputFileError ``read(path)`` raises, checked to name the file."""

    def refused(path: Path) -> InputFileError:
        with pytest.raises(InputFileError) as info:
            read(path)
        assert path.name in str(info.value)
        return info.value

    return refused
