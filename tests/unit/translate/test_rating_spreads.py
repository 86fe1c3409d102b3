"""Spreads by rating bucket: multiples from the cited ICE averages, ordering, floors, the BBB anchor,
the episode mix from the generated Baa basis, idempotence and determinism."""

from __future__ import annotations

import numpy as np
import pytest

from risk_dagster.translate.rating_spreads import (
    ANCHOR_FACTOR,
    BASIS_FACTOR,
    EPISODES,
    ICE_OAS_MINIMUM,
    ICE_OAS_QUARTERLY,
    JUMP_OFF_REFERENCE,
    RATING_BUCKETS,
    RATING_FACTORS,
    add_rating_spreads,
    rating_bucket,
    rating_factor,
    rating_multipliers,
    rating_spread_levels,
    rating_spread_violations,
    stress_rank,
    violation_count,
)
from risk_dagster.translate.shockset import ShockSet

FLOORS = np.array([ICE_OAS_MINIMUM[b][0] for b in RATING_BUCKETS])


def _bucket_levels(ss: ShockSet) -> tuple[np.ndarray, np.ndarray]:
    idx = [ss.factor_index(f) for f in RATING_FACTORS]
    return ss.jump_off[idx], ss.levels[:, :, idx]


def _credit_set(bbb0: float, bbb_bp: np.ndarray, baa_minus_bbb: np.ndarray | None = None) -> ShockSet:
    """A bare set of the BBB-10y (and optionally Baa-10y) spread: ``bbb_bp`` ``[samples, quarters]``
    shocks; the Baa level is the BBB level plus ``baa_minus_bbb`` (``[samples]``, percent)."""
    q = bbb_bp.shape[1]
    ids, shocks, jump = [ANCHOR_FACTOR], [bbb_bp], [bbb0]
    if baa_minus_bbb is not None:
        ids.append(BASIS_FACTOR)
        shocks.append(bbb_bp + 100.0 * (baa_minus_bbb[:, None] - 0.8))  # Baa jumps off 0.8 above BBB
        jump.append(bbb0 + 0.8)
    return ShockSet(np.stack(shocks, axis=-1), np.array(jump), ids, ["absolute_bp"] * len(ids),
                    [f"2026Q{k % 4 + 1}" for k in range(q)], "test", "m", "1", 0, {"jump_off_basis": {ANCHOR_FACTOR: "fed"}})


# =============================================================================== multipliers
def test_multiples_increase_with_worse_rating_and_match_the_cited_constants(fed_history_2026) -> None:
    mult = rating_multipliers(fed_history_2026.wide())
    assert mult.fed_bbb == {"2007Q2": 1.3, "2008Q4": 6.0, "2019Q4": 1.5, "2020Q2": 2.7, "2024Q4": 1.1}
    for episode, (start, end) in EPISODES.items():
        expected = (np.array(ICE_OAS_QUARTERLY[end]) - np.array(ICE_OAS_QUARTERLY[start])) / (mult.fed_bbb[end] - mult.fed_bbb[start])
        np.testing.assert_allclose(mult.multiples[episode], expected, rtol=1e-12)
        assert (np.diff(mult.multiples[episode]) > 0).all(), episode  # AAA < AA < ... < CCC
        m = dict(zip(RATING_BUCKETS, mult.multiples[episode], strict=True))
        # high yield widens several times as much as BBB; CCC more than four times
        assert m["bb"] / m["bbb"] > 1.7 and m["b"] / m["bbb"] > 2.5 and m["ccc"] / m["bbb"] > 4.0, episode
    # the default is the shipped 2026 history's, cached
    assert rating_multipliers() is rating_multipliers()
    for e in EPISODES:
        np.testing.assert_array_equal(rating_multipliers().multiples[e], mult.multiples[e])
    # every mix u keeps them ordered (comonotone draws)
    assert (np.diff(mult.at(np.linspace(0, 1, 11)), axis=1) > 0).all()
    table = mult.table()
    assert list(table.index) == list(RATING_BUCKETS) and np.allclose(table.loc["bbb", "m_2008/bbb"], 1.0)


def test_rating_buckets_of_notched_ratings() -> None:
    assert [rating_bucket(r) for r in ("AAA", "AA+", "AA", "AA-", "A+", "A-", "BBB+", "BBB-", "BB+", "B-", "CCC+", "CCC-", "CC")] == [
        "aaa", "aa", "aa", "aa", "a", "a", "bbb", "bbb", "bb", "b", "ccc", "ccc", "ccc"]  # fmt: skip
    assert rating_factor("BBB-") == "credit.spread.rating.bbb"
    for bad in ("AAA+", "Baa2", "", "NR"):
        with pytest.raises(ValueError, match="unknown rating"):
            rating_bucket(bad)


