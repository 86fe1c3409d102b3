"""Kernels: precision policy, blocking-independence, hand-checked values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from risk_dagster.engine.curves import treasury_zero_curve
from risk_dagster.engine.kernels import TorchBook, prepare_book, random_book
from risk_dagster.engine.precision import PrecisionPolicy, resolve_device


def _values(book, x, dtype=torch.float64):  # noqa: ANN001, ANN202
    tb = TorchBook(book, dtype, "cpu")
    out = np.zeros((x.shape[0], book.n_positions))
    for rows, v, _ in tb.values(torch.as_tensor(x, dtype=dtype)):
        out[:, rows] = v.T.double().numpy()
    return out


def test_resolve_device_and_policy() -> None:
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    p = PrecisionPolicy()
    assert p.pricing_dtype == torch.float64 and p.aggregate_dtype == torch.float64
    with pytest.raises(ValueError):
        PrecisionPolicy(pricing_dtype=torch.float16)
    with pytest.raises(ValueError):
        PrecisionPolicy.from_names("float64", "bf16").check_device(torch.device("cpu"))
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError):
            resolve_device("cuda")


def test_blocking_does_not_change_values() -> None:
    curve = treasury_zero_curve()
    frame = random_book(600, seed=3, types=("fixed_bond", "frn", "irs"))
    # many positions on identical dates so that dense blocks form
    frame.loc[:299, "maturity_years"] = np.round(frame.loc[:299, "maturity_years"])
    dense = prepare_book(frame, curve, min_block=2, min_density=0.05)
    sparse = prepare_book(frame, curve, min_block=10**9)
    assert any(not b.sparse for b in dense.blocks) and all(b.sparse for b in sparse.blocks)
    x = np.random.default_rng(0).normal(0, 50, (7, len(dense.factor_ids)))
    assert dense.factor_ids == sparse.factor_ids
    np.testing.assert_allclose(_values(dense, x), _values(sparse, x), rtol=1e-13, atol=1e-6)


def test_fixed_bond_by_hand() -> None:
    curve = treasury_zero_curve()
    frame = random_book(1, seed=0, types=("fixed_bond",))
    frame.loc[0, ["maturity_years", "coupon_rate", "coupon_frequency", "notional", "direction"]] = [2.0, 0.05, 2.0, 100.0, 1]
    frame.loc[0, ["segment", "credit_curve"]] = ["ust", None]
    book = prepare_book(frame, curve)
    got = _values(book, np.zeros((1, len(book.factor_ids))))[0, 0]
    # maturity 2024-12-31 + 730 days = 2026-12-31; coupons on Jun 30 / Dec 31 (ACT/365F accruals)
    from risk_dagster.engine.curves import to_days

    v = to_days("2024-12-31")
    dates = [to_days(d) for d in ("2024-12-31", "2025-06-30", "2025-12-31", "2026-06-30", "2026-12-31")]
    pv = sum(100 * 0.05 * (b - a) / 365 * curve.discount((b - v) / 365) for a, b in zip(dates[:-1], dates[1:], strict=True))
    pv += 100 * curve.discount((dates[-1] - v) / 365)
    assert abs(got - pv) < 1e-12


def test_float32_close_to_float64() -> None:
    curve = treasury_zero_curve()
    book = prepare_book(random_book(400, seed=5, types=("fixed_bond", "frn", "irs", "equity", "fx_forward", "equity_option")), curve)
    x = np.random.default_rng(1).normal(0, 30, (5, len(book.factor_ids))) * 0.01
    v64, v32 = _values(book, x), _values(book, x, torch.float32)
    assert abs(v64.sum() - v32.sum()) / np.abs(v64).sum() < 1e-5


def test_segment_pnl_equals_per_position_sums() -> None:
    # the fused segment path (revalue without cache, the benchmark) against summing per-position P&L
    from risk_dagster.engine.revalue import market_pnl

    curve = treasury_zero_curve()
    frame = random_book(600, seed=8, types=("fixed_bond", "frn", "irs", "equity", "fx_forward", "equity_option"))
    book = prepare_book(frame, curve)
    x = np.random.default_rng(2).normal(0, 40, (9, len(book.factor_ids))) * np.where(
        [f.startswith(("rates.", "credit.", "vol.")) for f in book.factor_ids], 1.0, 0.002)
    tb = TorchBook(book, torch.float64, "cpu")
    seg, _ = market_pnl(tb, x, 4)
    ref, pos = market_pnl(tb, x, 9, per_position=True)
    scale = np.abs(ref).max()
    assert np.abs(seg - ref).max() / scale < 1e-12
    np.testing.assert_allclose(pos.sum(1), ref.sum(1), rtol=1e-12)  # type: ignore[union-attr]
    zero, _ = market_pnl(tb, np.zeros((1, len(book.factor_ids))), 1)
    assert np.abs(zero).max() == 0.0
    seg32, _ = market_pnl(TorchBook(book, torch.float32, "cpu"), x, 4)
    assert np.abs(seg32.sum(1) - seg.sum(1)).max() / np.abs(seg.sum(1)).max() < 1e-5


def test_vol_shock_beta_by_expiry_and_index() -> None:
    from risk_dagster.engine.kernels import vol_shock_beta

    b = vol_shock_beta([30 / 365, 0.25, 1.0, 2.0, 2.0], ["equity.sp500"] * 4 + ["equity.nasdaq"])
    assert b[0] == 1.0 and np.all(np.diff(b[:4]) < 0)  # the 30-day option moves one for one, longer ones less
    # VIX 26 -> 72: a 2-year S&P option from 17% to the 2008/2020 peaks (35-40%), not 63%
    assert 0.33 < 0.17 + b[3] * 46 / 100 < 0.40
    assert b[4] == pytest.approx(1.2 * b[3])


def test_dividend_yield_lowers_a_call_and_raises_a_put() -> None:
    import torch

    from risk_dagster.engine.curves import treasury_zero_curve

    book = random_book(2, seed=3, types=("equity_option",))
    book[["spot", "strike", "expiry_years", "implied_vol"]] = [[6000.0, 6000.0, 1.0, 0.17]] * 2
    book["option_type"] = ["call", "put"]
    book["direction"] = 1
    curve = treasury_zero_curve()
    values = {}
    for q in (np.nan, 0.013):
        book["dividend_yield"] = q
        tb = TorchBook(prepare_book(book, curve))
        (_, v, _), = tb.values(torch.zeros((1, len(tb.book.factor_ids)), dtype=torch.float64))
        values[q] = v[:, 0].numpy()
    call0, put0 = values[next(iter(values))]
    call1, put1 = values[0.013]
    assert 0.05 < call0 / call1 - 1 < 0.15  # ignoring a 1.3% yield overvalues a 1y ATM call by ~10%
    assert put1 > put0


def test_fused_path_interpolates_dense_grids_to_rounding() -> None:
    """Thousands of distinct payment days and +-500bp moves: the Chebyshev-compressed segment path
    (kernels.chebyshev_compression) still equals the per-position sums to rounding; MBS included."""
    from risk_dagster.engine.kernels import CHEBYSHEV_NODES
    from risk_dagster.engine.revalue import market_pnl

    curve = treasury_zero_curve()
    frame = random_book(3000, seed=9, types=("fixed_bond", "frn", "irs", "agency_mbs"))
    book = prepare_book(frame, curve)
    assert len(book.time_days) > 20 * CHEBYSHEV_NODES  # the nodes do replace a dense grid
    rng = np.random.default_rng(4)
    x = rng.normal(0, 60, (6, len(book.factor_ids)))
    x[:, :11] = rng.normal(0, 400, (6, 1)) + rng.normal(0, 15, (6, 11))  # parallel moves of several hundred bp
    tb = TorchBook(book, torch.float64, "cpu")
    seg, _ = market_pnl(tb, x, 3)
    ref, _ = market_pnl(tb, x, 6, per_position=True)
    assert np.abs(seg - ref).max() / np.abs(ref).max() < 1e-12
