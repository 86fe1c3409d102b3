"""The conservative overlay: the multiplier search, the scaling of the open factors, the re-screening."""

from __future__ import annotations

import numpy as np
import pytest

from risk_dagster.conservativeness.overlay import rescreen, scale_open_factors, smallest_multiplier
from risk_dagster.conservativeness.statistics import open_factors
from risk_dagster.translate.rating_spreads import RATING_FACTORS, add_rating_spreads, rating_spread_violations, violation_count
from risk_dagster.translate.shockset import ShockSet


def test_search_finds_the_smallest_passing_multiplier_to_the_hundredth() -> None:
    calls: list[float] = []

    def passes(m: float) -> bool:
        calls.append(m)
        return m >= 1.37

    m, trials = smallest_multiplier(passes)
    assert m == pytest.approx(1.37)
    assert (1.37, True) in trials and (1.36, False) in trials  # the answer and the point below it were evaluated
    assert len(calls) <= 16 and len(set(calls)) == len(calls)


def test_search_returns_one_when_the_start_passes_and_none_beyond_the_cap_or_inadmissible() -> None:
    assert smallest_multiplier(lambda m: True) == (1.0, [(1.0, True)])
    m, trials = smallest_multiplier(lambda m: m >= 5.0, cap=3.0)
    assert m is None and trials[-1] == (3.0, False)
    # inadmissible from 1.2 on: the search stops there, even though 1.5 would "pass"
    m, trials = smallest_multiplier(lambda m: None if m >= 1.2 else False)
    assert m is None and trials[-1][1] is None
    m, _ = smallest_multiplier(lambda m: m >= 2.0, start=1.5)
    assert m == pytest.approx(2.0)


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
