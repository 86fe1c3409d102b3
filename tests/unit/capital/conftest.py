"""Shared read-only fixtures of the capital tests: the Fed's history and charge-off rates (never mutate them)."""

from __future__ import annotations

import pandas as pd
import pytest

from risk_dagster.capital.loss_rates import load_charge_off_rates
from risk_dagster.scenarios.registry import load_fed_history


@pytest.fixture(scope="session")
def rates() -> pd.DataFrame:
    return load_charge_off_rates()


@pytest.fixture(scope="session")
def history():
    return load_fed_history("2026")
