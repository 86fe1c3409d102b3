"""Session-wide fixtures for the market tests: shipped files are read once per session."""

from __future__ import annotations

import pandas as pd
import pytest

from risk_dagster.market.history import FactorHistory, build_factor_history, load_history_sources
from risk_dagster.paths import fed_scenarios_dir

# Fed historic column -> canonical id, for the fallback when the scenario registry is absent.
_FED_COLUMNS = {
    "3-month Treasury rate": "treasury_3m",
    "5-year Treasury yield": "treasury_5y",
    "10-year Treasury yield": "treasury_10y",
    "BBB corporate yield": "bbb_yield",
    "Mortgage rate": "mortgage_rate",
    "Prime rate": "prime_rate",
    "Dow Jones Total Stock Market Index (Level)": "equity_total_market",
    "House Price Index (Level)": "house_price_index",
    "Commercial Real Estate Price Index (Level)": "cre_price_index",
    "Market Volatility Index (Level)": "vix",
    "Unemployment rate": "unemployment_rate",
    "Real GDP growth": "real_gdp_growth",
    "Euro area bilateral dollar exchange rate (USD/euro)": "usd_per_eur",
    "Developing Asia bilateral dollar exchange rate (F/USD, index)": "developing_asia_fx_index",
    "Japan bilateral dollar exchange rate (yen/USD)": "jpy_per_usd",
    "U.K. bilateral dollar exchange rate (USD/pound)": "usd_per_gbp",
}


def _fed_history_from_csv() -> pd.DataFrame:
    folder = fed_scenarios_dir() / "2026_final"
    parts = []
    for name in ("2026_Final_Historic_Domestic.csv", "2026_Final_Historic_International.csv"):
        raw = pd.read_csv(folder / name)
        raw.index = pd.PeriodIndex(raw["Date"].str.replace(" ", ""), freq="Q-DEC", name="quarter")
        renamed = raw.rename(columns=_FED_COLUMNS)
        parts.append(renamed[[c for c in _FED_COLUMNS.values() if c in renamed.columns]])
    return pd.concat(parts, axis=1).astype("float64")


@pytest.fixture(scope="session")
def fed_history() -> pd.DataFrame:
    """The Fed 2026 historic table, wide (quarter x canonical id)."""
    try:
        from risk_dagster.scenarios.registry import load_fed_history
    except ImportError:  # the registry is another module; the CSVs give the same frame
        return _fed_history_from_csv()
    return load_fed_history("2026").wide()


@pytest.fixture(scope="session")
def sources() -> dict[str, pd.DataFrame]:
    return load_history_sources()


@pytest.fixture(scope="session")
def history(fed_history: pd.DataFrame, sources: dict[str, pd.DataFrame]) -> FactorHistory:
    return build_factor_history(fed_history, sources=sources)
