"""Print the loan loss-rate satellites (``risk_dagster.capital.loss_rates``): the fitted
coefficients with HAC (Newey-West, 4 lags) standard errors and the driver clamp bounds, the
outcomes analysis for 2008Q1-2010Q4 and 2020Q1-2021Q4 (each window left out of the fit and
predicted from the realized macro path, drivers clamped to the fit sample's range), side by side
per segment, and how many quarter-features are clamped, in those windows and on the Fed 2026
scenarios.

Run from the repository root: ``python scripts/loss_rate_satellites.py [clamp_margin|none]``.
"""

from __future__ import annotations

import sys

import pandas as pd

from risk_dagster.capital.loss_rates import (
    DEFAULT_CLAMP_MARGIN,
    OUTCOME_WINDOWS,
    LossRateSatellite,
    load_charge_off_rates,
    macro_drivers,
    outcomes_analysis,
    scenario_drivers,
)
from risk_dagster.scenarios.registry import load_fed_history, load_scenario

SCENARIOS = ("fed-2026-baseline", "fed-2026-severely-adverse")


def main(argv: list[str]) -> int:
    pd.set_option("display.width", 220)
    pd.set_option("display.max_columns", 30)
    margin: float | None = DEFAULT_CLAMP_MARGIN
    if argv:
        margin = None if argv[0].lower() == "none" else float(argv[0])
    rates = load_charge_off_rates()
    history = load_fed_history("2026")
    drivers = macro_drivers(history)
    print(f"charge-off rates {rates.index.min()}-{rates.index.max()}, FRED 2023Q2 vintage from {rates.attrs['splice_quarter']}")
    print(f"clamp margin {margin} (share of each feature's fit-sample range; None: no clamping)")
    print()
    model = LossRateSatellite(clamp_margin=margin).fit(rates, drivers)
    print(f"Fractional logit coefficients (quarterly loss fraction), {model.cov_label} standard errors;")
    print("lower/upper: the clamp bounds of each driver")
    print(model.coefficients().round(3).to_string(index=False))

    tables = {}
    for name, window in OUTCOME_WINDOWS.items():
        print()
        print(f"Outcomes analysis {name}: fit without {window[0]}-{window[1]}, predict it from the realized macro path")
        print("(cumulative = sum of quarterly rates, % of loans; RMSE and peaks in annualized %; n_clamped = quarter-features clamped)")
        tables[name] = outcomes_analysis(rates, drivers, window, clamp_margin=margin)
        print(tables[name].round(3).to_string())

    print()
    print("Summary, cumulative % of loans over each window (predicted / realized, quarters, quarter-features clamped)")
    summary = pd.concat(
        {
            name: t[["predicted_cum", "realized_cum", "n_quarters", "n_clamped"]].rename(
                columns={"predicted_cum": "pred", "realized_cum": "real", "n_quarters": "n_q", "n_clamped": "clamped"}
            )
            for name, t in tables.items()
        },
        axis=1,
    )
    print(summary.round(2).to_string())
    for name, t in tables.items():
        distinct = t.drop(index="junior_lien_heloc", errors="ignore")  # the same series as first_lien_mortgage
        print(f"{name}: sum |predicted - realized| over the {len(distinct)} distinct segments {distinct['error_cum'].abs().sum():.2f} points")

    print()
    print("Clamping on the Fed 2026 scenarios (full-sample fit): quarter-features clamped per segment")
    counts = {}
    for sid in SCENARIOS:
        path = scenario_drivers(history, load_scenario(sid))
        counts[sid] = model.clamped(path)["n_clamped"].groupby(level="segment", sort=False).sum()
        counts[sid + " (of)"] = model.clamped(path)["n_quarters"].groupby(level="segment", sort=False).sum()
    print(pd.DataFrame(counts).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
