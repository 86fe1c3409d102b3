"""The market inbox: the desk's intraday snapshot of risk-factor levels, and a scenario set moved onto it.

A snapshot is a CSV dropped in the market inbox (``OUTPUT/market_inbox`` by default; layout and
file identity as :mod:`risk_dagster.inbox`)::

    as_of,factor_id,level
    2026-12-03T10:30-05:00,rates.ust.10y,4.12
    2026-12-03T10:30-05:00,equity.sp500,6841.5

one ``as_of`` per file (ISO 8601; without an offset, New York time), each factor of
``data_contracts/catalogs/risk_factors.yaml`` at most once, its level in the catalog's unit
(percent for rates and spreads, index points, the catalog's FX quotation, vol points). It is
validated by the ``market_snapshot`` data contract and against the catalog; a bad file goes to
``rejected/`` with its error (file, line, column, rule) and the previous snapshot stays in use.

**The intraday refresh** (:func:`rebase_shockset`, :func:`rebase_book`) values the book on the
snapshot and applies each scenario set's moves *from there*: the scenario's shocks (changes from
its jump-off, in each factor's shock unit) are kept, the jump-off levels of the factors the
snapshot observes are replaced by the snapshot's, and the valuation date becomes the snapshot's
date. Conventions, stated here where they are made:

* Treasury tenors in the snapshot anchor the base curve (``jump_off_basis`` ``snapshot``; the other
  knots, the scenario's fixed tenors included, move by the change at the observed tenors,
  interpolated in tenor, as for the Fed's jump-off in :mod:`risk_dagster.engine.valuation`);
* an equity index or FX rate the snapshot observes rescales the ``spot`` of every position on that
  factor by ``snapshot / jump-off`` (the book states its spots at its own as-of date, on the
  scenario's jump-off market); a credit curve observed moves the positions' ``spread_bp`` on that
  curve by the change in bp; implied vols are left as the book states them (the snapshot's VIX
  moves the jump-off of the vol factor only);
* factors the snapshot does not observe keep the scenario's jump-off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from risk_dagster import inbox as drop_folder
from risk_dagster.errors import InputFileError
from risk_dagster.translate.shockset import ShockSet

CONTRACT = "market_snapshot"
COLUMNS = ("as_of", "factor_id", "level")
SNAPSHOT_SUFFIXES = (".csv",)
MARKET_TIME_ZONE = "America/New_York"
SNAPSHOT_BASIS = "snapshot"
"""``jump_off_basis`` of a factor whose jump-off is a snapshot's level."""
INTERPOLATED_BASIS = "interpolated"
"""``jump_off_basis`` of a Treasury tenor the snapshot does not observe when it observes others."""
TREASURY_PREFIX = "rates.ust."

_PLAUSIBLE = {"percent": (-5.0, 60.0), "vol_points": (0.0, 200.0)}
"""Level bounds by unit beyond the contract's (rates and spreads in percent, vol in points); any
other unit (indices, FX, prices) must be positive."""


@dataclass(frozen=True)
class MarketSnapshot:
    """One validated snapshot: when, the levels, and the file it came from."""

    as_of: pd.Timestamp
    levels: dict[str, float]
    path: str

    @property
    def date(self) -> dt.date:
        """The valuation date: the snapshot's date in New York."""
        return self.as_of.tz_convert(MARKET_TIME_ZONE).date()

    def frame(self) -> pd.DataFrame:
        """The snapshot as its contract reads it."""
        return pd.DataFrame({"as_of": self.as_of.isoformat(), "factor_id": list(self.levels),
                             "level": list(self.levels.values())})  # fmt: skip


