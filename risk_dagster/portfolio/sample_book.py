"""A deterministic, synthetic large-US-bank book (the shipped default portfolio).

:func:`generate_sample_book` draws a book of ``n_positions`` positions whose mix by count and by
notional loosely follows a large U.S. bank's balance sheet and trading book (about $3.5
trillion of assets: loans by segment, AFS/HTM Treasuries, agencies and corporates, equities,
and gross derivative notionals). The segment totals are fixed, so a larger ``n_positions``
splits the same bank into finer positions rather than growing it. Everything is vectorised
numpy (1,000,000 positions in about a second); one random stream per segment, seeded from
``(seed, segment)``, so the same arguments give the same frame and the same parquet bytes.

Market levels (Treasury par curve, index and FX spots, short rates) are approximate values at
the end of 2025, hard-coded here: they only place coupons, strikes and forward rates near the
market, and the engine prices against its own curves. The numbers are illustrative, not any
bank's.

The default book (10,000 positions, seed :data:`SAMPLE_BOOK_SEED`) is shipped as
``risk_dagster/data/portfolio/sample_book.parquet``; regenerate it with
``python -c "from risk_dagster.portfolio.sample_book import main; main()"``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from risk_dagster.paths import data_dir
from risk_dagster.storage import atomic_write
from risk_dagster.portfolio.positions import (
    INSTRUMENT_TYPES,
    POSITION_DTYPES,
    RATINGS,
    SEGMENTS,
    coerce_positions,
    validate_positions,
)
from risk_dagster.translate.rating_spreads import RATING_FACTORS, rating_factor

__all__ = [
    "SAMPLE_BOOK_PATH",
    "SAMPLE_BOOK_SEED",
    "SEGMENT_MIX",
    "VALUATION_DATE",
    "composition",
    "generate_sample_book",
    "load_sample_book",
    "write_book",
]

SAMPLE_BOOK_SEED = 20260101
VALUATION_DATE = "2025-12-31"
SAMPLE_BOOK_PATH: Path = data_dir() / "portfolio" / "sample_book.parquet"


@dataclass(frozen=True)
class SegmentSpec:
    """Share of positions and total notional of one segment.

    Attributes
    ----------
    segment
        Segment id (contract enum).
    count_share
        Share of the book's positions.
    notional_bn
        Total notional in USD billions (commitments for revolving loans, gross notionals for
        derivatives), split across the segment's positions with lognormal sizes.
    size_sigma
        Dispersion (log scale) of position sizes within the segment.
    """

    segment: str
    count_share: float
    notional_bn: float
    size_sigma: float


SEGMENT_MIX: tuple[SegmentSpec, ...] = (
    # AFS/HTM securities (~$865bn, roughly a quarter of the balance sheet)
    SegmentSpec("ust", 0.08, 450.0, 1.0),
    SegmentSpec("corporate_ig", 0.08, 90.0, 1.0),
    SegmentSpec("corporate_hy", 0.03, 25.0, 1.0),
    SegmentSpec("agency", 0.06, 300.0, 1.0),
    # trading book: cash equities at market value, derivatives at gross notional
    SegmentSpec("equity", 0.08, 60.0, 1.2),
    SegmentSpec("fx", 0.05, 800.0, 1.2),
    SegmentSpec("rates_derivatives", 0.06, 3000.0, 1.2),
    SegmentSpec("equity_derivatives", 0.03, 120.0, 1.2),
    # banking book loans (~$1.3tn drawn; revolving segments at commitment)
    SegmentSpec("first_lien_mortgage", 0.12, 260.0, 0.8),
    SegmentSpec("home_equity", 0.04, 40.0, 0.8),
    SegmentSpec("c_and_i", 0.12, 600.0, 1.0),
    SegmentSpec("cre", 0.07, 160.0, 1.0),
    SegmentSpec("credit_card", 0.09, 700.0, 0.6),
    SegmentSpec("auto", 0.05, 75.0, 0.6),
    SegmentSpec("other_consumer", 0.04, 60.0, 0.7),
)
"""Segment mix by count and notional (loosely a large U.S. bank's; shares sum to 1)."""

# Approximate U.S. Treasury par yields at the end of 2025, percent (the shipped daily curve ends
# in 2024): used only to set coupons near the market.
_UST_TENORS = np.array([1 / 12, 0.25, 0.5, 1, 2, 3, 5, 7, 10, 20, 30])
_UST_YIELDS = np.array([3.73, 3.67, 3.60, 3.48, 3.47, 3.54, 3.72, 3.93, 4.17, 4.78, 4.84]) / 100.0
_SOFR = 0.0365  # overnight rate after the December 2025 cut (3.50-3.75% target range)
_PRIME = 0.0675

# Option spreads over Treasuries by rating, bp (late-2025 tights, rounded)
_RATING_SPREAD_BP = np.array([40, 50, 55, 60, 70, 80, 90, 105, 120, 145, 190, 220, 260, 300, 350, 420, 600, 800, 1000],
                             dtype="float64")
_IG_RATING_P = np.array([2, 3, 4, 6, 10, 14, 14, 17, 17, 13], dtype="float64")  # AAA..BBB-
_HY_RATING_P = np.array([18, 20, 17, 14, 12, 9, 5, 3, 2], dtype="float64")  # BB+..CCC-

_CURRENCIES = ("USD", "EUR", "JPY", "GBP")
# Agencies and agency MBS on the Aaa-10y spread; corporates on their rating bucket's spread
# (credit.spread.rating.aaa ... .ccc, derived from the scenario's BBB-10y spread with stress
# multiples by rating: risk_dagster.translate.rating_spreads)
_AGENCY_CURVE = "credit.spread.aaa_10y"
_CREDIT_CURVES = (_AGENCY_CURVE, *RATING_FACTORS)
_RATING_CURVE = np.array([_CREDIT_CURVES.index(rating_factor(r)) for r in RATINGS], dtype=np.int16)
"""Code in :data:`_CREDIT_CURVES` of each rating's bucket factor, in ``RATINGS`` order."""
_SECTORS = ("nodur", "durbl", "manuf", "enrgy", "chems", "buseq", "telcm", "utils", "shops", "hlth", "money", "other")
_SECTOR_P = np.array([5, 4, 8, 4, 3, 30, 4, 3, 10, 10, 12, 7], dtype="float64")  # ~ U.S. market weights
_EQUITY_FACTORS = tuple(f"equity.sector.{s}" for s in _SECTORS) + ("equity.sp500", "equity.nasdaq")
_FX_FACTORS = ("fx.eurusd", "fx.usdjpy", "fx.gbpusd")
_COLLATERAL = ("realestate.house", "realestate.cre")

_CATEGORIES: dict[str, tuple[str, ...]] = {
    "instrument_type": INSTRUMENT_TYPES,
    "segment": SEGMENTS,
    "currency": _CURRENCIES,
    "rating": RATINGS,
    "credit_curve": _CREDIT_CURVES,
    "equity_factor": _EQUITY_FACTORS,
    "fx_factor": _FX_FACTORS,
    "option_type": ("call", "put"),
    "collateral_factor": _COLLATERAL,
    "accounting_book": ("trading", "afs", "htm", "loan"),
}


@dataclass(frozen=True)
class LoanSpec:
    """Terms of a loan segment (ranges drawn uniformly).

    ``pd`` and ``lgd`` follow the brief's calibration (cards PD 3-5% LGD ~85%, first-lien PD
    0.5-1.5% LGD 20-30%, CRE PD 1-3% LGD 35-45%, C&I PD 1-2% LGD ~40%). ``spread_bp`` over
    ``index_rate`` makes the loan floating; ``utilisation`` marks a revolving segment whose
    notional is the commitment and EAD = drawn + ``ccf`` x undrawn.
    """

    pd: tuple[float, float]
    lgd: tuple[float, float]
    maturity: tuple[float, float]
    rate: tuple[float, float] | None = None  # fixed-rate loans
    spread_bp: tuple[float, float] | None = None  # floating-rate loans
    index_rate: float = _SOFR
    floating_share: float = 1.0  # of a segment with both rate and spread_bp
    utilisation: tuple[float, float] | None = None
    ccf: float = 0.0
    frequency: float = 12.0
    collateral: str | None = None


LOAN_SPECS: dict[str, LoanSpec] = {
    "first_lien_mortgage": LoanSpec(pd=(0.005, 0.015), lgd=(0.20, 0.30), maturity=(3.0, 30.0), rate=(0.03, 0.07),
                                    collateral="realestate.house"),
    "home_equity": LoanSpec(pd=(0.010, 0.025), lgd=(0.45, 0.65), maturity=(2.0, 20.0), spread_bp=(0.0, 200.0),
                            index_rate=_PRIME, utilisation=(0.50, 0.85), ccf=0.5, collateral="realestate.house"),
    "c_and_i": LoanSpec(pd=(0.010, 0.020), lgd=(0.35, 0.45), maturity=(1.0, 7.0), spread_bp=(125.0, 325.0),
                        utilisation=(0.40, 0.70), ccf=0.5, frequency=4.0),
    "cre": LoanSpec(pd=(0.010, 0.030), lgd=(0.35, 0.45), maturity=(1.0, 10.0), rate=(0.045, 0.07),
                    spread_bp=(175.0, 325.0), floating_share=0.6, collateral="realestate.cre"),
    "credit_card": LoanSpec(pd=(0.030, 0.050), lgd=(0.80, 0.90), maturity=(1.0, 3.0), spread_bp=(1200.0, 1800.0),
                            index_rate=_PRIME, utilisation=(0.20, 0.40), ccf=0.3),
    "auto": LoanSpec(pd=(0.015, 0.030), lgd=(0.45, 0.55), maturity=(1.0, 6.0), rate=(0.055, 0.095)),
    "other_consumer": LoanSpec(pd=(0.020, 0.050), lgd=(0.60, 0.80), maturity=(1.0, 5.0), rate=(0.08, 0.14)),
}


# --------------------------------------------------------------------------------- helpers
def _par_yield(maturity: np.ndarray) -> np.ndarray:
    return np.interp(maturity, _UST_TENORS, _UST_YIELDS)


def _log_uniform(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def _round_to(x: np.ndarray, step: float) -> np.ndarray:
    return np.round(x / step) * step


def _counts(n: int) -> np.ndarray:
    """Positions per segment: shares x n, remainders to the largest fractions (ties: mix order)."""
    shares = np.array([s.count_share for s in SEGMENT_MIX])
    raw = shares / shares.sum() * n
    counts = np.floor(raw).astype(np.int64)
    left = n - int(counts.sum())
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[:left]] += 1
    return counts


class _Book:
    """Column buffers of the whole book; each segment fills its slice."""

    def __init__(self, n: int, valuation_date: np.datetime64) -> None:
        self.n = n
        self.valuation = valuation_date
        self.num: dict[str, np.ndarray] = {
            c: np.full(n, np.nan) for c, t in POSITION_DTYPES.items() if t == "float64"
        }
        self.direction = np.ones(n, dtype=np.int8)
        self.issue_days = np.full(n, -1, dtype=np.int64)  # days before valuation; -1 = NULL
        self.first_coupon_days = np.full(n, -1, dtype=np.int64)  # days after valuation; -1 = NULL
        self.codes: dict[str, np.ndarray] = {c: np.full(n, -1, dtype=np.int16) for c in _CATEGORIES}

    def put_codes(self, col: str, sl: slice, values: str | np.ndarray) -> None:
        cats = _CATEGORIES[col]
        if isinstance(values, str):
            self.codes[col][sl] = cats.index(values)
        else:
            self.codes[col][sl] = values

    def code(self, col: str, value: str) -> int:
        return _CATEGORIES[col].index(value)

    def issue(self, sl: slice, age_years: np.ndarray) -> None:
        self.issue_days[sl] = np.round(age_years * 365.25).astype(np.int64)

    def frame(self) -> pd.DataFrame:
        n = self.n
        ids = pd.Series(np.arange(1, n + 1)).astype("str").str.zfill(7)
        cols: dict[str, object] = {}
        for col, dtype in POSITION_DTYPES.items():
            if col == "position_id":
                cols[col] = ("P" + ids).astype("str")
            elif col in self.codes:
                cats = np.array(_CATEGORIES[col], dtype=object)
                codes = self.codes[col]
                values = np.where(codes >= 0, cats[np.maximum(codes, 0)], None)
                cols[col] = pd.array(values, dtype="str")
            elif col == "direction":
                cols[col] = self.direction
            elif col == "issue_date":
                days = self.issue_days
                dates = (self.valuation - days.astype("timedelta64[D]")).astype("datetime64[ms]")
                cols[col] = np.where(days >= 0, dates, np.datetime64("NaT", "ms"))
            elif col == "first_coupon_date":
                days = self.first_coupon_days
                dates = (self.valuation + np.maximum(days, 0).astype("timedelta64[D]")).astype("datetime64[ms]")
                cols[col] = np.where(days >= 0, dates, np.datetime64("NaT", "ms"))
            else:
                cols[col] = self.num[col]
        return pd.DataFrame(cols)


# --------------------------------------------------------------------------------- segments
def _bonds(book: _Book, rng: np.random.Generator, sl: slice, segment: str) -> None:
    n = sl.stop - sl.start
    num = book.num
    if segment == "ust":
        frn = rng.random(n) < 0.10  # Treasury FRNs (2-year)
        rating = np.full(n, book.code("rating", "AA+"))
        mat = np.where(frn, rng.uniform(0.1, 2.0, n), _log_uniform(rng, 1.0, 30.0, n))
        spread = np.zeros(n)
        noise = 0.005
        freq_fixed = np.full(n, 2.0)
        curve = np.full(n, -1)
    elif segment == "agency":
        _agency_mbs(book, rng, sl)
        return
    else:
        ig = segment == "corporate_ig"
        frn = rng.random(n) < (0.15 if ig else 0.10)
        p = _IG_RATING_P if ig else _HY_RATING_P
        rating = rng.choice(len(p), size=n, p=p / p.sum()) + (0 if ig else len(_IG_RATING_P))
        mat = _log_uniform(rng, 1.0, 30.0, n) if ig else rng.uniform(1.0, 10.0, n)
        spread = _RATING_SPREAD_BP[rating]
        noise = 0.006 if ig else 0.01
        freq_fixed = np.full(n, 2.0)
        # each corporate on its rating bucket's spread (AA+/AA/AA- -> credit.spread.rating.aa ...)
        curve = _RATING_CURVE[rating]
    mat = np.round(mat, 2)
    coupon = _par_yield(mat) + spread / 1e4 + rng.normal(0.0, noise, n)  # issued at other times: off today's curve
    coupon = np.clip(_round_to(coupon, 0.00125), 0.00125, 0.14)  # coupons in 1/8 of a percent
    frn_spread = np.round(np.where(segment == "ust", rng.uniform(0.0, 20.0, n), spread + rng.normal(0, 15, n)), 1)
    book.put_codes("instrument_type", sl, np.where(frn, book.code("instrument_type", "frn"),
                                                   book.code("instrument_type", "fixed_bond")))
    num["maturity_years"][sl] = mat
    num["coupon_rate"][sl] = np.where(frn, np.nan, coupon)
    num["coupon_frequency"][sl] = np.where(frn, 4.0, freq_fixed)
    num["spread_bp"][sl] = np.where(frn, frn_spread, np.nan)
    book.put_codes("rating", sl, rating)
    book.put_codes("credit_curve", sl, curve)
    book.issue(sl, rng.uniform(0.0, np.minimum(10.0, 40.0 - mat)))
    _securities_books(book, rng, sl)
    if segment != "ust":
        _new_issues(book, rng, sl, frn)


def _securities_books(book: _Book, rng: np.random.Generator, sl: slice) -> None:
    """AFS, HTM and trading shares of a large bank's securities (roughly: 55% AFS, 35% HTM, 10% trading)."""
    n = sl.stop - sl.start
    cats = _CATEGORIES["accounting_book"]
    pick = rng.choice(3, size=n, p=[0.55, 0.35, 0.10])
    book.put_codes("accounting_book", sl, np.array([cats.index(x) for x in ("afs", "htm", "trading")], dtype=np.int16)[pick])


def _new_issues(book: _Book, rng: np.random.Generator, sl: slice, frn: np.ndarray) -> None:
    """About 5% of the corporate bonds are new issues whose first coupon is still to come, irregular.

    Issued 1-5 months ago; the first coupon is the next date of the schedule running back from the
    maturity, so the first period is long (more than a regular period) or short.
    """
    from risk_dagster.engine.curves import add_months, days_from_years

    n = sl.stop - sl.start
    new = (rng.random(n) < 0.05) & ~frn
    if not new.any():
        return
    idx = np.arange(sl.start, sl.stop)[new]
    val = int((book.valuation - np.datetime64("1970-01-01", "D")).astype(np.int64))
    step = np.rint(12.0 / book.num["coupon_frequency"][idx]).astype(np.int64)
    mat = val + days_from_years(book.num["maturity_years"][idx])
    k = np.zeros(len(idx), dtype=np.int64)
    for _ in range(400):  # the last schedule date after the valuation date, walking back from the maturity
        earlier = add_months(mat, -(k + 1) * step) > val
        if not earlier.any():
            break
        k = k + earlier
    first = add_months(mat, -k * step)
    issue = first - np.rint(rng.uniform(0.6, 1.6, len(idx)) * step * 30.4).astype(np.int64)
    issue = np.minimum(issue, val - 1)
    book.first_coupon_days[idx] = first - val
    book.issue_days[idx] = val - issue


# Agency MBS cohorts: 30y UMBS pools by net coupon (end-2025 current coupon about 5.0-5.5%, primary
# mortgage rate about 6.2%); WAC = coupon + 0.75% (servicing + guarantee fee), ages by vintage.
_MBS_COUPONS = np.array([2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5]) / 100.0
_MBS_COUPON_P = np.array([8, 12, 10, 8, 8, 9, 13, 15, 11, 6], dtype="float64")


def _agency_mbs(book: _Book, rng: np.random.Generator, sl: slice) -> None:
    """Agency securities: 70% MBS pass-through cohorts (by face), 30% agency debentures."""
    n = sl.stop - sl.start
    num = book.num
    mbs = rng.random(n) < 0.5
    m = np.flatnonzero(mbs) + sl.start
    d = np.flatnonzero(~mbs) + sl.start
    # pools carry ~70% of the segment's face: scale the two groups' sizes
    face = num["notional"][sl.start:sl.stop].sum()
    for idx, share in ((m, 0.7), (d, 0.3)):
        if len(idx):
            num["notional"][idx] = np.maximum(np.round(num["notional"][idx] / num["notional"][idx].sum() * face * share), 1.0)
    coupon = rng.choice(_MBS_COUPONS, size=len(m), p=_MBS_COUPON_P / _MBS_COUPON_P.sum())
    # low coupons are old vintages (2020-21), high coupons recent ones
    age = np.clip(np.rint(np.interp(coupon, [0.02, 0.035, 0.05, 0.065], [62, 40, 24, 8]) + rng.normal(0, 4, len(m))), 1, 120)
    book.codes["instrument_type"][m] = book.code("instrument_type", "agency_mbs")
    num["coupon_rate"][m] = coupon
    num["wac"][m] = coupon + 0.0075
    num["loan_age_months"][m] = age
    num["maturity_years"][m] = np.round((360 - age) / 12.0, 4)
    num["coupon_frequency"][m] = 12.0
    # debentures: fixed bonds on the Aaa-10y spread
    mat = np.round(_log_uniform(rng, 1.0, 20.0, len(d)), 2)
    coup = np.clip(_round_to(_par_yield(mat) + 40.0 / 1e4 + rng.normal(0.0, 0.006, len(d)), 0.00125), 0.00125, 0.14)
    book.codes["instrument_type"][d] = book.code("instrument_type", "fixed_bond")
    num["maturity_years"][d] = mat
    num["coupon_rate"][d] = coup
    num["coupon_frequency"][d] = 2.0
    book.codes["rating"][d] = book.code("rating", "AA+")
    book.codes["credit_curve"][d] = book.code("credit_curve", _AGENCY_CURVE)
    book.issue_days[d] = np.round(rng.uniform(0.0, np.minimum(10.0, 40.0 - mat)) * 365.25).astype(np.int64)
    book.issue_days[m] = np.round(age * 30.4).astype(np.int64)
    _securities_books(book, rng, sl)


DEALER_UNHEDGED_SHARE = 0.10
"""Share of a dealer book's swaps and FX forwards left without an offsetting trade: the rest come in
client / hedge pairs of equal notional and opposite direction, the hedge's maturity within about 10% of
the client trade's (a dealer runs a matched book; its residual risk is the unpaired trades, the maturity
mismatch and the off-market rates)."""


def _hedge_pairs(book: _Book, rng: np.random.Generator, sl: slice, mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Directions and maturities of a matched dealer book: trade ``2k+1`` offsets trade ``2k`` (same
    notional, opposite direction, maturity x exp(N(0, 0.1))) except a :data:`DEALER_UNHEDGED_SHARE` of
    pairs, left as two independent trades; notionals are rescaled so the segment keeps its total."""
    n = sl.stop - sl.start
    direction = np.where(rng.random(n) < 0.5, -1, 1)
    mat = mat.copy()
    notional = book.num["notional"][sl]
    first = np.arange(0, n - 1, 2)
    paired = first[rng.random(len(first)) >= DEALER_UNHEDGED_SHARE]
    direction[paired + 1] = -direction[paired]
    total = notional.sum()
    notional[paired + 1] = notional[paired]
    notional[:] = np.maximum(np.round(notional * (total / notional.sum()), 0), 1.0)  # the segment keeps its size
    mat[paired + 1] = mat[paired] * np.exp(rng.normal(0.0, 0.1, len(paired)))
    return direction, mat


def _irs(book: _Book, rng: np.random.Generator, sl: slice) -> None:
    n = sl.stop - sl.start
    num = book.num
    direction, mat = _hedge_pairs(book, rng, sl, _log_uniform(rng, 1.0, 30.0, n))
    mat = np.round(np.clip(mat, 1.0, 30.0), 2)
    swap_spread = -0.002 * mat / 30.0  # SOFR swap spreads are negative at the long end
    rate = _par_yield(mat) + swap_spread + rng.normal(0.0, 0.006, n)  # seasoned trades
    book.put_codes("instrument_type", sl, "irs")
    book.put_codes("accounting_book", sl, "trading")
    book.direction[sl] = direction
    num["maturity_years"][sl] = mat
    num["coupon_rate"][sl] = np.round(np.clip(rate, 0.005, 0.065), 5)
    num["coupon_frequency"][sl] = np.where(rng.random(n) < 0.8, 1.0, 2.0)  # SOFR OIS: annual fixed leg
    book.issue(sl, rng.uniform(0.0, np.minimum(5.0, 40.0 - mat)))


def _equities(book: _Book, rng: np.random.Generator, sl: slice) -> None:
    n = sl.stop - sl.start
    book.put_codes("instrument_type", sl, "equity")
    book.put_codes("accounting_book", sl, "trading")
    book.put_codes("equity_factor", sl, rng.choice(len(_SECTORS), size=n, p=_SECTOR_P / _SECTOR_P.sum()))
    # long inventory, partly hedged by short positions: net long about a fifth of gross
    book.direction[sl] = np.where(rng.random(n) < 0.6, 1, -1)


# (factor, spot at end 2025, foreign short rate); USD per unit for EUR and GBP, JPY per USD
_FX = (("fx.eurusd", 1.1745, 0.0200, "EUR"), ("fx.usdjpy", 156.70, 0.0075, "JPY"), ("fx.gbpusd", 1.3460, 0.0375, "GBP"))


def _fx_forwards(book: _Book, rng: np.random.Generator, sl: slice) -> None:
    n = sl.stop - sl.start
    num = book.num
    pair = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    spot = np.array([f[1] for f in _FX])[pair]
    r_foreign = np.array([f[2] for f in _FX])[pair]
    usd_per_foreign = np.array([f[0].endswith("usd") for f in _FX])[pair]
    direction, mat = _hedge_pairs(book, rng, sl, _log_uniform(rng, 1 / 52, 2.0, n))
    pair[1::2] = pair[0::2][: n // 2]  # a hedge is in the client trade's currency pair
    spot = np.array([f[1] for f in _FX])[pair]
    r_foreign = np.array([f[2] for f in _FX])[pair]
    usd_per_foreign = np.array([f[0].endswith("usd") for f in _FX])[pair]
    mat = np.round(np.clip(mat, 1 / 52, 2.0), 3)
    # covered interest parity in the factor's quotation, then off-market by the moves since the trade
    carry = np.where(usd_per_foreign, _SOFR - r_foreign, r_foreign - _SOFR)
    forward = spot * np.exp(carry * mat + rng.normal(0.0, 0.03, n))
    book.put_codes("instrument_type", sl, "fx_forward")
    book.put_codes("accounting_book", sl, "trading")
    book.put_codes("currency", sl, np.array([_CURRENCIES.index(f[3]) for f in _FX])[pair])
    book.put_codes("fx_factor", sl, pair)
    book.direction[sl] = direction
    num["maturity_years"][sl] = mat
    num["forward_rate"][sl] = np.where(usd_per_foreign, np.round(forward, 5), np.round(forward, 3))
    num["spot"][sl] = spot
    book.issue(sl, rng.uniform(0.0, 0.5, n))


# (factor, index level at end 2025, at-the-money vol, dividend yield): trailing dividend yields of
# about 1.2% (S&P 500) and 0.7% (Nasdaq-100) at the end of 2025, rounded (illustrative, like the levels)
_INDEX = (("equity.sp500", 6845.50, 0.17, 0.012), ("equity.nasdaq", 23241.99, 0.22, 0.007))


def _equity_options(book: _Book, rng: np.random.Generator, sl: slice) -> None:
    n = sl.stop - sl.start
    num = book.num
    which = np.where(rng.random(n) < 0.8, 0, 1)
    spot = np.array([i[1] for i in _INDEX])[which]
    atm = np.array([i[2] for i in _INDEX])[which]
    strike = np.maximum(_round_to(spot * np.exp(rng.normal(0.0, 0.08, n)), 5.0), 5.0)
    expiry = np.round(_log_uniform(rng, 0.05, 2.0, n), 3)
    # equity skew: low strikes trade at higher vols; kept within 15-35%
    vol = atm - 0.5 * np.log(strike / spot) + 0.01 * np.sqrt(expiry) + rng.normal(0.0, 0.01, n)
    book.put_codes("instrument_type", sl, "equity_option")
    book.put_codes("equity_factor", sl, np.array([_EQUITY_FACTORS.index(i[0]) for i in _INDEX])[which])
    book.put_codes("option_type", sl, (rng.random(n) < 0.5).astype(np.int16))
    book.direction[sl] = np.where(rng.random(n) < 0.4, 1, -1)  # dealers are net short vol to clients
    num["strike"][sl] = strike
    num["spot"][sl] = spot
    num["expiry_years"][sl] = expiry
    num["implied_vol"][sl] = np.round(np.clip(vol, 0.15, 0.35), 4)
    num["dividend_yield"][sl] = np.array([i[3] for i in _INDEX])[which]
    book.put_codes("accounting_book", sl, "trading")


def _loans(book: _Book, rng: np.random.Generator, sl: slice, segment: str, notional: np.ndarray) -> None:
    n = sl.stop - sl.start
    num = book.num
    spec = LOAN_SPECS[segment]
    mat = np.round(rng.uniform(*spec.maturity, n), 2)
    if spec.spread_bp is not None and spec.rate is not None:
        floating = rng.random(n) < spec.floating_share
    else:
        floating = np.full(n, spec.spread_bp is not None)
    spread = np.round(rng.uniform(*(spec.spread_bp or (0.0, 0.0)), n), 1)
    fixed = rng.uniform(*(spec.rate or (0.0, 0.0)), n)
    rate = np.where(floating, spec.index_rate + spread / 1e4, fixed)
    if spec.utilisation is not None:
        used = rng.uniform(*spec.utilisation, n)
        ead = notional * (used + spec.ccf * (1.0 - used))
        num["drawn_amount"][sl] = np.round(notional * used, 0)
    else:
        ead = notional
    book.put_codes("accounting_book", sl, "loan")
    book.put_codes("instrument_type", sl, "loan")
    num["maturity_years"][sl] = mat
    num["coupon_frequency"][sl] = spec.frequency
    num["spread_bp"][sl] = np.where(floating, spread, np.nan)
    num["pd"][sl] = np.round(rng.uniform(*spec.pd, n), 5)
    num["lgd"][sl] = np.round(rng.uniform(*spec.lgd, n), 4)
    num["ead"][sl] = np.round(ead, 0)
    num["loan_rate"][sl] = np.round(rate, 5)
    if spec.collateral is not None:
        book.put_codes("collateral_factor", sl, spec.collateral)
    book.issue(sl, rng.uniform(0.0, np.minimum(8.0, 40.0 - mat)))


_SEGMENT_BUILDERS: dict[str, Callable[[_Book, np.random.Generator, slice], None]] = {
    "ust": lambda b, r, s: _bonds(b, r, s, "ust"),
    "agency": lambda b, r, s: _bonds(b, r, s, "agency"),
    "corporate_ig": lambda b, r, s: _bonds(b, r, s, "corporate_ig"),
    "corporate_hy": lambda b, r, s: _bonds(b, r, s, "corporate_hy"),
    "rates_derivatives": _irs,
    "equity": _equities,
    "fx": _fx_forwards,
    "equity_derivatives": _equity_options,
}


# --------------------------------------------------------------------------------- API
def generate_sample_book(
    n_positions: int = 10_000,
    seed: int = SAMPLE_BOOK_SEED,
    valuation_date: str = VALUATION_DATE,
) -> pd.DataFrame:
    """Generate the synthetic large-US-bank book.

    Parameters
    ----------
    n_positions
        Number of positions (at least 1). Segments get ``count_share x n`` positions each
        (:data:`SEGMENT_MIX`, largest remainders), in the order of the mix, with ids
        ``P0000001`` upwards; their total notionals do not depend on ``n_positions``.
    seed
        Base seed; segment ``k`` draws from ``numpy.random.default_rng([seed, k])``.
    valuation_date
        ISO date the remaining maturities are measured from; issue dates lie before it.

    Returns
    -------
    pandas.DataFrame
        One row per position, columns and dtypes of
        :data:`~risk_dagster.portfolio.positions.POSITION_DTYPES`; it meets the portfolio
        contract. Deterministic: the same arguments give an identical frame (and identical
        parquet bytes through :func:`write_book`). ``attrs["as_of"]`` is ``valuation_date``.
    """
    n = int(n_positions)
    if n < 1:
        raise ValueError(f"n_positions must be at least 1, got {n_positions!r}")
    book = _Book(n, np.datetime64(valuation_date, "D"))
    counts = _counts(n)
    start = 0
    for k, (spec, count) in enumerate(zip(SEGMENT_MIX, counts, strict=True)):
        sl = slice(start, start + int(count))
        start += int(count)
        if count == 0:
            continue
        rng = np.random.default_rng([seed, k])
        # sizes: lognormal, scaled to the segment's total (the bank's size does not grow with n)
        w = rng.lognormal(0.0, spec.size_sigma, int(count))
        notional = np.maximum(np.round(spec.notional_bn * 1e9 * w / w.sum(), 0), 1.0)
        book.num["notional"][sl] = notional
        book.put_codes("segment", sl, spec.segment)
        book.put_codes("currency", sl, "USD")
        if spec.segment in LOAN_SPECS:
            _loans(book, rng, sl, spec.segment, notional)
        else:
            _SEGMENT_BUILDERS[spec.segment](book, rng, sl)
    out = book.frame()
    out.attrs["as_of"] = str(valuation_date)
    return out


def write_book(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a book to parquet reproducibly and atomically (temporary file, then rename).

    Fixed writer options (zstd, no index, one row group per 1,000,000 rows) so that the same
    frame gives the same bytes with the same pyarrow.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return atomic_write(target, lambda tmp: pq.write_table(table, tmp, compression="zstd", row_group_size=1_000_000))


def load_sample_book(*, validate: bool = True) -> pd.DataFrame:
    """The shipped 10,000-position sample book (``risk_dagster/data/portfolio/sample_book.parquet``).

    Parameters
    ----------
    validate
        Run the portfolio contract on it (about a second); ``False`` only brings the dtypes
        to canonical form.
    """
    if not SAMPLE_BOOK_PATH.is_file():
        raise FileNotFoundError(
            f"shipped sample book missing: {SAMPLE_BOOK_PATH} (regenerate: risk_dagster.portfolio.sample_book.main())"
        )
    frame = pd.read_parquet(SAMPLE_BOOK_PATH)
    out = validate_positions(frame, path=SAMPLE_BOOK_PATH) if validate else coerce_positions(frame, path=SAMPLE_BOOK_PATH)
    out.attrs["as_of"] = VALUATION_DATE  # remaining terms are measured from it (the engine reads it)
    return out


def composition(frame: pd.DataFrame) -> pd.DataFrame:
    """Count and notional (USD bn) by segment, with shares; for reports and the README."""
    g = frame.groupby("segment", sort=False).agg(positions=("position_id", "size"), notional=("notional", "sum"))
    g["notional_bn"] = g.pop("notional") / 1e9
    g["count_share"] = g["positions"] / g["positions"].sum()
    g["notional_share"] = g["notional_bn"] / g["notional_bn"].sum()
    return g


def main() -> None:
    """Regenerate the shipped book (validated first) and print its composition."""
    book = generate_sample_book(10_000, seed=SAMPLE_BOOK_SEED, valuation_date=VALUATION_DATE)
    validate_positions(book)
    print(write_book(book, SAMPLE_BOOK_PATH))
    print(composition(book).to_string(float_format=lambda x: f"{x:,.3f}"))


if __name__ == "__main__":
    main()
