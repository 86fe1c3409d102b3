"""Valuation at the scenario's jump-off: the last curve moved to the supervisor's jump-off tenors."""

from __future__ import annotations

import numpy as np

from risk_dagster.engine.curves import RATE_FACTORS, implied_par_yields, treasury_zero_curve
from risk_dagster.engine.valuation import jump_off_date, valuation_context
from risk_dagster.translate.shockset import ShockSet


def _shockset(basis: str) -> ShockSet:
    ids = [*RATE_FACTORS, "rates.mortgage30"]
    jump = np.array([4.4, 3.9, 4.2, 4.1, 3.6, 3.6, 3.7, 3.9, 4.1, 4.6, 4.7, 6.2])
    meta = {"jump_off_quarter": "2025Q4",
            "jump_off_basis": {f: (basis if f.endswith(("3m", "5y", "10y")) else "market") for f in ids}}
    return ShockSet(np.zeros((1, 2, len(ids))), jump, ids, ["absolute_bp"] * len(ids), ["2026Q1", "2026Q2"], "x", "m", "1",
                    0, meta)


def test_curve_moved_to_the_fed_jump_off_tenors() -> None:
    s = _shockset("fed")
    ctx = valuation_context(s, book_as_of="2025-12-31")
    assert str(ctx.valuation_date) == "2025-12-31" == str(jump_off_date(s))
    par = implied_par_yields(ctx.curve)
    for tenor, level in (("3m", 3.9), ("5y", 3.7), ("10y", 4.1)):
        assert abs(par[RATE_FACTORS.index(f"rates.ust.{tenor}")] - level) < 1e-9
    base = implied_par_yields(treasury_zero_curve())
    # the 30y moves with the 10y, the 1m with the 3m (flat outside the fixed tenors)
    assert abs((par[-1] - base[-1]) - (4.1 - base[RATE_FACTORS.index("rates.ust.10y")])) < 1e-9
    assert abs((par[0] - base[0]) - (3.9 - base[1])) < 1e-9
    assert ctx.mortgage_rate_pct == 6.2
    assert "3m, 5y, 10y" in ctx.as_of["treasury curve"] and ctx.as_of["book"] == "2025-12-31"


def test_without_fixed_tenors_the_last_shipped_curve_and_its_date() -> None:
    ctx = valuation_context(_shockset("market"))
    assert str(ctx.valuation_date) == "2024-12-31"
    np.testing.assert_allclose(ctx.curve.zero_rates, treasury_zero_curve().zero_rates)


def test_a_set_moved_onto_a_snapshot_is_valued_on_its_day_anchored_on_the_observed_tenors(tmp_path) -> None:
    from risk_dagster.market.snapshot import read_snapshot, rebase_shockset

    snap = tmp_path / "s.csv"
    snap.write_text("as_of,factor_id,level\n2026-12-03T10:30,rates.ust.2y,3.55\n2026-12-03T10:30,rates.ust.10y,4.25\n")
    moved = rebase_shockset(_shockset("fed"), read_snapshot(snap))
    ctx = valuation_context(moved)
    assert str(ctx.valuation_date) == "2026-12-03"
    par = implied_par_yields(ctx.curve)
    for tenor, level in (("2y", 3.55), ("10y", 4.25)):
        assert abs(par[RATE_FACTORS.index(f"rates.ust.{tenor}")] - level) < 1e-9
    assert abs(par[RATE_FACTORS.index("rates.ust.5y")] - 3.7) > 1e-3  # the scenario's fixed 5y is not mixed in
    assert "market snapshot" in ctx.as_of["treasury curve"] and "2y, 10y" in ctx.as_of["treasury curve"]
