"""Curve knots without history of their own: interpolated in maturity, or the scenario's where it fixes them.

The EUR swap curve's shipped history has the money-market end (Euribor 1, 3, 6, 12 months) and
the long end (EURIRS 10, 20, 30 years) but no 2, 3, 5 or 7-year rate. Those knots are *derived*
factors of the catalog (``source: derived``, ``derived_from: risk_dagster.translate.curve_knots``):
no translator is trained on them. Each sample's shock at such a knot is

* the scenario's own path when the scenario fixes the knot (``fixed_by_market``; the EBA gives
  every EUR swap tenor from 1M to 30Y), reproduced exactly like any fixed factor
  (:func:`~risk_dagster.translate.consistency.fixed_factor_paths`), its jump-off the scenario's
  starting point (basis ``scenario``);
* otherwise (a Fed scenario) the shock interpolated linearly in maturity between the nearest
  knots of the same curve that the set holds (1y and 10y for all four), its jump-off level
  interpolated the same way between theirs (basis ``derived``).

An open knot WITH history between two knots the scenario fixes (the EUR 6m between the EBA's
fixed 3m and 1y) is *pinned* the same way: its shock becomes the interpolation of its fixed
neighbours' (rule ``pinned between fixed knots``). The drawn shape around fixed nodes is kept for
the Treasury curve (:func:`~risk_dagster.translate.consistency.apply_consistency`), whose history
covers every quarter; the EUR money-market history is a repaired 1999-2022 scrape, and in the
quarters it does not cover the translators' residuals are filled without the curve's
cross-correlation, so the drawn 6m spread over a fixed 3m and 1y came out with a 70 bp standard
deviation after a year (EBA 2025 adverse), ten times its historical one.

Linear interpolation of shocks in maturity is the usual way a scenario's curve moves are spread
to unquoted tenors (it keeps the curve's shape between the quoted knots and cannot add a kink
the quoted knots do not have); it understates the belly's own variance, which no shipped history
measures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.engine.curves import tenor_months
from risk_dagster.market.catalog import RiskFactorCatalog, load_risk_factor_catalog
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.consistency import fixed_factor_paths, jump_off_frame
from risk_dagster.translate.shockset import ShockSet, record_jump_off

__all__ = ["KNOT_MODULE", "add_curve_knots", "curve_knot_factors", "fixed_jump_offs", "tenor_years"]

KNOT_MODULE = __name__
"""``derived_from`` of the catalog factors this module computes."""


def tenor_years(factor_id: str) -> float:
    """Maturity in years of a curve factor from its last id part (``rates.swap.eur.7y`` -> 7.0)."""
    return tenor_months(factor_id) / 12.0


def _curve(factor_id: str) -> str:
    return factor_id.rsplit(".", 1)[0]


def curve_knot_factors(catalog: RiskFactorCatalog | None = None) -> list[str]:
    """The catalog's derived curve knots, in catalog order."""
    catalog = catalog if catalog is not None else load_risk_factor_catalog()
    return [f.id for f in catalog if f.derived_from == KNOT_MODULE]


