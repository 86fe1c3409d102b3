"""Parity with QuantLib, priced in a separate process: 200 random instruments per type, fp64.

Error measure: ``|engine - QuantLib| / max(|QuantLib NPV|, 1e-6 * notional)`` (a pure relative
error is meaningless for an option worth a millionth of a dollar); the bound is 1e-8.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from risk_dagster.engine.curves import treasury_zero_curve
from risk_dagster.engine.foreign_curves import foreign_factor_ids
from risk_dagster.engine.kernels import random_book
from risk_dagster.engine.revalue import engine_values, oracle_request, run_oracle
from risk_dagster.market.catalog import load_risk_factor_catalog

TYPES = ("fixed_bond", "frn", "irs", "equity", "fx_forward", "equity_option", "loan", "agency_mbs")
PER_TYPE = 200

# QuantLib is in the [test] extras: the parity oracle must run, never be skipped.


def test_engine_matches_quantlib_for_every_instrument_type() -> None:
    catalog = load_risk_factor_catalog()
    # foreign curves, their own shocks (the EUR curve's knots are catalog factors already)
    foreign = [f for c in ("EUR", "JPY", "GBP") for f in foreign_factor_ids(c) if f not in catalog.ids]
    ids = [f.id for f in catalog] + foreign
    kinds = [f.shock_type for f in catalog] + ["absolute_bp"] * len(foreign)
    book = pd.concat([random_book(PER_TYPE, seed=100 + i, types=(t,)) for i, t in enumerate(TYPES)], ignore_index=True)
    rng = np.random.default_rng(20260101)
    scale = np.array([100.0 if k == "absolute_bp" else 0.2 if k == "log_return" else 10.0 for k in kinds])
    path = np.cumsum(rng.standard_normal((len(book), 9, len(ids))) * scale / 3.0, axis=1)
    # Treasury par shocks as curves move: parallel, slope and curvature (cumulated, ~100bp / 60bp / 30bp
    # sd at the horizon) and 10bp of noise per tenor; independent 100bp per tenor would ask QuantLib to
    # bootstrap par curves no market quotes (a 30y par yield of -1% under a 20y of +8% has no zero curve)
    for prefix in ("rates.ust.", "rates.swap.eur.", "rates.swap.jpy.", "rates.swap.gbp."):
        rates = [i for i, f in enumerate(ids) if f.startswith(prefix)]
        x = np.log([{"1m": 1, "3m": 3, "6m": 6, "1y": 12, "2y": 24, "3y": 36, "5y": 60, "7y": 84, "10y": 120,
                     "20y": 240, "30y": 360}[ids[i].rsplit(".", 1)[1]] for i in rates])
        x = (x - x.mean()) / x.std()
        f = np.cumsum(rng.standard_normal((len(book), 9, 3)) * np.array([100.0, 60.0, 30.0]) / 3.0, axis=1)
        path[:, :, rates] = (f[..., :1] + f[..., 1:2] * x + f[..., 2:3] * (x**2 - 1.0)
                             + rng.standard_normal((len(book), 9, len(rates))) * 10.0)
    curve = treasury_zero_curve()
    ql = run_oracle(oracle_request(book, curve, path, ids), timeout=300)["npv"]
    eng = engine_values(book, curve, path, ids)
    err = np.abs(eng - ql) / np.maximum(np.abs(ql), 1e-6 * book["notional"].to_numpy())
    worst = {t: float(err[(book["instrument_type"] == t).to_numpy()].max()) for t in TYPES}
    assert all(v <= 1e-8 for v in worst.values()), worst
    assert np.isfinite(ql).all() and (np.abs(ql) > 0).mean() > 0.99


def test_rate_pnl_matches_quantlib_rebootstrapped_from_par_quotes() -> None:
    """The validator's case: par shocks (parallel +200bp and a 1m +150 / 5y 0 / 30y -90 twist) on a
    short 30y bond, a 10y receiver and a 5y payer; QuantLib bootstraps each shocked par curve itself."""
    ids = [f.id for f in load_risk_factor_catalog()]
    book = pd.concat([random_book(1, seed=1, types=("fixed_bond",)), random_book(2, seed=2, types=("irs",))],
                     ignore_index=True)
    book.loc[0, ["segment", "rating", "credit_curve", "maturity_years", "coupon_rate", "coupon_frequency", "direction"]] = [
        "ust", "AA+", None, 30.0, 0.045, 2.0, -1]
    book.loc[1, ["maturity_years", "coupon_rate", "coupon_frequency", "direction", "spread_bp"]] = [10.0, 0.042, 2.0, 1, np.nan]
    book.loc[2, ["maturity_years", "coupon_rate", "coupon_frequency", "direction", "spread_bp"]] = [5.0, 0.041, 2.0, -1, np.nan]
    book["notional"] = 1e8
    months = np.array([1, 3, 6, 12, 24, 36, 60, 84, 120, 240, 360])
    twist = np.interp(np.log(months), np.log([1, 60, 360]), [150.0, 0.0, -90.0])
    rates = [ids.index(f"rates.ust.{t}") for t in ("1m", "3m", "6m", "1y", "2y", "3y", "5y", "7y", "10y", "20y", "30y")]
    curve = treasury_zero_curve()
    for shock in (np.full(11, 200.0), twist):
        path = np.zeros((2, 1, len(ids)))
        path[1, 0, rates] = shock  # scenario 0: base, scenario 1: shocked
        ql = run_oracle(oracle_request(book, curve, path, ids, mode="cross"), timeout=120)["npv"]
        eng = engine_values(book, curve, path, ids, pairs=False)
        ql_pnl, eng_pnl = ql[1] - ql[0], eng[1] - eng[0]
        assert np.all(np.abs(eng_pnl - ql_pnl) <= 0.01 * np.abs(ql_pnl)), (eng_pnl, ql_pnl)
        np.testing.assert_allclose(eng_pnl, ql_pnl, rtol=1e-7)


def test_fx_forward_has_forward_points_and_both_rate_sensitivities() -> None:
    """A one-year EUR forward struck at spot is worth the forward points; USD and EUR rates both move it."""
    from risk_dagster.engine.curves import ParBootstrap
    from risk_dagster.engine.foreign_curves import foreign_zero_curve

    curve = treasury_zero_curve()
    book = random_book(1, seed=7, types=("fx_forward",))
    book.loc[0, ["fx_factor", "currency", "spot", "forward_rate", "maturity_years", "direction"]] = [
        "fx.eurusd", "EUR", 1.04, 1.04, 1.0, 1]
    book["notional"] = 1e8
    eur = foreign_zero_curve("EUR", curve)
    t = round(365.0) / 365.0
    points = 1e8 * (eur.discount(t) - curve.discount(t))  # long EUR at spot: receive EUR carry
    catalog_ids = [f.id for f in load_risk_factor_catalog()]
    ids = catalog_ids + [f for f in foreign_factor_ids("EUR") if f not in catalog_ids]  # the EUR knots are catalog factors
    path = np.zeros((3, 1, len(ids)))
    path[1, 0, [ids.index(f"rates.ust.{x}") for x in ("1m", "3m", "6m", "1y", "2y", "3y", "5y", "7y", "10y", "20y", "30y")]] = 200.0
    path[2, 0, [ids.index(f) for f in foreign_factor_ids("EUR")]] = 200.0
    eng = engine_values(book, curve, path, ids, pairs=False)[:, 0]
    ql = run_oracle(oracle_request(book, curve, path, ids, mode="cross"), timeout=120)["npv"][:, 0]
    np.testing.assert_allclose(eng, ql, rtol=1e-9, atol=1e-3)
    assert abs(eng[0] - points) < 1.0 and abs(points) > 0.005 * 1e8  # about 1.5% of notional at base
    usd_move, eur_move = eng[1] - eng[0], eng[2] - eng[0]
    # +200bp USD: the USD leg paid in a year is worth less, about N x 2% x T x DF
    dz = ParBootstrap(curve).zero_moves_bp(np.full(11, 200.0))[0]
    assert 0.8 * 1e8 * dz[3] / 1e4 * curve.discount(1.0) < usd_move < 1.2 * 1e8 * dz[3] / 1e4
    assert eur_move < -0.8 * 1e8 * 0.02 * eur.discount(1.0)  # +200bp EUR: the EUR received is worth less


def test_irregular_first_coupons_match_quantlib() -> None:
    """Long and short first coupons (accrual from the issue date) priced as QuantLib's firstDate schedule."""
    from risk_dagster.engine.curves import add_months, days_from_years, to_days

    curve = treasury_zero_curve()
    ids = [f.id for f in load_risk_factor_catalog()]
    book = pd.concat([random_book(3, seed=11, types=("fixed_bond",)), random_book(3, seed=12, types=("frn",))],
                     ignore_index=True)
    book["maturity_years"] = [5.3, 12.1, 2.7, 4.4, 7.9, 1.6]
    book["coupon_frequency"] = [2.0, 4.0, 1.0, 4.0, 2.0, 12.0]
    val = to_days(curve.valuation_date)
    firsts, issues = [], []
    for mat_y, freq, long_first in zip(book["maturity_years"], book["coupon_frequency"], [1, 0, 1, 0, 1, 1], strict=True):
        step = int(12 / freq)
        mat = val + int(days_from_years(mat_y))
        k = 1
        while add_months(np.array([mat]), np.array([-(k + 1) * step]))[0] > val:
            k += 1
        first = add_months(np.array([mat]), np.array([-k * step]))[0]  # the next coupon date on the schedule
        issue = first - (int(1.6 * step * 30.4) if long_first else int(0.5 * step * 30.4))
        firsts.append(np.datetime64("1970-01-01") + np.timedelta64(int(first), "D"))
        issues.append(np.datetime64("1970-01-01") + np.timedelta64(int(issue), "D"))
    book["first_coupon_date"] = pd.to_datetime(firsts)
    book["issue_date"] = pd.to_datetime(issues)
    path = np.zeros((len(book), 1, len(ids)))
    ql = run_oracle(oracle_request(book, curve, path, ids), timeout=120)["npv"]
    eng = engine_values(book, curve, path, ids)
    np.testing.assert_allclose(eng, ql, rtol=1e-9)
    regular = engine_values(book.drop(columns=["first_coupon_date"]), curve, path, ids)
    assert np.abs(eng - regular).max() > 1e-4 * book["notional"].max()  # the irregular coupon matters


def test_a_first_coupon_off_the_schedule_is_refused() -> None:
    curve = treasury_zero_curve()
    book = random_book(1, seed=13, types=("fixed_bond",))
    book["maturity_years"] = 5.0
    book["coupon_frequency"] = 2.0
    book["first_coupon_date"] = pd.Timestamp(curve.valuation_date) + pd.Timedelta(days=45)
    book["issue_date"] = pd.Timestamp(curve.valuation_date) - pd.Timedelta(days=100)
    from risk_dagster.engine.kernels import prepare_book

    with pytest.raises(ValueError, match="first_coupon_date.*R13-0000000"):
        prepare_book(book, curve)
