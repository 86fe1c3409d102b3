"""Loaders for the shipped market and macro-financial history, one typed function per source.

Every loader returns a frame at the source's native frequency with a ``date`` column
(``datetime64``) first, then one column per series, rows sorted oldest first, missing values
as ``NaN`` (never zero). Column names are the source's own (``10 Yr``, ``S&P 500``,
``DEXUSEU``), stripped of padding, so that the data contracts in
``data_contracts/datasets/`` can name them verbatim. A file that breaks a rule is refused
with :class:`risk_dagster.errors.InputFileError` naming the file, line, column and rule.

:func:`to_quarterly` turns any of these frames into a quarter-indexed frame
(``PeriodIndex(freq="Q-DEC", name="quarter")``), and :data:`HISTORY_SOURCES` registers
every loader so that the Dagster layer can iterate over them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from risk_dagster.errors import InputFileError
from risk_dagster.paths import data_dir

__all__ = [
    "ECB_AAA_SERIES",
    "EURIBOR_TENORS",
    "EURIRS_TENORS",
    "FRENCH_COPYRIGHT_PREFIX",
    "FRENCH_INDUSTRIES",
    "HISTORY_SOURCES",
    "OECD_LONG_TERM_RATES",
    "TREASURY_TENORS",
    "HistorySource",
    "QuarterlyHow",
    "apply_fred_transform",
    "load_ecb_aaa_10y",
    "load_euribor",
    "load_eurirs",
    "load_fred_md",
    "load_fred_md_dictionary",
    "load_fred_qd",
    "load_french_industries",
    "load_h10_broad_dollar",
    "load_h10_usdeur",
    "load_nfci",
    "load_oecd_long_term_rates",
    "load_stoxx50e_1986",
    "load_stoxx50e_2007",
    "load_treasury_curve",
    "load_usrec",
    "load_wti",
    "repair_scrape",
    "to_quarterly",
]

TREASURY_TENORS: tuple[str, ...] = (
    "1 Mo", "2 Mo", "3 Mo", "4 Mo", "6 Mo", "1 Yr", "2 Yr", "3 Yr", "5 Yr", "7 Yr", "10 Yr",
    "20 Yr", "30 Yr",
)  # fmt: skip
"""Tenor columns of the Treasury daily par yield curve file, as written there."""

FRENCH_INDUSTRIES: tuple[str, ...] = (
    "NoDur", "Durbl", "Manuf", "Enrgy", "Chems", "BusEq", "Telcm", "Utils", "Shops", "Hlth",
    "Money", "Other",
)  # fmt: skip
"""The 12 Fama-French industries, as written in the file (``Hlth `` is padded there)."""

FRENCH_COPYRIGHT_PREFIX = "Copyright"
FRENCH_BLOCK_TITLE = "Average Value Weighted Returns -- Monthly"
FRENCH_MISSING = (-99.99, -999.0)

QuarterlyHow = Literal["last", "mean", "compound", "max", "min", "sum"]
_HOWS: frozenset[str] = frozenset({"last", "mean", "compound", "max", "min", "sum"})


def _shipped(*parts: str) -> Path:
    return data_dir().joinpath(*parts)


# --------------------------------------------------------------------------- helpers
def _require_file(path: Path) -> None:
    if not path.is_file():
        raise InputFileError(path, "missing_file", "file not found (nothing is downloaded at run time)")


def _read_text(path: Path, encoding: str = "utf-8") -> str:
    _require_file(path)
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise InputFileError(path, "bad_encoding", f"not {encoding} text: {exc}") from exc


def _read_csv_str(path: Path, **kwargs: object) -> pd.DataFrame:
    """Read every cell as a string (blanks as NaN) so validation sees what was written."""
    _require_file(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], **kwargs)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputFileError(path, "unparseable_csv", str(exc)) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _check_columns(path: Path, frame: pd.DataFrame, required: tuple[str, ...] | list[str]) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputFileError(
            path, "missing_column", f"expected column(s) {missing}; found {list(frame.columns)}", row=1
        )
    dupes = frame.columns[frame.columns.duplicated()].tolist()
    if dupes:
        raise InputFileError(path, "duplicate_column", f"column(s) {dupes} appear twice", row=1)


def _parse_dates(
    path: Path, raw: pd.Series, fmt: str, first_line: int, column: str = "date"
) -> pd.Series:
    """Parse ``raw`` with ``fmt``; the first unparseable value is reported with its line."""
    text = raw.astype("string").str.strip()
    dates = pd.to_datetime(text, format=fmt, errors="coerce")
    bad = dates.isna()
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputFileError(
            path, "bad_date", f"{text.iloc[pos]!r} is not a date in format {fmt!r}",
            row=first_line + pos, column=column,
        )  # fmt: skip
    return dates.astype("datetime64[ns]")


def _to_numeric(
    path: Path,
    frame: pd.DataFrame,
    columns: list[str] | tuple[str, ...],
    first_line: int,
    *,
    bounds: Mapping[str, tuple[float, float]] | tuple[float, float] | None = None,
    missing: tuple[float, ...] = (),
) -> pd.DataFrame:
    """Convert string cells to float64, refusing text and out-of-range values.

    Blank cells become NaN, as do the source's documented missing-value sentinels.
    ``first_line`` is the file line of the frame's first row (header = line 1).
    """
    out = {}
    for col in columns:
        raw = frame[col].astype("string").str.strip()
        raw = raw.mask(raw == "")
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna() & raw.notna()
        if bad.any():
            pos = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputFileError(
                path, "non_numeric", f"{raw.iloc[pos]!r} is not a number",
                row=first_line + pos, column=col,
            )  # fmt: skip
        values = values.astype("float64")
        for sentinel in missing:
            values = values.mask(np.isclose(values, sentinel))
        if bounds is not None:
            lo, hi = bounds.get(col, (-math.inf, math.inf)) if isinstance(bounds, Mapping) else bounds
            outside = (values < lo) | (values > hi)
            if outside.any():
                pos = int(np.flatnonzero(outside.to_numpy())[0])
                raise InputFileError(
                    path, "out_of_range", f"{values.iloc[pos]} is outside [{lo}, {hi}]",
                    row=first_line + pos, column=col,
                )  # fmt: skip
        out[col] = values.to_numpy()
    return pd.DataFrame(out, index=frame.index)


def _finish(path: Path, dates: pd.Series, values: pd.DataFrame, first_line: int) -> pd.DataFrame:
    """Assemble ``date`` + series, refuse duplicate dates, sort oldest first."""
    dup = dates.duplicated()
    if dup.any():
        pos = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputFileError(
            path, "duplicate_date", f"{dates.iloc[pos].date()} appears more than once",
            row=first_line + pos, column="date",
        )  # fmt: skip
    frame = pd.concat([dates.rename("date").reset_index(drop=True), values.reset_index(drop=True)], axis=1)
    frame = frame.sort_values("date", kind="stable").reset_index(drop=True)
    frame.attrs["path"] = str(path)
    return frame


# --------------------------------------------------------------------------- Treasury
def load_treasury_curve(path: str | Path | None = None) -> pd.DataFrame:
    """Daily U.S. Treasury par yield curve, in percent.

    Parameters
    ----------
    path
        CSV in the Treasury's layout (``Date`` then ``1 Mo`` ... ``30 Yr``); defaults to the
        shipped ``market/yield-curve-rates-1990-2024.csv``.

    Returns
    -------
    pandas.DataFrame
        ``date`` plus the 13 tenor columns of :data:`TREASURY_TENORS`, oldest first. Tenors
        not published on a day (1M before 2001-07-31, 30Y from 2002-02-19 to 2006-02-08 ...)
        are NaN; rows with no value at all (2010-10-11) are dropped.
    """
    path = Path(path) if path is not None else _shipped("market", "yield-curve-rates-1990-2024.csv")
    raw = _read_csv_str(path)
    _check_columns(path, raw, ("Date", *TREASURY_TENORS))
    # Two-digit years: pandas' %y maps 69-99 to 19xx and 00-68 to 20xx, right for 1990-2024.
    dates = _parse_dates(path, raw["Date"], "%m/%d/%y", first_line=2, column="Date")
    values = _to_numeric(path, raw, TREASURY_TENORS, first_line=2, bounds=(-1.0, 25.0))
    frame = _finish(path, dates, values, first_line=2)
    # A fully blank row is a non-trading day the file kept (Columbus Day 2010), not data.
    return frame[frame[list(TREASURY_TENORS)].notna().any(axis=1)].reset_index(drop=True)


# --------------------------------------------------------------------------- FRED-MD / QD
_FRED_MD_BOUNDS: dict[str, tuple[float, float]] = {
    # Only the columns the risk-factor catalog reads are range-checked here; the others are
    # macro series whose plausibility is the data contract's business.
    "FEDFUNDS": (-1, 25), "TB3MS": (-1, 25), "TB6MS": (-1, 25), "GS1": (-1, 25),
    "GS5": (-1, 25), "GS10": (-1, 25), "AAA": (0, 25), "BAA": (0, 25), "CP3Mx": (-1, 25),
    "S&P 500": (1, 1e5), "OILPRICEx": (0, 500), "VIXCLSx": (1, 150), "EXJPUSx": (10, 1000),
    "EXSZUSx": (0.1, 10), "EXUSUKx": (0.5, 5), "EXCAUSx": (0.5, 3),
}  # fmt: skip


def _fred_database(
    path: Path, code_rows: tuple[str, ...], bounds: Mapping[str, tuple[float, float]]
) -> pd.DataFrame:
    """Shared reader of the McCracken-Ng layout: header, code rows, then dated rows."""
    raw = _read_csv_str(path)
    if raw.columns[0] != "sasdate":
        raise InputFileError(path, "missing_column", f"first column must be 'sasdate', got {raw.columns[0]!r}", row=1)
    _check_columns(path, raw, ("sasdate",))
    series = [c for c in raw.columns[1:]]
    codes: dict[str, pd.Series] = {}
    for i, label in enumerate(code_rows):
        got = str(raw.iloc[i, 0]).strip() if len(raw) > i else ""
        if got.rstrip(":").lower() != label.rstrip(":").lower():
            raise InputFileError(path, "missing_code_row", f"expected a {label!r} row, found {got!r}", row=2 + i)
        codes[label] = _to_numeric(path, raw.iloc[[i]], series, first_line=2 + i).iloc[0]
    first_line = 2 + len(code_rows)
    body = raw.iloc[len(code_rows) :]
    # The ragged edge is a fully blank tail in some exports; a row with no date is dropped.
    body = body[body["sasdate"].notna()]
    dates = _parse_dates(path, body["sasdate"], "%m/%d/%Y", first_line, column="sasdate")
    values = _to_numeric(path, body, series, first_line, bounds=bounds)
    frame = _finish(path, dates, values, first_line)
    for label, row in codes.items():
        key = "transform_codes" if label.lower().startswith("transform") else label.lower()
        frame.attrs[key] = {k: (int(v) if not math.isnan(v) else None) for k, v in row.items()}
    tcodes = frame.attrs["transform_codes"]
    # A blank code (FRED-QD's last column) means 'not published', not an error.
    bad = {k: v for k, v in tcodes.items() if v is not None and v not in range(1, 8)}
    if bad:
        col, code = next(iter(bad.items()))
        raise InputFileError(path, "bad_transform_code", f"tcode {code} is not in 1..7", row=2, column=col)
    return frame


def load_fred_md(path: str | Path | None = None) -> pd.DataFrame:
    """FRED-MD monthly database (McCracken and Ng), raw levels.

    Parameters
    ----------
    path
        CSV in the FRED-MD layout (``sasdate`` header, a ``Transform:`` row of tcodes, then
        months dated ``M/D/YYYY``); defaults to the shipped ``fred/FRED-MD.csv``.

    Returns
    -------
    pandas.DataFrame
        ``date`` (first of the month) plus every series column as written (``S&P 500``,
        ``GS10`` ...), untransformed; the ragged edge of recent months is NaN.
        ``frame.attrs["transform_codes"]`` maps each series to its tcode (1-7); apply them
        with :func:`apply_fred_transform`.
    """
    path = Path(path) if path is not None else _shipped("fred", "FRED-MD.csv")
    return _fred_database(path, ("Transform:",), _FRED_MD_BOUNDS)


def load_fred_qd(path: str | Path | None = None) -> pd.DataFrame:
    """FRED-QD quarterly database (McCracken and Ng), raw levels.

    Parameters
    ----------
    path
        CSV in the FRED-QD layout (``sasdate``, rows ``factors`` and ``transform``, then
        quarters dated by their last month, ``3/1/1959`` = 1959 Q1); defaults to the shipped
        ``fred/FRED-QD.csv``.

    Returns
    -------
    pandas.DataFrame
        ``date`` (first day of the quarter's last month) plus every series column.
        ``frame.attrs["transform_codes"]`` holds the tcodes and ``frame.attrs["factors"]``
        the 0/1 flags of the series McCracken-Ng use in their factor estimates.
    """
    path = Path(path) if path is not None else _shipped("fred", "FRED-QD.csv")
    frame = _fred_database(path, ("factors", "transform"), {"MORTGAGE30US": (0, 25), "GS10": (-1, 25)})
    months = frame["date"].dt.month
    off = ~months.isin([3, 6, 9, 12])
    if off.any():
        pos = int(np.flatnonzero(off.to_numpy())[0])
        raise InputFileError(
            path, "bad_quarter_date", f"{frame['date'].iloc[pos].date()} is not the last month of a quarter",
            column="sasdate",
        )  # fmt: skip
    return frame


def load_fred_md_dictionary(path: str | Path | None = None) -> pd.DataFrame:
    """The FRED-MD appendix: ``id, tcode, fred, description, gsi, gsi:description, group``.

    The file is Windows-1252 encoded (curly apostrophes); the mnemonic ``IPB51222s`` is
    corrected to ``IPB51222S`` as written in the data.
    """
    path = Path(path) if path is not None else _shipped("fred", "FRED-MD_dictionary.csv")
    _require_file(path)
    try:
        frame = pd.read_csv(path, encoding="cp1252")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputFileError(path, "unparseable_csv", str(exc)) from exc
    _check_columns(path, frame, ("id", "tcode", "fred", "description", "group"))
    frame["fred"] = frame["fred"].astype(str).str.strip().replace({"IPB51222s": "IPB51222S"})
    return frame


def apply_fred_transform(series: pd.Series, code: int) -> pd.Series:
    """Apply a McCracken-Ng transformation code to a (time-ordered) series.

    Parameters
    ----------
    series
        Levels, oldest first.
    code
        1 level, 2 first difference, 3 second difference, 4 log, 5 log difference,
        6 second log difference, 7 first difference of the percent change
        ``x_t / x_{t-1} - 1``.

    Returns
    -------
    pandas.Series
        Transformed series on the same index (leading values NaN); the log of a
        non-positive value is NaN rather than an error (e.g. WTI on 2020-04-20).
    """
    code = int(code)
    x = series.astype("float64")
    if code in (4, 5, 6):
        x = np.log(x.where(x > 0))
    if code in (1, 4):
        out = x
    elif code in (2, 5):
        out = x.diff()
    elif code in (3, 6):
        out = x.diff().diff()
    elif code == 7:
        out = (x / x.shift(1) - 1.0).diff()
    else:
        raise ValueError(f"unknown FRED transformation code {code!r}; expected 1..7")
    return out.rename(series.name)


def _french_block(
    path: Path, lines: list[str], block_title: str, *, bounds: tuple[float, float]
) -> tuple[pd.DataFrame, int]:
    """One stacked block of a French data-library file: ``date`` + the 12 industries, and the
    0-based line of its title. The block ends at the first blank line; -99.99/-999 are NaN."""
    title = next((i for i, line in enumerate(lines) if line.strip() == block_title), None)
    if title is None:
        raise InputFileError(path, "missing_block", f"no block titled {block_title!r}")
    header_line = title + 1
    header = [c.strip() for c in lines[header_line].split(",")] if header_line < len(lines) else []
    if header[1:] != list(FRENCH_INDUSTRIES):
        raise InputFileError(
            path, "unexpected_header", f"expected ,{','.join(FRENCH_INDUSTRIES)}; got {header}",
            row=header_line + 1,
        )  # fmt: skip
    rows: list[list[str]] = []
    start = header_line + 1
    for i in range(start, len(lines)):
        line = lines[i].strip()
        if not line:  # the block ends at the first blank line
            break
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(header):
            raise InputFileError(path, "ragged_row", f"{len(cells)} cells, expected {len(header)}", row=i + 1)
        rows.append(cells)
    if not rows:
        raise InputFileError(path, "empty_block", f"block {block_title!r} has no rows", row=title + 1)
    raw = pd.DataFrame(rows, columns=["yyyymm", *FRENCH_INDUSTRIES])
    dates = _parse_dates(path, raw["yyyymm"], "%Y%m", first_line=start + 1, column="yyyymm")
    values = _to_numeric(path, raw, FRENCH_INDUSTRIES, first_line=start + 1, bounds=bounds, missing=FRENCH_MISSING)
    return _finish(path, dates, values, first_line=start + 1), title


def load_french_market_caps(path: str | Path | None = None) -> pd.DataFrame:
    """Monthly market capitalisation of each of the 12 industry portfolios (USD millions).

    ``Number of Firms in Portfolios`` x ``Average Firm Size`` of the same file as
    :func:`load_french_industries`: the weights of the value-weighted portfolios.
    """
    path = Path(path) if path is not None else _shipped("market", "12_Industry_Portfolios.CSV")
    lines = _read_text(path, encoding="latin-1").splitlines()
    firms, _ = _french_block(path, lines, "Number of Firms in Portfolios", bounds=(0.0, 1e7))
    size, _ = _french_block(path, lines, "Average Firm Size", bounds=(0.0, 1e9))
    caps = firms.set_index("date")[list(FRENCH_INDUSTRIES)] * size.set_index("date")[list(FRENCH_INDUSTRIES)]
    return caps.reset_index()


# --------------------------------------------------------------------------- French
def load_french_industries(path: str | Path | None = None) -> pd.DataFrame:
    """Kenneth R. French 12-industry portfolios, average value-weighted monthly returns.

    Parameters
    ----------
    path
        The library's CSV (preamble, stacked blocks, copyright line); defaults to the shipped
        ``market/12_Industry_Portfolios.CSV``. Only the block titled
        ``Average Value Weighted Returns -- Monthly`` is read.

    Returns
    -------
    pandas.DataFrame
        ``date`` (first of the month) plus the 12 industry columns of
        :data:`FRENCH_INDUSTRIES`, returns in percent; the sentinels -99.99 and -999 are NaN.
        ``frame.attrs["copyright"]`` keeps the file's copyright line, which must travel with
        the data.
    """
    path = Path(path) if path is not None else _shipped("market", "12_Industry_Portfolios.CSV")
    lines = _read_text(path, encoding="latin-1").splitlines()
    # A monthly return below -100% is impossible; above +1000% would be a unit error.
    frame, title = _french_block(path, lines, FRENCH_BLOCK_TITLE, bounds=(-100.0, 1000.0))
    copyright_line = next(
        (line.strip() for line in reversed(lines) if line.strip().startswith(FRENCH_COPYRIGHT_PREFIX)), None
    )
    if copyright_line is None:
        raise InputFileError(path, "missing_copyright", "the Kenneth French copyright line must be kept")
    frame.attrs["copyright"] = copyright_line
    frame.attrs["preamble"] = " ".join(line.strip() for line in lines[:title] if line.strip())
    return frame


# --------------------------------------------------------------------------- FRED single series
def _fred_series(path: Path, column: str, bounds: tuple[float, float]) -> pd.DataFrame:
    """A FRED download: ``observation_date`` (or ``DATE``) and one series column."""
    raw = _read_csv_str(path)
    date_col = next((c for c in ("observation_date", "DATE", "date") if c in raw.columns), None)
    if date_col is None:
        raise InputFileError(path, "missing_column", f"no date column; found {list(raw.columns)}", row=1)
    _check_columns(path, raw, (date_col, column))
    dates = _parse_dates(path, raw[date_col], "%Y-%m-%d", first_line=2, column=date_col)
    # Old FRED exports wrote "." for missing; treat it like a blank.
    raw[column] = raw[column].mask(raw[column].astype("string").str.strip() == ".")
    values = _to_numeric(path, raw, (column,), first_line=2, bounds=bounds)
    return _finish(path, dates, values, first_line=2)


def load_h10_usdeur(path: str | Path | None = None) -> pd.DataFrame:
    """U.S. dollars per euro, daily noon buying rate (Federal Reserve H.10 via FRED ``DEXUSEU``).

    Returns ``date``, ``DEXUSEU``; holidays are NaN rows (kept, as published).
    """
    path = Path(path) if path is not None else _shipped("market", "DEXUSEU.csv")
    return _fred_series(path, "DEXUSEU", (0.3, 3.0))


def load_h10_broad_dollar(path: str | Path | None = None) -> pd.DataFrame:
    """Nominal broad U.S. dollar index, goods and services, Jan 2006 = 100 (H.10, ``DTWEXBGS``).

    Returns ``date``, ``DTWEXBGS``.
    """
    path = Path(path) if path is not None else _shipped("market", "DTWEXBGS.csv")
    return _fred_series(path, "DTWEXBGS", (30.0, 300.0))


def load_wti(path: str | Path | None = None) -> pd.DataFrame:
    """WTI crude oil spot price, Cushing, U.S. dollars per barrel, daily (EIA via FRED).

    Returns ``date``, ``DCOILWTICO``. The one negative price (-36.98 on 2020-04-20) is real
    and kept; log returns across it are undefined (NaN) downstream.
    """
    path = Path(path) if path is not None else _shipped("market", "DCOILWTICO.csv")
    return _fred_series(path, "DCOILWTICO", (-100.0, 500.0))


def load_nfci(path: str | Path | None = None) -> pd.DataFrame:
    """Chicago Fed National Financial Conditions Index, weekly (Fridays), ``NFCI``.

    Positive values are tighter-than-average conditions; the series is revised each vintage.
    """
    path = Path(path) if path is not None else _shipped("market", "NFCI.csv")
    return _fred_series(path, "NFCI", (-10.0, 20.0))


def load_usrec(path: str | Path | None = None) -> pd.DataFrame:
    """NBER recession indicator (1 = recession month), monthly, ``USREC``.

    The shipped file starts in 1996-01 only.
    """
    path = Path(path) if path is not None else _shipped("market", "USREC.csv")
    frame = _fred_series(path, "USREC", (0.0, 1.0))
    not_binary = frame["USREC"].notna() & ~frame["USREC"].isin([0.0, 1.0])
    if not_binary.any():
        pos = int(np.flatnonzero(not_binary.to_numpy())[0])
        raise InputFileError(path, "not_binary", f"{frame['USREC'].iloc[pos]} is not 0 or 1", column="USREC")
    return frame


# --------------------------------------------------------------------------- euro area
OECD_LONG_TERM_RATES: tuple[str, ...] = (
    "IRLTLT01DEM156N", "IRLTLT01EZM156N", "IRLTLT01FRM156N", "IRLTLT01GBM156N",
    "IRLTLT01JPM156N", "IRLTLT01CHM156N", "IRLTLT01CAM156N", "IRLTLT01AUM156N",
    "IRLTLT01USM156N",
)  # fmt: skip
"""FRED ids of the OECD long-term (10-year) government bond yields, in column order: Germany,
euro area, France, UK, Japan, Switzerland, Canada, Australia, US."""

EURIBOR_TENORS: tuple[str, ...] = ("1", "3", "6", "12")
"""Euribor tenor columns (months), as written in the scraped file."""

EURIRS_TENORS: tuple[str, ...] = ("10", "15", "20", "25", "30")
"""EUR swap-rate (EURIRS) tenor columns (years), as written in the scraped file."""

ECB_AAA_SERIES = "SR_10Y"
"""Last element of the ECB series key YC.B.U2.EUR.4F.G_N_A.SV_C_YM.SR_10Y (the column name)."""

_SCRAPE_BOUNDS = (-5.0, 25.0)  # physical bounds only: plausibility is the contract's business


def load_oecd_long_term_rates(path: str | Path | None = None) -> pd.DataFrame:
    """Long-term (10-year) government bond yields of nine countries, monthly averages, percent.

    OECD Main Economic Indicators via FRED (``IRLTLT01<country>M156N``), one FRED download per
    country, merged on the date.

    Parameters
    ----------
    path
        Folder holding ``<id>.csv`` for every id of :data:`OECD_LONG_TERM_RATES`; defaults to
        the shipped ``euro/oecd_long_term_rates/``.

    Returns
    -------
    pandas.DataFrame
        ``date`` (first of the month) plus the nine columns of :data:`OECD_LONG_TERM_RATES` in
        that order, oldest first; an outer join, so a series is NaN before it starts (Japan
        from 1989-01, the euro area from 1970-01). ``frame.attrs["path"]`` is the folder.

    Raises
    ------
    InputFileError
        A missing file (named), or a file breaking a rule of :func:`load_h10_usdeur`'s FRED
        layout; a date not on the first of a month (rule ``not_month_start``).
    """
    folder = Path(path) if path is not None else _shipped("euro", "oecd_long_term_rates")
    merged: pd.DataFrame | None = None
    for series in OECD_LONG_TERM_RATES:
        file = folder / f"{series}.csv"
        frame = _fred_series(file, series, (-2.0, 30.0))
        off = frame["date"].dt.day != 1
        if off.any():
            pos = int(np.flatnonzero(off.to_numpy())[0])
            raise InputFileError(
                file, "not_month_start", f"{frame['date'].iloc[pos].date()} is not the first of a month",
                column="observation_date",
            )  # fmt: skip
        merged = frame if merged is None else merged.merge(frame, on="date", how="outer")
    assert merged is not None
    merged = merged.sort_values("date", kind="stable").reset_index(drop=True)[["date", *OECD_LONG_TERM_RATES]]
    merged.attrs = {"path": str(folder)}
    return merged


def load_ecb_aaa_10y(path: str | Path | None = None) -> pd.DataFrame:
    """ECB euro-area yield curve: 10-year spot rate of AAA-rated central government bonds, daily.

    Series ``YC.B.U2.EUR.4F.G_N_A.SV_C_YM.SR_10Y`` (percent), an ECB Data Portal export.

    Parameters
    ----------
    path
        CSV in the export's layout: ``DATE`` (``YYYY-MM-DD``), ``TIME PERIOD`` (``06 Sep
        2004``) and a value column whose long title ends with the series key in parentheses;
        defaults to the shipped ``euro/ecb/ecb_aaa_spot_10y.csv``.

    Returns
    -------
    pandas.DataFrame
        ``date``, ``SR_10Y`` (the value column renamed to the last element of its series
        key), oldest first. ``TIME PERIOD`` is checked to be the same day as ``DATE`` on every
        row and dropped; ``frame.attrs["series_title"]`` keeps the value column's title.

    Raises
    ------
    InputFileError
        Rules of the other loaders, plus ``unexpected_header`` (no ``SR_10Y`` column, or not
        exactly one value column) and ``date_mismatch`` (``TIME PERIOD`` differs from ``DATE``).
    """
    path = Path(path) if path is not None else _shipped("euro", "ecb", "ecb_aaa_spot_10y.csv")
    raw = _read_csv_str(path)
    _check_columns(path, raw, ("DATE", "TIME PERIOD"))
    others = [c for c in raw.columns if c not in ("DATE", "TIME PERIOD")]
    if len(others) != 1 or ECB_AAA_SERIES not in others[0]:
        raise InputFileError(
            path, "unexpected_header",
            f"expected one value column whose title names the series {ECB_AAA_SERIES!r}; found {others}", row=1,
        )  # fmt: skip
    title = others[0]
    key = title[title.rfind("(") + 1 : title.rfind(")")] if title.endswith(")") and "(" in title else title
    name = key.split(".")[-1].strip()
    if name != ECB_AAA_SERIES:
        raise InputFileError(
            path, "unexpected_header", f"the series key {key!r} does not end in {ECB_AAA_SERIES!r}", row=1, column=title
        )  # fmt: skip
    dates = _parse_dates(path, raw["DATE"], "%Y-%m-%d", first_line=2, column="DATE")
    periods = _parse_dates(path, raw["TIME PERIOD"], "%d %b %Y", first_line=2, column="TIME PERIOD")
    differ = (dates != periods).to_numpy()
    if differ.any():
        pos = int(np.flatnonzero(differ)[0])
        raise InputFileError(
            path, "date_mismatch",
            f"TIME PERIOD {raw['TIME PERIOD'].iloc[pos]!r} is not the DATE {raw['DATE'].iloc[pos]!r}",
            row=2 + pos, column="TIME PERIOD",
        )  # fmt: skip
    values = _to_numeric(path, raw, (title,), first_line=2, bounds=(-2.0, 15.0)).rename(columns={title: name})
    frame = _finish(path, dates, values, first_line=2)
    frame.attrs["series_title"] = title
    return frame


def _yahoo_close(path: Path) -> pd.DataFrame:
    """A Yahoo Finance / yfinance daily download: ``Date`` and ``Close`` (other columns dropped)."""
    raw = _read_csv_str(path)
    _check_columns(path, raw, ("Date", "Close"))
    dates = _parse_dates(path, raw["Date"], "%Y-%m-%d", first_line=2, column="Date")
    # Yahoo writes "null" on days it has no price; kept as NaN rows, like FRED's holidays.
    close = raw[["Close"]].copy()
    close["Close"] = close["Close"].mask(close["Close"].astype("string").str.strip().str.lower() == "null")
    values = _to_numeric(path, close, ("Close",), first_line=2, bounds=(100.0, 50_000.0))
    return _finish(path, dates, values, first_line=2)


def load_stoxx50e_1986(path: str | Path | None = None) -> pd.DataFrame:
    """Euro Stoxx 50 daily close, index points, 1986-12-31 to 2019-09-30 (Yahoo Finance archive).

    Demonstration data: the index is STOXX Ltd.'s and Yahoo's terms restrict redistribution
    (see ``data/PROVENANCE.md``).

    Parameters
    ----------
    path
        Yahoo CSV (``Date,Open,High,Low,Close,Adj Close,Volume``); defaults to the shipped
        ``euro/stoxx50e/STOXX50E_1986_2019.csv``.

    Returns
    -------
    pandas.DataFrame
        ``date``, ``Close``, oldest first; the 90 ``null`` rows are NaN rows (kept, as
        published); Open, High, Low, Adj Close and Volume are dropped. No rows between
        2019-05-15 and 2019-09-30; the early years are back-filled history (volume 0).
    """
    path = Path(path) if path is not None else _shipped("euro", "stoxx50e", "STOXX50E_1986_2019.csv")
    return _yahoo_close(path)


def load_stoxx50e_2007(path: str | Path | None = None) -> pd.DataFrame:
    """Euro Stoxx 50 daily close, index points, 2007-03-30 to 2026-02-23 (Yahoo via yfinance).

    Demonstration data under the same terms as :func:`load_stoxx50e_1986`.

    Parameters
    ----------
    path
        yfinance CSV (``Date,Close,High,Low,Open,Volume``); defaults to the shipped
        ``euro/stoxx50e/STOXX50E_2007_2026.csv``.

    Returns
    -------
    pandas.DataFrame
        ``date``, ``Close``, oldest first.
    """
    path = Path(path) if path is not None else _shipped("euro", "stoxx50e", "STOXX50E_2007_2026.csv")
    return _yahoo_close(path)


def _scrape_as_published(path: Path, tenors: tuple[str, ...]) -> pd.DataFrame:
    """The euribor.it scrape AS PUBLISHED: file order, duplicate dates kept, an undated row kept
    with ``NaT``; values numeric within physical bounds only. :func:`repair_scrape` repairs it."""
    raw = _read_csv_str(path)
    _check_columns(path, raw, ("Date", *tenors))
    undated = raw["Date"].isna().to_numpy()
    dates = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")
    if (~undated).any():
        dated = raw.loc[~undated, "Date"]
        parsed = pd.to_datetime(dated.astype("string").str.strip(), format="%Y-%m-%d", errors="coerce")
        bad = parsed.isna().to_numpy()
        if bad.any():  # a written date that is not a date is refused; only a blank one is kept
            pos = int(np.flatnonzero(bad)[0])
            line = 2 + int(raw.index.get_loc(dated.index[pos]))
            raise InputFileError(
                path, "bad_date", f"{dated.iloc[pos]!r} is not a date in format '%Y-%m-%d'", row=line, column="Date"
            )  # fmt: skip
        dates.loc[~undated] = parsed.to_numpy()
    values = _to_numeric(path, raw, tenors, first_line=2, bounds=_SCRAPE_BOUNDS)
    frame = pd.concat([dates.rename("date").reset_index(drop=True), values.reset_index(drop=True)], axis=1)
    frame.attrs["path"] = str(path)
    return frame


def load_euribor(path: str | Path | None = None) -> pd.DataFrame:
    """Euribor 1, 3, 6 and 12 months, daily, percent: a DAMAGED scrape of euribor.it, as published.

    Euribor is EMMI's benchmark. The scraper took the year from the page address, so every
    2023 row is labelled 2024 (many 2024 dates appear twice with different values); one
    August 2021 row is labelled 2021-05-05; rows run newest first but not in order. The
    loader keeps all of it so that the ``euribor`` contract sees the damage; the factor
    history uses :func:`repair_scrape` of it (``HISTORY_SOURCES["euribor"].usable``).

    Parameters
    ----------
    path
        CSV ``Date,1,3,6,12``; defaults to the shipped ``euro/euribor_swaps/euribor.csv``.

    Returns
    -------
    pandas.DataFrame
        ``date``, ``1``, ``3``, ``6``, ``12`` (tenor in months), in FILE order (not sorted),
        duplicate dates kept, a row without a date kept with ``NaT``. Values outside
        (-5, 25) are refused; plausibility is the contract's business.
    """
    path = Path(path) if path is not None else _shipped("euro", "euribor_swaps", "euribor.csv")
    return _scrape_as_published(path, EURIBOR_TENORS)


def load_eurirs(path: str | Path | None = None) -> pd.DataFrame:
    """EUR swap rates (EURIRS) 10, 15, 20, 25 and 30 years, daily, percent: a DAMAGED scrape, as published.

    The same scrape and damage as :func:`load_euribor` (one undated row, a March 2020 row
    labelled 2020-02-05), plus a 25-year value of 10.0 on 2020-06-19 (a typo the
    ``eurirs`` contract and the reliability jump detector catch; :func:`repair_scrape` keeps
    it, as it changes no value).

    Parameters
    ----------
    path
        CSV ``Date,10,15,20,25,30``; defaults to the shipped ``euro/euribor_swaps/eurirs.csv``.

    Returns
    -------
    pandas.DataFrame
        ``date``, ``10``, ``15``, ``20``, ``25``, ``30`` (tenor in years), as published: file
        order, duplicates and the ``NaT`` row kept (see :func:`load_euribor`).
    """
    path = Path(path) if path is not None else _shipped("euro", "euribor_swaps", "eurirs.csv")
    return _scrape_as_published(path, EURIRS_TENORS)


def repair_scrape(frame: pd.DataFrame, *, min_conflicts_per_year: int = 2) -> pd.DataFrame:
    """The documented repair of a scraped daily history before the factor history uses it.

    The data contract judges the frame as published; the factor history and the reliability
    detectors use the rows this returns. No value is changed (a typo stays: catching it is
    the reliability jump detector's job); only rows are dropped and the order fixed:

    a. rows without a date are dropped;
    b. identical duplicate rows (same date, same values) keep one;
    c. a date that still appears twice has two days sharing one label, and which one is
       right cannot be told, so neither is kept. Where a calendar year holds at least
       ``min_conflicts_per_year`` such dates, the year's labels are wrong wholesale (the
       euribor.it scraper labelled every 2023 row 2024): the whole year is dropped, since its
       rows without a twin are mislabelled too. A single conflicting date in a year is one
       mislabelled row (a day/month slip: eurirs' 2020-02-05 sits among the March 2020 rows):
       only its rows are dropped;
    d. rows are sorted oldest first.

    Parameters
    ----------
    frame
        A loader's frame with a ``date`` column (``NaT`` allowed) and value columns.
    min_conflicts_per_year
        Conflicting dates in one calendar year from which the whole year is dropped.

    Returns
    -------
    pandas.DataFrame
        The kept rows, oldest first, index reset, same columns and dtypes.
        ``attrs["repairs"]`` lists what was dropped, one ``{"rule", "rows", "detail"}`` dict
        per rule that dropped rows (``undated``, ``identical_duplicate``,
        ``conflicting_date``, ``mislabelled_year``); ``attrs["path"]`` is kept.
    """
    if "date" not in frame.columns:
        raise ValueError("repair_scrape() needs a 'date' column")
    values = [c for c in frame.columns if c != "date"]
    repairs: list[dict[str, object]] = []
    out = frame.reset_index(drop=True)

    undated = out["date"].isna()
    if undated.any():
        repairs.append({"rule": "undated", "rows": int(undated.sum()), "detail": "rows without a date dropped"})
        out = out[~undated]

    identical = out.duplicated(subset=["date", *values], keep="first")
    if identical.any():
        dates = sorted({d.date().isoformat() for d in out.loc[identical, "date"]})
        repairs.append({
            "rule": "identical_duplicate", "rows": int(identical.sum()),
            "detail": f"repeated rows dropped, one kept: {_listed(dates)}",
        })  # fmt: skip
        out = out[~identical]

    conflicting = out["date"].duplicated(keep=False)
    if conflicting.any():
        per_year = out.loc[conflicting, "date"].drop_duplicates().dt.year.value_counts().sort_index()
        bad_years = [int(y) for y, n in per_year.items() if n >= min_conflicts_per_year]
        if bad_years:
            in_bad = out["date"].dt.year.isin(bad_years)
            detail = "; ".join(
                f"{y}: {int(per_year[y])} dates appear twice with different values, all"
                f" {int((out['date'].dt.year == y).sum())} rows of the year dropped"
                for y in bad_years
            )
            repairs.append({"rule": "mislabelled_year", "rows": int(in_bad.sum()), "detail": detail})
            out = out[~in_bad]
            conflicting = out["date"].duplicated(keep=False)
        if conflicting.any():
            dates = sorted({d.date().isoformat() for d in out.loc[conflicting, "date"]})
            repairs.append({
                "rule": "conflicting_date", "rows": int(conflicting.sum()),
                "detail": f"dates written twice with different values, both rows dropped: {_listed(dates)}",
            })  # fmt: skip
            out = out[~conflicting]

    out = out.sort_values("date", kind="stable").reset_index(drop=True)
    out.attrs = {**frame.attrs, "repairs": repairs}
    return out


def _listed(items: list[str], limit: int = 10) -> str:
    return ", ".join(items[:limit]) + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


# --------------------------------------------------------------------------- quarterly
def to_quarterly(
    frame: pd.DataFrame,
    how: QuarterlyHow | Mapping[str, QuarterlyHow] = "last",
    *,
    complete_only: bool = True,
) -> pd.DataFrame:
    """Aggregate a dated frame to calendar quarters.

    Parameters
    ----------
    frame
        A loader's output: a ``date`` column plus numeric series columns.
    how
        One rule for every column, or a mapping column -> rule (columns not named are
        dropped):

        - ``last``: the last observation of the quarter (quarter-end level);
        - ``mean``, ``max``, ``min``, ``sum``: over the quarter's observations;
        - ``compound``: monthly (or daily) simple returns **in percent** compounded to the
          quarterly **log** return, ``sum(log1p(r / 100))``.
    complete_only
        When true (default), a column's quarter is NaN unless that column has an
        observation in the quarter's last month, and for ``compound`` unless every row of
        the quarter has a value: a ragged edge (a quarter with only its first month
        published) must not pass for a quarter-end value or a full-quarter return.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``PeriodIndex(freq="Q-DEC", name="quarter")``, float64, one column per
        series; quarters with no data are absent, columns without data in a quarter are NaN.
    """
    if "date" not in frame.columns:
        raise ValueError("to_quarterly() needs a 'date' column")
    rules = dict(how) if isinstance(how, Mapping) else {c: how for c in frame.columns if c != "date"}
    unknown = {c: h for c, h in rules.items() if h not in _HOWS}
    if unknown:
        raise ValueError(f"unknown aggregation(s) {unknown}; expected one of {sorted(_HOWS)}")
    missing = [c for c in rules if c not in frame.columns]
    if missing:
        raise KeyError(f"to_quarterly(): no column(s) {missing}")
    dates = pd.to_datetime(frame["date"])
    quarter = pd.PeriodIndex(dates.dt.to_period("Q-DEC"), name="quarter")
    in_last_month = (dates.dt.month % 3 == 0).to_numpy()
    out: dict[str, pd.Series] = {}
    for col, rule in rules.items():
        values = pd.Series(frame[col].to_numpy(dtype="float64"), index=quarter)
        grouped = values.groupby(level=0, sort=True)
        if rule == "compound":
            logret = np.log1p(values / 100.0)
            agg = logret.groupby(level=0, sort=True).sum(min_count=1)
            if complete_only:
                full = grouped.count() == grouped.size()
                agg = agg.where(full)
        elif rule == "last":
            agg = grouped.last()  # last non-NaN value of the quarter
        else:
            agg = getattr(grouped, rule)()
        if complete_only:
            seen_last_month = (
                pd.Series(values.notna().to_numpy() & in_last_month, index=quarter)
                .groupby(level=0, sort=True)
                .any()
            )
            agg = agg.where(seen_last_month)
        out[col] = agg.astype("float64")
    result = pd.DataFrame(out)
    result.index = pd.PeriodIndex(result.index, freq="Q-DEC", name="quarter")
    return result.sort_index()


# --------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class HistorySource:
    """One shipped history dataset and how to load it.

    Attributes
    ----------
    dataset_id
        Dataset id; also the name of its contract ``data_contracts/datasets/<id>.yaml``.
    source
        Publishing source id (``treasury``, ``fred_md``, ``h10`` ...), as in ``sources.yaml``.
    loader
        Function returning the dataset's frame (``date`` + series columns).
    contract
        Contract dataset id (same as ``dataset_id`` today).
    frequency
        Native frequency: ``daily``, ``weekly``, ``monthly`` or ``quarterly``.
    description
        One line for metadata and the documentation pack.
    repair
        Applied to the loaded frame before the factor history and the reliability detectors
        use it; the contract checks the frame as published (``None``: used as loaded). E.g.
        :func:`repair_scrape` for the euribor.it scrape.
    """

    dataset_id: str
    source: str
    loader: Callable[..., pd.DataFrame]
    contract: str
    frequency: str
    description: str
    repair: Callable[[pd.DataFrame], pd.DataFrame] | None = None

    def load(self, path: str | Path | None = None) -> pd.DataFrame:
        """Call the loader (optionally on another file)."""
        return self.loader(path)

    def usable(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows the factor history and the reliability detectors use: ``repair(frame)``,
        or ``frame`` unchanged when the source has no repair."""
        return self.repair(frame) if self.repair is not None else frame


def _register(*items: HistorySource) -> dict[str, HistorySource]:
    return {item.dataset_id: item for item in items}


HISTORY_SOURCES: dict[str, HistorySource] = _register(
    HistorySource("treasury_par_curve", "treasury", load_treasury_curve, "treasury_par_curve", "daily",
                  "U.S. Treasury daily par yield curve, 1M-30Y, percent"),
    HistorySource("fred_md", "fred_md", load_fred_md, "fred_md", "monthly",
                  "FRED-MD monthly macro-financial database (raw levels)"),
    HistorySource("fred_qd", "fred_qd", load_fred_qd, "fred_qd", "quarterly",
                  "FRED-QD quarterly macro-financial database (raw levels)"),
    HistorySource("french_industry_12", "french", load_french_industries, "french_industry_12", "monthly",
                  "Kenneth R. French 12 industry portfolios, value-weighted monthly returns, percent"),
    HistorySource("h10_usdeur", "h10", load_h10_usdeur, "h10_usdeur", "daily",
                  "USD per EUR, Federal Reserve H.10 (FRED DEXUSEU)"),
    HistorySource("h10_broad_dollar", "h10", load_h10_broad_dollar, "h10_broad_dollar", "daily",
                  "Nominal broad U.S. dollar index, H.10 (FRED DTWEXBGS)"),
    HistorySource("eia_wti", "eia", load_wti, "eia_wti", "daily",
                  "WTI crude oil spot, USD per barrel (EIA via FRED DCOILWTICO)"),
    HistorySource("chicago_nfci", "chicago_fed", load_nfci, "chicago_nfci", "weekly",
                  "Chicago Fed National Financial Conditions Index (FRED NFCI)"),
    HistorySource("nber_usrec", "nber", load_usrec, "nber_usrec", "monthly",
                  "NBER recession indicator, monthly 0/1 (FRED USREC)"),
    HistorySource("oecd_long_term_rates", "oecd", load_oecd_long_term_rates, "oecd_long_term_rates", "monthly",
                  "10-year government bond yields of DE, EZ, FR, GB, JP, CH, CA, AU, US, monthly averages, "
                  "percent (OECD MEI via FRED)"),
    HistorySource("ecb_aaa_10y", "ecb", load_ecb_aaa_10y, "ecb_aaa_10y", "daily",
                  "ECB euro-area AAA government yield curve, 10-year spot rate, percent"),
    HistorySource("stoxx50e_1986", "yahoo", load_stoxx50e_1986, "stoxx50e_1986", "daily",
                  "Euro Stoxx 50 daily close 1986-2019, index points (Yahoo Finance; demonstration data)"),
    HistorySource("stoxx50e_2007", "yfinance", load_stoxx50e_2007, "stoxx50e_2007", "daily",
                  "Euro Stoxx 50 daily close 2007-2026, index points (Yahoo via yfinance; demonstration data)"),
    HistorySource("euribor", "euribor_it", load_euribor, "euribor", "daily",
                  "Euribor 1/3/6/12 months, percent (euribor.it scrape, damaged; repaired before use)",
                  repair=repair_scrape),
    HistorySource("eurirs", "euribor_it", load_eurirs, "eurirs", "daily",
                  "EUR swap rates 10-30 years, percent (euribor.it scrape, damaged; repaired before use)",
                  repair=repair_scrape),
)  # fmt: skip
"""Dataset id -> :class:`HistorySource`, in a stable order."""
