"""Base curve bootstrap, date arithmetic and the interpolation rule."""

from __future__ import annotations

import numpy as np

from risk_dagster.engine.curves import (
    RATE_FACTORS,
    add_months,
    bootstrap_par_curve,
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
