"""Print the capital results of a run, scenario by scenario, for both scenario sets.

Usage: ``python scripts/capital_report.py [OUTPUT_DIR]`` (default ``risk_output``), after
``risk-dagster run --output OUTPUT_DIR``. Prints per scenario and set the CET1 start, minimum
(median of the paths' minima and its 5% quantile), the SCB, nine-quarter losses by line (USD bn)
and loan loss rates by segment (percent of average loans), read from ``capital/*/capital_summary.json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd


def main(output: Path) -> None:
    files = sorted((output / "capital").glob("*/capital_summary.json"))
    if not files:
        raise SystemExit(f"no capital results under {output / 'capital'}: run risk-dagster run --output {output}")
    headline, losses, rates = {}, {}, {}
    for path in files:
        for label, s in json.loads(path.read_text()).items():
            key = f"{s['scenario']} / {label}"
            headline[key] = {"CET1 start %": s["cet1_start"], "minimum %": s["cet1_trough"],
                             "minimum p05 %": s["cet1_trough_p05"], "trough PQ": s["trough_quarter"],
                             "SCB %": s["scb"], "PPNR bn": s["ppnr"]["total"], "pre-tax bn": s["pre_tax_net_income"]}
            losses[key] = s["losses"]
            rates[key] = s["loss_rates"]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("CET1 (percent of RWA) and PPNR, PQ1-PQ9\n", pd.DataFrame(headline).T.round(2), "\n")
        print("Losses PQ1-PQ9, USD bn (median per line)\n", pd.DataFrame(losses).T.round(2), "\n")
        print("Loan loss rates PQ1-PQ9, % of average loans (median)\n", pd.DataFrame(rates).T.round(2))


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "risk_output"))
