"""Curve knots without history (the EUR 2-7y swap knots) and open knots between fixed ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster.market.catalog import load_risk_factor_catalog
from risk_dagster.translate.consistency import jump_off_frame
from risk_dagster.translate.curve_knots import add_curve_knots, curve_knot_factors, tenor_years
from risk_dagster.translate.shockset import ShockSet
from translate._support import tiny_eba_scenario, tiny_history  # tests/unit is on sys.path

Q = lambda s: pd.Period(s, freq="Q-DEC")  # noqa: E731
KNOTS_WITH_HISTORY = ["rates.swap.eur.1m", "rates.swap.eur.3m", "rates.swap.eur.6m", "rates.swap.eur.1y",
                      "rates.swap.eur.10y", "rates.swap.eur.20y", "rates.swap.eur.30y"]  # fmt: skip


def _set(factor_ids: list[str], fixed: list[str] | None = None) -> ShockSet:
    rng = np.random.default_rng(0)
    n, q = 5, 2
    shocks = rng.normal(0.0, 30.0, size=(n, q, len(factor_ids)))
    return ShockSet(
        shocks=shocks, jump_off=np.linspace(2.0, 3.0, len(factor_ids)), factor_ids=list(factor_ids),
        shock_types=["absolute_bp"] * len(factor_ids), quarters=["2025Q1", "2025Q2"], scenario_id="s",
        model_id="m", model_version="1", seed=0,
        metadata={"fixed_factors": list(fixed or []), "jump_off_quarter": "2024Q4",
                  "jump_off_basis": {f: "market" for f in factor_ids}, "jump_off_asof": {f: "2024Q4" for f in factor_ids}},
    )  # fmt: skip


def test_the_catalog_derives_the_four_unquoted_eur_knots() -> None:
    assert curve_knot_factors() == [f"rates.swap.eur.{t}" for t in ("2y", "3y", "5y", "7y")]
    assert [tenor_years(f) for f in curve_knot_factors()] == [2.0, 3.0, 5.0, 7.0]
    assert tenor_years("rates.swap.eur.6m") == pytest.approx(0.5)
    for f in curve_knot_factors():
        assert load_risk_factor_catalog().get(f).fixed_by_market == f"eur_swap_{f.rsplit('.', 1)[1]}"


def test_without_a_fixing_the_knots_are_linear_in_maturity_between_1y_and_10y() -> None:
    base = _set(KNOTS_WITH_HISTORY)
    out = add_curve_knots(base, tiny_eba_scenario({"treasury_10y": [np.nan, 4.5, 4.6]}), tiny_history())
    one, ten = base.factor("rates.swap.eur.1y"), base.factor("rates.swap.eur.10y")
    np.testing.assert_allclose(out.factor("rates.swap.eur.5y"), (5 / 9) * one + (4 / 9) * ten)
    np.testing.assert_allclose(out.factor("rates.swap.eur.2y"), (8 / 9) * one + (1 / 9) * ten)
    j1, j10 = base.jump_off[base.factor_index("rates.swap.eur.1y")], base.jump_off[base.factor_index("rates.swap.eur.10y")]
    assert out.jump_off[out.factor_index("rates.swap.eur.7y")] == pytest.approx((3 / 9) * j1 + (6 / 9) * j10)
    assert out.metadata["jump_off_basis"]["rates.swap.eur.3y"] == "derived"
    assert out.metadata["curve_knots"]["knots"]["rates.swap.eur.5y"]["between"] == ["rates.swap.eur.1y", "rates.swap.eur.10y"]
    np.testing.assert_array_equal(out.shocks[:, :, : len(KNOTS_WITH_HISTORY)], base.shocks)  # the rest untouched


def test_a_scenario_that_gives_a_knot_fixes_it_from_its_own_start() -> None:
    scenario = tiny_eba_scenario({"eur_swap_5y": [2.15, 2.65, 3.15]})  # start 2.15 at the jump-off, then +50, +100 bp
    out = add_curve_knots(_set(KNOTS_WITH_HISTORY), scenario, tiny_history())
    np.testing.assert_allclose(out.factor("rates.swap.eur.5y"), np.broadcast_to([50.0, 100.0], (5, 2)), atol=1e-9)
    assert out.jump_off[out.factor_index("rates.swap.eur.5y")] == pytest.approx(2.15)
    assert out.metadata["jump_off_basis"]["rates.swap.eur.5y"] == "scenario"
    assert "rates.swap.eur.5y" in out.metadata["fixed_factors"] and "rates.swap.eur.7y" not in out.metadata["fixed_factors"]


def test_an_open_knot_between_fixed_ones_is_pinned_to_them() -> None:
    base = _set(KNOTS_WITH_HISTORY, fixed=["rates.swap.eur.3m", "rates.swap.eur.1y"])
    out = add_curve_knots(base, tiny_eba_scenario({"treasury_10y": [np.nan, 4.5, 4.6]}), tiny_history())
    three, one = base.factor("rates.swap.eur.3m"), base.factor("rates.swap.eur.1y")
    np.testing.assert_allclose(out.factor("rates.swap.eur.6m"), (2 / 3) * three + (1 / 3) * one)
    assert out.metadata["curve_knots"]["knots"]["rates.swap.eur.6m"]["rule"] == "pinned between fixed knots"
    # a knot outside the fixed ones keeps its draw
    np.testing.assert_array_equal(out.factor("rates.swap.eur.1m"), base.factor("rates.swap.eur.1m"))


def test_a_stale_open_jump_off_is_made_coherent_with_current_ones() -> None:
    scenario = tiny_eba_scenario({"eur_swap_3m": [2.8, 3.0, 3.1], "eur_swap_1y": [2.4, 2.6, 2.7], "gov_10y_de": [2.2, 2.5, 2.6]})
    index = pd.period_range("2022Q4", "2024Q4", freq="Q-DEC", name="quarter")
    levels = pd.DataFrame(np.nan, index=index, columns=["rates.swap.eur.6m", "rates.eur.aaa.10y", "rates.gov.de.10y"])
    levels.loc[Q("2022Q4"), "rates.swap.eur.6m"] = 2.69  # the shipped 6m Euribor ends in 2022
    levels.loc[Q("2023Q3"), ["rates.eur.aaa.10y", "rates.gov.de.10y"]] = [2.82, 2.66]  # the AAA 10y ends in 2023Q3
    ids = ["rates.swap.eur.3m", "rates.swap.eur.6m", "rates.swap.eur.1y", "rates.gov.de.10y", "rates.eur.aaa.10y"]
    frame = jump_off_frame(scenario, tiny_history(), levels, ids)
    assert frame.loc["rates.swap.eur.6m", "basis"] == "interpolated"
    assert frame.loc["rates.swap.eur.6m", "level"] == pytest.approx((2 / 3) * 2.8 + (1 / 3) * 2.4)
    assert frame.loc["rates.eur.aaa.10y", "basis"] == "anchored"
    assert frame.loc["rates.eur.aaa.10y", "level"] == pytest.approx(2.2 + (2.82 - 2.66))  # its last spread over the Bund
    assert frame.loc["rates.gov.de.10y", "basis"] == "scenario" and frame.loc["rates.gov.de.10y", "level"] == 2.2


def test_without_a_fixing_the_itraxx_indices_move_with_their_rating_bucket() -> None:
    from risk_dagster.translate.itraxx import ANCHORS, add_itraxx, itraxx_2024_levels

    start = itraxx_2024_levels()
    assert start["credit.itraxx.main_5y"] == pytest.approx(0.5623, abs=1e-4)  # 56.2 bp, the EBA's 2024 level
    ids = ["credit.spread.rating.a", "credit.spread.rating.bbb", "credit.spread.rating.bb"]
    base = _set(ids)
    base.jump_off[:] = [0.8, 1.1, 2.5]
    out = add_itraxx(base, tiny_eba_scenario({"treasury_10y": [np.nan, 4.5, 4.6]}), tiny_history())
    assert out.factor_ids[len(ids):] == list(ANCHORS)
    a = base.factor("credit.spread.rating.a")
    expected = (start["credit.itraxx.main_5y"] * (0.8 + a / 100) / 0.8 - start["credit.itraxx.main_5y"]) * 100
    np.testing.assert_allclose(out.factor("credit.itraxx.main_5y"), expected)
    assert out.metadata["jump_off_basis"]["credit.itraxx.crossover_5y"] == "eba_2024"
    assert not set(ANCHORS) & set(out.metadata["fixed_factors"])
    assert add_itraxx(_set(["rates.swap.eur.1y"]), tiny_eba_scenario({"treasury_10y": [np.nan, 4.5, 4.6]}), tiny_history()).factor_ids == [
        "rates.swap.eur.1y"]  # no anchor, nothing appended
