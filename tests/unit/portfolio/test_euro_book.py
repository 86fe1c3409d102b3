"""The euro-area bank's shipped book: deterministic, in EUR, meets the portfolio contract, loans = the stage table."""

from __future__ import annotations

import pandas as pd
import pytest

from risk_dagster.capital.eba_capital import load_stage_table
from risk_dagster.portfolio.euro_book import EURO_BOOK_AS_OF, SOVEREIGN_MIX, generate_euro_book, load_euro_book
from risk_dagster.portfolio.positions import PortfolioContractError, validate_positions


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    return load_euro_book()


def test_shipped_book_is_the_generated_one(book: pd.DataFrame) -> None:
    fresh = generate_euro_book()
    pd.testing.assert_frame_equal(book.reset_index(drop=True), validate_positions(fresh).reset_index(drop=True), check_dtype=False)
    assert book.attrs["as_of"] == EURO_BOOK_AS_OF
    assert set(book["currency"]) == {"EUR"}


def test_composition(book: pd.DataFrame) -> None:
    sov = book[book["segment"] == "sovereign"]
    issuers = sov["credit_curve"].str.split(".").str[2]
    shares = sov.groupby(issuers)["notional"].sum() / sov["notional"].sum()
    for cc, (share, rating, _freq) in SOVEREIGN_MIX.items():
        assert shares[cc] == pytest.approx(share, abs=1e-9)
        assert set(sov.loc[issuers == cc, "rating"]) == {rating}
    assert set(book.loc[book["segment"] == "corporate_ig", "credit_curve"]) == {"credit.itraxx.main_5y", "credit.itraxx.senior_financials_5y"}
    assert set(book.loc[book["instrument_type"] == "equity", "equity_factor"]) == {"equity.eurostoxx50"}


def test_loans_sum_to_the_stage_table(book: pd.DataFrame) -> None:
    loans = book[book["instrument_type"] == "loan"].groupby("segment")["ead"].sum()
    for s in load_stage_table():
        assert loans[s.segment] == pytest.approx(sum(s.ead), rel=1e-12)


def test_a_book_mixing_currencies_is_refused_naming_the_position(book: pd.DataFrame) -> None:
    mixed = book.copy()
    mixed.loc[mixed.index[3], "currency"] = "USD"
    with pytest.raises(PortfolioContractError, match="one currency per book") as info:
        validate_positions(mixed)
    assert info.value.as_dict()["violations"][0]["position_id"] == book["position_id"].iloc[3]
    gbp = book.copy()
    gbp["currency"] = "GBP"
    with pytest.raises(PortfolioContractError, match="currency"):
        validate_positions(gbp)
