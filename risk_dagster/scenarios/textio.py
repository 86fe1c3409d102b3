"""Text-file plumbing shared by the scenario readers (Fed, NGFS, EBA).

One place for what every CSV reader needs and must do alike:

* :func:`decode_text_file` / :func:`read_text`: bytes -> text with the project's rules (UTF-8,
  BOM allowed; empty, binary, UTF-16/32 and non-UTF-8 files refused with ``empty_file``,
  ``binary_file``, ``undecodable``; HTML/XML/JSON saved as CSV refused with
  ``unrecognised_layout``);
* :func:`sniff_header`: the first CSV row of a file's head, for the readers' ``can_read``;
* :func:`csv_rows`: non-blank CSV rows, cells stripped, each with the 1-based line it starts on;
* :func:`parse_number`: one numeric cell -> ``float`` or ``None`` (missing), ``non_numeric``
  otherwise;
* :func:`normalize_unit`: the comparable form of a unit string, and :func:`resolve_variable`:
  a variable name and unit as written -> the catalog :class:`Variable`.

Where the readers differ on purpose the difference is a parameter: the NGFS and EBA readers
decode non-UTF-8 files as Windows-1252 (``fallback_encoding``), read CSV leniently
(``strict=False``) and take ``NA``/``nan`` as blank (``missing``), while the Fed reader refuses
such markers (``refused_markers``) and accepts ``62,542.9`` from spreadsheet exports
(``grouped=True``).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path

from risk_dagster.errors import InputFileError
from risk_dagster.scenarios.catalog import Variable, load_variable_catalog, normalise_header

#: Cells read as missing by default (case-insensitive): blank, and how pandas and R write NaN.
MISSING_TOKENS = frozenset({"", "nan", "na", "n/a"})

_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_GROUPED_RE = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


# ----------------------------------------------------------------------------- bytes -> text
def decode_text_file(path: str | Path, *, fallback_encoding: str | None = None) -> str:
    """Read a file as UTF-8 text (BOM allowed), refusing what is not text.

    Parameters
    ----------
    path
        File to read.
    fallback_encoding
        Encoding to decode bytes that are not UTF-8 with (undecodable bytes replaced), e.g.
        ``"cp1252"`` for Excel "CSV" saved on Windows; ``None`` refuses them.

    Returns
    -------
    str
        The decoded text, BOM removed.

    Raises
    ------
    InputFileError
        ``empty_file`` (no bytes or only whitespace), ``binary_file`` (NUL bytes, a ZIP or
        Excel workbook), ``undecodable`` (UTF-16/32, or bytes that are not UTF-8 when there
        is no ``fallback_encoding``).
    OSError
        When the file cannot be opened.
    """
    raw = Path(path).read_bytes()
    if not raw:
        raise InputFileError(path, "empty_file", "the file is empty (0 bytes); expected a CSV with a header row")
    if not raw.strip():
        raise InputFileError(path, "empty_file", "the file holds only whitespace; expected a CSV with a header row")
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise InputFileError(path, "undecodable", "the file is UTF-32 encoded; save it as UTF-8 CSV")
    # A ZIP/XLSX has NULs in its header too: name it before the UTF-16 heuristic does.
    if raw.startswith(b"PK\x03\x04"):
        raise InputFileError(
            path, "binary_file", "the file is a ZIP archive or Excel workbook, not a CSV text file"
        )
    if raw.startswith(_UTF16_BOMS) or _looks_utf16(raw):
        raise InputFileError(path, "undecodable", "the file is UTF-16 encoded; save it as UTF-8 CSV")
    nul = raw.find(b"\x00")
    if nul >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise InputFileError(
            path, "binary_file", f"the file is binary (NUL byte at offset {nul}), not a CSV text file", row=line
        )
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if fallback_encoding is not None:
            return raw.decode(fallback_encoding, errors="replace")
        line = raw.count(b"\n", 0, exc.start) + 1
        byte = raw[exc.start]
        raise InputFileError(
            path,
            "undecodable",
            f"byte 0x{byte:02X} at offset {exc.start} is not valid UTF-8 "
            "(Latin-1 / Windows-1252?); save the file as UTF-8",
            row=line,
        ) from None


def _looks_utf16(raw: bytes) -> bool:
    # UTF-16 text without a BOM: ASCII characters leave a NUL in every other byte.
    head = raw[:512]
    if len(head) < 8:
        return False
    even, odd = head[0::2], head[1::2]
    return odd.count(0) > 0.8 * len(odd) or even.count(0) > 0.8 * len(even)


def read_text(path: str | Path) -> str:
    """Decode a file as UTF-8 text and refuse HTML/XML or JSON saved under a CSV name.

    Raises
    ------
    InputFileError
        As :func:`decode_text_file`, or ``unrecognised_layout`` for HTML/XML/JSON content.
    """
    text = decode_text_file(path)
    start = text.lstrip()[:200].lower()
    if start.startswith(("<!doctype", "<html", "<?xml", "<")):
        raise InputFileError(path, "unrecognised_layout", "the file is HTML/XML, not a CSV scenario table", row=1)
    if start.startswith(("{", "[")) and _is_json(text):
        raise InputFileError(path, "unrecognised_layout", "the file is JSON, not a CSV scenario table", row=1)
    return text


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        # A JSON file cut short still opens like one: '{"key"' or '[{'.
        return bool(re.match(r'^\s*(\{\s*"|\[\s*[\[{"\d-])', text))
    return True


# ----------------------------------------------------------------------------- text -> rows
def csv_rows(path: str | Path, text: str, *, strict: bool = True) -> Iterator[tuple[int, list[str]]]:
    """Non-blank CSV rows, cells stripped, each with the 1-based line it starts on.

    Parameters
    ----------
    path
        File the text came from (named in errors).
    text
        Decoded file content.
    strict
        Refuse bad quoting (a quote never closed, text after a closing quote); ``False``
        reads such cells as the ``csv`` module's lenient mode does.

    Raises
    ------
    InputFileError
        ``truncated`` (the data ends inside a quoted cell) or ``bad_quoting``.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=strict)
    next_line = 1
    try:
        for row in reader:
            start, next_line = next_line, reader.line_num + 1
            if any(cell.strip() for cell in row):
                yield start, [cell.strip() for cell in row]
    except csv.Error as exc:
        rule = "truncated" if "end of data" in str(exc) or "EOF" in str(exc) else "bad_quoting"
        raise InputFileError(path, rule, f"the CSV cannot be parsed: {exc}", row=max(reader.line_num, 1)) from None


