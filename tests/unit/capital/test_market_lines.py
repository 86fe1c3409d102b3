"""Trading, AFS, HTM and operational loss lines, on hand-made engine results and ShockSets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster.capital import market_lines as M
from risk_dagster.engine.revalue import StressResult
from risk_dagster.translate.shockset import ShockSet

QUARTERS = [f"2026Q{q}" for q in range(1, 5)] + [f"2027Q{q}" for q in range(1, 5)] + ["2028Q1"]
BBB = "credit.spread.rating.bbb"


def _result(pnl: np.ndarray, ids: list[str] | None = None, segments: list[str] | None = None) -> StressResult:
    _s, q, g = pnl.shape
    return StressResult(
        scenario_id="test",
        position_ids=ids or ["P1"],
        segments=segments or [f"seg{k}" for k in range(g)],
        quarters=QUARTERS[:q],
        base_values=np.ones(len(ids or ["P1"])),
        pnl=np.asarray(pnl, dtype=float),
        central_sample=0,
        central_pnl=pd.DataFrame(),
    )


def _shockset(shocks: np.ndarray, factor_ids: list[str], quarters: list[str] | None = None) -> ShockSet:
    shocks = np.asarray(shocks, dtype=float)
    return ShockSet(
        shocks=shocks, jump_off=np.arange(1.0, len(factor_ids) + 1.0), factor_ids=list(factor_ids),
        shock_types=["absolute_bp"] * len(factor_ids), quarters=quarters or QUARTERS[: shocks.shape[1]],
        scenario_id="sc", model_id="m", model_version="1", seed=3,
        metadata={"jump_off_quarter": "2025Q4", "other": 1},
    )  # fmt: skip


def _bonds(rows: list[tuple]) -> pd.DataFrame:
    """``(position_id, instrument_type, segment, rating, credit_curve, notional, direction, maturity_years)``."""
    cols = ["position_id", "instrument_type", "segment", "rating", "credit_curve", "notional", "direction", "maturity_years"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["accounting_book"] = "htm"
    return frame


# ------------------------------------------------------------------------------- trading
def test_trading_loss_is_worst_of_first_four_quarters() -> None:
    loss = np.array([
        [[1.0, 0.0], [2.0, 3.0], [3.0, 0.0], [1.0, 1.0], [50.0, 50.0]],  # totals 1, 5, 3, 2 | 100 outside the window
        [[-1.0, 0.0], [-2.0, -1.0], [-1.0, -1.5], [-4.0, 0.0], [9.0, 9.0]],  # all gains: -1 in PQ1
    ])  # fmt: skip
    t = M.trading_loss(_result(-loss, segments=["rates", "equity"]))
    np.testing.assert_allclose(t.loss, [5.0, -1.0])
    np.testing.assert_array_equal(t.quarter, [2, 1])
    assert list(t.by_segment.columns) == ["rates", "equity"]
    np.testing.assert_allclose(t.by_segment.to_numpy(), [[2.0, 3.0], [-1.0, 0.0]])
    # a shorter window
    np.testing.assert_array_equal(M.trading_loss(_result(-loss), quarters=1).quarter, [1, 1])


def test_trading_loss_refuses_fewer_quarters() -> None:
    with pytest.raises(ValueError, match="3 quarters revalued, 4 needed"):
        M.trading_loss(_result(np.zeros((2, 3, 1))))


# ------------------------------------------------------------------------------- AFS
def test_afs_fair_value_change_is_scenario_minus_unshocked() -> None:
    rng = np.random.default_rng(0)
    aged = rng.normal(size=(3, 9, 2))
    ref = rng.normal(size=(1, 9, 2))
    change = M.afs_fair_value_change(_result(aged), _result(ref))
    assert change.shape == (3, 9)
    np.testing.assert_allclose(change, aged.sum(axis=2) - ref.sum(axis=2))
    # a hand case: scenario -10, unshocked carry +2 -> -12
    a = np.zeros((1, 9, 1))
    a[0, :, 0] = -10.0
    u = np.full((1, 9, 1), 2.0)
    np.testing.assert_allclose(M.afs_fair_value_change(_result(a), _result(u)), -12.0)
    np.testing.assert_allclose(M.quarterly_changes(np.array([[-12.0, -15.0, -11.0]])), [[-12.0, -3.0, 4.0]])


def test_afs_fair_value_change_refuses() -> None:
    with pytest.raises(ValueError, match="different books"):
        M.afs_fair_value_change(_result(np.zeros((1, 9, 1)), ["A"]), _result(np.zeros((1, 9, 1)), ["B"]))
    with pytest.raises(ValueError, match="9 quarters"):
        M.afs_fair_value_change(_result(np.zeros((1, 8, 1))), _result(np.zeros((1, 9, 1))))


def test_unshocked_has_zero_shocks_and_one_sample() -> None:
    ss = _shockset(np.ones((4, 9, 2)), ["rates.ust.3m", BBB])
    u = M.unshocked(ss)
    assert u.n_samples == 1 and u.shocks.shape == (1, 9, 2)
    assert not u.shocks.any()
    np.testing.assert_array_equal(u.jump_off, ss.jump_off)
    assert u.jump_off is not ss.jump_off
    assert u.factor_ids == ss.factor_ids and u.shock_types == ss.shock_types and u.quarters == ss.quarters
    assert u.metadata == {"jump_off_quarter": "2025Q4"}
    short = M.unshocked(ss, quarters=4)
    assert short.shocks.shape == (1, 4, 2) and short.quarters == QUARTERS[:4]


# ------------------------------------------------------------------------------- HTM
def _htm_by_hand(notional: float, maturity: float, pd0: float, pd_stressed: float, lgd: float = M.HTM_LGD,
                 r: float = M.HTM_FORECAST_YEARS, horizon: int = 9) -> tuple[list[float], list[float]]:
    """Allowance and credit loss per quarter of one bond under a constant stressed PD (constant balance
    sheet: the remaining life stays at its jump-off value)."""
    def allow(pd_near: float) -> float:
        return notional * lgd * (1.0 - (1.0 - pd_near) ** min(maturity, r) * (1.0 - pd0) ** max(maturity - r, 0.0))

    allowance, losses = [], []
    prev = allow(pd0)
    for _ in range(horizon):
        a = allow(pd_stressed)
        allowance.append(a)
        losses.append(notional * lgd * pd_stressed / 4.0 + (a - prev))
        prev = a
    return losses, allowance


def test_htm_bbb_bond_by_hand() -> None:
    bonds = _bonds([("B1", "fixed_bond", "corporate_ig", "BBB+", BBB, 1e9, 1, 3.0)])
    ss = _shockset(np.full((1, 9, 1), 100.0), [BBB])
    losses, allowance = M.htm_credit_losses(bonds, ss)
    # BBB+ takes the BBB class (0.15%); its engine base spread is 105 bp: s_q / s_0 = 205 / 105
    pd_q = 0.0015 * 205.0 / 105.0
    exp_losses, exp_allow = _htm_by_hand(1e9, 3.0, 0.0015, pd_q)
    np.testing.assert_allclose(allowance[0], exp_allow, rtol=1e-12)
    np.testing.assert_allclose(losses[0], exp_losses, rtol=1e-10)
    # PQ1: the quarter's expected defaults + the build (two years at the stressed PD over the long-run one)
    build = 1e9 * M.HTM_LGD * ((1 - 0.0015) ** 2 - (1 - pd_q) ** 2) * (1 - 0.0015) ** 1.0
    assert losses[0, 0] == pytest.approx(1e9 * M.HTM_LGD * pd_q / 4 + build)
    # later quarters: charge-offs only (the allowance stays built while the spread stays wide)
    np.testing.assert_allclose(losses[0, 1:], 1e9 * M.HTM_LGD * pd_q / 4, rtol=1e-10)


def test_a_bond_maturing_in_the_horizon_does_not_release_the_stress() -> None:
    """Constant balance sheet: a maturing bond is replaced, so the scenario's build is not released."""
    short = _bonds([("S", "fixed_bond", "corporate_ig", "BBB", BBB, 1e9, 1, 2.0)])
    losses, _ = M.htm_credit_losses(short, _shockset(np.full((1, 9, 1), 300.0), [BBB]))
    assert losses[0, 0] > 0 and (losses[0, 1:] > 0).all()
    assert losses[0].sum() > losses[0, 0]


