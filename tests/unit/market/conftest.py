"""Session-wide fixtures for the market tests: shipped files are read once per session."""

from __future__ import annotations

import pandas as pd
import pytest

from risk_dagster.market.history import FactorHistory, build_factor_history, load_history_sources
from risk_dagster.scenarios.registry import load_fed_history


@pytest.fixture(scope="session")
def fed_history() -> pd.DataFrame:
    """The Fed 2026 historic table, wide (quarter x canonical id), as the registry reads it."""
    return load_fed_history("2026").wide()


@pytest.fixture(scope="session")
def sources() -> dict[str, pd.DataFrame]:
    return load_history_sources()


@pytest.fixture(scope="session")
def history(fed_history: pd.DataFrame, sources: dict[str, pd.DataFrame]) -> FactorHistory:
    return build_factor_history(fed_history, sources=sources)
