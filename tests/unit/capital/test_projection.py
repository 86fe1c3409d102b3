"""The CET1 arithmetic over PQ1-PQ9, checked against numbers worked out by hand."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import numpy as np
import pytest

from risk_dagster.capital import projection as P
from risk_dagster.capital.balance_sheet import BalanceSheet, load_sample_balance_sheet


def _bank(**changes: object) -> BalanceSheet:
    """A toy bank in round units: CET1 100 over RWA 1000 (10%), allowance 10, PPNR 6 a quarter."""
    bs = BalanceSheet(
        as_of=date(2025, 12, 31),
        currency="USD",
        cet1_capital=100.0,
        rwa_credit=800.0,
        rwa_market=150.0,
        rwa_operational=50.0,
        allowance=10.0,
        deposits=2000.0,
        other_funding=500.0,
        deposit_beta=0.4,
        funding_beta=0.9,
        net_interest_income=10.0,
        noninterest_income=5.0,
        noninterest_expense=9.0,
        operational_loss_per_quarter=1.0,
        tax_rate=0.2,
        planned_dividends_per_quarter=2.0,
        aoci_in_cet1=True,
        balance_sheet_assumption="constant",
        minimum_cet1_ratio=0.045,
    )
    return dataclasses.replace(bs, **changes)


LOSSES = np.array([[2.0, 3.0, 4.0, 5.0, 4.0, 3.0, 2.0, 2.0, 2.0]])  # net charge-offs PQ1..PQ9
AFS = np.array([[-4.0, -2.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])  # change in AFS fair value


def _hand_case(**kwargs: object) -> P.CapitalProjection:
    bs = kwargs.pop("bs", _bank())
    return P.project_capital(
        bs, LOSSES, trading_loss=[25.0], afs_value_change=AFS, htm_credit_loss=0.5, **kwargs  # type: ignore[arg-type]
    )


def test_hand_worked_nine_quarters() -> None:
    p = _hand_case()
    # allowance at the end of q = losses of q+1..q+4; after PQ9 the PQ9 amount (2) is held
    #   q1: 3+4+5+4=16  q2: 4+5+4+3=16  q3: 5+4+3+2=14  q4: 4+3+2+2=11  q5: 3+2+2+2=9  q6..q9: 8
    np.testing.assert_allclose(p.allowance[0], [16, 16, 14, 11, 9, 8, 8, 8, 8])
    # provisions = charge-offs + (allowance - previous allowance), previous of PQ1 = jump-off 10
    #   q1: 2+6=8  q2: 3+0=3  q3: 4-2=2  q4: 5-3=2  q5: 4-2=2  q6: 3-1=2  q7..q9: 2+0=2
    np.testing.assert_allclose(p.provisions[0], [8, 3, 2, 2, 2, 2, 2, 2, 2])
    # PPNR = 10 + 5 - 9 = 6; pre-tax = 6 - provisions - trading (25 in PQ1) - HTM 0.5 - operational 1
    np.testing.assert_allclose(p.ppnr[0], [6.0] * 9)
    np.testing.assert_allclose(p.trading_loss[0], [25, 0, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(p.pre_tax_net_income[0], [-28.5, 1.5] + [2.5] * 7)
    # taxes at 20%, a loss gives a tax benefit: -5.7, 0.3, 0.5...
    np.testing.assert_allclose(p.taxes[0], [-5.7, 0.3] + [0.5] * 7)
    np.testing.assert_allclose(p.net_income[0], [-22.8, 1.2] + [2.0] * 7)
    # OCI net of tax: 0.8 x AFS change
    np.testing.assert_allclose(p.oci[0], [-3.2, -1.6, 0.0] + [0.8] * 6)
    # the Fed assumes no common dividends in the path
    np.testing.assert_allclose(p.dividends[0], [0.0] * 9)
    # CET1: 100 - 22.8 - 3.2 = 74; 74 + 1.2 - 1.6 = 73.6; then +2.0 (+0.8 from PQ4)
    expected_cet1 = [74.0, 73.6, 75.6, 78.4, 81.2, 84.0, 86.8, 89.6, 92.4]
    np.testing.assert_allclose(p.cet1_capital[0], expected_cet1)
    np.testing.assert_allclose(p.rwa[0], [1000.0] * 9)
    np.testing.assert_allclose(p.cet1_ratio[0], np.array(expected_cet1) / 1000.0)
    # minimum 7.36% in PQ2; SCB = 10% - 7.36% + 4 x 2 / 1000 = 3.44% (above the 2.5% floor)
    assert p.start_ratio == pytest.approx(0.10)
    assert p.min_ratio[0] == pytest.approx(0.0736) and p.min_quarter[0] == 2
    assert p.scb[0] == pytest.approx(0.0344)
    assert p.scb_median_path == pytest.approx(0.0344)
    assert p.trough == pytest.approx(0.0736) and p.trough_quarter == 2
    assert not p.breach[0] and p.share_below_minimum == 0.0
    assert p.quarters == tuple(f"PQ{q}" for q in range(1, 10))


def test_no_tax_benefit_and_dividends_in_path() -> None:
    p = _hand_case(tax_benefit_on_losses=False)
    np.testing.assert_allclose(p.taxes[0], [0.0, 0.3] + [0.5] * 7)
    assert p.cet1_capital[0, 0] == pytest.approx(100 - 28.5 - 3.2)
    base, paid = _hand_case(), _hand_case(dividends_in_path=True)
    np.testing.assert_allclose(paid.dividends[0], [2.0] * 9)
    np.testing.assert_allclose(base.cet1_capital - paid.cet1_capital, [np.cumsum([2.0] * 9)])
    assert paid.scb[0] == pytest.approx(0.10 - paid.min_ratio[0] + 0.008)


def test_aoci_in_and_out_differ_by_the_oci_exactly() -> None:
    with_aoci = _hand_case()
    without = _hand_case(bs=_bank(aoci_in_cet1=False))
    np.testing.assert_allclose(with_aoci.cet1_capital - without.cet1_capital, np.cumsum(with_aoci.oci, axis=1), atol=1e-9)
    np.testing.assert_allclose(without.oci, with_aoci.oci)  # OCI is recorded either way
    np.testing.assert_allclose(without.net_income, with_aoci.net_income)
    pre_tax_oci = _hand_case(oci_after_tax=False)
    np.testing.assert_allclose(pre_tax_oci.oci, AFS)


def test_allowance_rule_constant_losses() -> None:
    # constant losses of 3 a quarter, jump-off allowance = four quarters of them: no build, provisions = NCOs
    losses = np.full((2, 9), 3.0)
    p = P.project_capital(_bank(allowance=12.0), losses)
    np.testing.assert_allclose(p.allowance, 12.0)
    np.testing.assert_allclose(p.provisions, losses)


def test_allowance_uses_supplied_quarters_beyond_the_horizon() -> None:
    losses = np.array([[1.0] * 9 + [2.0, 3.0, 4.0, 5.0]])  # 13 quarters, as the Fed's files
    allowance = P.allowance_path(losses)
    assert allowance[0, 8] == pytest.approx(2 + 3 + 4 + 5)  # end of PQ9: PQ10..PQ13
    assert allowance[0, 5] == pytest.approx(1 + 1 + 1 + 2)  # end of PQ6: PQ7..PQ10
    held = P.allowance_path(losses[:, :10])  # PQ10 given, held for PQ11..PQ13
    assert held[0, 8] == pytest.approx(4 * 2.0)


def test_allowance_horizon_is_a_setting() -> None:
    # two quarters of coverage: end of PQ1 = PQ2 + PQ3 = 3 + 4; the PQ1 provision = 2 + (7 - 10)
    p = P.project_capital(_bank(), LOSSES, allowance_coverage_quarters=2)
    assert p.allowance_coverage_quarters == 2
    np.testing.assert_allclose(p.allowance[0, :3], [7, 9, 9])
    assert p.provisions[0, 0] == pytest.approx(2 + 7 - 10)
    assert p.summary()["assumptions"]["allowance_coverage_quarters"] == 2
    longer = P.project_capital(_bank(), LOSSES, allowance_coverage_quarters=8)
    assert longer.allowance[0, 0] > _hand_case().allowance[0, 0] > p.allowance[0, 0]
    with pytest.raises(ValueError, match="allowance_coverage_quarters"):
        P.project_capital(_bank(), LOSSES, allowance_coverage_quarters=0)


def test_loan_losses_by_segment_are_summed() -> None:
    rng = np.random.default_rng(3)
    by_segment = rng.uniform(0.0, 2.0, (4, 9, 3))
    p = P.project_capital(_bank(), by_segment, segments=["c_and_i", "cre", "credit_card"])
    np.testing.assert_allclose(p.loan_losses, by_segment.sum(axis=2))
    assert p.segments == ("c_and_i", "cre", "credit_card") and p.loan_losses_by_segment.shape == (4, 9, 3)
    with pytest.raises(ValueError, match="segments"):
        P.project_capital(_bank(), by_segment, segments=["a"])


def test_mild_path_gives_the_floor() -> None:
    # small losses, positive income: capital only rises, the buffer is the 2.5% floor
    losses = np.full((3, 9), 0.5)
    p = P.project_capital(_bank(allowance=2.0), losses)
    assert np.all(np.diff(p.cet1_ratio, axis=1) > 0)
    np.testing.assert_allclose(p.scb, 0.025)
    assert p.scb_median_path == 0.025 and p.share_below_minimum == 0.0


def test_breach_of_the_minimum_is_flagged() -> None:
    # sample 1 loses 80 in PQ1 trading: CET1 100 - 0.8 x (80 + 8 + 1.5 - 6) = 33.2 -> 3.3% < 4.5%
    p = P.project_capital(_bank(), np.repeat(LOSSES, 2, axis=0), trading_loss=[25.0, 80.0], htm_credit_loss=0.5)
    assert list(p.breach) == [False, True]
    assert p.share_below_minimum == 0.5
    assert p.min_ratio[1] == pytest.approx((100 - 0.8 * (80 + 8 + 0.5 + 1 - 6)) / 1000)
    assert p.min_ratio[1] < 0.045 < p.min_ratio[0]


def test_rwa_constant_or_static() -> None:
    p = _hand_case()
    assert np.all(p.rwa == _bank().rwa)
    static = _bank(balance_sheet_assumption="static")
    np.testing.assert_allclose(_hand_case(bs=static).rwa, 1000.0)  # static with no path: jump-off RWA
    path = np.linspace(1000.0, 1080.0, 9)
    moved = _hand_case(bs=static, rwa=path)
    np.testing.assert_allclose(moved.rwa[0], path)
    np.testing.assert_allclose(moved.cet1_ratio, moved.cet1_capital / path)
    with pytest.raises(ValueError, match="static"):
        _hand_case(rwa=path)


def test_summary_median_band_and_trough() -> None:
    losses = np.repeat(LOSSES, 3, axis=0)
    p = P.project_capital(_bank(), losses, trading_loss=[10.0, 30.0, 20.0])
    np.testing.assert_allclose(p.median_ratio, p.cet1_ratio[2])  # the 20-loss sample is the middle one
    lo, hi = p.band
    assert np.all(lo <= p.median_ratio) and np.all(p.median_ratio <= hi)
    assert p.trough == pytest.approx(np.median(p.min_ratio)) and p.trough == pytest.approx(p.min_ratio[2])
    out = json.loads(p.to_json())
    assert out["samples"] == 3 and out["trough_quarter"] == p.trough_quarter
    assert out["scb_median_path"] == pytest.approx(p.scb_median_path)
    assert len(out["median_cet1_ratio"]) == 9 and out["assumptions"]["dividends_in_path"] is False
    full = json.loads(p.to_json(include_paths=True))
    assert np.asarray(full["paths"]["cet1_ratio"]).shape == (3, 9)
    assert full["per_path"]["breach"] == [False, False, False]


def test_ppnr_total_parts_and_operational_override() -> None:
    total = P.project_capital(_bank(), LOSSES, ppnr=np.full((1, 9), 7.0))
    np.testing.assert_allclose(total.ppnr, 7.0)
    assert total.net_interest_income is None
    parts = P.project_capital(_bank(), LOSSES, ppnr={"net_interest_income": np.arange(9.0)}, operational_loss=0.0)
    np.testing.assert_allclose(parts.ppnr[0], np.arange(9.0) + 5 - 9)
    np.testing.assert_allclose(parts.operational_loss, 0.0)
    with pytest.raises(ValueError, match="unknown parts"):
        P.project_capital(_bank(), LOSSES, ppnr={"fees": 1.0})


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        P.project_capital(_bank(), -LOSSES)
    with pytest.raises(ValueError, match="at least 9"):
        P.project_capital(_bank(), LOSSES[:, :8])
    with pytest.raises(ValueError, match="trading_loss"):
        P.project_capital(_bank(), LOSSES, trading_loss=[1.0, 2.0])
    with pytest.raises(ValueError, match="afs_value_change.*samples"):
        P.project_capital(_bank(), LOSSES, afs_value_change=np.zeros((2, 9)))
    with pytest.raises(ValueError, match="NaN"):
        P.project_capital(_bank(), LOSSES, htm_credit_loss=np.full(9, np.nan))


def test_sample_bank_runs_fast_on_many_samples() -> None:
    bs = load_sample_balance_sheet()
    rng = np.random.default_rng(0)
    samples = 2000
    losses = rng.gamma(4.0, 1.0, (samples, 13, 7)) * 1.0e9  # ~USD 28bn a quarter across 7 segments
    p = P.project_capital(
        bs, losses, trading_loss=rng.normal(25e9, 5e9, samples), afs_value_change=rng.normal(-2e9, 1e9, (samples, 9))
    )
    assert p.cet1_ratio.shape == (samples, 9) and p.cet1_ratio.dtype == np.float64
    assert np.all(p.scb >= 0.025)
    assert p.start_ratio == pytest.approx(bs.cet1_ratio)