def read_snapshot(path: str | Path) -> MarketSnapshot:
    """Read and validate one snapshot file.

    Raises
    ------
    InputFileError
        Naming the file, the line (the header is line 1), the column and the rule broken:
        ``missing_column``, a contract rule (``required``, ``unique``, ``pattern`` ...),
        ``unknown_factor``, ``several_as_of``, ``implausible_level``.
    """
    from risk_dagster.market.catalog import load_risk_factor_catalog
    from risk_dagster.quality.contracts import validate_frame

    p = Path(path)
    try:
        raw = pd.read_csv(p, dtype={"as_of": str, "factor_id": str}, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputFileError(p, "unreadable_csv", str(error).splitlines()[0]) from None
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise InputFileError(p, "missing_column", f"needs columns {', '.join(COLUMNS)}; missing {', '.join(missing)}",
                             row=1, column=missing[0])  # fmt: skip
    frame = raw[list(COLUMNS)].copy()
    frame["level"] = pd.to_numeric(frame["level"], errors="coerce").where(frame["level"].notna(), None)
    bad = frame.index[raw["level"].notna() & frame["level"].isna()]
    if len(bad):
        raise InputFileError(p, "non_numeric", f"level {raw['level'][bad[0]]!r} is not a number", row=int(bad[0]) + 2, column="level")
    validation = validate_frame(CONTRACT, frame)
    if not validation.success:
        failure = validation.failures[0]
        rows = failure.get("sample_rows") or []
        raise InputFileError(p, str(failure.get("rule") or failure.get("expectation")),
                             f"breaks the {CONTRACT} contract ({failure.get('expectation')}, {failure.get('unexpected_count')} rows)",
                             row=int(rows[0]) + 2 if rows else None, column=failure.get("column"))  # fmt: skip
    catalog = load_risk_factor_catalog()
    known = set(catalog.ids)
    for i, (factor, level) in enumerate(zip(frame["factor_id"], frame["level"], strict=True)):
        if factor not in known:
            raise InputFileError(p, "unknown_factor", f"{factor!r} is not in the risk-factor catalog", row=i + 2, column="factor_id")
        unit = catalog.get(factor).unit
        lo, hi = _PLAUSIBLE.get(unit, (0.0, np.inf))
        if not (lo <= float(level) <= hi) or (unit not in _PLAUSIBLE and level <= 0):
            raise InputFileError(p, "implausible_level", f"{factor} = {level:g} {unit} is outside [{lo:g}, {hi:g}]",
                                 row=i + 2, column="level")  # fmt: skip
    stamps = frame["as_of"].unique()
    if len(stamps) > 1:
        row = int(frame.index[frame["as_of"] != stamps[0]][0]) + 2
        raise InputFileError(p, "several_as_of", f"one as_of per file; found {', '.join(map(str, stamps[:3]))}", row=row, column="as_of")
    stamp = pd.Timestamp(stamps[0])
    stamp = stamp.tz_localize(MARKET_TIME_ZONE) if stamp.tzinfo is None else stamp
    return MarketSnapshot(stamp, dict(zip(frame["factor_id"], frame["level"].astype(float), strict=True)), str(p))


def take_snapshots(inbox: str | Path, seen: set[str] = frozenset()) -> tuple[list[MarketSnapshot], list[tuple[str, str]]]:
    """Process the inbox's new files: the valid ones move to ``accepted/``, the others to ``rejected/``.

    Returns the snapshots accepted now and ``(file, error)`` for each refused one.
    """
    accepted, refused = [], []
    for src in drop_folder.pending(inbox, SNAPSHOT_SUFFIXES, seen):
        target, snapshot, error = drop_folder.triage(src, inbox, read_snapshot)
        if error is None:
            accepted.append(replace(snapshot, path=str(target)))
        else:
            refused.append((src.name, error))
    return accepted, refused


def latest_snapshot(inbox: str | Path) -> MarketSnapshot | None:
    """The newest accepted snapshot (by ``as_of``, then file name), after processing new files."""
    take_snapshots(inbox)
    snapshots = [read_snapshot(f) for f in drop_folder.accepted_files(inbox) if f.lower().endswith(SNAPSHOT_SUFFIXES)]
    return max(snapshots, key=lambda s: (s.as_of, Path(s.path).name)) if snapshots else None


def rebase_shockset(shockset: ShockSet, snapshot: MarketSnapshot) -> ShockSet:
    """``shockset`` with its jump-off moved onto the snapshot (module docstring); shocks unchanged."""
    jump = shockset.jump_off.astype(float).copy()
    basis = dict(shockset.metadata.get("jump_off_basis") or {})
    observed = []
    for k, factor in enumerate(shockset.factor_ids):
        if factor in snapshot.levels:
            jump[k] = snapshot.levels[factor]
            basis[factor] = SNAPSHOT_BASIS
            observed.append(factor)
    if any(f.startswith(TREASURY_PREFIX) for f in observed):
        # the curve is anchored on the observed tenors alone: a tenor the desk did not observe keeps
        # no anchoring basis (it moves with its neighbours), so today's and the scenario's jump-off
        # levels are never mixed in one curve
        for factor in shockset.factor_ids:
            if factor.startswith(TREASURY_PREFIX) and factor not in snapshot.levels and factor in basis:
                basis[factor] = INTERPOLATED_BASIS
    metadata = {**shockset.metadata, "jump_off_basis": basis, "jump_off_date": snapshot.date.isoformat(),
                "market_snapshot": {"as_of": snapshot.as_of.isoformat(), "file": Path(snapshot.path).name,
                                    "factors": observed}}  # fmt: skip
    return replace(shockset, jump_off=jump, metadata=metadata)


def rebase_book(positions: pd.DataFrame, shockset: ShockSet, snapshot: MarketSnapshot) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The book's spots and spreads moved from the scenario's jump-off onto the snapshot.

    Returns the moved book and one row per factor used: ``factor_id``, ``jump_off``, ``snapshot``,
    ``move`` (ratio for spots, bp for spreads) and ``positions`` moved.
    """
    book = positions.copy()
    jump = dict(zip(shockset.factor_ids, shockset.jump_off.astype(float), strict=True))
    rows = []
    for column, kind in (("equity_factor", "ratio"), ("fx_factor", "ratio"), ("credit_curve", "bp")):
        if column not in book.columns:
            continue
        for factor in sorted(set(book[column].dropna().astype(str)) & set(snapshot.levels) & set(jump)):
            if not np.isfinite(jump[factor]):
                continue
            on = book[column].astype(str) == factor
            if kind == "ratio" and "spot" in book.columns and jump[factor] > 0:
                move = snapshot.levels[factor] / jump[factor]
                book.loc[on, "spot"] = book.loc[on, "spot"] * move
            elif kind == "bp" and "spread_bp" in book.columns:
                move = 100.0 * (snapshot.levels[factor] - jump[factor])
                book.loc[on, "spread_bp"] = book.loc[on, "spread_bp"] + move
            else:
                continue
            rows.append({"factor_id": factor, "jump_off": jump[factor], "snapshot": snapshot.levels[factor],
                         "move": move, "unit": "ratio" if kind == "ratio" else "bp", "positions": int(on.sum())})  # fmt: skip
    book.attrs = dict(positions.attrs)
    return book, pd.DataFrame(rows, columns=["factor_id", "jump_off", "snapshot", "move", "unit", "positions"])


def observed_factors(snapshot: MarketSnapshot, factor_ids: Sequence[str]) -> list[str]:
    """The factors of a set the snapshot observes, in the set's order."""
    return [f for f in factor_ids if f in snapshot.levels]