def sniff_header(path: str | Path, n_bytes: int) -> list[str] | None:
    """First non-blank CSV row of the file's first ``n_bytes``, or ``None`` (never raises).

    ``None`` for a file that cannot be opened, is blank, binary (NUL bytes) or UTF-16.
    """
    try:
        with open(path, "rb") as handle:
            raw = handle.read(n_bytes)
    except OSError:
        return None
    if not raw.strip() or b"\x00" in raw or raw.startswith(_UTF16_BOMS):
        return None
    try:
        first = next(csv_rows(path, raw.decode("utf-8-sig", errors="replace"), strict=False), None)
    except InputFileError:
        return None
    return None if first is None else first[1]


# ----------------------------------------------------------------------------- cells
def parse_number(
    path: str | Path,
    cell: object,
    line: int,
    column: str,
    *,
    missing: frozenset[str] = MISSING_TOKENS,
    refused_markers: frozenset[str] = frozenset(),
    grouped: bool = False,
    label: str | None = None,
) -> float | None:
    """One numeric cell as a finite ``float``, or ``None`` when it is missing.

    Parameters
    ----------
    path, line, column
        Where the cell is, for errors.
    cell
        Text from a CSV, or a workbook value (``None``, ``int``, ``float``, ``str`` ...).
    missing
        Cell texts (case-insensitive, stripped) that mean "no value".
    refused_markers
        Cell texts (case-insensitive) refused as missing-value markers with a "leave the cell
        blank" message, for readers where only a blank cell is missing.
    grouped
        Accept thousands separators (``"62,542.9"`` from a spreadsheet export).
    label
        What the value is (a variable id), added to messages.

    Raises
    ------
    InputFileError
        ``non_numeric`` for text that is not a number, a boolean, or a non-finite number.
    """
    suffix = f" ({label})" if label else ""
    if cell is None:
        return None
    if isinstance(cell, bool):  # bool is an int subclass; TRUE in a cell is not a number
        raise InputFileError(path, "non_numeric", f"{cell!r} is not a number{suffix}", line, column)
    if isinstance(cell, int | float):
        value = float(cell)
    else:
        text = str(cell).strip()
        key = text.casefold()
        if key in missing:
            return None
        if _NUMBER_RE.match(text):
            value = float(text)
        elif grouped and _GROUPED_RE.match(text):
            value = float(text.replace(",", ""))
        elif key in refused_markers:
            raise InputFileError(
                path,
                "non_numeric",
                f"{text!r} used as a missing-value marker{' for ' + label if label else ''}; "
                "leave the cell blank instead",
                line,
                column,
            )
        else:
            raise InputFileError(path, "non_numeric", f"{text!r} is not a number{suffix}", line, column)
    if not math.isfinite(value):
        raise InputFileError(path, "non_numeric", f"{cell!r} is not a finite number{suffix}", line, column)
    return value


# ----------------------------------------------------------------------------- units
def normalize_unit(unit: str) -> str:
    """Comparable form of a unit string (``"US$2010/t CO2"`` -> ``"us_2010_t_co2"``).

    Case, ``%`` versus ``percent``, ``y-o-y`` spellings and punctuation are not meaningful
    differences between files; the numbers (price base years) are.
    """
    text = str(unit).strip().casefold().replace("%", " percent ")
    text = re.sub(r"\by\s*[-/]?\s*o?\s*[-/]?\s*y\b", " yoy ", text)
    return re.sub(r"[^0-9a-z]+", "_", text).strip("_")


def resolve_variable(path: str | Path, source: str, name: str, unit: str, line: int) -> Variable:
    """The ``source`` catalog variable a file's variable name and unit stand for.

    Parameters
    ----------
    path, line
        Where the name is, for errors.
    source
        Catalog source (``ngfs``, ``eba``); only its entries are looked up, through
        :meth:`~risk_dagster.scenarios.catalog.VariableCatalog.lookup`.
    name, unit
        As written in the file; the unit must equal the catalog's after :func:`normalize_unit`.

    Raises
    ------
    InputFileError
        ``unknown_variable`` (column ``Variable``) or ``unit_mismatch`` (column ``Unit``).
    """
    var = load_variable_catalog().lookup(source).get(normalise_header(name))
    if var is None:
        raise InputFileError(
            path,
            "unknown_variable",
            f"variable {name!r} is not in the {source.upper()} variable catalog (variables_{source}.yaml)",
            line,
            "Variable",
        )
    if normalize_unit(unit) != normalize_unit(var.unit):
        raise InputFileError(
            path, "unit_mismatch", f"{name!r} is in {unit!r}; the catalog expects {var.unit!r}", line, "Unit"
        )
    return var
