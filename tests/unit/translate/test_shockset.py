"""ShockSet: the unit convention and the .npz round trip."""

from __future__ import annotations

import numpy as np
import pytest

from risk_dagster.translate.shockset import ShockSet, levels_from_shocks, shocks_from_levels

TYPES = ["absolute_bp", "log_return", "vol_points", "absolute"]


def test_levels_follow_each_shock_unit():
    jump_off = np.array([4.0, 100.0, 20.0, -0.5])
    shocks = np.array([[[50.0, np.log(0.5), 30.0, 1.25]]])
    levels = levels_from_shocks(jump_off, shocks, TYPES)
    np.testing.assert_allclose(levels[0, 0], [4.5, 50.0, 50.0, 0.75])
    np.testing.assert_allclose(shocks_from_levels(jump_off, levels, TYPES), shocks)


def test_unknown_shock_type_is_refused():
    with pytest.raises(ValueError, match="unknown shock types"):
        levels_from_shocks(np.zeros(1), np.zeros((1, 1, 1)), ["percent"])


def test_npz_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    shocks = rng.normal(size=(5, 3, 4))
    original = ShockSet(
        shocks=shocks,
        jump_off=np.array([4.0, 100.0, 20.0, 0.1]),
        factor_ids=["rates.ust.10y", "equity.total_market", "vol.vix", "conditions.nfci"],
        shock_types=TYPES,
        quarters=["2026Q1", "2026Q2", "2026Q3"],
        scenario_id="fed-2026-severely-adverse",
        model_id="satellite",
        model_version="1",
        seed=7,
        metadata={"accepted": 5},
    )
    path = original.save_npz(tmp_path / "s.npz")
    with np.load(path, allow_pickle=False) as data:
        assert data["shocks"].shape == (5, 3, 4) and data["levels"].shape == (5, 3, 4)
        assert list(data["quarters"]) == ["2026Q1", "2026Q2", "2026Q3"]
    back = ShockSet.load_npz(path)
    np.testing.assert_array_equal(back.shocks, shocks)
    np.testing.assert_allclose(back.levels, original.levels)
    assert back.factor_ids == original.factor_ids and back.seed == 7 and back.metadata == {"accepted": 5}
    assert back.select([0, 2]).n_samples == 2
    np.testing.assert_array_equal(back.factor("vol.vix"), shocks[:, :, 2])


def test_derived_factors_are_appended_and_the_base_shocks_can_be_replaced():
    base = ShockSet(shocks=np.ones((2, 3, 1)), jump_off=np.array([1.0]), factor_ids=["rates.a"], shock_types=["absolute_bp"],
                    quarters=["2025Q1", "2025Q2", "2025Q3"], scenario_id="s", model_id="m", model_version="1", seed=0,
                    metadata={"x": 1})  # fmt: skip
    out = base.with_factors(np.full((2, 3, 1), 5.0), np.array([2.0]), ["rates.b"], ["absolute_bp"], {"y": 2})
    assert out.factor_ids == ["rates.a", "rates.b"] and out.jump_off.tolist() == [1.0, 2.0] and out.metadata == {"y": 2}
    np.testing.assert_array_equal(out.factor("rates.b"), 5.0)
    np.testing.assert_array_equal(base.shocks, 1.0)  # the original is untouched
    pinned = base.with_factors(np.zeros((2, 3, 0)), np.array([]), [], [], {}, base_shocks=np.full((2, 3, 1), 7.0))
    np.testing.assert_array_equal(pinned.factor("rates.a"), 7.0)
