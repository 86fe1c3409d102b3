"""One scenario set's capital: the loss lines, the summary's keys and units, the NIM-ratio PPNR, a trading
loss's exact CET1 effect, and the loss distribution on a known sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster.capital import scenario_capital as C
from risk_dagster.capital.balance_sheet import load_sample_balance_sheet
from risk_dagster.capital.loan_losses import LoanLossProjection
from risk_dagster.capital.loss_rates import SEGMENTS
from risk_dagster.capital.market_lines import MarketLines, TradingLoss
from risk_dagster.capital.net_interest_income import NetInterestIncome

BN = 1e9
QUARTERS = tuple(f"{y}Q{q}" for y in (2026, 2027, 2028, 2029) for q in range(1, 5))[:13]
S = 3


@pytest.fixture(scope="module")
def sheet():
    return load_sample_balance_sheet()


def _loans(samples: int = 5) -> LoanLossProjection:
    """Every segment 100 bn, losing 0.5 bn a quarter x (1 + sample index / 10)."""
    g = len(SEGMENTS)
    scale = 1.0 + np.arange(samples)[:, None, None] / 10.0
    losses = np.full((samples, 13, g), 0.5 * BN) * scale
    balance = pd.Series(100 * BN, index=list(SEGMENTS))
    ones = pd.Series(1.0, index=list(SEGMENTS))
    return LoanLossProjection(segments=tuple(SEGMENTS), quarters=QUARTERS, losses=losses, rates=losses / (100 * BN),
                              balance=balance, scaling=ones, industry_rate=ones * 0.01, expected_loss_rate=ones * 0.01)


def _market(trading: float | np.ndarray = 10 * BN, samples: int = S) -> MarketLines:
    afs = -np.linspace(1, 9, 9)[None, :] * BN * np.ones((samples, 1))  # cumulative: -9 bn at PQ9
    return MarketLines(
        trading=TradingLoss(loss=np.broadcast_to(np.asarray(trading, dtype=float), (samples,)).copy(),
                            quarter=np.ones(samples, dtype=int), by_segment=pd.DataFrame(index=range(samples))),
        counterparty=np.zeros(samples),
        afs_value_change=afs,
        htm_credit=np.full((samples, 9), 0.2 * BN),
        htm_allowance=np.zeros((samples, 9)),
        operational=np.full((samples, 9), 2 * BN),
    )


def _nii(run_rate: float, samples: int = S, change: float = 1 * BN) -> NetInterestIncome:
    delta = np.full((samples, 9), change)
    return NetInterestIncome(nii=run_rate + delta, change=delta, run_rate=run_rate, by_line=pd.DataFrame(), gap=None)


# ------------------------------------------------------------------------------- loss lines
def test_loss_lines_by_hand() -> None:
    lines = C.loss_lines(_loans(), _market())
    assert tuple(lines.columns) == C.LOSS_LINES and len(lines) == S
    g = len(SEGMENTS)
    np.testing.assert_allclose(lines["loan_losses"], 9 * 0.5 * BN * g * (1 + np.arange(S) / 10))
    np.testing.assert_allclose(lines["trading_and_counterparty"], 10 * BN)
    np.testing.assert_allclose(lines["securities_afs"], 9 * BN)
    np.testing.assert_allclose(lines["securities_htm"], 9 * 0.2 * BN)
    np.testing.assert_allclose(lines["other_losses"], 18 * BN)
    np.testing.assert_allclose(lines["total"], lines.drop(columns="total").sum(axis=1))
    assert set(C.LOSS_LINE_NOTES) == set(C.LOSS_LINES)


def test_scenario_stress_summary(sheet) -> None:
    stress = C.ScenarioStress("sc", _loans(), {"ai": _market()}, {})
    out = stress.summary("ai")
    assert out["samples"] == S
    lines = C.loss_lines(_loans(), _market())
    assert out["losses"]["total"] == pytest.approx(np.median(lines["total"]) / BN)
    assert out["loss_distribution"]["max"] == pytest.approx(lines["total"].max() / BN)
    assert out["loss_rates"]["total"] == pytest.approx(100 * 9 * 0.5 * 1.1 / 100)


# ------------------------------------------------------------------------------- set capital
def test_summary_keys_and_units(sheet) -> None:
    market = _market(60 * BN)
    cap = C.set_capital("ai", "fed-2026-severely-adverse", sheet, _loans(), market, _nii(sheet.net_interest_income))
    assert cap.samples == S and cap.nii_method == "repricing"
    assert cap.loans.samples == S  # the first S samples of the scenario's loan losses
    out = cap.summary()
    for key in ("cet1_start", "cet1_trough", "trough_quarter", "scb", "path", "loss_rates", "losses", "ppnr"):
        assert key in out
    assert out["cet1_start"] == pytest.approx(100 * 240 / 1750)  # 13.7%: percent, not decimal
    assert len(out["path"]) == 9 and len(out["path_p05"]) == 9 and out["quarters"] == list(QUARTERS[:9])
    assert out["path"] == pytest.approx(list(100 * cap.projection.median_ratio))
    assert out["cet1_trough"] == pytest.approx(100 * cap.projection.trough)
    assert out["cet1_trough"] < out["cet1_start"] and 1 <= out["trough_quarter"] <= 9
    assert out["scb"] >= 2.5
    assert set(out["loss_rates"]) == {"first_lien_mortgage", "junior_lien_heloc", "c_and_i", "cre", "credit_card",
                                      "other_consumer", "other_loans", "total"}
    assert out["loss_rates"]["cre"] == pytest.approx(4.5 * 1.1)  # median of 4.5%, 4.95%, 5.4%
    assert set(out["losses"]) == set(C.LOSS_LINES)
    assert out["losses"]["securities_afs"] == pytest.approx(9.0)
    assert out["ppnr"]["nii_method"] == "repricing"
    assert out["ppnr"]["net_interest_income"] == pytest.approx(9 * (sheet.net_interest_income + BN) / BN)
    table = cap.quarterly_table()
    assert table.loc["CET1 ratio (%)"].to_numpy() == pytest.approx(out["path"])


def test_nii_ratio_uses_run_rate_times_ratio(sheet) -> None:
    ratio = np.linspace(1.0, 0.8, 9)
    cap = C.set_capital("ai", "sc", sheet, _loans(), _market(), _nii(sheet.net_interest_income), nii_ratio=ratio)
    assert cap.nii_method == "nim_satellite"
    np.testing.assert_allclose(cap.projection.net_interest_income, np.broadcast_to(sheet.net_interest_income * ratio, (S, 9)))
    repricing = C.set_capital("ai", "sc", sheet, _loans(), _market(), _nii(sheet.net_interest_income))
    np.testing.assert_allclose(repricing.projection.net_interest_income, sheet.net_interest_income + BN)


def test_nii_samples_must_match(sheet) -> None:
    with pytest.raises(ValueError, match="NII has 2 samples, the market lines 3"):
        C.set_capital("ai", "sc", sheet, _loans(), _market(), _nii(sheet.net_interest_income, samples=2))


def test_trading_loss_lowers_pq1_cet1_after_tax(sheet) -> None:
    extra = 30 * BN
    nii = _nii(sheet.net_interest_income)
    low = C.set_capital("ai", "sc", sheet, _loans(), _market(100 * BN), nii).projection
    high = C.set_capital("ai", "sc", sheet, _loans(), _market(100 * BN + extra), nii).projection
    step = extra * (1 - sheet.tax_rate) / sheet.rwa
    np.testing.assert_allclose(low.cet1_ratio[:, 0] - high.cet1_ratio[:, 0], step, rtol=1e-9)
    np.testing.assert_allclose(low.cet1_capital - high.cet1_capital, extra * (1 - sheet.tax_rate), rtol=1e-9)
    # a 100 bn trading loss puts the trough in PQ1: the trough falls by the same step
    assert low.trough_quarter == 1 and high.trough_quarter == 1
    np.testing.assert_allclose(low.min_ratio - high.min_ratio, step, rtol=1e-9)
    assert low.trough - high.trough == pytest.approx(step, rel=1e-9)


def test_afs_and_htm_enter_the_projection(sheet) -> None:
    cap = C.set_capital("ai", "sc", sheet, _loans(), _market(), _nii(sheet.net_interest_income))
    p = cap.projection
    # the cumulative AFS path -1, -2, ... -9 bn is booked as -1 bn a quarter, after tax
    np.testing.assert_allclose(p.oci, -1 * BN * (1 - sheet.tax_rate))
    np.testing.assert_allclose(p.htm_credit_loss, 0.2 * BN)
    np.testing.assert_allclose(p.trading_loss[:, 0], 10 * BN)
    np.testing.assert_array_equal(p.trading_loss[:, 1:], 0.0)
    np.testing.assert_allclose(p.operational_loss, 2 * BN)


# ------------------------------------------------------------------------------- distribution
def test_distribution_on_known_sample() -> None:
    rng = np.random.default_rng(1)
    values = rng.permutation(np.arange(1.0, 101.0))  # order must not matter
    d = C.distribution(values)
    assert d["mean"] == pytest.approx(50.5) and d["median"] == pytest.approx(50.5)
    assert d["var_95"] == pytest.approx(95.05)  # linear interpolation: 1 + 0.95 x 99
    assert d["var_99"] == pytest.approx(99.01)
    assert d["es_97_5"] == pytest.approx(99.0)  # mean of 98, 99, 100 (>= 97.525)
    assert d["es_99"] == pytest.approx(100.0)  # only 100 is >= 99.01
    assert d["max"] == 100.0
    assert set(d) == {"mean", "median", "var_95", "var_99", "es_97_5", "es_99", "max"}


def test_summary_is_unaffected_by_later_loan_samples(sheet) -> None:
    # the set's loan losses are the first samples of the scenario's (common random numbers)
    a = C.set_capital("ai", "sc", sheet, _loans(5), _market(), _nii(sheet.net_interest_income))
    b = C.set_capital("ai", "sc", sheet, _loans(3), _market(), _nii(sheet.net_interest_income))
    np.testing.assert_array_equal(a.projection.cet1_ratio, b.projection.cet1_ratio)


def _equity_shockset(log_returns: np.ndarray, factor: str = "equity.total_market"):
    from risk_dagster.translate.shockset import ShockSet

    s, q = log_returns.shape
    return ShockSet(shocks=log_returns[:, :, None], jump_off=np.array([100.0]), factor_ids=[factor],
                    shock_types=["log_return"], quarters=[f"Q{i}" for i in range(q)], scenario_id="t",
                    model_id="m", model_version="", seed=0)


def test_noninterest_income_moves_its_equity_share_with_the_market(sheet) -> None:
    import dataclasses

    bs = dataclasses.replace(sheet, noninterest_income=10e9, fee_income_equity_share=0.3)
    shocks = _equity_shockset(np.stack([np.full(9, np.log(0.5)), np.zeros(9)]))
    path = C.noninterest_income_path(bs, shocks)
    # half the market: the 30% fee share halves, 10bn x (0.7 + 0.3 x 0.5) = 8.5bn; flat market: the run-rate
    np.testing.assert_allclose(path[0], 8.5e9)
    np.testing.assert_allclose(path[1], 10e9)
    # no share, or no equity factor: the run-rate
    np.testing.assert_allclose(C.noninterest_income_path(dataclasses.replace(bs, fee_income_equity_share=0.0), shocks), 10e9)
    np.testing.assert_allclose(C.noninterest_income_path(bs, _equity_shockset(np.zeros((2, 9)), "equity.sp500")), 10e9)
