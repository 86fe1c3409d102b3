"""Errors for bad input: each names the file, and where known the row, column and rule broken.

The command line prints ``str(error)`` as one line on stderr; Dagster assets raise it so the
run fails with the same message and the previous good materialization stays untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(eq=False)
class InputFileError(ValueError):
    """A file that cannot be accepted.

    Parameters
    ----------
    path
        The offending file.
    rule
        Short machine-readable name of the rule broken (``unknown_column``,
        ``non_numeric``, ``out_of_range``, ``duplicate_quarter`` ...).
    message
        What is wrong, in words a user can act on.
    row
        1-based line number in the file (the header is line 1), when one row is at fault.
    column
        Column name (as written in the file), when one column is at fault.
    """

    path: str | Path
    rule: str
    message: str
    row: int | None = None
    column: str | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [str(self.path)]
        if self.row is not None:
            where.append(f"line {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{': '.join(where)}: {self.rule}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        """Structured form for Dagster metadata and JSON output."""
        return {
            "path": str(self.path),
            "rule": self.rule,
            "message": self.message,
            "row": self.row,
            "column": self.column,
        }
