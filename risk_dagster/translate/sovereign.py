"""Euro-area sovereign yields without history, and the sovereign-over-swap spreads a euro book is discounted with.

A euro-area bank's government bonds are priced on the EUR swap curve (its pricing curve,
:func:`~risk_dagster.engine.valuation.pricing_curve`) plus the issuer's spread over it. The spread
factor of each sovereign is *derived* (catalog ``source: derived``, ``derived_from:
risk_dagster.translate.sovereign``), appended after the iTraxx factors:

* ``credit.sovereign.<cc>.10y`` = ``rates.gov.<cc>.10y - rates.swap.eur.10y`` (percent; its shock in
  bp is the government yield's shock minus the 10y swap's), for Germany, France, Italy and Spain.
  The engine applies it as a flat spread at every maturity (one 10y point per issuer: a stated
  simplification; the EBA's scenario gives each sovereign's 10y long-term rate only).
* Italy's and Spain's 10y yields (``rates.gov.it.10y``, ``rates.gov.es.10y``) have no shipped
  history, so no translator is trained on them. They are **fixed** by the EBA's long-term rates
  when the scenario gives them (``fixed_by_market``: reproduced exactly from the EBA's 2024
  starting point, basis ``scenario``); otherwise (a Fed scenario) they move **one for one with
  the euro-area 10y yield** ``rates.gov.ea.10y`` (a stated choice: the aggregate is the only euro
  government yield with history that contains them), from the EBA's 2024 starting point (basis
  ``eba_2024``).

Base spreads (the bonds' spread at the valuation date, :func:`sovereign_base_spread_bp`) are the
EBA 2025 scenario's 2024 starting points: the long-term rate minus the EUR 10y swap rate (the
``starting_point`` rows, not the ``starting_point_average`` ones), e.g. Italy about +1.3 percentage
points, Germany about 0.
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

__all__ = [
    "SOVEREIGNS",
    "SOVEREIGN_MODULE",
    "SWAP_10Y",
    "add_sovereign_factors",
    "sovereign_base_spread_bp",
    "sovereign_spread_factor",
    "starting_point_yields",
]

SOVEREIGN_MODULE = __name__
"""``derived_from`` of the catalog's sovereign factors."""

SOVEREIGNS: tuple[str, ...] = ("de", "fr", "it", "es")
"""Issuers with a spread factor (ISO 3166 codes, lower case)."""

SWAP_10Y = "rates.swap.eur.10y"
EA_10Y = "rates.gov.ea.10y"
UNFIXED_ANCHOR: dict[str, str] = {"rates.gov.it.10y": EA_10Y, "rates.gov.es.10y": EA_10Y}
"""Derived yield -> the yield it moves with, one for one, when the scenario does not fix it."""


def sovereign_spread_factor(country: str) -> str:
    """``credit.sovereign.<cc>.10y`` of an issuer (``"IT"`` -> ``credit.sovereign.it.10y``)."""
    return f"credit.sovereign.{country.lower()}.10y"


@lru_cache(maxsize=1)
def starting_point_yields() -> dict[str, float]:
    """The EBA 2025 scenario's 2024 starting points (percent): each sovereign's 10y yield and the EUR 10y swap."""
    import pandas as pd

    from risk_dagster.engine.foreign_curves import EBA_SWAP_FILE

    frame = pd.read_csv(EBA_SWAP_FILE)
    start = frame[frame["scenario"] == "starting_point"]
    lt = start[start["variable"] == "long_term_rate"].set_index("key")["value"]
    swap = start[(start["variable"] == "swap_rate") & (start["key"] == "EUR") & (start["tenor"] == "10Y")]["value"]
    out = {f"rates.gov.{cc}.10y": float(lt.loc[cc.upper()]) for cc in SOVEREIGNS}
    out[EA_10Y] = float(lt.loc["EA"])
    out[SWAP_10Y] = float(swap.iloc[0])
    return out


def sovereign_base_spread_bp(credit_curve: str) -> float:
    """Base spread (bp) of a bond on ``credit.sovereign.<cc>.10y``: its 2024 10y yield minus the EUR 10y swap."""
    cc = credit_curve.split(".")[2]
    if cc not in SOVEREIGNS:
        raise ValueError(f"{credit_curve!r}: no sovereign spread for {cc!r}; issuers: {list(SOVEREIGNS)}")
    start = starting_point_yields()
    return 100.0 * (start[f"rates.gov.{cc}.10y"] - start[SWAP_10Y])


