"""The conservative overlay: the multiplier search, the scaling of the open factors, the re-screening."""

from __future__ import annotations

import numpy as np
import pytest

from risk_dagster.conservativeness.overlay import multiplier_grid, rescreen, scale_open_factors, smallest_passing
from risk_dagster.conservativeness.statistics import open_factors
from risk_dagster.translate.rating_spreads import RATING_FACTORS, add_rating_spreads, rating_spread_violations, violation_count
from risk_dagster.translate.shockset import ShockSet


GRID = multiplier_grid()


def test_the_grid_runs_from_one_to_the_cap_by_hundredths() -> None:
    assert GRID[0] == 1.0 and GRID[-1] == 3.0 and len(GRID) == 201 and GRID[37] == 1.37


def test_search_finds_the_smallest_passing_multiplier_to_the_hundredth() -> None:
    calls: list[float] = []

    def passes(m: float) -> bool:
        calls.append(m)
        return m >= 1.37

    m, trials = smallest_passing(GRID, passes)
    assert m == pytest.approx(1.37)
    assert (1.37, True) in trials and (1.36, False) in trials  # the answer and the point below it were evaluated
    assert len(calls) <= 16 and len(set(calls)) == len(calls)
    # over a sparse list of candidates (where 21-25 pass) the same search
    assert smallest_passing([1.1, 1.5, 1.9, 2.4], lambda m: m >= 1.8)[0] == 1.9


def test_search_returns_the_first_when_it_passes_and_none_beyond_the_cap_or_inadmissible() -> None:
    assert smallest_passing(GRID, lambda m: True) == (1.0, [(1.0, True)])
    m, trials = smallest_passing(GRID, lambda m: m >= 5.0)
    assert m is None and trials[-1] == (3.0, False)
    assert smallest_passing([], lambda m: True) == (None, [])
    # inadmissible from 1.2 on: nothing admissible passes, even though 1.5 would "pass"
    m, trials = smallest_passing(GRID, lambda m: None if m >= 1.2 else m >= 1.5)
    assert m is None and max(t for t, outcome in trials if outcome is not None) <= 1.19
    # a stride that overshoots into the inadmissible zone is bisected back to the passes below it
    m, trials = smallest_passing(GRID, lambda m: None if m >= 1.35 else m >= 1.33)
    assert m == pytest.approx(1.33) and any(outcome is None for _, outcome in trials)


@pytest.fixture(scope="module")
def rated(sa_set):
    return add_rating_spreads(sa_set.select(np.arange(40)))


def test_scaling_multiplies_the_open_factors_only_and_rederives_the_rating_buckets(rated) -> None:
    scaled = scale_open_factors(rated, 1.5)
    assert scaled.factor_ids == rated.factor_ids and scaled.shocks.shape == rated.shocks.shape
    fixed = set(rated.metadata["fixed_factors"])
    opened = [f for f in open_factors(rated) if f not in RATING_FACTORS]
    assert fixed and opened
    for f in fixed:
        np.testing.assert_array_equal(scaled.factor(f), rated.factor(f))
    for f in opened:
        np.testing.assert_allclose(scaled.factor(f), 1.5 * rated.factor(f), rtol=1e-12, equal_nan=True)
    # the buckets follow their anchor, the Fed's BBB-10y spread, and the basis ranks, which scaling keeps
    assert "credit.spread.bbb_10y" in fixed
    for f in RATING_FACTORS:
        np.testing.assert_array_equal(scaled.factor(f), rated.factor(f))
    assert violation_count(rating_spread_violations(scaled)) == 0
    assert scaled.metadata["overlay_multiplier"] == 1.5 and "+overlay1.50" in scaled.model_version
    np.testing.assert_array_equal(scale_open_factors(rated, 1.0).shocks, rated.shocks)


def test_rescreening_rejects_the_samples_a_large_multiplier_breaks(rated, filt, factor_history) -> None:
    mild = rescreen(scale_open_factors(rated, 1.0), filt.rules, factor_history.levels, 1.0)
    harsh = rescreen(scale_open_factors(rated, 6.0), filt.rules, factor_history.levels, 6.0)
    assert harsh.rejected > mild.rejected and harsh.samples_before == rated.n_samples
    assert sum(harsh.rejected_by_rule.values()) >= harsh.rejected > 0
    assert harsh.summary()["rejected"] == harsh.rejected
    # what is kept breaks no rule
    again = rescreen(harsh.shocks, filt.rules, factor_history.levels, 6.0)
    assert again.rejected == 0 or harsh.shocks.n_samples == 0


def test_an_open_anchor_rederives_the_buckets_from_the_scaled_anchor(rated) -> None:
    meta = dict(rated.metadata, fixed_factors=[f for f in rated.metadata["fixed_factors"] if f != "credit.spread.bbb_10y"])
    opened = ShockSet(**{**rated.__dict__, "metadata": meta})
    scaled = scale_open_factors(opened, 1.5)
    np.testing.assert_allclose(scaled.factor("credit.spread.bbb_10y"), 1.5 * opened.factor("credit.spread.bbb_10y"))
    assert not np.allclose(scaled.factor("credit.spread.rating.ccc"), opened.factor("credit.spread.rating.ccc"))
    assert violation_count(rating_spread_violations(scaled)) == 0
