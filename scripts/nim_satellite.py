"""Print the net-interest-margin satellite (``risk_dagster.capital.nim_satellite``): the fitted
coefficients with HAC t-statistics, the outcomes analysis for 2008Q1-2010Q4 and 2001Q1-2002Q4
(each window left out of the fit and forecast dynamically from its realized macro path, from
the realized NIM of the quarter before it), and the NIM ratio path ``NIM_q / NIM_0`` under the
shipped Fed 2026 baseline and severely adverse scenarios.

Run from the repository root: ``python scripts/nim_satellite.py``.
"""

from __future__ import annotations

import sys

import pandas as pd

from risk_dagster.capital.nim_satellite import (
    OUTCOME_WINDOWS,
    TARGET,
    NimSatellite,
    load_net_interest_margin,
    outcomes_analysis,
)
from risk_dagster.scenarios.registry import load_fed_history, load_scenario

SCENARIOS = ("fed-2026-baseline", "fed-2026-severely-adverse")


def main() -> int:
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    nim = load_net_interest_margin()
    history = load_fed_history("2026")
    print(f"net interest margin {nim.index.min()}-{nim.index.max()}, target {TARGET} (banks over $15bn), percent annualized")
    print()
    model = NimSatellite().fit(nim, history)
    coef = model.coefficients()
    a = coef.attrs
    print(f"Partial-adjustment OLS, HAC (4 lags) t-statistics; sample {a['sample'][0]}-{a['sample'][1]}, "
          f"n={a['nobs']}, R2={a['rsquared']:.3f}, residual sd={a['resid_sd']:.3f}")
    print(coef.round(3).to_string())
    print()
    print("Outcomes analysis: fit without the window, dynamic forecast from the realized NIM before it")
    print("(RMSE in points of NIM; error_cum = sum(predicted - realized) / 4, % of earning assets)")
    for window in OUTCOME_WINDOWS.values():
        out = outcomes_analysis(window, nim, history)
        print(f"  {out['window']}: n={out['n_quarters']} jump-off {out['jump_off_nim']:.2f} rmse {out['rmse']:.3f} "
              f"error_cum {out['error_cum']:+.3f} mean realized {out['mean_realized']:.3f} "
              f"mean predicted {out['mean_predicted']:.3f} max |error| {out['max_abs_error']:.3f}")
        print(out["path"].round(2).T.to_string())
    print("  2020 cannot be tested: the margin series end in 2019Q1.")
    print()
    jump = float(nim[TARGET].iloc[-1])
    print(f"2026 scenarios: jump-off NIM = last observed large-bank NIM {jump:.2f} ({nim.index[-1]}), "
          "placed at the scenarios' jump-off quarter (no later observation shipped)")
    paths = {}
    for sid in SCENARIOS:
        scen = load_scenario(sid)
        for anchor in ("jump_off", "model"):
            paths[(sid, anchor)] = model.nii_ratio(scen, history, jump, anchor=anchor)
        paths[(sid, "nim")] = model.predict(scen, history, jump, anchor="jump_off")
    table = pd.DataFrame(paths)
    table.columns = [f"{s.replace('fed-2026-', '')}:{k}" for s, k in table.columns]
    print("(ratio = NIM_q / NIM_0; 'jump_off' anchor is the default of nii_ratio; 'nim' = the jump_off-anchored NIM, %)")
    print(table.round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