def test_htm_zero_for_guaranteed_normal_loss_when_unshocked() -> None:
    bonds = _bonds([
        ("T", "fixed_bond", "ust", "AA+", "credit.spread.aaa_10y", 1e9, 1, 5.0),
        ("G", "agency_mbs", "agency", "AA+", "credit.spread.aaa_10y", 1e9, 1, 20.0),
        ("A", "frn", "agency", "AA+", "credit.spread.aaa_10y", 1e9, 1, 3.0),
    ])  # fmt: skip
    widening = _shockset(np.full((2, 9, 1), 300.0), ["credit.spread.aaa_10y"])
    losses, allowance = M.htm_credit_losses(bonds, widening)
    assert losses.shape == (2, 9) and not losses.any() and not allowance.any()
    corp = _bonds([("C", "frn", "corporate_hy", "BB", "credit.spread.rating.bb", 1e9, 1, 4.0),
                   ("D", "fixed_bond", "corporate_ig", "A", "credit.spread.rating.a", 5e8, 1, 7.0)])
    flat = M.unshocked(_shockset(np.full((2, 9, 2), 300.0), ["credit.spread.rating.bb", "credit.spread.rating.a"]))
    losses, allowance = M.htm_credit_losses(corp, flat)
    normal = M.HTM_LGD * (1e9 * 0.0060 + 5e8 * 0.0005) / 4.0  # the long-run expected loss of a quarter
    np.testing.assert_allclose(losses, normal, rtol=1e-12)
    assert (allowance > 0).all()


