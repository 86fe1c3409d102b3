"""QuantLib parity of the run's own book (the table the pack shows), and that it can fail."""

from __future__ import annotations

import numpy as np
import pytest

from risk_dagster.engine import parity
from risk_dagster.portfolio.sample_book import load_sample_book


@pytest.fixture(scope="module")
def book():
    return load_sample_book(validate=False)


def test_sample_book_is_within_tolerance(book) -> None:
    table = parity.book_parity(book, max_positions=60, n_scenarios=2)
    assert table.index[-1] == "all" and len(table) >= 3
    assert table.loc["all", "positions"] == table.drop(index="all")["positions"].sum() <= 60
    assert (table["scenarios"] == 3).all()  # two shocks and the unshocked curve
    assert table["within_tolerance"].all(), table
    assert (table["max_rel_err"] <= parity.PARITY_TOLERANCE).all()
    assert set(table.index) - {"all"} <= set(parity.MARKET_TYPES)


def test_an_engine_error_shows(book, monkeypatch) -> None:
    real = parity.engine_values

    def off_by_a_millionth(frame, *args, **kwargs):
        values = real(frame, *args, **kwargs)
        return values * (1.0 + 1e-6 * (frame["instrument_type"].to_numpy() == "irs")[None, :])

    monkeypatch.setattr(parity, "engine_values", off_by_a_millionth)
    table = parity.book_parity(book, max_positions=60, n_scenarios=1)
    assert not table.loc["irs", "within_tolerance"] and not table.loc["all", "within_tolerance"]
    others = table.drop(index=["irs", "all"])
    assert others["within_tolerance"].all()
    assert 1e-7 < table.loc["irs", "max_rel_err"] <= 1.01e-6  # the planted error, and nothing more


def test_a_book_without_market_positions_is_an_empty_table(book) -> None:
    loans = book[~book["instrument_type"].isin(parity.MARKET_TYPES)]
    assert parity.book_parity(loans).empty
    assert np.isin(["positions", "within_tolerance"], parity.book_parity(loans).columns).all()
