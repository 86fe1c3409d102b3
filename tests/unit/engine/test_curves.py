"""Base curve bootstrap, date arithmetic and the interpolation rule."""

from __future__ import annotations

import numpy as np

from risk_dagster.engine.curves import (
    RATE_FACTORS,
    ParBootstrap,
    add_months,
    bootstrap_par_curve,
    implied_par_yields,
    interpolation_matrix,
    to_days,
    treasury_zero_curve,
)


def test_add_months_clamps_to_month_end() -> None:
    d = to_days("2024-08-31")
    assert add_months([d], [-6])[0] == to_days("2024-02-29")
    assert add_months([d], [-18])[0] == to_days("2023-02-28")
    assert add_months([to_days("2024-01-15")], [13])[0] == to_days("2025-02-15")


def test_bootstrap_reprices_par_instruments() -> None:
    par = {f: y for f, y in zip(RATE_FACTORS, [4.4, 4.37, 4.24, 4.16, 4.25, 4.27, 4.38, 4.48, 4.58, 4.86, 4.78], strict=True)}
    c = bootstrap_par_curve("2024-12-31", par)
    v = to_days("2024-12-31")
    for k, (f, m) in enumerate(zip(RATE_FACTORS, [1, 3, 6, 12, 24, 36, 60, 84, 120, 240, 360], strict=True)):
        y = par[f] / 100
        T = c.knot_days[k] / 365.0
        if m <= 12:
            assert abs(np.exp(-c.zero_rates[k] * T) - (1 + y / 2) ** (-2 * T)) < 1e-14
        else:
            ct = (add_months(np.full(m // 6, v), m - 6 * np.arange(1, m // 6 + 1)) - v) / 365.0
            ct = ct[ct > 0]
            price = y / 2 * c.discount(ct).sum() + (1 + y / 2) * c.discount(T)
            assert abs(price - 1.0) < 1e-12, (f, price)


def test_shipped_curve_and_knots() -> None:
    c = treasury_zero_curve()
    assert str(c.valuation_date) == "2024-12-31"
    assert list(c.knot_days[:4]) == [31, 90, 181, 365]
    assert c.knot_days[-1] == to_days("2054-12-31") - to_days("2024-12-31")
    assert np.all((c.zero_rates > 0.03) & (c.zero_rates < 0.06))


def test_interpolation_linear_in_rate_and_flat_outside() -> None:
    kt = np.array([0.1, 1.0, 5.0])
    z = np.array([0.02, 0.03, 0.05])
    t = np.array([0.0, 0.1, 0.55, 3.0, 5.0, 40.0])
    got = z @ interpolation_matrix(kt, t)
    np.testing.assert_allclose(got, [0.02, 0.02, 0.025, 0.04, 0.05, 0.05], rtol=0, atol=1e-15)
    # a knot shock moves only its neighbourhood, linearly
    shock = np.array([0.0, 0.01, 0.0])
    moved = (z + shock) @ interpolation_matrix(kt, t) - got
    np.testing.assert_allclose(moved, [0, 0, 0.005, 0.005, 0, 0], atol=1e-15)


# --------------------------------------------------------------------------- par shocks, re-bootstrapped
TWIST_MONTHS = np.array([1, 3, 6, 12, 24, 36, 60, 84, 120, 240, 360])
TWIST_BP = np.interp(np.log(TWIST_MONTHS), np.log([1, 60, 360]), [150.0, 0.0, -90.0])


def test_implied_par_yields_invert_the_bootstrap() -> None:
    c = treasury_zero_curve()
    np.testing.assert_allclose(implied_par_yields(c), c.par_yields_pct, rtol=0, atol=1e-12)


def test_batched_bootstrap_equals_the_knot_by_knot_one() -> None:
    c = treasury_zero_curve()
    pb = ParBootstrap(c)
    rng = np.random.default_rng(3)
    shocks = np.vstack([np.zeros(11), np.full(11, 200.0), np.full(11, -400.0), np.full(11, 1000.0), TWIST_BP,
                        rng.normal(0.0, 50.0, (40, 11)) + rng.normal(0.0, 150.0, (40, 1))])
    got = pb.zero_moves_bp(shocks)
    for s, g in zip(shocks, got, strict=True):
        ref = c.shifted(s)
        np.testing.assert_allclose(g, (ref.zero_rates - c.zero_rates) * 1e4, rtol=0, atol=1e-8)
    np.testing.assert_allclose(got[0], 0.0, atol=1e-9)  # zero shock: the base curve


def test_par_moves_are_not_zero_moves() -> None:
    """A parallel par move moves zero rates by less at most tenors; a twist's long end by more."""
    pb = ParBootstrap(treasury_zero_curve())
    parallel = pb.zero_moves_bp(np.full(11, 200.0))[0]
    assert np.all(np.abs(parallel - 200.0) < 8.0) and np.all(parallel[:-2] < 200.0)
    twist = pb.zero_moves_bp(TWIST_BP)[0]
    assert twist[-1] < -100.0  # 30y par -90bp -> zero about -107bp
    assert abs(twist[6]) < 5.0  # 5y par unchanged -> zero within a few bp


def test_bootstrap_refuses_a_curve_without_zero_rates() -> None:
    import pytest
    import torch

    pb = ParBootstrap(treasury_zero_curve())
    par = torch.as_tensor(pb.base_par_pct).repeat(3, 1)
    par[1, 10] = float("nan")
    with pytest.raises(ValueError, match=r"rows \[1\]"):
        pb.zero_rates(par)
