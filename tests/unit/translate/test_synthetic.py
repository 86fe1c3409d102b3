"""Synthetic tail scenarios: more severe than the Fed's severely adverse path, plausible
(catalog ranges, rate floor), deterministic with a seed, and sampled by any translator."""

from __future__ import annotations

import numpy as np
import pytest

from risk_dagster.scenarios.catalog import load_variable_catalog
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.features import projection_quarters
from risk_dagster.translate.satellite import SatelliteTranslator
from risk_dagster.translate.synthetic import (
    CRISIS_EPISODES,
    SyntheticRecipe,
    crisis_shape,
    default_recipes,
    generate_synthetic_tail,
    path_index,
    scenario_severity,
    synthetic_tail_scenarios,
)


@pytest.fixture(scope="module")
def paths(
    severely_adverse: MacroScenario, baseline: MacroScenario, fed_history_2026: MacroScenario
) -> list[MacroScenario]:
    return synthetic_tail_scenarios(severely_adverse, baseline, fed_history_2026, n_paths=8, seed=11)


def test_paths_are_custom_synthetic_scenarios(paths: list[MacroScenario], severely_adverse: MacroScenario) -> None:
    assert [p.scenario_id for p in paths] == [f"synthetic-tail-{n}" for n in range(1, 9)]
    for p in paths:
        assert (p.kind, p.source) == ("custom", "synthetic")
        assert p.jump_off == severely_adverse.jump_off
        assert list(p.quarters) == list(projection_quarters(severely_adverse))
        assert set(p.variables) == set(severely_adverse.variables)
    # every crisis shape is used, and the first two are the pure scaled Fed path
    names = " ".join(p.name for p in paths)
    assert all(crisis in names for crisis in CRISIS_EPISODES)
    assert "1.25 x Fed" in paths[0].name and "1.5 x Fed" in paths[1].name


def test_paths_are_more_severe_than_the_fed(
    paths: list[MacroScenario], severely_adverse: MacroScenario, fed_history_2026: MacroScenario
) -> None:
    fed = scenario_severity(severely_adverse, fed_history_2026)
    for p in paths:
        s = scenario_severity(p, fed_history_2026)
        assert s["peak_unemployment"] >= fed["peak_unemployment"], p.name
        assert s["equity_trough"] < fed["equity_trough"], p.name
        assert s["house_trough"] <= fed["house_trough"] and s["cre_trough"] <= fed["cre_trough"], p.name
        assert s["peak_vix"] >= fed["peak_vix"] and s["peak_bbb_spread"] >= fed["peak_bbb_spread"], p.name
        assert s["min_real_gdp_growth"] <= fed["min_real_gdp_growth"], p.name
    # the pure 1.5 x path is exactly 1.5 x the Fed's unemployment rise over the baseline
    assert scenario_severity(paths[1])["peak_unemployment"] > scenario_severity(paths[0])["peak_unemployment"]


def test_paths_are_within_catalog_ranges_and_rate_floor(paths: list[MacroScenario]) -> None:
    catalog = load_variable_catalog()
    for p in paths:
        wide = p.wide()
        assert np.isfinite(wide.to_numpy()).all()
        for v in wide.columns:
            var = catalog.get(v)
            assert wide[v].between(var.minimum, var.maximum).all(), (p.scenario_id, v)
        assert (wide[["treasury_3m", "treasury_5y", "treasury_10y"]] >= 0.0).all().all()
        assert (wide["bbb_yield"] > wide["treasury_10y"]).all()  # spreads stay positive


def test_paths_are_deterministic_with_a_seed(
    paths: list[MacroScenario], severely_adverse: MacroScenario, baseline: MacroScenario,
    fed_history_2026: MacroScenario,
) -> None:
    again = synthetic_tail_scenarios(severely_adverse, baseline, fed_history_2026, n_paths=8, seed=11)
    for a, b in zip(paths, again, strict=True):
        assert a.name == b.name
        assert a.wide().equals(b.wide())
    other = synthetic_tail_scenarios(severely_adverse, baseline, fed_history_2026, n_paths=8, seed=12)
    assert any(not a.wide().equals(b.wide()) for a, b in zip(paths, other, strict=True))
    assert default_recipes(5, seed=1) == default_recipes(5, seed=1)


def test_recipes_and_crisis_shapes(fed_history_2026: MacroScenario) -> None:
    with pytest.raises(ValueError):
        SyntheticRecipe(scale=0.8)
    with pytest.raises(ValueError):
        default_recipes(0)
    shape = crisis_shape(fed_history_2026, CRISIS_EPISODES["2008"], 13, ["unemployment_rate", "equity_total_market"])
    assert shape.shape == (13, 2)
    assert shape["unemployment_rate"].max() > 4.0  # 5.3% in 2008Q2 -> ~10% in late 2009
    assert shape["equity_total_market"].min() < -0.4  # log drawdown of the total market
    with pytest.raises(ValueError, match="does not cover"):
        crisis_shape(fed_history_2026, "2025Q1", 13, ["unemployment_rate"])


def test_generate_synthetic_tail_stacks_samples_of_every_path(
    satellite: SatelliteTranslator, fed_history_2026: MacroScenario, severely_adverse: MacroScenario,
    baseline: MacroScenario,
) -> None:
    kwargs = dict(severely_adverse=severely_adverse, baseline=baseline, n_paths=3, n_samples_per_path=20, seed=5)
    shocks = generate_synthetic_tail(satellite, fed_history_2026, **kwargs)
    assert shocks.scenario_id == "synthetic-tail"
    assert shocks.shocks.shape[0] == 60
    assert shocks.model_id == "satellite"
    idx = path_index(shocks)
    assert np.array_equal(idx, np.repeat([0, 1, 2], 20))
    assert [p["scenario_id"] for p in shocks.metadata["paths"]] == [f"synthetic-tail-{n}" for n in (1, 2, 3)]
    # fixed factors follow each path exactly: one equity path per synthetic scenario
    equity = shocks.factor("equity.total_market")
    for i in range(3):
        block = equity[idx == i]
        assert np.allclose(block, block[0])
    assert not np.allclose(equity[idx == 0][0], equity[idx == 1][0])
    # the tail is deeper than the Fed's own severely adverse draw
    fed = satellite.sample(severely_adverse, 20, 5, history=fed_history_2026)
    assert equity.min() < fed.factor("equity.total_market").min()
    again = generate_synthetic_tail(satellite, fed_history_2026, **kwargs)
    assert again.shocks.tobytes() == shocks.shocks.tobytes()