def test_htm_widening_loses_tightening_gains_short_gets_none() -> None:
    corp = _bonds([("C", "frn", "corporate_hy", "BB", "credit.spread.rating.bb", 1e9, 1, 4.0)])
    shocks = np.stack([np.full((9, 1), 150.0), np.full((9, 1), -100.0), np.full((9, 1), -1000.0)])
    losses, _ = M.htm_credit_losses(corp, _shockset(shocks, ["credit.spread.rating.bb"]))
    normal = 9 * M.HTM_LGD * 1e9 * 0.0060 / 4.0
    assert losses[0].sum() > normal and losses[1].sum() < normal
    # a spread shocked below zero is floored at zero: PD 0, the whole allowance released, no charge-offs
    assert losses[2].sum() < losses[1].sum() and losses[2, 0] < 0 and not losses[2, 1:].any()
    short = corp.assign(direction=-1)
    losses, allowance = M.htm_credit_losses(short, _shockset(shocks, ["credit.spread.rating.bb"]))
    assert not losses.any() and not allowance.any()


def test_htm_refusals() -> None:
    bonds = _bonds([("B1", "fixed_bond", "corporate_ig", "BBB", "credit.spread.rating.zzz", 1e9, 1, 3.0)])
    with pytest.raises(KeyError, match="credit.spread.rating.zzz"):
        M.htm_credit_losses(bonds, _shockset(np.zeros((1, 9, 1)), [BBB]))
    bonds = _bonds([("B1", "fixed_bond", "corporate_ig", "D", BBB, 1e9, 1, 3.0)])
    with pytest.raises(ValueError, match="without a default rate"):
        M.htm_credit_losses(bonds, _shockset(np.zeros((1, 9, 1)), [BBB]))


def test_operational_losses() -> None:
    np.testing.assert_array_equal(M.operational_losses(2.5, 3), np.full((3, 9), 2.5))


# ------------------------------------------------------------------------------- assembly
class FakeRevaluer:
    """Returns hand-made results: every position gains ``gain`` per quarter (unshocked: ``carry``)."""

    def __init__(self, gain: float = -3.0, carry: float = 1.0) -> None:
        self.gain, self.carry = gain, carry
        self.calls: list[dict] = []

    def __call__(self, positions, shockset, quarters, age_book):
        self.calls.append({"ids": list(positions["position_id"]), "samples": shockset.n_samples,
                           "model": shockset.model_id, "quarters": list(quarters), "age_book": age_book})
        per = self.carry if shockset.model_id == "unshocked" else self.gain
        s = shockset.n_samples
        q = len(quarters)
        pnl = np.full((s, q, 1), per * len(positions)) * np.arange(1, q + 1)[None, :, None]
        if shockset.model_id != "unshocked":
            pnl = pnl * np.arange(1, s + 1)[:, None, None]  # sample k loses k times as much
        return _result(pnl, list(positions["position_id"]))


def _book() -> pd.DataFrame:
    frame = pd.DataFrame({
        "position_id": ["T1", "T2", "A1", "H1", "L1"],
        "accounting_book": ["trading", "trading", "afs", "htm", "loan"],
        "instrument_type": ["equity", "irs", "fixed_bond", "fixed_bond", "loan"],
        "segment": ["equity", "rates_derivatives", "ust", "corporate_ig", "cre"],
        "rating": [None, None, "AA+", "BBB", None],
        "credit_curve": [None, None, None, BBB, None],
        "notional": [1.0, 1.0, 1.0, 1e9, 1.0],
        "direction": [1, 1, 1, 1, 1],
        "maturity_years": [np.nan, 5.0, 5.0, 3.0, 5.0],
    })  # fmt: skip
    return frame


