"""The ShockSet asset checks fail when the set they guard is wrong (recomputed, not reported)."""

from __future__ import annotations

import numpy as np
import pytest

from risk_dagster.assets.translate import FIXED_FACTOR_TOLERANCE, shock_checks
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.plausibility import PlausibilityError, PlausibilityFilter
from risk_dagster.translate.shockset import ShockSet

from ._support import with_level


@pytest.fixture(scope="module")
def accepted(filt: PlausibilityFilter, sa_set: ShockSet) -> ShockSet:
    report = filt.apply(sa_set)
    assert report.n_accepted >= 10
    return report.accepted


def _results(shockset, scenario, history, filt, levels) -> dict[str, object]:
    return {r.check_name: r for r in shock_checks(shockset, scenario, history, filt, levels)}


def test_an_accepted_set_passes_every_check(accepted, severely_adverse, fed_history_2026, filt, factor_history):
    results = _results(accepted, severely_adverse, fed_history_2026, filt, factor_history.levels)
    assert results["fixed_factors_reproduce_scenario"].passed
    assert results["fixed_factors_reproduce_scenario"].metadata["max_abs_gap"].value <= FIXED_FACTOR_TOLERANCE
    assert results["no_sample_breaks_a_hard_rule"].passed
    counts = results["no_sample_breaks_a_hard_rule"].metadata["samples_breaking_by_rule"].value
    assert counts and set(counts.values()) == {0}  # every rule was recomputed, none broken
    pairs = results["open_factors_follow_fixed_siblings"]
    assert pairs.passed, pairs.description
    assert "credit.spread.baa_10y / credit.spread.bbb_10y" in pairs.metadata["pairs"].value
    rating = results["rating_spreads_ordered_above_floor"]
    assert rating.passed, rating.description
    assert rating.metadata["samples_checked"].value == accepted.n_samples


def test_a_moved_fixed_factor_fails(accepted, severely_adverse: MacroScenario, fed_history_2026, filt, factor_history):
    moved = accepted.select(np.arange(accepted.n_samples))
    j = moved.factor_index("rates.ust.10y")  # fixed by the Fed
    moved.shocks[3, 5, j] += 1.0  # one bp in one quarter of one sample
    result = _results(moved, severely_adverse, fed_history_2026, filt, factor_history.levels)["fixed_factors_reproduce_scenario"]
    assert not result.passed
    assert result.metadata["worst_factor"].value == "rates.ust.10y"
    assert result.metadata["max_abs_gap"].value == pytest.approx(1.0)


def test_a_missing_fixed_factor_value_fails(accepted, severely_adverse, fed_history_2026, filt, factor_history):
    holed = accepted.select(np.arange(accepted.n_samples))
    holed.shocks[0, 2, holed.factor_index("vol.vix")] = np.nan
    result = _results(holed, severely_adverse, fed_history_2026, filt, factor_history.levels)["fixed_factors_reproduce_scenario"]
    assert not result.passed and result.metadata["worst_factor"].value == "vol.vix"


def test_a_sample_breaking_a_hard_rule_fails(accepted, severely_adverse, fed_history_2026, filt, factor_history):
    # What the filter's report says is not read: the rules are re-applied to the samples.
    broken = accepted.select(np.arange(accepted.n_samples))
    with_level(broken, 4, "credit.spread.baa_10y", 3, -0.5)  # open factor: below the spread floor
    results = _results(broken, severely_adverse, fed_history_2026, filt, factor_history.levels)
    check = results["no_sample_breaks_a_hard_rule"]
    assert not check.passed
    assert check.metadata["samples_breaking_by_rule"].value["credit_spread_floor"] == 1
    assert "credit_spread_floor" in check.description
    assert results["fixed_factors_reproduce_scenario"].passed  # the other check is not fooled


def test_the_filter_raises_rather_than_asserts_its_guarantee(filt, sa_set, monkeypatch):
    # A rejection step that lets a broken sample through: the filter's own recheck of what it
    # accepted (the rules module's, not the patched step) raises an exception, which
    # `python -O` cannot remove, unlike an assert.
    import risk_dagster.translate.plausibility.filter as filter_module
    from risk_dagster.translate.plausibility.rules import rule_checks

    def lenient(shockset, rules, class_scale=None):
        return {rule: (np.zeros_like(bad), counts) for rule, (bad, counts) in rule_checks(shockset, rules, class_scale).items()}

    broken = sa_set.select(np.arange(20))
    with_level(broken, 0, "credit.spread.baa_10y", 3, -0.5)
    monkeypatch.setattr(filter_module, "rule_checks", lenient)
    monkeypatch.setattr(PlausibilityFilter, "uses_discriminator", property(lambda self: False))
    with pytest.raises(PlausibilityError, match="credit_spread_floor"):
        filt.apply(broken)


