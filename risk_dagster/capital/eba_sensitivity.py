"""How the EBA depletion moves with the method's key assumptions: one re-projection per assumption.

Each row re-runs :func:`~risk_dagster.capital.eba_set_capital.eba_set_capital` on the same AI set and
the same market losses (the engine is not re-run: none of these assumptions changes a price), with one
assumption changed:

* ``mortgage_pd_stress_halved``: the residential mortgages' PD multipliers ``m`` become ``1 + (m - 1) / 2``
  (the U.S. first-lien satellite's house-price elasticity is the largest transfer of the chain);
* ``pd_stress_halved`` / ``pd_stress_doubled``: the same for every segment, ``1 + k (m - 1)`` with
  ``k = 0.5`` / ``2``;
* ``no_payout``: no dividend of a positive profit (the payout ratio 0);
* ``aoci_filter``: the FVOCI revaluation left out of CET1 (a prudential filter the CRR does not apply;
  it shows what the fair-value book costs);
* ``no_nii_cap``: the EBA's adverse NII cap lifted (the bank's own repricing projection used as is).

The IFRS 9 stages are re-projected from the run's own stage table (:attr:`EbaCapitalRun.stages`);
the first row is the run as configured, which the asset check recomputes from the capital asset's
saved paths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from risk_dagster.capital.balance_sheet import BalanceSheet
from risk_dagster.capital.eba_capital import EbaCapitalRun
from risk_dagster.capital.eba_set_capital import EbaSetCapital, eba_set_capital
from risk_dagster.capital.market_lines import Revaluer
from risk_dagster.capital.ifrs9 import project_ifrs9
from risk_dagster.translate.shockset import ShockSet

__all__ = ["AS_CONFIGURED", "SENSITIVITY_COLUMNS", "eba_capital_sensitivity", "scaled_multipliers"]

AS_CONFIGURED = "as_configured"
SENSITIVITY_COLUMNS: tuple[str, ...] = (
    "assumption", "setting", "cet1_min_median_pct", "cet1_end_median_pct", "depletion_bp_median", "impairments_bn",
    "delta_depletion_bp",
)  # fmt: skip


def scaled_multipliers(multipliers: dict[str, list[float]], k: float, segments: set[str] | None = None) -> dict[str, list[float]]:
    """``1 + k (m - 1)`` for the ``segments`` (all by default), the others unchanged."""
    return {seg: [1.0 + k * (m - 1.0) for m in path] if segments is None or seg in segments else list(path)
            for seg, path in multipliers.items()}  # fmt: skip


def _with_credit(base: EbaCapitalRun, multipliers: dict[str, list[float]]) -> EbaCapitalRun:
    if not base.stages:
        raise ValueError(f"{base.scenario_id}: the run holds no stage table to re-project")
    return replace(base, multipliers=multipliers, credit=project_ifrs9(list(base.stages), multipliers))


def eba_capital_sensitivity(
    run: EbaSetCapital,
    shocks: ShockSet,
    book: pd.DataFrame,
    sheet: BalanceSheet,
    revaluer: Revaluer,
    *,
    kind: str,
    payout_ratio: float,
) -> pd.DataFrame:
    """One row per assumption (module docstring): its CET1 minimum and end (median, percent), the median
    depletion (bp), the impairments (currency bn) and the change of the depletion from the run (bp)."""
    base = run.base
    variants: list[tuple[str, str, Callable[[], EbaSetCapital]]] = [
        (AS_CONFIGURED, f"payout {payout_ratio:g}, NII cap {'on' if kind == 'adverse' else 'off (baseline)'}, OCI in CET1",
         lambda: eba_set_capital("ai", base, shocks, book, sheet, revaluer, kind=kind, payout_ratio=payout_ratio, market=run.market)),
        ("mortgage_pd_stress_halved", "residential mortgages 1 + (m - 1)/2",
         lambda: eba_set_capital("ai", _with_credit(base, scaled_multipliers(base.multipliers, 0.5, {"residential_mortgage"})), shocks,
                                 book, sheet, revaluer, kind=kind, payout_ratio=payout_ratio, market=run.market)),
        ("pd_stress_halved", "every segment 1 + (m - 1)/2",
         lambda: eba_set_capital("ai", _with_credit(base, scaled_multipliers(base.multipliers, 0.5)), shocks, book, sheet, revaluer,
                                 kind=kind, payout_ratio=payout_ratio, market=run.market)),
        ("pd_stress_doubled", "every segment 1 + 2 (m - 1)",
         lambda: eba_set_capital("ai", _with_credit(base, scaled_multipliers(base.multipliers, 2.0)), shocks, book, sheet, revaluer,
                                 kind=kind, payout_ratio=payout_ratio, market=run.market)),
        ("no_payout", "payout 0",
         lambda: eba_set_capital("ai", base, shocks, book, sheet, revaluer, kind=kind, payout_ratio=0.0, market=run.market)),
        ("aoci_filter", "FVOCI revaluation not in CET1",
         lambda: eba_set_capital("ai", base, shocks, book, replace(sheet, aoci_in_cet1=False), revaluer, kind=kind,
                                 payout_ratio=payout_ratio, market=run.market)),
        ("no_nii_cap", "the bank's NII projection uncapped",
         lambda: eba_set_capital("ai", base, shocks, book, sheet, revaluer, kind="baseline", payout_ratio=payout_ratio, market=run.market)),
    ]  # fmt: skip
    rows = []
    for name, setting, project in variants:
        c = project()
        rows.append({"assumption": name, "setting": setting,
                     "cet1_min_median_pct": 100.0 * float(np.median(c.min_ratio)),
                     "cet1_end_median_pct": 100.0 * float(np.median(c.cet1_ratio[:, -1])),
                     "depletion_bp_median": 1e4 * float(np.median(c.depletion)),
                     "impairments_bn": float(c.impairments.sum()) / 1e9})  # fmt: skip
    out = pd.DataFrame(rows, columns=list(SENSITIVITY_COLUMNS[:-1]))
    out["delta_depletion_bp"] = out["depletion_bp_median"] - float(out.loc[0, "depletion_bp_median"])
    return out
