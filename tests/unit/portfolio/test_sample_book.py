"""The synthetic sample book: shipped file = regenerated frame, contract, determinism, scale, mix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk_dagster.portfolio import POSITION_COLUMNS, POSITION_DTYPES, load_portfolio, validate_positions
from risk_dagster.portfolio.sample_book import (
    LOAN_SPECS,
    SAMPLE_BOOK_PATH,
    SAMPLE_BOOK_SEED,
    SEGMENT_MIX,
    composition,
    generate_sample_book,
    load_sample_book,
    write_book,
)


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    return generate_sample_book()


def test_shipped_book_passes_the_contract_and_equals_a_regeneration(book: pd.DataFrame) -> None:
    assert SAMPLE_BOOK_PATH.is_file()
    shipped = load_sample_book(validate=True)
    regenerated = generate_sample_book(10_000, seed=SAMPLE_BOOK_SEED, valuation_date="2025-12-31")
    pd.testing.assert_frame_equal(shipped, regenerated)
    pd.testing.assert_frame_equal(shipped, book)
    # the generic loader reads it too (by content: parquet magic bytes)
    pd.testing.assert_frame_equal(load_portfolio(SAMPLE_BOOK_PATH), book)


def test_columns_and_dtypes(book: pd.DataFrame) -> None:
    assert tuple(book.columns) == POSITION_COLUMNS
    assert {c: str(t) for c, t in book.dtypes.items()} == POSITION_DTYPES
    assert book["position_id"].is_unique and book["position_id"].iloc[0] == "P0000001"
    assert len(book) == 10_000


def test_same_seed_same_bytes_other_seed_other_book(tmp_path: Path) -> None:
    a, b = generate_sample_book(3_000, seed=7), generate_sample_book(3_000, seed=7)
    pd.testing.assert_frame_equal(a, b)
    pa_, pb_ = write_book(a, tmp_path / "a.parquet"), write_book(b, tmp_path / "b.parquet")
    assert pa_.read_bytes() == pb_.read_bytes()
    c = generate_sample_book(3_000, seed=8)
    assert not np.allclose(a["notional"].to_numpy(), c["notional"].to_numpy())


@pytest.mark.parametrize("n", [1, 15, 37])
def test_small_books_pass_the_contract(n: int) -> None:
    frame = generate_sample_book(n)
    assert len(frame) == n
    validate_positions(frame)


def test_rejects_an_empty_book() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate_sample_book(0)


_MILLION = """
import json, resource, time
from risk_dagster.portfolio.sample_book import generate_sample_book
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.perf_counter()
frame = generate_sample_book(1_000_000)
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
totals = (frame.groupby("segment")["notional"].sum() / 1e9).to_dict()
print(json.dumps({"n": len(frame), "unique": bool(frame["position_id"].is_unique),
                  "last": frame["position_id"].iloc[-1], "seconds": elapsed,
                  "peak_mb": (peak - before) / 1024, "totals": totals}))
"""


def test_one_million_positions_fast_and_small() -> None:
    # in a fresh process, so the peak RSS is the generator's (ru_maxrss is KiB on Linux); measured
    # on the 2-core dev machine: ~1.3 s and ~0.45 GB above the imports; the bounds leave room
    done = subprocess.run([sys.executable, "-c", _MILLION], capture_output=True, text=True, check=True, timeout=120)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["n"] == 1_000_000 and out["unique"] and out["last"] == "P1000000"
    assert out["seconds"] < 10.0, f"1M positions took {out['seconds']:.1f} s"
    assert out["peak_mb"] < 1024, f"peak RSS grew by {out['peak_mb']:.0f} MB"
    # the bank does not grow with granularity: segment totals are the same as at 10k
    for spec in SEGMENT_MIX:
        assert out["totals"][spec.segment] == pytest.approx(spec.notional_bn, rel=1e-6)


def test_segment_mix_by_count_and_notional(book: pd.DataFrame) -> None:
    comp = composition(book)
    for spec in SEGMENT_MIX:
        assert comp.loc[spec.segment, "positions"] == round(spec.count_share * 10_000)
        assert comp.loc[spec.segment, "notional_bn"] == pytest.approx(spec.notional_bn, rel=1e-6)
    loans = book[book["instrument_type"] == "loan"]
    assert 0.5 <= len(loans) / len(book) <= 0.6  # banking-book loans dominate the count
    types = book.groupby("segment")["instrument_type"].unique().map(set).to_dict()
    assert types["ust"] == {"fixed_bond", "frn"} and types["agency"] == {"fixed_bond", "agency_mbs"}
    assert types["rates_derivatives"] == {"irs"} and types["equity_derivatives"] == {"equity_option"}
    assert set(book.loc[book["instrument_type"] == "equity", "equity_factor"].str.removeprefix("equity.sector.")) == {
        "nodur", "durbl", "manuf", "enrgy", "chems", "buseq", "telcm", "utils", "shops", "hlth", "money", "other"
    }
    assert set(book["fx_factor"].dropna()) == {"fx.eurusd", "fx.usdjpy", "fx.gbpusd"}
    ig = book.loc[book["segment"] == "corporate_ig", "rating"]
    assert set(ig) <= {"AAA", "AA+", "AA", "AA-", "A+", "A", "A-", "BBB+", "BBB", "BBB-"}
    irs = book[book["instrument_type"] == "irs"]
    assert set(irs["direction"]) == {1, -1}  # pay- and receive-fixed


@pytest.mark.parametrize(
    ("segment", "pd_range", "lgd_range"),
    [
        ("credit_card", (0.03, 0.05), (0.80, 0.90)),
        ("first_lien_mortgage", (0.005, 0.015), (0.20, 0.30)),
        ("cre", (0.01, 0.03), (0.35, 0.45)),
        ("c_and_i", (0.01, 0.02), (0.35, 0.45)),
    ],
)
def test_loan_pd_lgd_ranges(book: pd.DataFrame, segment: str, pd_range: tuple, lgd_range: tuple) -> None:
    seg = book[book["segment"] == segment]
    assert len(seg) > 0 and (seg["instrument_type"] == "loan").all()
    assert seg["pd"].between(*pd_range).all() and seg["lgd"].between(*lgd_range).all()
    assert (seg["ead"] <= seg["notional"]).all() and (seg["ead"] > 0).all()
    spec = LOAN_SPECS[segment]
    if spec.utilisation is not None:  # revolving: EAD below the commitment
        assert (seg["ead"] < seg["notional"]).all()
    assert seg["pd"].mean() == pytest.approx(sum(pd_range) / 2, rel=0.1)


def test_market_terms_are_plausible(book: pd.DataFrame) -> None:
    bonds = book[book["instrument_type"] == "fixed_bond"]
    assert bonds["maturity_years"].between(1.0, 30.0).all()
    ust = bonds[bonds["segment"] == "ust"]
    assert 0.025 < ust["coupon_rate"].median() < 0.055  # near the 2025 curve (3.5-4.8%)
    hy = bonds[bonds["segment"] == "corporate_hy"]
    assert hy["coupon_rate"].median() > ust["coupon_rate"].median() + 0.02
    opts = book[book["instrument_type"] == "equity_option"]
    assert opts["implied_vol"].between(0.15, 0.35).all()
    assert (opts["strike"] / opts["spot"]).between(0.6, 1.5).all()
    assert set(opts["option_type"]) == {"call", "put"}
    assert (book["issue_date"].dropna() <= pd.Timestamp("2025-12-31")).all()
