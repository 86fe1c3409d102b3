"""Euro sovereign factors: IT/ES 10y yields fixed by the EBA or moved with the euro area, spreads over EUR swaps."""

from __future__ import annotations

import numpy as np
import pytest

from risk_dagster.translate.shockset import ShockSet
from translate._support import tiny_eba_scenario, tiny_history  # tests/unit is on sys.path
from risk_dagster.translate.sovereign import (
    SOVEREIGN_MODULE,
    add_sovereign_factors,
    sovereign_base_spread_bp,
    sovereign_spread_factor,
    starting_point_yields,
)

INPUTS = ["rates.gov.de.10y", "rates.gov.fr.10y", "rates.gov.ea.10y", "rates.swap.eur.10y"]


def _set() -> ShockSet:
    rng = np.random.default_rng(1)
    shocks = rng.normal(0.0, 40.0, size=(6, 2, len(INPUTS)))
    return ShockSet(
        shocks=shocks, jump_off=np.array([2.2, 3.0, 2.7, 2.24]), factor_ids=list(INPUTS), shock_types=["absolute_bp"] * 4,
        quarters=["2025Q1", "2025Q2"], scenario_id="s", model_id="m", model_version="1", seed=0,
        metadata={"fixed_factors": [], "jump_off_quarter": "2024Q4", "jump_off_basis": {f: "market" for f in INPUTS},
                  "jump_off_asof": {f: "2024Q4" for f in INPUTS}},
    )  # fmt: skip


def test_spreads_are_yield_minus_swap_and_unfixed_yields_move_with_the_euro_area() -> None:
    base = _set()
    out = add_sovereign_factors(base, tiny_eba_scenario({"treasury_10y": [np.nan, 4.5, 4.6]}), tiny_history())
    for cc in ("de", "fr"):
        np.testing.assert_allclose(out.factor(sovereign_spread_factor(cc)),
                                   base.factor(f"rates.gov.{cc}.10y") - base.factor("rates.swap.eur.10y"))  # fmt: skip
    np.testing.assert_allclose(out.factor("rates.gov.it.10y"), base.factor("rates.gov.ea.10y"))
    assert out.metadata["jump_off_basis"]["rates.gov.it.10y"] == "eba_2024"
    assert out.jump_off[out.factor_index("rates.gov.it.10y")] == pytest.approx(starting_point_yields()["rates.gov.it.10y"])
    assert "rates.gov.it.10y" not in out.metadata["fixed_factors"]
    spread = out.jump_off[out.factor_index("credit.sovereign.it.10y")]
    assert spread == pytest.approx(starting_point_yields()["rates.gov.it.10y"] - 2.24)


def test_the_eba_fixes_italy_and_the_spread_follows_exactly() -> None:
    base = _set()
    base.metadata["fixed_factors"] = ["rates.swap.eur.10y"]
    scenario = tiny_eba_scenario({"treasury_10y": [np.nan, 4.5, 4.6], "gov_10y_it": [3.369, 4.5, 5.0]})
    out = add_sovereign_factors(base, scenario, tiny_history())
    it = out.factor("rates.gov.it.10y")
    np.testing.assert_allclose(it, np.broadcast_to([(4.5 - 3.369) * 100, (5.0 - 3.369) * 100], it.shape), atol=1e-9)
    assert "rates.gov.it.10y" in out.metadata["fixed_factors"]
    assert "credit.sovereign.it.10y" in out.metadata["fixed_factors"]  # yield and swap both fixed
    assert "credit.sovereign.de.10y" not in out.metadata["fixed_factors"]
    np.testing.assert_allclose(out.factor("credit.sovereign.it.10y"), it - base.factor("rates.swap.eur.10y"))


def test_no_swap_no_spread_and_the_catalog_lists_six() -> None:
    from risk_dagster.market.catalog import load_risk_factor_catalog

    ids = [f.id for f in load_risk_factor_catalog() if f.derived_from == SOVEREIGN_MODULE]
    assert len(ids) == 6
    base = _set()
    no_swap = ShockSet(shocks=base.shocks[:, :, :3], jump_off=base.jump_off[:3], factor_ids=INPUTS[:3],
                       shock_types=["absolute_bp"] * 3, quarters=base.quarters, scenario_id="s", model_id="m",
                       model_version="1", seed=0, metadata=dict(base.metadata))  # fmt: skip
    out = add_sovereign_factors(no_swap, tiny_eba_scenario({"treasury_10y": [np.nan, 4.5, 4.6]}), tiny_history())
    assert not any(f.startswith("credit.sovereign.") for f in out.factor_ids)
    with pytest.raises(ValueError, match="no sovereign spread"):
        sovereign_base_spread_bp("credit.sovereign.pt.10y")