def add_curve_knots(
    shockset: ShockSet,
    scenario: MacroScenario,
    history: MacroScenario,
    *,
    catalog: RiskFactorCatalog | None = None,
) -> ShockSet:
    """A copy of ``shockset`` with the catalog's derived curve knots appended (module docstring).

    Knots already in the set, or whose curve has fewer than two history knots in the set, are
    skipped. Metadata: ``curve_knots`` (each knot's rule and neighbours), the fixed ones added to
    ``fixed_factors``, ``jump_off_basis``/``jump_off_asof`` for the new factors.

    Parameters
    ----------
    shockset
        A translator's set after consistency and coherence.
    scenario, history
        The canonical scenario and the Fed history it jumps off from (for the fixed knots).
    catalog
        Risk-factor catalog; the shipped one by default.
    """
    catalog = catalog if catalog is not None else load_risk_factor_catalog()
    wanted = [f for f in curve_knot_factors(catalog) if f not in shockset.factor_ids]
    fixed = fixed_factor_paths(scenario, history, wanted, catalog)
    meta: dict[str, Any] = dict(shockset.metadata)
    rules: dict[str, Any] = {}
    new_ids: list[str] = []
    new_shocks: list[np.ndarray] = []
    new_jump: list[float] = []
    basis: dict[str, str] = {}
    n, q = shockset.shocks.shape[:2]
    jump_row = fixed_jump_offs(scenario, history, list(fixed), catalog)
    shocks = shockset.shocks.copy()
    fixed_now = set(meta.get("fixed_factors", []))
    owned_curves = {_curve(f) for f in curve_knot_factors(catalog)}  # curves this module owns knots of (EUR swaps)
    for fid in shockset.factor_ids:
        factor = catalog.get(fid)
        if factor.derived_from is not None or fid in fixed_now:
            continue
        if _curve(fid) not in owned_curves:
            continue
        same = [f for f in shockset.factor_ids if f != fid and _curve(f) == _curve(fid) and f in fixed_now]
        t = tenor_years(fid)
        lower = [f for f in same if tenor_years(f) < t]
        upper = [f for f in same if tenor_years(f) > t]
        if not lower or not upper:
            continue
        lo, hi = max(lower, key=tenor_years), min(upper, key=tenor_years)
        weight = (t - tenor_years(lo)) / (tenor_years(hi) - tenor_years(lo))
        shocks[:, :, shockset.factor_index(fid)] = (
            (1.0 - weight) * shocks[:, :, shockset.factor_index(lo)] + weight * shocks[:, :, shockset.factor_index(hi)]
        )
        rules[fid] = {"rule": "pinned between fixed knots", "between": [lo, hi], "weight_upper": round(weight, 6)}
    for fid in wanted:
        neighbours = sorted(
            (f for f in shockset.factor_ids if _curve(f) == _curve(fid) and not catalog.get(f).is_derived),
            key=tenor_years,
        )
        if len(neighbours) < 2:
            continue
        t = tenor_years(fid)
        lower = [f for f in neighbours if tenor_years(f) < t]
        upper = [f for f in neighbours if tenor_years(f) > t]
        lo, hi = (lower[-1] if lower else upper[0]), (upper[0] if upper else lower[-1])
        if lo == hi:  # outside the quoted knots: flat from the nearest (no extrapolated slope)
            weight = 0.0
        else:
            weight = (t - tenor_years(lo)) / (tenor_years(hi) - tenor_years(lo))
        i_lo, i_hi = shockset.factor_index(lo), shockset.factor_index(hi)
        if fid in fixed:
            new_shocks.append(np.broadcast_to(fixed[fid][None, :q], (n, q)).astype(np.float64))
            new_jump.append(jump_row[fid])
            basis[fid] = "scenario"
            rules[fid] = {"rule": "fixed by the scenario", "variable": catalog.get(fid).fixed_by_market}
        else:
            new_shocks.append((1.0 - weight) * shocks[:, :, i_lo] + weight * shocks[:, :, i_hi])
            new_jump.append(float((1.0 - weight) * shockset.jump_off[i_lo] + weight * shockset.jump_off[i_hi]))
            basis[fid] = "derived"
            rules[fid] = {"rule": "linear in maturity", "between": [lo, hi], "weight_upper": round(weight, 6)}
        new_ids.append(fid)
    if not new_ids and not rules:
        return shockset
    meta["curve_knots"] = {"module": KNOT_MODULE, "knots": rules}
    meta["fixed_factors"] = sorted({*meta.get("fixed_factors", []), *(f for f in new_ids if basis[f] == "scenario")})
    record_jump_off(meta, {f: basis[f] for f in new_ids}, {f: meta.get("jump_off_quarter") for f in new_ids})
    added = np.stack(new_shocks, axis=2) if new_shocks else np.zeros((n, q, 0))
    return shockset.with_factors(
        added, np.array(new_jump, dtype=np.float64), new_ids, [catalog.get(f).shock_type for f in new_ids], meta,
        base_shocks=shocks,
    )


def fixed_jump_offs(
    scenario: MacroScenario, history: MacroScenario, factor_ids: list[str], catalog: RiskFactorCatalog
) -> dict[str, float]:
    """Jump-off level of each fixed knot: the scenario's starting point (or the Fed history's)."""
    if not factor_ids:
        return {}
    frame = jump_off_frame(scenario, history, pd.DataFrame(), factor_ids, catalog)  # no market level needed
    return {f: float(frame.loc[f, "level"]) for f in factor_ids}