def test_an_open_spread_drifting_from_its_fixed_sibling_fails(accepted, severely_adverse, fed_history_2026, filt, factor_history):
    # Baa-10y at a third of its level in every sample from the fifth quarter: the median ratio
    # to the Fed's BBB-10y falls below anything in history (0.85 since 1988).
    drifted = accepted.select(np.arange(accepted.n_samples))
    j = drifted.factor_index("credit.spread.baa_10y")
    for q in range(4, len(drifted.quarters)):
        for k in range(drifted.n_samples):
            with_level(drifted, k, "credit.spread.baa_10y", q, float(drifted.levels[k, q, j]) / 3.0)
    check = _results(drifted, severely_adverse, fed_history_2026, filt, factor_history.levels)[
        "open_factors_follow_fixed_siblings"
    ]
    assert not check.passed
    assert "credit.spread.baa_10y / credit.spread.bbb_10y" in check.description
    assert check.metadata["quarters_outside"].value == len(drifted.quarters) - 4


def test_a_pair_whose_sibling_is_open_is_shown_not_checked(accepted, factor_history):
    # the EBA's scenario fixes the U.S. 10y, not the 3m: fed funds against the 3m bill is then a pair of two
    # open factors, outside the check's definition (an open factor against a fixed one)
    from risk_dagster.translate.pair_envelope import pair_table, pairs_outside_history

    drifted = accepted.select(np.arange(accepted.n_samples))
    j = drifted.factor_index("rates.fedfunds")
    for q in range(len(drifted.quarters)):
        for k in range(drifted.n_samples):
            with_level(drifted, k, "rates.fedfunds", q, float(drifted.levels[k, q, drifted.factor_index("rates.ust.3m")]) - 3.0)
    assert float(np.median(drifted.levels[:, 0, j])) < 1.0
    table = pair_table(drifted, factor_history.levels)
    assert len(pairs_outside_history(table)) > 0  # 3m fixed, as the Fed's scenario fixes it: a failure
    drifted.metadata["fixed_factors"] = [f for f in drifted.metadata["fixed_factors"] if f != "rates.ust.3m"]
    table = pair_table(drifted, factor_history.levels)
    pair = table[table["pair"] == "rates.fedfunds - rates.ust.3m"]
    assert len(pair) and not pair["sibling_fixed"].any() and not pair["median_inside"].all()
    assert pairs_outside_history(table).empty


def test_rating_spreads_out_of_order_or_below_floor_fail(accepted, severely_adverse, fed_history_2026, filt, factor_history):
    def check(ss: ShockSet):
        return _results(ss, severely_adverse, fed_history_2026, filt, factor_history.levels)["rating_spreads_ordered_above_floor"]

    # one sample's BB spread under its BBB spread in one quarter: out of order
    crossed = accepted.select(np.arange(accepted.n_samples))
    bbb = float(crossed.levels[2, 5, crossed.factor_index("credit.spread.rating.bbb")])
    with_level(crossed, 2, "credit.spread.rating.bb", 5, bbb - 0.01)
    result = check(crossed)
    assert not result.passed and result.metadata["violations"].value["out_of_order"] == 1
    assert "1 out of order" in result.description
    # one sample's AAA spread under its historical floor (0.19%) at the start: below floor
    floored = accepted.select(np.arange(accepted.n_samples))
    with_level(floored, 3, "credit.spread.rating.aaa", 0, 0.15)
    result = check(floored)
    assert not result.passed and result.metadata["violations"].value["below_floor"] == {"aaa": 1}
    # a set without the rating factors (it could not price the book's corporates)
    keep = [i for i, f in enumerate(accepted.factor_ids) if not f.startswith("credit.spread.rating.")]
    bare = ShockSet(accepted.shocks[:, :, keep], accepted.jump_off[keep], [accepted.factor_ids[i] for i in keep],
                    [accepted.shock_types[i] for i in keep], accepted.quarters, accepted.scenario_id, "m", "1", 0,
                    dict(accepted.metadata))
    result = check(bare)
    assert not result.passed and "missing factors" in result.description
