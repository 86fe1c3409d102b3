"""The EBA 2025 scenarios on the synthetic euro-area bank: credit losses by IFRS 9 stage and the CET1
depletion, beside the EBA's published aggregate (risk_dagster.capital.eba_capital).

Run from the repository root: ``python scripts/eba_capital_report.py`` (prints one JSON object per
scenario). What the chain takes as given rather than computes is listed under ``not_modelled``.
"""

from __future__ import annotations

import json
import sys

from risk_dagster.capital.eba_capital import eba_capital_run
from risk_dagster.capital.loss_rates import LossRateSatellite, load_charge_off_rates, macro_drivers
from risk_dagster.scenarios.eba_long import read
from risk_dagster.scenarios.registry import load_fed_history


def main() -> int:
    satellite = LossRateSatellite().fit(load_charge_off_rates(), macro_drivers(load_fed_history("2026")))
    for scenario in read():
        run = eba_capital_run(scenario, satellite)
        print(json.dumps(run.summary(), indent=1))
        print(run.capital.table.round(4).to_string(index=False), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
