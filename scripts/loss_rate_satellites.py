"""Print the loan loss-rate satellites (``risk_dagster.capital.loss_rates``): the fitted
coefficients with robust t-statistics, and the outcomes analysis for 2008Q1-2010Q4 and
2020Q1-2021Q4 (each window left out of the fit and predicted from the realized macro path).

Run from the repository root: ``python scripts/loss_rate_satellites.py``.
"""

from __future__ import annotations

import sys

import pandas as pd

from risk_dagster.capital.loss_rates import (
    OUTCOME_WINDOWS,
    LossRateSatellite,
    load_charge_off_rates,
    macro_drivers,
    outcomes_analysis,
)
from risk_dagster.scenarios.registry import load_fed_history


def main() -> int:
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    rates = load_charge_off_rates()
    drivers = macro_drivers(load_fed_history("2026"))
    print(f"charge-off rates {rates.index.min()}-{rates.index.max()}, FRED 2023Q2 vintage from {rates.attrs['splice_quarter']}")
    print()
    model = LossRateSatellite().fit(rates, drivers)
    print("Fractional logit coefficients (quarterly loss fraction), HC1 robust t-statistics")
    print(model.coefficients().round(3).to_string(index=False))
    for name, window in OUTCOME_WINDOWS.items():
        print()
        print(f"Outcomes analysis {name}: fit without {window[0]}-{window[1]}, predict it from the realized macro path")
        print("(cumulative = sum of quarterly rates, % of loans; RMSE and peaks in annualized %)")
        print(outcomes_analysis(rates, drivers, window).round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
