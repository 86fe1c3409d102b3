"""The statistics table, the statistic functions by hand, and the bootstrap test's verdicts."""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np
import pytest

from risk_dagster.conservativeness.bootstrap import bootstrap_test, results_frame
from risk_dagster.conservativeness.registry import BY_ID, STATISTICS, tolerance, tolerance_floor
from risk_dagster.conservativeness.statistics import STATISTIC_FUNCTIONS, SetOutcomes, expected_shortfall, statistic_values

CET1 = 240e9


def _outcomes(n: int = 400, seed: int = 0, scale: float = 1.0) -> SetOutcomes:
    rng = np.random.default_rng(seed)
    loss = scale * rng.lognormal(np.log(80e9), 0.3, n)
    return SetOutcomes(
        total_loss=loss,
        min_ratio=0.137 - loss / 1750e9,
        end_ratio=0.14 - loss / 3500e9,
        scb_unfloored=loss / 1750e9 + 12e9 / 1750e9,
        pretax_income=20e9 - loss,
        trading_loss=scale * rng.lognormal(np.log(18e9), 0.1, n),
        securities_loss=scale * rng.lognormal(np.log(2e9), 0.2, n),
        ppnr=np.full(n, 100e9) - (scale - 1.0) * 10e9,
        open_rates=scale * rng.normal(10e9, 5e9, n),
        open_credit=scale * rng.normal(45e9, 5e9, n),
        open_equity=scale * rng.normal(24e9, 3e9, n),
        open_other=np.zeros(n),
        open_total=scale * rng.normal(25e9, 8e9, n),
    )


def test_the_table_has_the_25_statistics_of_the_design() -> None:
    assert [s.number for s in STATISTICS] == list(range(1, 26))
    assert len(BY_ID) == 25
    assert [s.id for s in STATISTICS][:6] == ["loss_mean", "loss_median", "loss_var_95", "loss_var_99", "loss_es_97_5", "loss_es_99"]
    assert BY_ID["cet1_min_median"].direction == -1 and BY_ID["scb_median"].direction == 1
    assert BY_ID["ppnr_median"].direction == -1 and BY_ID["crisis_adverse_miss"].direction == -1
    # every sample statistic (1-20) has a function, and no other does
    assert set(STATISTIC_FUNCTIONS) == {s.id for s in STATISTICS if s.number <= 20}


def test_tolerance_floors_by_unit() -> None:
    assert tolerance_floor("usd", CET1) == pytest.approx(0.24e9)
    assert tolerance_floor("ratio", CET1) == 0.0005 and tolerance_floor("share", CET1) == 0.01
    assert tolerance(BY_ID["loss_mean"], 100e9, CET1) == pytest.approx(5e9)  # 5% beats the floor
    assert tolerance(BY_ID["loss_mean"], 1e9, CET1) == pytest.approx(0.24e9)  # the floor
    assert tolerance(BY_ID["cet1_min_median"], 0.12, CET1) == pytest.approx(0.006)


def test_statistics_by_hand() -> None:
    o = _outcomes()
    values = statistic_values(o)
    x = np.sort(o.total_loss)
    assert values["loss_mean"] == pytest.approx(x.mean())
    assert values["loss_median"] == pytest.approx(0.5 * (x[199] + x[200]))
    assert values["loss_var_99"] == pytest.approx(x[395] + 0.01 * (x[396] - x[395]))  # (n-1) x 0.99 = 395.01
    q975 = np.quantile(x, 0.975)
    assert values["loss_es_97_5"] == pytest.approx(x[x >= q975].mean())
    assert values["cet1_min_p05"] == pytest.approx(np.quantile(o.min_ratio, 0.05))
    assert values["trading_loss_es_97_5"] == pytest.approx(expected_shortfall(o.trading_loss, 0.975))
    assert values["ppnr_median"] == pytest.approx(100e9)
    assert expected_shortfall(np.arange(1.0, 101.0), 0.99) == pytest.approx(100.0)


def test_batched_statistics_equal_one_by_one() -> None:
    o = _outcomes(50)
    index = np.random.default_rng(3).integers(0, 50, (4, 50))
    batch = o.take(index)
    for sid, f in STATISTIC_FUNCTIONS.items():
        one_by_one = [float(f(o.take(index[k]))) for k in range(4)]
        np.testing.assert_allclose(f(batch), one_by_one, rtol=1e-12, err_msg=sid)


def test_identical_sets_differ_by_nothing_and_central_statistics_pass() -> None:
    o = _outcomes(2000)
    tests = {t.id: t for t in bootstrap_test(o, o, CET1, seed=1)}
    assert len(tests) == 20 and {t.resamples for t in tests.values()} == {1000}
    # paired resampling (the default) of identical sets: every resampled difference is exactly 0
    assert all(t.difference == 0 and t.lower_bound == 0 and t.passed for t in tests.values())
    independent = {t.id: t for t in bootstrap_test(o, o, CET1, seed=1, paired=False)}
    assert all(t.difference == 0 and t.lower_bound <= 0 for t in independent.values())
    assert independent["loss_es_99"].lower_bound < 0  # independent resampling adds noise the pairs do not
    central = [i for i in independent if i.endswith(("_mean", "_median")) and i != "open_other_stress_median"]
    assert all(independent[i].passed for i in central), [i for i in central if not independent[i].passed]