# =============================================================================== on a satellite draw
def test_severely_adverse_satellite_draw_is_ordered_floored_and_wider_for_high_yield(sa_set: ShockSet) -> None:
    k = sa_set.factor_index(RATING_FACTORS[0])  # the rating spreads, then the iTraxx indices derived from them
    assert list(sa_set.factor_ids[k : k + len(RATING_FACTORS)]) == list(RATING_FACTORS)
    jump, lv = _bucket_levels(sa_set)
    assert np.isfinite(lv).all()
    assert (np.diff(jump) >= 0).all() and (np.diff(lv, axis=-1) >= 0).all()  # ordered sample by sample
    assert (lv >= FLOORS).all() and (jump >= FLOORS).all()  # never below the historical floor
    assert violation_count(rating_spread_violations(sa_set)) == 0
    peak = sa_set.shocks[:, :, [sa_set.factor_index(f) for f in RATING_FACTORS]].max(axis=1)  # [samples, buckets] bp
    median = dict(zip(RATING_BUCKETS, np.median(peak, axis=0), strict=True))
    assert median["bbb"] > 300  # the Fed's BBB-10y widens about 470 bp at its peak
    assert median["ccc"] > 4 * median["bbb"] and median["b"] > 2.5 * median["bbb"] and median["bb"] > 1.7 * median["bbb"]
    assert median["aaa"] < 0.8 * median["bbb"]
    meta = sa_set.metadata["rating_spreads"]
    assert meta["factors"] == list(RATING_FACTORS) and meta["anchor"] == ANCHOR_FACTOR
    assert set(meta["multiples"]) == set(EPISODES) and meta["floors"]["ccc"] == ICE_OAS_MINIMUM["ccc"][0]
    assert sa_set.metadata["jump_off_basis"]["credit.spread.rating.ccc"] == "derived"


def test_the_bbb_bucket_moves_with_the_fed_bbb_spread(sa_set: ShockSet) -> None:
    mult = rating_multipliers()
    u, _ = stress_rank(sa_set)
    bbb = sa_set.factor(ANCHOR_FACTOR)
    got = sa_set.factor("credit.spread.rating.bbb")
    # m_BBB is measured, not 1 by construction: the ICE BBB OAS moved 1.06 (2020) to 1.24 (2008)
    # times the Fed's BBB-10y spread; far above the floor the bucket moves m_BBB(u) times it, up to
    # the soft floor's lift of the jump-off level (far below 0.1 bp for BBB at the 2026 jump-off)
    _, lv = _bucket_levels(sa_set)
    away = lv[:, :, RATING_BUCKETS.index("bbb")] > FLOORS[RATING_BUCKETS.index("bbb")] + 0.5
    assert away.mean() > 0.9
    expected = mult.at(u)[:, RATING_BUCKETS.index("bbb"), None] * bbb
    np.testing.assert_allclose(got[away], expected[away], atol=0.1)  # bp
    lo, hi = sorted(mult.multiples[e][RATING_BUCKETS.index("bbb")] for e in EPISODES)
    assert 1.0 < lo < hi < 1.3
    wide = away & (np.abs(bbb) > 50)
    ratio = got[wide] / bbb[wide]
    assert (ratio > lo - 1e-3).all() and (ratio < hi + 1e-3).all()


def test_the_episode_mix_follows_the_generated_baa_basis(sa_set: ShockSet) -> None:
    u, how = stress_rank(sa_set)
    assert "credit.spread.baa_10y" in how and u.min() > 0 and u.max() < 1
    lv = sa_set.levels
    basis = (lv[:, :, sa_set.factor_index(BASIS_FACTOR)] - lv[:, :, sa_set.factor_index(ANCHOR_FACTOR)]).mean(axis=1)
    assert np.argmax(u) == np.argmax(basis) and np.argmin(u) == np.argmin(basis)
    np.testing.assert_allclose(np.sort(u), (np.arange(1, len(u) + 1) - 0.5) / len(u))  # a mid-rank CDF
    # the Fed path is the same in every sample: a wider Baa basis means a wider CCC spread
    peak_ccc = sa_set.factor("credit.spread.rating.ccc").max(axis=1)
    assert peak_ccc[np.argmax(u)] > peak_ccc[np.argmin(u)]


