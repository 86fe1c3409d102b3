"""The bank's portfolio: the position schema, loading users' books, and the shipped sample book.

A portfolio is a pandas frame with one row per position whose columns are
:data:`~risk_dagster.portfolio.positions.POSITION_COLUMNS` and which meets the data contract
``data_contracts/datasets/portfolio_positions.yaml`` (fixed-rate bonds, FRNs, interest-rate
swaps, equities, FX forwards, European equity index options and banking-book loans by segment
with PD, LGD and EAD).

- :func:`~risk_dagster.portfolio.positions.load_portfolio` reads a user's CSV or parquet book and
  refuses one that breaks the contract, naming the positions, columns and rules;
- :func:`~risk_dagster.portfolio.positions.validate_positions` checks a frame already in memory;
- :func:`~risk_dagster.portfolio.sample_book.generate_sample_book` builds the deterministic
  synthetic large-US-bank book (10,000 positions shipped as
  ``risk_dagster/data/portfolio/sample_book.parquet``; 1,000,000 in a few seconds);
- :func:`~risk_dagster.portfolio.sample_book.load_sample_book` reads the shipped one.
"""

from __future__ import annotations

from risk_dagster.portfolio.positions import (
    INSTRUMENT_TYPES,
    LOAN_SEGMENTS,
    POSITION_COLUMNS,
    POSITION_DTYPES,
    SEGMENTS,
    PortfolioContractError,
    Violation,
    coerce_positions,
    load_portfolio,
    validate_positions,
)
from risk_dagster.portfolio.sample_book import (
    SAMPLE_BOOK_PATH,
    SAMPLE_BOOK_SEED,
    generate_sample_book,
    load_sample_book,
    write_book,
)

__all__ = [
    "INSTRUMENT_TYPES",
    "LOAN_SEGMENTS",
    "POSITION_COLUMNS",
    "POSITION_DTYPES",
    "SAMPLE_BOOK_PATH",
    "SAMPLE_BOOK_SEED",
    "SEGMENTS",
    "PortfolioContractError",
    "Violation",
    "coerce_positions",
    "generate_sample_book",
    "load_portfolio",
    "load_sample_book",
    "validate_positions",
    "write_book",
]
