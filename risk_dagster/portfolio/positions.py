"""Position schema, validation against the portfolio contract, and loading users' books.

The contract is ``data_contracts/datasets/portfolio_positions.yaml`` (ODCS, compiled to a Great
Expectations suite by :mod:`risk_dagster.quality.contracts`). It carries the column types,
ranges and enums, and the per-instrument-type rules (which terms a bond, swap, option or loan
needs, and which must stay NULL) as GX expectations with a pandas ``row_condition``.
:func:`validate_positions` runs that suite through :func:`~risk_dagster.quality.contracts.validate_frame`
and adds what GX cannot express:

- every risk-factor id (``credit_curve``, ``equity_factor``, ``fx_factor``,
  ``collateral_factor``) exists in ``catalogs/risk_factors.yaml`` with the right asset class;
- an FX forward's ``fx_factor`` is the pair of its ``currency`` against USD;
- numbers are finite (GX range checks let ``inf`` through an open bound).

GX reports at most a handful of sample rows per failed expectation, so for each failed
expectation the offending rows are recomputed here from the expectation's own kwargs (same
column, bounds, set, pattern and ``row_condition``): the error names every rule broken, the
exact number of positions that break the contract, and the first few positions with column,
rule and value.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.errors import InputFileError
from risk_dagster.market.catalog import RiskFactorCatalog, load_risk_factor_catalog
from risk_dagster.quality.contracts import ContractValidation, validate_frame

__all__ = [
    "CONTRACT_ID",
    "FACTOR_COLUMNS",
    "INSTRUMENT_TYPES",
    "ACCOUNTING_BOOKS",
    "DEFAULT_ACCOUNTING_BOOK",
    "OPTIONAL_COLUMNS",
    "LOAN_SEGMENTS",
    "NUMERIC_COLUMNS",
    "POSITION_COLUMNS",
    "POSITION_DTYPES",
    "RATINGS",
    "SEGMENTS",
    "STRING_COLUMNS",
    "TRADING_SEGMENTS",
    "PortfolioContractError",
    "Violation",
    "coerce_positions",
    "load_portfolio",
    "validate_positions",
]

CONTRACT_ID = "portfolio_positions"

POSITION_DTYPES: dict[str, str] = {
    "position_id": "str",
    "instrument_type": "str",
    "segment": "str",
    "currency": "str",
    "notional": "float64",
    "direction": "int8",
    "issue_date": "datetime64[ms]",  # parquet keeps ms; a round trip gives the same dtype back
    "maturity_years": "float64",
    "coupon_rate": "float64",
    "coupon_frequency": "float64",  # float so NULL stays NaN (the engine reads numpy arrays)
    "spread_bp": "float64",
    "rating": "str",
    "credit_curve": "str",
    "equity_factor": "str",
    "fx_factor": "str",
    "strike": "float64",
    "option_type": "str",
    "expiry_years": "float64",
    "implied_vol": "float64",
    "forward_rate": "float64",
    "spot": "float64",
    "pd": "float64",
    "lgd": "float64",
    "ead": "float64",
    "loan_rate": "float64",
    "collateral_factor": "str",
    # added in contract 1.1.0: optional in a file (OPTIONAL_COLUMNS)
    "accounting_book": "str",
    "dividend_yield": "float64",
    "drawn_amount": "float64",
    "first_coupon_date": "datetime64[ms]",
    "wac": "float64",
    "loan_age_months": "float64",
}
"""Canonical dtype of every contract column, in the contract's order (``str`` is pandas 3's
default string dtype; NULL is NaN / NaT)."""

OPTIONAL_COLUMNS: tuple[str, ...] = (
    "accounting_book", "dividend_yield", "drawn_amount", "first_coupon_date", "wac", "loan_age_months",
)  # fmt: skip
"""Columns added in contract 1.1.0: a book without them (written for 1.0.0) loads, with them NULL."""

ACCOUNTING_BOOKS: tuple[str, ...] = ("trading", "afs", "htm", "loan")
DEFAULT_ACCOUNTING_BOOK: dict[str, str] = {
    "loan": "loan", "fixed_bond": "afs", "frn": "afs", "agency_mbs": "afs",
    "irs": "trading", "equity": "trading", "fx_forward": "trading", "equity_option": "trading",
}  # fmt: skip
"""``accounting_book`` of a position that states none (the contract's rule): securities AFS, loans held for
investment, derivatives and equities trading."""

POSITION_COLUMNS: tuple[str, ...] = tuple(POSITION_DTYPES)
STRING_COLUMNS: tuple[str, ...] = tuple(c for c, t in POSITION_DTYPES.items() if t == "str")
NUMERIC_COLUMNS: tuple[str, ...] = tuple(c for c, t in POSITION_DTYPES.items() if t in ("float64", "int8"))
DATE_COLUMNS: tuple[str, ...] = ("issue_date", "first_coupon_date")

INSTRUMENT_TYPES: tuple[str, ...] = (
    "fixed_bond", "frn", "irs", "equity", "fx_forward", "equity_option", "loan", "agency_mbs",
)  # fmt: skip
TRADING_SEGMENTS: tuple[str, ...] = (
    "ust", "corporate_ig", "corporate_hy", "agency", "equity", "fx", "rates_derivatives", "equity_derivatives",
    "sovereign",
)  # fmt: skip
"""``sovereign``: euro-area government bonds (a euro book's; on ``credit.sovereign.<cc>.10y``)."""
US_LOAN_SEGMENTS: tuple[str, ...] = (
    "first_lien_mortgage", "home_equity", "c_and_i", "cre", "credit_card", "auto", "other_consumer",
)  # fmt: skip
"""The Fed's loan segments (FR Y-14A; the loss-rate satellites' own)."""
EURO_LOAN_SEGMENTS: tuple[str, ...] = (
    "residential_mortgage", "corporate", "sme", "consumer", "commercial_real_estate",
)  # fmt: skip
"""A euro-area bank's IFRS 9 loan segments (the EBA exercise's exposure classes, simplified;
:mod:`risk_dagster.capital.eba_credit`)."""
LOAN_SEGMENTS: tuple[str, ...] = US_LOAN_SEGMENTS + EURO_LOAN_SEGMENTS
PRICED_CURRENCIES: tuple[str, ...] = ("USD", "EUR")
"""Currencies a book may be in (the engine's pricing curves: the Treasury curve, the EUR swap curve)."""
SEGMENTS: tuple[str, ...] = TRADING_SEGMENTS + LOAN_SEGMENTS
RATINGS: tuple[str, ...] = (
    "AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-",
    "BB+", "BB", "BB-", "B+", "B", "B-", "CCC+", "CCC", "CCC-",
)  # fmt: skip

FACTOR_COLUMNS: dict[str, str] = {
    "credit_curve": "credit",
    "equity_factor": "equity",
    "fx_factor": "fx",
    "collateral_factor": "real_estate",
}
"""Risk-factor id columns and the catalog asset class their factor must belong to."""

_SHOWN = 5  # violations spelled out in the message
_KEPT_PER_RULE = 20  # violations kept per rule on the error (the counts stay exact)


# --------------------------------------------------------------------------------- errors
@dataclass(frozen=True)
class Violation:
    """One position breaking one rule.

    Attributes
    ----------
    position_id
        The position's id (``None`` when it has none).
    row
        0-based row of the frame.
    line
        Line in the file (header = line 1) when the book was read from CSV, else ``None``.
    column
        The column at fault (``None`` for table-level rules).
    rule
        The rule in words, e.g. ``between[0,1]`` or ``required when instrument_type == "loan"``.
    value
        The offending value (``None`` when missing).
    """

    position_id: str | None
    row: int | None
    line: int | None
    column: str | None
    rule: str
    value: Any = None

    def describe(self) -> str:
        """``P0000017 (line 19) column 'pd' rule between[0,1] (value 1.7)``."""
        who = self.position_id if self.position_id is not None else (
            f"row {self.row}" if self.row is not None else "table"
        )
        if self.line is not None:
            who += f" (line {self.line})"
        col = f" column '{self.column}'" if self.column else ""
        return f"{who}{col} rule {self.rule} (value {_fmt_value(self.value)})"


@dataclass(eq=False)
class PortfolioContractError(InputFileError):
    """A book that breaks the portfolio contract.

    ``str(error)`` names the file, the number of positions at fault and the first few
    violations (position id, column, rule, value); the attributes carry the detail.

    Attributes
    ----------
    violations
        Up to 20 violations per rule, ordered by row.
    n_positions
        Exact number of distinct positions (rows) that break at least one rule.
    rule_counts
        ``(column, rule, rows)`` for every rule broken, with the exact number of rows.
    validation
        The GX result (``None`` when the book was refused before GX ran).
    """

    violations: list[Violation] = field(default_factory=list)
    n_positions: int = 0
    rule_counts: list[tuple[str | None, str, int]] = field(default_factory=list)
    validation: ContractValidation | None = None

    def as_dict(self) -> dict[str, object]:
        """Structured form for Dagster metadata and JSON output (violations capped at 50)."""
        out = super().as_dict()
        out["n_positions"] = self.n_positions
        out["rule_counts"] = [{"column": c, "rule": r, "rows": n} for c, r, n in self.rule_counts]
        out["violations"] = [
            {"position_id": v.position_id, "row": v.row, "line": v.line, "column": v.column, "rule": v.rule,
             "value": _fmt_value(v.value)}
            for v in self.violations[:50]
        ]
        return out


def _fmt_value(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "missing"
    if isinstance(value, float) and math.isnan(value):
        return "missing"
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _num(x: Any) -> str:
    return f"{float(x):g}"


# --------------------------------------------------------------------------------- coercion
def _file_label(path: str | Path | None) -> str | Path:
    return path if path is not None else "<portfolio frame>"


def _where(row: int, line_offset: int | None) -> str:
    return f"line {row + line_offset}" if line_offset is not None else f"row {row}"


def coerce_positions(
    frame: pd.DataFrame,
    *,
    path: str | Path | None = None,
    line_offset: int | None = None,
) -> pd.DataFrame:
    """Bring a raw positions frame to the canonical columns and dtypes (:data:`POSITION_DTYPES`).

    Strings are stripped (empty means NULL), numbers parsed, ``issue_date`` and
    ``first_coupon_date`` parsed as dates; columns beyond the contract's are kept after them; the
    index becomes 0..n-1. The columns of :data:`OPTIONAL_COLUMNS` may be absent (a book written for
    contract 1.0.0) and are then NULL; a NULL ``accounting_book`` takes its type's default
    (:data:`DEFAULT_ACCOUNTING_BOOK`).

    Parameters
    ----------
    frame
        Positions as read (CSV text, parquet types, or already canonical).
    path
        File the frame came from, for messages.
    line_offset
        Added to a 0-based row to give the file's line (2 for a CSV with one header line);
        ``None`` reports rows instead.

    Returns
    -------
    pandas.DataFrame
        A new frame; the input is not modified.

    Raises
    ------
    InputFileError
        ``missing_column`` (contract columns absent), ``non_numeric`` (text in a number
        column) or ``bad_date`` (unparseable ``issue_date``), naming the file, the first
        offending line or row, the column and the value.
    """
    label = _file_label(path)
    columns = [str(c) for c in frame.columns]
    missing = [c for c in POSITION_COLUMNS if c not in columns and c not in OPTIONAL_COLUMNS]
    if missing:
        raise InputFileError(
            label, "missing_column",
            f"{len(missing)} contract column(s) missing: {', '.join(missing)} (expected {', '.join(POSITION_COLUMNS)})",
            column=missing[0],
        )
    raw = frame.copy(deep=False)
    raw.columns = columns
    raw = raw.reset_index(drop=True)
    for col in OPTIONAL_COLUMNS:
        if col not in raw.columns:
            raw[col] = None
    out: dict[str, Any] = {}
    for col, dtype in POSITION_DTYPES.items():
        s = raw[col]
        if dtype == "str":
            out[col] = _as_string(s)
        elif col in DATE_COLUMNS:
            out[col] = _as_date(s, col, label, line_offset)
        else:
            out[col] = _as_number(s, col, dtype, label, line_offset)
    book = out["accounting_book"]
    default = out["instrument_type"].map(DEFAULT_ACCOUNTING_BOOK)
    out["accounting_book"] = book.where(book.notna(), default).astype(POSITION_DTYPES["accounting_book"])
    extra = [c for c in columns if c not in POSITION_DTYPES]
    for col in extra:
        out[col] = raw[col]
    return pd.DataFrame(out, index=pd.RangeIndex(len(raw)))


def _as_string(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.na_value is np.nan:
        text = s
    else:
        text = s.astype("str")
    if len(text) and text.notna().any():
        text = text.str.strip()
        text = text.mask(text == "")
    return text


def _non_numeric_error(
    s: pd.Series, bad: np.ndarray, col: str, label: str | Path, line_offset: int | None, what: str, rule: str
) -> InputFileError:
    rows = np.flatnonzero(bad)
    shown = "; ".join(f"{_where(int(r), line_offset)}: {s.iloc[r]!r}" for r in rows[:_SHOWN])
    more = f" (+{len(rows) - _SHOWN} more)" if len(rows) > _SHOWN else ""
    first = int(rows[0])
    return InputFileError(
        label, rule, f"{len(rows)} value(s) in column '{col}' are not {what}: {shown}{more}",
        row=first + line_offset if line_offset is not None else None, column=col,
    )


def _as_number(s: pd.Series, col: str, dtype: str, label: str | Path, line_offset: int | None) -> pd.Series:
    if pd.api.types.is_bool_dtype(s.dtype):
        values = s.astype("float64")
    elif pd.api.types.is_numeric_dtype(s.dtype):
        values = s.astype("float64") if str(s.dtype) != dtype else s
    else:
        text = s.astype("str").str.strip()
        present = text.notna() & (text != "")
        values = pd.to_numeric(text.where(present), errors="coerce").astype("float64")
        bad = (present & values.isna()).to_numpy()
        if bad.any():
            raise _non_numeric_error(s, bad, col, label, line_offset, "numbers", "non_numeric")
    if dtype == "int8" and values.dtype != "int8":
        # only when every value is a whole number: anything else stays float and the contract
        # (required, in {1, -1}) names the rows, rather than being silently truncated here
        v = values.to_numpy(dtype="float64")
        if np.isfinite(v).all() and (v == np.round(v)).all() and (np.abs(v) <= 127).all():
            return pd.Series(v.astype("int8"), index=values.index, name=col)
        return values.astype("float64")
    return values


def _as_date(s: pd.Series, col: str, label: str | Path, line_offset: int | None) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        values = s
    else:
        present = s.notna()
        if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
            text = s.astype("str").str.strip()
            present = text.notna() & (text != "")
            s = text.where(present)
        values = pd.to_datetime(s, errors="coerce", format="mixed" if present.any() else None)
        bad = (present & values.isna()).to_numpy()
        if bad.any():
            raise _non_numeric_error(s, bad, col, label, line_offset, "dates (YYYY-MM-DD)", "bad_date")
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    return values.astype("datetime64[ms]")


# --------------------------------------------------------------------------------- rules
def _row_condition(kwargs: Mapping[str, Any]) -> str | None:
    """The pandas row condition of an expectation's kwargs (GX 1.24 reports it as a
    ``{"type": "pass_through", "pass_through_filter": ...}`` dict)."""
    cond = kwargs.get("row_condition")
    if isinstance(cond, Mapping):
        cond = cond.get("pass_through_filter")
    elif cond is not None and hasattr(cond, "pass_through_filter"):
        cond = cond.pass_through_filter
    return str(cond) if cond else None


def _condition_text(kwargs: Mapping[str, Any]) -> str:
    cond = _row_condition(kwargs)
    return f" when {cond}" if cond else ""


def _set_text(values: Iterable[Any]) -> str:
    items = [str(v) for v in values]
    if len(items) > 8:
        items = items[:7] + ["..."]
    return "{" + ", ".join(items) + "}"


def _rule_text(failure: Mapping[str, Any]) -> str:
    """A GX failure's rule in words, e.g. ``between[0,1]`` or ``required when instrument_type == "loan"``."""
    exp = failure["expectation"]
    kw = failure.get("kwargs") or {}
    when = _condition_text(kw)
    if exp == "expect_column_values_to_be_between":
        lo, hi = kw.get("min_value"), kw.get("max_value")
        if lo is not None and hi is not None:
            left = "(" if kw.get("strict_min") else "["
            right = ")" if kw.get("strict_max") else "]"
            text = f"between{left}{_num(lo)},{_num(hi)}{right}"
        elif lo is not None:
            text = f"{'>' if kw.get('strict_min') else '>='}{_num(lo)}"
        else:
            text = f"{'<' if kw.get('strict_max') else '<='}{_num(hi)}"
        return text + when
    if exp == "expect_column_values_to_not_be_null":
        return "required" + when
    if exp == "expect_column_values_to_be_null":
        return "must be null" + when
    if exp == "expect_column_values_to_be_in_set":
        return f"in {_set_text(kw.get('value_set') or [])}" + when
    if exp == "expect_column_values_to_not_be_in_set":
        return f"not in {_set_text(kw.get('value_set') or [])}" + when
    if exp == "expect_column_values_to_match_regex":
        return f"matches {kw.get('regex')}" + when
    if exp in ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"):
        return "unique" + when
    if exp == "expect_column_values_to_be_in_type_list":
        return f"type ({failure.get('rule') or 'logicalType'})"
    if exp == "expect_column_to_exist":
        return "column exists"
    if exp == "expect_table_row_count_to_be_between":
        lo, hi = kw.get("min_value"), kw.get("max_value")
        return f"row count in [{lo}, {hi if hi is not None else 'inf'}]"
    return exp.removeprefix("expect_") + when


def _unexpected_mask(frame: pd.DataFrame, failure: Mapping[str, Any]) -> np.ndarray | None:
    """Rows a failed GX expectation objects to, recomputed from its kwargs (``None`` if unknown type).

    Mirrors GX's pandas semantics: NULLs are ignored by every map expectation except the
    (not) null ones, and ``row_condition`` restricts the rows looked at.
    """
    exp = failure["expectation"]
    kw = failure.get("kwargs") or {}
    col = kw.get("column")
    if col is None or col not in frame.columns:
        return None
    s = frame[col]
    present = s.notna().to_numpy()
    if exp == "expect_column_values_to_not_be_null":
        bad = ~present
    elif exp == "expect_column_values_to_be_null":
        bad = present
    elif exp == "expect_column_values_to_be_between":
        try:
            v = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64")
        except (TypeError, ValueError):
            return None
        ok = np.ones(len(v), dtype=bool)
        lo, hi = kw.get("min_value"), kw.get("max_value")
        with np.errstate(invalid="ignore"):
            if lo is not None:
                ok &= (v > lo) if kw.get("strict_min") else (v >= lo)
            if hi is not None:
                ok &= (v < hi) if kw.get("strict_max") else (v <= hi)
        bad = present & ~ok
    elif exp in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
        inside = s.isin(list(kw.get("value_set") or [])).to_numpy()
        bad = present & (~inside if exp == "expect_column_values_to_be_in_set" else inside)
    elif exp == "expect_column_values_to_match_regex":
        matched = s.astype("str").str.contains(str(kw.get("regex")), regex=True, na=False).to_numpy()
        bad = present & ~matched
    elif exp == "expect_column_values_to_be_unique":
        bad = present & s.duplicated(keep=False).to_numpy()
    else:
        return None
    cond = kw.get("row_condition")
    if cond:
        try:
            scope = frame.eval(cond, engine="python").to_numpy(dtype=bool)
        except Exception:  # a condition pandas cannot evaluate: fall back to GX's samples
            return None
        bad = bad & scope
    return np.asarray(bad, dtype=bool)


class _Collector:
    """Accumulates violations: exact per-rule counts, a bounded sample of rows per rule."""

    def __init__(self, frame: pd.DataFrame, line_offset: int | None) -> None:
        self.frame = frame
        self.line_offset = line_offset
        self.bad_rows = np.zeros(len(frame), dtype=bool)
        self.unlocated = 0  # most rows one GX-only rule objected to (their union is at least this)
        self.violations: list[Violation] = []
        self.rule_counts: list[tuple[str | None, str, int]] = []
        ids = frame["position_id"] if "position_id" in frame.columns else None
        self.ids = ids

    def _violation(self, row: int, column: str | None, rule: str) -> Violation:
        pid = None
        if self.ids is not None:
            v = self.ids.iloc[row]
            pid = None if pd.isna(v) else str(v)
        value = self.frame[column].iloc[row] if column in self.frame.columns else None
        line = row + self.line_offset if self.line_offset is not None else None
        return Violation(pid, row, line, column, rule, value)

    def add_mask(self, mask: np.ndarray, column: str | None, rule: str) -> None:
        n = int(mask.sum())
        if n == 0:
            return
        self.bad_rows |= mask
        self.rule_counts.append((column, rule, n))
        for r in np.flatnonzero(mask)[:_KEPT_PER_RULE]:
            self.violations.append(self._violation(int(r), column, rule))

    def add_rows(self, rows: Iterable[int], count: int, column: str | None, rule: str) -> None:
        """A rule whose rows only GX knows: its sample rows, and its count as a lower bound."""
        rows = [int(r) for r in rows if isinstance(r, (int, np.integer)) and 0 <= int(r) < len(self.frame)]
        self.bad_rows[rows] = True
        self.unlocated = max(self.unlocated, count)
        self.rule_counts.append((column, rule, max(count, len(rows), 1)))
        if rows:
            self.violations.extend(self._violation(r, column, rule) for r in rows[:_KEPT_PER_RULE])
        else:  # table-level (row count)
            self.violations.append(Violation(None, None, None, column, rule, None))

    @property
    def n_positions(self) -> int:
        return max(int(self.bad_rows.sum()), self.unlocated)

    def __bool__(self) -> bool:
        return bool(self.rule_counts)


def _catalog_rules(frame: pd.DataFrame, catalog: RiskFactorCatalog, out: _Collector) -> None:
    ids = set(catalog.ids)
    for col, asset_class in FACTOR_COLUMNS.items():
        s = frame[col]
        present = s.notna()
        if not present.any():
            continue
        values = s[present].unique()
        unknown = [v for v in values if v not in ids]
        wrong = [v for v in values if v in ids and catalog.get(v).asset_class != asset_class]
        if unknown:
            out.add_mask(s.isin(unknown).to_numpy() & present.to_numpy(), col, "known risk factor (catalogs/risk_factors.yaml)")
        if wrong:
            out.add_mask(s.isin(wrong).to_numpy(), col, f"risk factor of asset class {asset_class}")
    # one pricing currency per book (FX forwards aside: their currency is the foreign leg's)
    own = (frame["instrument_type"] != "fx_forward").to_numpy() & frame["currency"].notna().to_numpy()
    codes = frame["currency"].where(own)
    if codes.dropna().nunique() > 1:
        main = codes.dropna().value_counts().index[0]
        out.add_mask(own & (codes != main).to_numpy(dtype=bool), "currency", f"one currency per book (most positions are {main})")
    elif own.any() and (codes.dropna() != "USD").any() and (frame["instrument_type"] == "fx_forward").any():
        out.add_mask((frame["instrument_type"] == "fx_forward").to_numpy(), "currency",
                     "FX forwards only in a USD book (their pairs are against USD)")
    # an FX forward's factor is its currency against USD: fx.eurusd for EUR, fx.usdjpy for JPY
    fx = (frame["instrument_type"] == "fx_forward").to_numpy() & frame["fx_factor"].notna().to_numpy()
    fx &= frame["currency"].notna().to_numpy()
    if fx.any():
        pair = frame["fx_factor"].where(fx).str.removeprefix("fx.")
        ccy = frame["currency"].where(fx).str.lower()
        ok = (pair == ccy + "usd") | (pair == "usd" + ccy)
        out.add_mask(fx & ~ok.fillna(False).to_numpy(dtype=bool), "fx_factor", "pair of currency against USD")


def _finite_rule(frame: pd.DataFrame, out: _Collector) -> None:
    for col in NUMERIC_COLUMNS:
        v = frame[col].to_numpy(dtype="float64", na_value=np.nan)
        out.add_mask(np.isinf(v), col, "finite")


# --------------------------------------------------------------------------------- API
def validate_positions(
    frame: pd.DataFrame,
    *,
    path: str | Path | None = None,
    line_offset: int | None = None,
    catalog: RiskFactorCatalog | None = None,
) -> pd.DataFrame:
    """Check a positions frame against the portfolio contract and return it in canonical form.

    Parameters
    ----------
    frame
        Positions, one row per position, with (at least) :data:`POSITION_COLUMNS`.
    path
        File the frame came from, named in errors (``<portfolio frame>`` when ``None``).
    line_offset
        Added to a 0-based row to give the file's line (2 for a CSV with a header line).
    catalog
        Risk-factor catalog the factor ids must exist in (default: the shipped one).

    Returns
    -------
    pandas.DataFrame
        The positions with canonical dtypes (:func:`coerce_positions`), index 0..n-1.

    Raises
    ------
    InputFileError
        When the frame cannot be read as positions at all (missing columns, text in a number
        column, unparseable dates).
    PortfolioContractError
        When positions break the contract: the message names the number of positions at fault
        and the first few with position id, column, rule and value, e.g.
        ``book.csv: portfolio_contract: 3 positions break the portfolio contract: P0000017
        (line 19) column 'pd' rule between[0,1] (value 1.7); ...``.
    """
    label = _file_label(path)
    positions = coerce_positions(frame, path=path, line_offset=line_offset)
    result = validate_frame(CONTRACT_ID, positions[list(POSITION_COLUMNS)])
    out = _Collector(positions, line_offset)
    for failure in result.failures:
        rule = _rule_text(failure)
        mask = _unexpected_mask(positions, failure)
        if mask is not None and mask.any():
            out.add_mask(mask, failure.get("column"), rule)
        else:  # an expectation this module cannot recompute: GX's own sample rows and count
            if failure.get("exception"):
                rule += f" (GX error: {failure['exception']})"
            out.add_rows(failure.get("sample_rows") or [], int(failure.get("unexpected_count") or 0),
                         failure.get("column"), rule)
    _catalog_rules(positions, catalog if catalog is not None else load_risk_factor_catalog(), out)
    _finite_rule(positions, out)
    if out:
        raise _contract_error(label, out, result)
    return positions


def _contract_error(label: str | Path, out: _Collector, result: ContractValidation) -> PortfolioContractError:
    violations = sorted(out.violations, key=lambda v: (v.row if v.row is not None else -1))
    n = out.n_positions
    shown = "; ".join(v.describe() for v in violations[:_SHOWN])
    total = sum(c for _, _, c in out.rule_counts)
    more = f"; ... {total - min(total, _SHOWN)} more violation(s)" if total > _SHOWN else ""
    rules = ", ".join(f"{c or 'table'} {r} x{k}" for c, r, k in out.rule_counts[:10])
    if len(out.rule_counts) > 10:
        rules += f", ... ({len(out.rule_counts) - 10} more rules)"
    noun = "position breaks" if n == 1 else "positions break"
    message = f"{n} {noun} the portfolio contract: {shown}{more} [rules broken: {rules}]"
    # row/column stay unset: many positions may be at fault; each violation names its own
    return PortfolioContractError(
        label, "portfolio_contract", message,
        violations=violations, n_positions=n, rule_counts=list(out.rule_counts), validation=result,
    )


_PARQUET_MAGIC = b"PAR1"


def _is_parquet(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == _PARQUET_MAGIC


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(fh), None)
    except UnicodeDecodeError as exc:
        raise InputFileError(path, "bad_encoding", f"not UTF-8 text: {exc}") from exc
    if not header or not any(h.strip() for h in header):
        raise InputFileError(path, "empty_file", "no header line", row=1)
    names = [h.strip() for h in header]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputFileError(path, "duplicate_column", f"column(s) named twice in the header: {', '.join(dupes)}",
                             row=1, column=dupes[0])
    try:
        # everything as text: numbers are parsed by coerce_positions, which names bad cells
        return pd.read_csv(path, dtype=str, encoding="utf-8-sig", skipinitialspace=True)
    except pd.errors.ParserError as exc:
        raise InputFileError(path, "malformed_csv", str(exc).strip()) from exc
    except pd.errors.EmptyDataError as exc:
        raise InputFileError(path, "empty_file", str(exc)) from exc


def load_portfolio(path: str | Path, *, catalog: RiskFactorCatalog | None = None) -> pd.DataFrame:
    """Read a book from CSV or parquet and validate it (:func:`validate_positions`).

    The format is told by content (parquet files start with ``PAR1``), so a parquet file with
    a ``.csv`` name, or a CSV with none, is read correctly; a ``.parquet`` file that is not
    parquet is refused.

    Parameters
    ----------
    path
        The file: a CSV with a header line naming the contract's columns (extra columns are
        kept; empty cells are NULL; dates ``YYYY-MM-DD``), or a parquet file.
    catalog
        Risk-factor catalog (default: the shipped one).

    Returns
    -------
    pandas.DataFrame
        The positions in canonical form (:data:`POSITION_DTYPES`).

    Raises
    ------
    InputFileError
        A missing or unreadable file, or one that is not a positions table, naming the file
        and, where one is at fault, the line (CSV) and column.
    PortfolioContractError
        A book that breaks the contract (see :func:`validate_positions`).
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "missing_file", "no such file")
    if _is_parquet(p):
        try:
            frame = pd.read_parquet(p)
        except Exception as exc:  # pyarrow.ArrowInvalid, OSError ...: keep the reason, name the file
            raise InputFileError(p, "unreadable_parquet", f"cannot read parquet: {exc}") from exc
        return validate_positions(frame, path=p, catalog=catalog)
    if p.suffix.lower() in (".parquet", ".pq"):
        raise InputFileError(p, "not_parquet", "named .parquet but does not start with the parquet magic bytes")
    frame = _read_csv(p)
    return validate_positions(frame, path=p, line_offset=2, catalog=catalog)
