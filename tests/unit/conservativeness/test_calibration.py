"""Statistics 21-25: the per-quarter calibration by hand, their block-bootstrap test, the draws' file."""

from __future__ import annotations

import numpy as np
import pytest

from risk_dagster.conservativeness.bootstrap import calibration_test, moving_block_indexes
from risk_dagster.conservativeness.calibration import (
    AI_MODEL,
    CALIBRATION_IDS,
    TRADITIONAL_MODEL,
    CalibrationDraws,
    calibration_values,
    model_calibrations,
    quarter_calibration,
)
from risk_dagster.conservativeness.registry import STATISTICS

CET1 = 240e9


def _hand_case():
    """Two quarters, two factors, five draws 0..4 in every cell; delta (+1, -1)."""
    draws = np.broadcast_to(np.arange(5.0)[:, None, None], (5, 2, 2)).copy()
    realized = np.array([[2.0, 3.9], [4.5, np.nan]])
    return draws, realized, np.array([1.0, -1.0])


def test_statistics_21_to_25_by_hand() -> None:
    c = quarter_calibration(*_hand_case())
    # draws 0..4: q5% 0.2, q95% 3.8; q0.5% 0.02, q99.5% 3.98; q1% 0.04, q99% 3.96 (linear interpolation)
    np.testing.assert_array_equal(c.cells, [2, 1])
    np.testing.assert_array_equal(c.in_90, [1, 0])  # 2 inside; 3.9 and 4.5 outside
    np.testing.assert_array_equal(c.in_99, [2, 0])  # 3.9 inside 0.02..3.98, 4.5 outside
    np.testing.assert_array_equal(c.exposed, [2, 1])
    np.testing.assert_array_equal(c.adverse_miss, [0, 1])  # 4.5 > q99% on a factor whose rise hurts (delta > 0)
    # quarter 1: realized book loss 2 - 3.9 = -1.9, predictive loss s - s = 0 for every draw -> PIT 0, no exceedance
    # quarter 2: realized 4.5, predictive 0..4 -> PIT 1, above q95% 3.8
    np.testing.assert_array_equal(c.pit, [0.0, 1.0])
    np.testing.assert_array_equal(c.exceed_95, [0.0, 1.0])
    values = calibration_values(c)
    assert list(values) == list(CALIBRATION_IDS) == [s.id for s in STATISTICS if s.number > 20]
    assert values["crisis_coverage_90"] == pytest.approx(1 / 3)
    assert values["crisis_coverage_99"] == pytest.approx(2 / 3)
    assert values["crisis_adverse_miss"] == pytest.approx(1 / 3)
    assert values["crisis_book_loss_pit"] == pytest.approx(0.5)
    assert values["crisis_book_loss_exceed_95"] == pytest.approx(0.5)


def test_adverse_side_follows_the_sign_of_the_delta() -> None:
    draws, realized, delta = _hand_case()
    realized = np.array([[-1.0, -1.0], [np.nan, np.nan]])  # both factors fall far below the draws
    c = quarter_calibration(draws, realized, delta)
    assert c.adverse_miss[0] == 1  # only the factor whose fall hurts (delta < 0) counts
    assert c.cells[1] == 0 and np.isnan(c.pit[1])  # a quarter without a scored cell drops out of 24-25


def test_ties_count_half_and_unexposed_factors_are_not_scored_in_23_to_25() -> None:
    draws = np.zeros((4, 1, 2))
    c = quarter_calibration(draws, np.array([[0.0, 7.0]]), np.array([1.0, 0.0]))
    assert c.exposed[0] == 1 and c.pit[0] == pytest.approx(0.5)  # realized 0 equals every draw


def test_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="do not match"):
        quarter_calibration(np.zeros((3, 2, 2)), np.zeros((2, 3)), np.zeros(2))