def test_revalue_market_lines_with_fake_revaluer() -> None:
    ss = _shockset(np.full((3, 9, 2), 100.0), ["rates.ust.3m", BBB])
    fake = FakeRevaluer()
    lines, results = M.revalue_market_lines(_book(), ss, fake, operational_per_quarter=2.0)
    assert [c["ids"] for c in fake.calls] == [["T1", "T2"], ["A1"], ["A1"]]
    trading, afs, afs_u = fake.calls
    assert trading["age_book"] is False and trading["quarters"] == [0, 1, 2, 3] and trading["samples"] == 3
    assert afs["age_book"] is True and afs["quarters"] == list(range(9)) and afs["samples"] == 3
    assert afs_u["age_book"] is True and afs_u["quarters"] == list(range(9))
    assert afs_u["samples"] == 1 and afs_u["model"] == "unshocked"
    assert set(results) == {"trading", "afs", "afs_unshocked"}
    # trading: two positions losing 3 x quarter x sample: worst in PQ4, 2 x 3 x 4 x k
    np.testing.assert_allclose(lines.trading.loss, [24.0, 48.0, 72.0])
    np.testing.assert_array_equal(lines.trading.quarter, [4, 4, 4])
    # AFS: -3 q k against the unshocked +1 q
    q = np.arange(1, 10)
    np.testing.assert_allclose(lines.afs_value_change, -3.0 * q[None, :] * np.arange(1, 4)[:, None] - q[None, :])
    np.testing.assert_allclose(lines.afs_loss_9q, [36.0, 63.0, 90.0])
    np.testing.assert_allclose(lines.afs_worst_loss, [36.0, 63.0, 90.0])
    np.testing.assert_array_equal(lines.counterparty, 0.0)
    np.testing.assert_array_equal(lines.operational, np.full((3, 9), 2.0))
    expected_htm, _ = M.htm_credit_losses(M.positions_in(_book(), "htm"), ss)
    np.testing.assert_allclose(lines.htm_credit, expected_htm)
    assert lines.htm_credit[:, 0].min() > 0 and lines.htm_credit.sum(axis=1).min() > 0
    np.testing.assert_allclose(lines.securities_loss(), lines.afs_loss_9q + expected_htm.sum(axis=1))
    assert lines.samples == 3


def test_revalue_market_lines_reuses_unshocked() -> None:
    ss = _shockset(np.zeros((2, 9, 2)), ["rates.ust.3m", BBB])
    given = _result(np.full((1, 9, 1), 5.0), ["A1"])
    fake = FakeRevaluer()
    lines, results = M.revalue_market_lines(_book(), ss, fake, 0.0, afs_unshocked=given)
    assert len(fake.calls) == 2 and all(c["samples"] == 2 for c in fake.calls)
    assert results["afs_unshocked"] is given
    q = np.arange(1, 10)
    np.testing.assert_allclose(lines.afs_value_change, -3.0 * q[None, :] * np.arange(1, 3)[:, None] - 5.0)


def test_empty_trading_and_afs_books_give_zeros() -> None:
    book = _book()
    book = book[~book["accounting_book"].isin(["trading", "afs"])]
    ss = _shockset(np.zeros((4, 9, 2)), ["rates.ust.3m", BBB])
    fake = FakeRevaluer()
    lines, results = M.revalue_market_lines(book, ss, fake, 1.0)
    assert fake.calls == [] and results == {}
    np.testing.assert_array_equal(lines.trading.loss, np.zeros(4))
    np.testing.assert_array_equal(lines.trading.quarter, np.ones(4))
    np.testing.assert_array_equal(lines.afs_value_change, np.zeros((4, 9)))
    # unshocked spreads: the BBB bond's normal expected loss only
    np.testing.assert_allclose(lines.htm_credit, M.HTM_LGD * 1e9 * 0.0015 / 4.0, rtol=1e-12)
    assert lines.samples == 4


def test_revalue_market_lines_refuses_short_shockset() -> None:
    ss = _shockset(np.zeros((1, 8, 2)), ["rates.ust.3m", BBB])
    with pytest.raises(ValueError, match="8 quarters"):
        M.revalue_market_lines(_book(), ss, FakeRevaluer(), 0.0)
