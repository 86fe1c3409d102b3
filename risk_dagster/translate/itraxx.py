"""iTraxx Europe 5-year index spreads: the EBA's where it fixes them, else moved with the rating spreads.

No iTraxx (or any euro corporate-spread) history is shipped, so no translator is trained on the
four iTraxx factors. They are *derived* factors of the catalog (``source: derived``,
``derived_from: risk_dagster.translate.itraxx``), appended after the spreads by rating bucket:

* **fixed** when the scenario gives the index (``fixed_by_market``: the EBA's adverse and baseline
  iTraxx levels), reproduced exactly from the EBA's own 2024 level (basis ``scenario``);
* otherwise (a Fed scenario) each index moves **in proportion** to the U.S. rating-bucket spread it
  is closest to in credit quality (:data:`ANCHORS`), ``s(t) = s(0) x OAS_r(t) / OAS_r(0)``: credit
  spreads widen in proportion to their level in a stress (a relative shock, as the EBA's own
  scenario does: its adverse Main index goes 4.3 times its start in 2025, the Crossover 2.2 times).
  The jump-off is the EBA 2025 scenario's 2024 level (:func:`itraxx_2024_levels`), the only iTraxx
  data shipped; the set's metadata names that date (basis ``eba_2024``).

The anchors are stated choices: the Main index (125 investment-grade names, about A-/BBB+ on
average) and the senior financials follow the A bucket, the subordinated financials the BBB bucket,
the Crossover (sub-investment-grade, mostly BB and B) the BB bucket.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from risk_dagster.market.catalog import RiskFactorCatalog, load_risk_factor_catalog
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.consistency import fixed_factor_paths
from risk_dagster.translate.curve_knots import fixed_jump_offs
from risk_dagster.translate.shockset import ShockSet, record_jump_off

__all__ = ["ANCHORS", "ITRAXX_MODULE", "add_itraxx", "itraxx_2024_levels"]

ITRAXX_MODULE = __name__
"""``derived_from`` of the catalog's iTraxx factors."""

ANCHORS: dict[str, str] = {
    "credit.itraxx.main_5y": "credit.spread.rating.a",
    "credit.itraxx.senior_financials_5y": "credit.spread.rating.a",
    "credit.itraxx.sub_financials_5y": "credit.spread.rating.bbb",
    "credit.itraxx.crossover_5y": "credit.spread.rating.bb",
}
"""iTraxx factor -> the rating-bucket spread whose relative moves it takes without a fixing."""

_EBA_KEYS = {
    "credit.itraxx.main_5y": "overall_5y",
    "credit.itraxx.senior_financials_5y": "sen_financials_5y",
    "credit.itraxx.sub_financials_5y": "sub_financials_5y",
    "credit.itraxx.crossover_5y": "crossover_5y",
}


@lru_cache(maxsize=1)
def itraxx_2024_levels() -> dict[str, float]:
    """Each iTraxx factor's 2024 level in percent, from the shipped EBA 2025 scenario's ``historical`` rows."""
    from risk_dagster.scenarios.eba_long import read

    scenario = read()[0]
    jump = scenario.jump_off
    return {f: float(scenario.series(f"eba_itraxx__{key}").loc[jump]) / 100.0 for f, key in _EBA_KEYS.items()}


def add_itraxx(
    shockset: ShockSet, scenario: MacroScenario, history: MacroScenario, *, catalog: RiskFactorCatalog | None = None
) -> ShockSet:
    """A copy of ``shockset`` with the catalog's iTraxx factors appended (module docstring).

    Factors already in the set, or whose anchor is not in it, are skipped. Metadata ``itraxx``
    records each factor's rule; the fixed ones join ``fixed_factors``.
    """
    catalog = catalog if catalog is not None else load_risk_factor_catalog()
    wanted = [f.id for f in catalog if f.derived_from == ITRAXX_MODULE and f.id not in shockset.factor_ids]
    wanted = [f for f in wanted if ANCHORS.get(f) in shockset.factor_ids]
    if not wanted:
        return shockset
    fixed = fixed_factor_paths(scenario, history, wanted, catalog)
    fixed_levels = fixed_jump_offs(scenario, history, list(fixed), catalog)
    start = itraxx_2024_levels()
    n, q = shockset.shocks.shape[:2]
    shocks, jump, rules, basis = [], [], {}, {}
    for fid in wanted:
        if fid in fixed:
            shocks.append(np.broadcast_to(fixed[fid][None, :q], (n, q)).astype(np.float64))
            jump.append(fixed_levels[fid])
            basis[fid] = "scenario"
            rules[fid] = {"rule": "fixed by the scenario", "variable": catalog.get(fid).fixed_by_market}
            continue
        anchor = shockset.factor_index(ANCHORS[fid])
        a0 = float(shockset.jump_off[anchor])
        ratio = (a0 + shockset.shocks[:, :, anchor] / 100.0) / a0  # the anchor's level relative to its jump-off
        shocks.append((start[fid] * ratio - start[fid]) * 100.0)
        jump.append(start[fid])
        basis[fid] = "eba_2024"
        rules[fid] = {"rule": "proportional to the anchor spread", "anchor": ANCHORS[fid]}
    meta: dict[str, Any] = dict(shockset.metadata)
    meta["itraxx"] = {"module": ITRAXX_MODULE, "factors": rules,
                      "jump_off": "the EBA 2025 scenario's 2024 levels (no iTraxx history shipped)"}  # fmt: skip
    meta["fixed_factors"] = sorted({*meta.get("fixed_factors", []), *(f for f in wanted if basis[f] == "scenario")})
    record_jump_off(meta, basis, {f: "2024" if basis[f] == "eba_2024" else meta.get("jump_off_quarter") for f in wanted})
    return shockset.with_factors(np.stack(shocks, axis=2), np.array(jump), wanted,
                                 [catalog.get(f).shock_type for f in wanted], meta)  # fmt: skip