def _draws(n: int = 300, t: int = 24, f: int = 6, seed: int = 0, ai_scale: float = 1.0) -> CalibrationDraws:
    rng = np.random.default_rng(seed)
    realized = rng.standard_t(4, (t, f)) * 1.3
    return CalibrationDraws(
        quarters=tuple(f"q{k}" for k in range(t)),
        factor_ids=tuple(f"f{k}" for k in range(f)),
        realized=realized,
        draws={AI_MODEL: ai_scale * rng.normal(0, 1, (n, t, f)), TRADITIONAL_MODEL: rng.normal(0, 1, (n, t, f))},
    )


def test_identical_models_pass_and_a_narrower_ai_fails_coverage() -> None:
    delta = np.linspace(-1, 1, 6)
    same = _draws()
    same = CalibrationDraws(same.quarters, same.factor_ids, same.realized, {AI_MODEL: same.draws[TRADITIONAL_MODEL],
                            TRADITIONAL_MODEL: same.draws[TRADITIONAL_MODEL]})  # fmt: skip
    c = model_calibrations(same, delta)
    tests = calibration_test(c["ai"], c["traditional"], CET1, seed=3)
    assert [t.number for t in tests] == [21, 22, 23, 24, 25]
    assert all(t.passed and t.difference == 0 and t.lower_bound == 0 for t in tests)
    narrow = model_calibrations(_draws(ai_scale=0.4), delta)
    verdict = {t.id: t for t in calibration_test(narrow["ai"], narrow["traditional"], CET1, seed=3)}
    assert not verdict["crisis_coverage_90"].passed and not verdict["crisis_coverage_99"].passed
    assert not verdict["crisis_adverse_miss"].passed
    # scaling the narrow AI draws back up (the overlay) restores the coverage
    wide = model_calibrations(_draws(ai_scale=0.4), delta, ai_multiplier=1 / 0.4 * 1.2)
    verdict = {t.id: t for t in calibration_test(wide["ai"], wide["traditional"], CET1, seed=3)}
    assert verdict["crisis_coverage_90"].passed and verdict["crisis_coverage_99"].passed


def test_calibration_test_is_seeded_and_refuses_bad_input() -> None:
    c = model_calibrations(_draws(ai_scale=0.9), np.ones(6))
    a = calibration_test(c["ai"], c["traditional"], CET1, seed=1)
    assert a == calibration_test(c["ai"], c["traditional"], CET1, seed=1)
    with pytest.raises(ValueError, match="at least 1000"):
        calibration_test(c["ai"], c["traditional"], CET1, n_resamples=10)
    with pytest.raises(ValueError, match="quarters"):
        calibration_test(c["ai"], c["traditional"].take(np.arange(3)), CET1)


def test_moving_blocks_are_consecutive_and_cover_the_sample_length() -> None:
    index = moving_block_indexes(10, 4, 50, np.random.default_rng(0))
    assert index.shape == (50, 10) and index.min() >= 0 and index.max() <= 9
    assert (np.diff(index[:, :4], axis=1) == 1).all()  # the first block is four consecutive quarters
    assert moving_block_indexes(3, 4, 2, np.random.default_rng(0)).tolist() == [[0, 1, 2], [0, 1, 2]]


def test_draws_round_trip_and_scaling(tmp_path) -> None:
    d = _draws(n=20, t=5, f=3)
    path = d.save_npz(tmp_path / "c.npz")
    back = CalibrationDraws.load_npz(path)
    assert back.quarters == d.quarters and back.factor_ids == d.factor_ids
    np.testing.assert_array_equal(back.draws[AI_MODEL], d.draws[AI_MODEL])
    np.testing.assert_array_equal(back.realized, d.realized)
    scaled = d.scaled(AI_MODEL, 2.0)
    np.testing.assert_array_equal(scaled.draws[AI_MODEL], 2.0 * d.draws[AI_MODEL])
    np.testing.assert_array_equal(scaled.draws[TRADITIONAL_MODEL], d.draws[TRADITIONAL_MODEL])
    np.savez(tmp_path / "other.npz", meta=np.array('{"format": "x"}'), realized=np.zeros(1))
    with pytest.raises(ValueError, match="not a calibration-draws file"):
        CalibrationDraws.load_npz(tmp_path / "other.npz")