def test_a_milder_ai_set_fails_and_a_harsher_one_passes() -> None:
    trad = _outcomes(seed=1)
    milder = bootstrap_test(_outcomes(seed=2, scale=0.8), trad, CET1, seed=1)
    failed = {t.id for t in milder if not t.passed}
    assert {"loss_mean", "loss_median", "trading_loss_median", "cet1_min_median", "open_credit_stress_median"} <= failed
    harsher = bootstrap_test(_outcomes(seed=2, scale=1.25), trad, CET1, seed=1)
    assert all(t.passed for t in harsher), [t.id for t in harsher if not t.passed]


def test_bound_is_seeded_and_below_the_point_difference_for_a_milder_set() -> None:
    ai, trad = _outcomes(seed=2, scale=0.9), _outcomes(seed=1)
    a = results_frame(bootstrap_test(ai, trad, CET1, seed=7))
    b = results_frame(bootstrap_test(ai, trad, CET1, seed=7))
    assert a.equals(b)
    assert (a["lower_bound"] <= a["difference"] + 1e-9 * a["difference"].abs().max()).all()


def test_refusals() -> None:
    o = _outcomes(10)
    with pytest.raises(ValueError, match="at least 1000"):
        bootstrap_test(o, o, CET1, n_resamples=999)
    empty = replace(o, **{f.name: getattr(o, f.name)[:0] for f in fields(o)})
    with pytest.raises(ValueError, match="without samples"):
        bootstrap_test(empty, o, CET1)


def test_paired_resampling_cancels_what_the_sets_share() -> None:
    """Common random numbers (the loan residuals) are the same in sample i of both sets: paired resampling
    keeps them paired, so the bound of a tail statistic reflects only what the generators change."""
    rng = np.random.default_rng(5)
    shared = rng.lognormal(np.log(80e9), 0.4, 2000)  # the loan losses, identical by construction
    base = _outcomes(2000, seed=1)
    ai = replace(base, total_loss=shared + rng.normal(18e9, 1e9, 2000))
    trad = replace(base, total_loss=shared + rng.normal(18e9, 1e9, 2000))
    independent = {t.id: t for t in bootstrap_test(ai, trad, CET1, seed=2, ids=["loss_es_99", "loss_var_99"], paired=False)}
    paired = {t.id: t for t in bootstrap_test(ai, trad, CET1, seed=2, ids=["loss_es_99", "loss_var_99"])}
    for sid in ("loss_es_99", "loss_var_99"):
        assert paired[sid].lower_bound > independent[sid].lower_bound
        assert paired[sid].passed


def test_each_of_the_twenty_sample_statistics_on_five_samples_by_hand() -> None:
    """Five samples, every value worked out on paper (linear quantiles: position q x (n - 1))."""
    o = SetOutcomes(
        total_loss=np.array([10.0, 20, 30, 40, 50]),
        min_ratio=np.array([0.10, 0.12, 0.11, 0.09, 0.13]),
        end_ratio=np.array([0.12, 0.14, 0.13, 0.11, 0.15]),
        scb_unfloored=np.array([0.02, 0.03, 0.025, 0.035, 0.015]),
        pretax_income=np.array([-5.0, -3, -4, -1, -2]),
        trading_loss=np.array([1.0, 5, 2, 4, 3]),
        securities_loss=np.array([2.0, 2, 3, 1, 4]),
        ppnr=np.array([7.0, 8, 9, 6, 5]),
        open_rates=np.array([-1.0, 0, 1, 2, 3]),
        open_credit=np.array([5.0, 4, 3, 2, 1]),
        open_equity=np.array([0.0, 0, 0, 1, 1]),
        open_other=np.array([2.0, 2, 2, 2, 2]),
        open_total=np.array([1.0, 2, 3, 4, 100]),
    )
    expected = {
        "loss_mean": 30.0, "loss_median": 30.0,
        "loss_var_95": 48.0,  # position 3.8: 40 + 0.8 x 10
        "loss_var_99": 49.6,  # position 3.96
        "loss_es_97_5": 50.0, "loss_es_99": 50.0,  # only 50 lies at or beyond 49 / 49.6
        "cet1_min_median": 0.11, "cet1_min_p05": 0.092,  # position 0.2 of 0.09, 0.10, ...
        "cet1_end_median": 0.13, "scb_median": 0.025, "pretax_income_median": -3.0,
        "trading_loss_median": 3.0, "trading_loss_es_97_5": 5.0,  # beyond 4.9: the 5
        "securities_loss_median": 2.0, "ppnr_median": 7.0,
        "open_rates_stress_median": 1.0, "open_credit_stress_median": 3.0, "open_equity_stress_median": 0.0,
        "open_other_stress_median": 2.0,
        "open_total_stress_es_97_5": 100.0,  # beyond 4 + 0.9 x 96 = 90.4: the 100
    }  # fmt: skip
    values = statistic_values(o)
    assert set(values) == set(expected)
    for sid, value in expected.items():
        assert values[sid] == pytest.approx(value, abs=1e-12), sid
