"""Agency MBS kernel: torch vs the numpy reference, the annuity limit, PSA/SMM, durations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from risk_dagster.engine.mbs import (
    DEFAULT_PREPAYMENT,
    NO_PREPAYMENT,
    PrepaymentModel,
    agency_spread_shock,
    cpr_to_smm,
    effective_convexity,
    effective_duration,
    effective_duration_convexity,
    implied_spread,
    mbs_cash_flows,
    mbs_values,
    mbs_values_reference,
    payment_times,
    pool_cpr,
    psa_cpr,
    refi_cpr,
    smm_to_cpr,
)

FLAT = 0.045  # flat Treasury zero rate of the duration tests (continuous compounding)
MORTGAGE = 0.0625  # 4.5% + 1.75% (1990-2024 average mortgage - 10y spread, FRED-QD)


def _random_case(seed: int, pools: int = 30, scenarios: int = 6, months: int = 372) -> tuple[tuple, tuple]:
    """Random pools (short, long, new, seasoned, a 0% WAC) and scenarios on an ACT/365F-like grid."""
    rng = np.random.default_rng(seed)
    wac = rng.uniform(0.02, 0.09, pools)
    wac[0] = 0.0
    coupon = np.maximum(wac - rng.uniform(0.0025, 0.01, pools), 0.0)
    wam = rng.integers(1, 361, pools)
    wam[1], wam[2] = 1, 360
    age = rng.integers(0, 61, pools)
    age[3] = 0
    terms = (rng.uniform(1e5, 5e7, pools), coupon, wac, wam, age, rng.choice([-1.0, 1.0], pools))
    t = np.cumsum(rng.integers(28, 32, months)) / 365.0  # month lengths in days, ACT/365F
    zero = rng.uniform(0.01, 0.06, (scenarios, 1)) + rng.uniform(-0.01, 0.02, (scenarios, 1)) * (1 - np.exp(-t / 5))
    market = (
        rng.uniform(0.03, 0.09, scenarios),  # mortgage rate
        np.exp(-zero * t),  # df [C, M]
        t,
        rng.uniform(0.002, 0.008, pools),  # oas
        rng.normal(0.0, 0.003, scenarios),  # spread shock
    )
    return terms, market


def _pool(coupon: float, wac: float, age: int = 12, wam: int | None = None, notional: float = 100.0) -> tuple:
    return (np.array([notional]), np.array([coupon]), np.array([wac]), np.array([360 - age if wam is None else wam]),
            np.array([age]), np.array([1.0]))  # fmt: skip


def _flat_market(months: int = 360, rate: float = FLAT) -> tuple[np.ndarray, np.ndarray]:
    t = payment_times(months)
    return t, np.exp(-rate * t)[None, :]


# ---------------------------------------------------------------- PSA, SMM, the S-curve


def test_psa_ramp_and_smm_values() -> None:
    np.testing.assert_allclose(
        psa_cpr([0, 1, 10, 15, 29, 30, 31, 200]), [0, 0.002, 0.02, 0.03, 0.058, 0.06, 0.06, 0.06]
    )
    np.testing.assert_allclose(psa_cpr([5, 30, 100], psa_speed=150.0), [0.015, 0.09, 0.09])
    np.testing.assert_allclose(psa_cpr([10, 40], psa_speed=50.0), [0.01, 0.03])
    # SMM = 1 - (1 - CPR)^(1/12)
    assert abs(cpr_to_smm(0.06) - (1 - 0.94 ** (1 / 12))) < 1e-16
    assert abs(cpr_to_smm(0.06) - 0.0051430) < 1e-7
    assert abs(cpr_to_smm(0.02) - 0.0016821) < 1e-7
    assert cpr_to_smm(0.0) == 0.0 and cpr_to_smm(1.0) == 1.0
    x = np.linspace(0.0, 0.95, 20)
    np.testing.assert_allclose(smm_to_cpr(cpr_to_smm(x)), x, atol=1e-15)


def test_refi_s_curve_levels_and_shape() -> None:
    # seasoned pool (turnover 6% CPR): current coupon 6-10%, 150bp in the money 30-45%
    assert 0.06 <= pool_cpr(40, 0.0) <= 0.10
    assert 0.30 <= pool_cpr(40, 0.015) <= 0.45
    assert abs(pool_cpr(40, 0.0) - 0.0812) < 5e-4 and abs(pool_cpr(40, 0.015) - 0.3838) < 5e-4
    inc = np.linspace(-0.04, 0.05, 200)
    r = refi_cpr(inc)
    assert np.all(np.diff(r) > 0) and r[0] < 1e-4 and r[-1] < DEFAULT_PREPAYMENT.refi_max
    # new production: turnover on the PSA ramp, refinancing not
    assert abs(pool_cpr(1, -0.03) - (0.002 + refi_cpr(-0.03))) < 1e-15
    assert pool_cpr(1, 0.0, NO_PREPAYMENT) == 0.0
    # the rate-uncertainty average: 0 horizon = the plain curve; it flattens the curve
    vol = PrepaymentModel(rate_vol=0.009)
    assert abs(refi_cpr(0.01, vol, 0.0) - refi_cpr(0.01)) < 1e-15
    assert refi_cpr(-0.02, vol, 4.0) > refi_cpr(-0.02) and refi_cpr(0.03, vol, 4.0) < refi_cpr(0.03)


# ---------------------------------------------------------------- kernel vs reference


@pytest.mark.parametrize(
    "model",
    [DEFAULT_PREPAYMENT, PrepaymentModel(turnover_multiplier=2.0, refi_max=0.7), PrepaymentModel(rate_vol=0.009),
     PrepaymentModel(rate_vol=0.012, vol_bucket_months=5)],
    ids=["default", "fast", "rate_vol", "rate_vol_5m"],
)  # fmt: skip
def test_torch_equals_numpy_reference_fp64(model: PrepaymentModel) -> None:
    terms, market = _random_case(1)
    ref = mbs_values_reference(*terms, *market, model=model)
    got = mbs_values(*terms, *market, model=model, chunk_size=4)
    assert got.dtype == torch.float64 and got.shape == ref.shape
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-10, atol=1e-10 * float(np.max(terms[0])))
    assert np.all(np.sign(ref) == terms[5])  # direction


def test_chunks_and_tensor_inputs_do_not_change_values() -> None:
    terms, market = _random_case(2, scenarios=9)
    a = mbs_values(*terms, *market).numpy()
    b = mbs_values(*terms, *market, chunk_size=2).numpy()
    tm = tuple(torch.as_tensor(x) for x in market)
    c = mbs_values(*(torch.as_tensor(x) for x in terms), *tm).numpy()
    np.testing.assert_allclose(b, a, rtol=1e-13)
    np.testing.assert_allclose(c, a, rtol=1e-13)


def test_float32_follows_the_inputs() -> None:
    terms, market = _random_case(3)
    mr, df, t, oas, ss = market
    ref = mbs_values(*terms, *market).numpy()
    got = mbs_values(*terms, mr, torch.as_tensor(df, dtype=torch.float32), t, oas, ss)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.double().numpy(), ref, rtol=2e-4, atol=2e-5 * float(np.max(terms[0])))


def test_device_matches_the_numpy_reference() -> None:
    """On the accelerator when there is one (CUDA), else on the CPU: both dtypes against numpy."""
    device = "cuda" if torch.cuda.is_available() else "cpu"
    terms, market = _random_case(4)
    mr, df, t, oas, ss = market
    ref = mbs_values_reference(*terms, *market)
    for dtype, rtol in ((torch.float64, 1e-10), (torch.float32, 2e-4)):
        got = mbs_values(*terms, mr, torch.as_tensor(df, dtype=dtype, device=device), t, oas, ss)
        assert got.device.type == device and got.dtype == dtype
        np.testing.assert_allclose(got.double().cpu().numpy(), ref, rtol=rtol, atol=rtol * float(np.max(terms[0])))


# ---------------------------------------------------------------- closed forms


@pytest.mark.parametrize("fee", [0.0, 0.0075])
def test_zero_prepayment_is_a_level_annuity(fee: float) -> None:
    wac, n, face, oas = 0.065, 300, 1_000_000.0, 0.004
    t, df = _flat_market(360, 0.04)
    got = mbs_values(*_pool(wac - fee, wac, age=60, wam=n, notional=face), [0.02], df, t, [oas], model=NO_PREPAYMENT)
    r = wac / 12
    payment = face * r / (1 - (1 + r) ** -n)  # level monthly payment of the borrower
    j = np.arange(1, n + 1)
    opening = face * (1 - (1 + r) ** -(n - j + 1)) / (1 - (1 + r) ** -n)  # amortisation schedule
    flows = payment - opening * fee / 12  # the servicing strip is not the investor's
    disc = df[0, :n] * np.exp(-oas * t[:n])
    assert abs(float(got[0, 0]) - float((flows * disc).sum())) < 1e-9 * face
    if fee == 0.0:
        assert abs(float(got[0, 0]) - payment * disc.sum()) < 1e-9 * face


def test_duration_without_prepayment_is_the_pv_weighted_time() -> None:
    t, df = _flat_market(360, 0.04)
    pool = _pool(0.055, 0.0625, age=0)
    cf = mbs_cash_flows(*pool[:5], MORTGAGE, NO_PREPAYMENT).total[0]
    pv = cf * df[0] * np.exp(-0.005 * t)
    analytic = (t * pv).sum() / pv.sum()  # -dV/dy / V for a parallel shift of continuous rates
    d = effective_duration(*pool, [MORTGAGE], df, t, [0.005], model=NO_PREPAYMENT, h=1e-5)
    assert abs(float(d[0, 0]) - analytic) < 1e-6


def test_cash_flows_conserve_principal_and_balances_stay_non_negative() -> None:
    terms, _ = _random_case(5, pools=40)
    notional, coupon, wac, wam, age, _ = terms
    for mortgage, model in ((0.01, PrepaymentModel(turnover_multiplier=5.0, refi_max=0.9)), (0.09, DEFAULT_PREPAYMENT)):
        cf = mbs_cash_flows(notional, coupon, wac, wam, age, mortgage, model)
        assert np.all(cf.balance >= 0) and np.all(cf.ending_balance >= -1e-9 * notional[:, None])
        assert np.all(cf.scheduled_principal >= 0) and np.all(cf.prepaid_principal >= 0)
        np.testing.assert_allclose(cf.principal.sum(axis=1), notional, rtol=1e-12)
        last = cf.ending_balance[np.arange(len(wam)), wam - 1]
        assert np.all(np.abs(last) <= 1e-9 * notional)
        np.testing.assert_allclose(cf.interest, cf.balance * coupon[:, None] / 12)
        assert np.all((cf.smm >= 0) & (cf.smm <= 1))


# ---------------------------------------------------------------- behaviour


def test_current_coupon_duration_and_negative_convexity() -> None:
    t, df = _flat_market()
    for age in (0, 12, 36):
        pool = _pool(MORTGAGE - 0.0075, MORTGAGE, age=age)  # WAC = mortgage rate: the current coupon
        d, c = effective_duration_convexity(*pool, [MORTGAGE], df, t, [0.005])
        assert 4.0 < float(d[0, 0]) < 7.0, (age, float(d[0, 0]))
        assert float(c[0, 0]) < 0.0
    # the measured numbers quoted in the module docstring (age 12)
    d, c = effective_duration_convexity(*_pool(0.055, MORTGAGE), [MORTGAGE], df, t, [0.005])
    assert abs(float(d[0, 0]) - 5.45) < 0.01 and abs(float(c[0, 0]) / 100 + 4.88) < 0.01


def test_discount_pool_is_longer_than_premium_pool() -> None:
    t, df = _flat_market()
    coupons = np.array([0.03, 0.055, 0.07])
    pools = (np.full(3, 100.0), coupons, coupons + 0.0075, np.full(3, 348), np.full(3, 12), np.ones(3))
    for model in (DEFAULT_PREPAYMENT, PrepaymentModel(rate_vol=0.009)):
        d = effective_duration(*pools, [MORTGAGE], df, t, np.full(3, 0.005), model=model)[0].numpy()
        assert d[0] > d[1] > d[2], d
        assert d[0] > 6.5
    c = effective_convexity(*pools, [MORTGAGE], df, t, np.full(3, 0.005))[0].numpy()
    assert c[0] > 0 > c[1]  # deep discount positively convex, current coupon negatively


def test_higher_mortgage_rate_slows_prepayment() -> None:
    t, df = _flat_market()
    rates = np.array([0.05, 0.0625, 0.075])
    cprs = [mbs_cash_flows(*_pool(0.055, 0.0625)[:5], m).cpr[0, 24] for m in rates]
    assert cprs[0] > cprs[1] > cprs[2]
    df3 = np.repeat(df, 3, axis=0)  # same Treasury curve, only the mortgage rate moves
    discount = mbs_values(*_pool(0.035, 0.0425), rates, df3, t, [0.005])[:, 0].numpy()
    premium = mbs_values(*_pool(0.07, 0.0775), rates, df3, t, [0.005])[:, 0].numpy()
    assert discount[0] > discount[1] > discount[2]  # slower return of par at a discount: worth less
    assert premium[0] < premium[1] < premium[2]  # slower loss of the premium: worth more


def test_spread_shock_rule_and_its_effect() -> None:
    assert abs(agency_spread_shock(0.010, 0.006) - 0.004) < 1e-15
    assert abs(agency_spread_shock(0.010, 0.006, pass_through=0.5) - 0.002) < 1e-15
    s = agency_spread_shock(torch.tensor([0.01, -0.005]), torch.tensor([0.0, -0.01]))
    torch.testing.assert_close(s, torch.tensor([0.01, 0.005]))
    t, df = _flat_market()
    pool = _pool(0.05, 0.0575)
    shocked = mbs_values(*pool, [MORTGAGE], df, t, [0.005], spread_shock=[0.004])
    wider = mbs_values(*pool, [MORTGAGE], df, t, [0.009])
    torch.testing.assert_close(shocked, wider, rtol=1e-14, atol=0.0)
    assert float(shocked[0, 0]) < float(mbs_values(*pool, [MORTGAGE], df, t, [0.005])[0, 0])


def test_implied_spread_reprices() -> None:
    t, df = _flat_market()
    coupons = np.array([0.04, 0.055, 0.065])
    prices = np.array([92.0, 100.0, 102.5])
    terms = (coupons, coupons + 0.0075, np.full(3, 348), np.full(3, 12))
    s = implied_spread(prices, *terms, MORTGAGE, df[0], t)
    v = mbs_values(np.full(3, 100.0), *terms, np.ones(3), [MORTGAGE], df, t, s)[0].numpy()
    np.testing.assert_allclose(v, prices, atol=1e-9)
    assert abs(float(s[1]) - 0.0099) < 5e-4  # the par spread of the current coupon quoted in the docstring


def test_invalid_inputs_are_rejected() -> None:
    t, df = _flat_market(120)
    with pytest.raises(ValueError, match="payment grid"):
        mbs_values(*_pool(0.05, 0.0575), [MORTGAGE], df, t, [0.005])
    t, df = _flat_market()
    with pytest.raises(ValueError, match="wam_months"):
        mbs_values(*_pool(0.05, 0.0575, wam=0), [MORTGAGE], df, t, [0.005])
    with pytest.raises(ValueError, match="direction"):
        mbs_values(*_pool(0.05, 0.0575)[:5], [0.5], [MORTGAGE], df, t, [0.005])
    with pytest.raises(ValueError, match="t has"):
        mbs_values(*_pool(0.05, 0.0575), [MORTGAGE], df, t[:-1], [0.005])
    with pytest.raises(ValueError):
        PrepaymentModel(refi_width=0.0)