def add_sovereign_factors(
    shockset: ShockSet, scenario: MacroScenario, history: MacroScenario, *, catalog: RiskFactorCatalog | None = None
) -> ShockSet:
    """A copy of ``shockset`` with the catalog's sovereign factors appended (module docstring).

    Factors already in the set, or whose inputs are not in it, are skipped (a set without the EUR
    10y swap gets no spread). Metadata ``sovereign`` records each factor's rule; fixed yields join
    ``fixed_factors``, and so does a spread whose yield and swap rate are both fixed.
    """
    catalog = catalog if catalog is not None else load_risk_factor_catalog()
    mine = [f.id for f in catalog if f.derived_from == SOVEREIGN_MODULE and f.id not in shockset.factor_ids]
    yields = [f for f in mine if f in UNFIXED_ANCHOR and UNFIXED_ANCHOR[f] in shockset.factor_ids]
    if not yields and not mine:
        return shockset
    fixed = fixed_factor_paths(scenario, history, yields, catalog)
    fixed_levels = fixed_jump_offs(scenario, history, list(fixed), catalog)
    start = starting_point_yields()
    n, q = shockset.shocks.shape[:2]
    shocks: dict[str, np.ndarray] = {}
    jump: dict[str, float] = {}
    rules: dict[str, Any] = {}
    basis: dict[str, str] = {}
    for fid in yields:
        if fid in fixed:
            shocks[fid] = np.broadcast_to(fixed[fid][None, :q], (n, q)).astype(np.float64)
            jump[fid] = fixed_levels[fid]
            basis[fid] = "scenario"
            rules[fid] = {"rule": "fixed by the scenario", "variable": catalog.get(fid).fixed_by_market}
        else:
            shocks[fid] = shockset.factor(UNFIXED_ANCHOR[fid]).astype(np.float64).copy()
            jump[fid] = start[fid]
            basis[fid] = "eba_2024"
            rules[fid] = {"rule": "one for one with the anchor yield", "anchor": UNFIXED_ANCHOR[fid]}
    fixed_now = set(shockset.metadata.get("fixed_factors", [])) | {f for f in yields if basis[f] == "scenario"}

    def component(fid: str) -> tuple[np.ndarray, float] | None:
        if fid in shocks:
            return shocks[fid], jump[fid]
        if fid in shockset.factor_ids:
            return shockset.factor(fid).astype(np.float64), float(shockset.jump_off[shockset.factor_index(fid)])
        return None

    swap = component(SWAP_10Y)
    for cc in SOVEREIGNS:
        fid, gov_id = sovereign_spread_factor(cc), f"rates.gov.{cc}.10y"
        gov = component(gov_id)
        if fid not in mine or gov is None or swap is None:
            continue
        shocks[fid] = gov[0] - swap[0]
        jump[fid] = gov[1] - swap[1]
        both_fixed = gov_id in fixed_now and SWAP_10Y in fixed_now
        basis[fid] = "scenario" if both_fixed else "derived"
        rules[fid] = {"rule": "government yield minus the EUR 10y swap", "yield": gov_id, "swap": SWAP_10Y}
        if both_fixed:
            fixed_now.add(fid)
    wanted = [f for f in mine if f in shocks]
    if not wanted:
        return shockset
    meta: dict[str, Any] = dict(shockset.metadata)
    meta["sovereign"] = {"module": SOVEREIGN_MODULE, "factors": rules,
                         "jump_off": "Italy and Spain without a fixing: the EBA 2025 scenario's 2024 starting point"}  # fmt: skip
    meta["fixed_factors"] = sorted(fixed_now)
    quarter = meta.get("jump_off_quarter")
    record_jump_off(meta, {f: basis[f] for f in wanted}, {f: "2024" if basis[f] == "eba_2024" else quarter for f in wanted})
    return shockset.with_factors(np.stack([shocks[f] for f in wanted], axis=2), np.array([jump[f] for f in wanted]),
                                 wanted, [catalog.get(f).shock_type for f in wanted], meta)  # fmt: skip