# =============================================================================== synthetic paths
def test_tightening_paths_stay_ordered_and_floored() -> None:
    # A jump-off in a crisis (BBB-10y 5.5%) then a 4 pp tightening, and a calm jump-off (1.0%)
    # tightening 0.9 pp: the worse buckets fall faster; the cumulative maximum keeps the order and
    # the soft floor keeps every bucket above its historical minimum.
    for bbb0, drop in ((5.5, 4.0), (1.0, 0.9), (2.0, 1.9)):
        path = -np.linspace(0.0, drop * 100.0, 9)[1:]
        bbb = np.tile(path, (3, 1))
        ss = add_rating_spreads(_credit_set(bbb0, bbb, np.array([0.2, 0.8, 1.5])))
        jump, lv = _bucket_levels(ss)
        assert (np.diff(lv, axis=-1) >= 0).all() and (np.diff(jump) >= 0).all()
        assert (lv >= FLOORS).all()  # at the floor in float64 far below it, never under
        assert violation_count(rating_spread_violations(ss)) == 0
    # the ordering binds in the crisis jump-off's tightening (and only then is it needed)
    _, _, raised = rating_spread_levels(5.5, np.tile(-np.linspace(0, 400, 9)[1:], (3, 1)), np.array([0.0, 0.5, 1.0]))
    assert raised > 0
    _, _, raised = rating_spread_levels(1.0, np.tile(np.linspace(0, 500, 9)[1:], (3, 1)), np.array([0.0, 0.5, 1.0]))
    assert raised == 0  # widening: ordered by construction


def test_jump_off_scales_the_cited_levels_by_the_bbb_ratio() -> None:
    ref = np.array(ICE_OAS_QUARTERLY[JUMP_OFF_REFERENCE])
    for bbb0 in (1.1, 2.2):
        ss = add_rating_spreads(_credit_set(bbb0, np.zeros((2, 3))))
        jump, lv = _bucket_levels(ss)
        np.testing.assert_allclose(jump, ref * bbb0 / 1.1, atol=0.001)  # the soft floor adds < 0.1 bp
        np.testing.assert_allclose(lv, np.broadcast_to(jump, lv.shape), atol=1e-12)  # no BBB move, no move
        np.testing.assert_array_equal(ss.shocks[:, :, -len(RATING_FACTORS):], 0.0)


def test_without_a_baa_factor_every_sample_takes_the_middle_mix() -> None:
    bbb = np.tile(np.linspace(0, 300, 5), (4, 1))
    ss = add_rating_spreads(_credit_set(1.0, bbb))
    u, how = stress_rank(ss)
    np.testing.assert_array_equal(u, 0.5)
    assert how.startswith("none") and ss.metadata["rating_spreads"]["episode_mix"] == how
    ccc = ss.factor("credit.spread.rating.ccc")
    np.testing.assert_allclose(ccc, np.broadcast_to(ccc[:1], ccc.shape))  # same BBB path, same mix: same CCC path


def test_idempotent_deterministic_and_refuses_a_partial_set(sa_set: ShockSet) -> None:
    again = add_rating_spreads(sa_set)
    assert again is not sa_set and again.factor_ids == sa_set.factor_ids
    np.testing.assert_array_equal(again.shocks, sa_set.shocks)
    np.testing.assert_array_equal(again.jump_off, sa_set.jump_off)
    base = _credit_set(1.0, np.tile(np.linspace(0, 300, 5), (6, 1)), np.linspace(0.5, 1.5, 6))
    a, b = add_rating_spreads(base), add_rating_spreads(base)
    np.testing.assert_array_equal(a.shocks, b.shocks)
    assert a.metadata == b.metadata and base.factor_ids == [ANCHOR_FACTOR, BASIS_FACTOR]  # input untouched
    keep = [i for i, f in enumerate(a.factor_ids) if f != "credit.spread.rating.b"]
    partial = ShockSet(a.shocks[:, :, keep], a.jump_off[keep], [a.factor_ids[i] for i in keep],
                       [a.shock_types[i] for i in keep], a.quarters, "t", "m", "1", 0)
    with pytest.raises(ValueError, match="not all"):
        add_rating_spreads(partial)
    no_bbb = ShockSet(base.shocks[:, :, 1:], base.jump_off[1:], [BASIS_FACTOR], ["absolute_bp"], base.quarters, "t", "m", "1", 0)
    with pytest.raises(KeyError, match="bbb_10y"):
        add_rating_spreads(no_bbb)


def test_satellite_draws_are_deterministic(satellite, severely_adverse, fed_history_2026, sa_set: ShockSet) -> None:
    again = satellite.sample(severely_adverse, sa_set.n_samples, 1, history=fed_history_2026)
    idx = [sa_set.factor_index(f) for f in RATING_FACTORS]
    np.testing.assert_array_equal(again.shocks[:, :, idx], sa_set.shocks[:, :, idx])
