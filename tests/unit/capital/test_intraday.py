"""The intraday refresh revalues the trading book on the snapshot, and its check catches a wrong jump-off or VaR."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster.capital.intraday import intraday_trading_stress, intraday_violations
from risk_dagster.engine.revalue import StressResult
from risk_dagster.market.snapshot import MarketSnapshot
from risk_dagster.translate.shockset import ShockSet

IDS = ["rates.ust.10y", "equity.sp500"]


def _set(jump: list[float], n: int = 50) -> ShockSet:
    rng = np.random.default_rng(3)
    return ShockSet(rng.normal(size=(n, 4, 2)), np.array(jump), IDS, ["absolute_bp", "log_return"],
                    ["2026Q1", "2026Q2", "2026Q3", "2026Q4"], "s", "m", "1", 0, {"jump_off_quarter": "2025Q4"})  # fmt: skip


def _book() -> pd.DataFrame:
    return pd.DataFrame({"position_id": ["t1", "t2", "l1"], "accounting_book": ["trading", "trading", "loan"],
                         "segment": ["equity", "equity", "loans"], "equity_factor": ["equity.sp500", "equity.sp500", None],
                         "spot": [100.0, 50.0, np.nan], "notional": [10.0, 20.0, 5.0]})  # fmt: skip


def _fake_engine(seen: list):
    """Loss = spot x notional x (1 - exp(equity shock)) x (jump-off 10y / 4): depends on the book and the set."""

    def revalue(book: pd.DataFrame, shocks: ShockSet, quarters, age_book: bool) -> StressResult:
        seen.append((book.copy(), shocks, list(quarters), age_book))
        exposure = float((book["spot"] * book["notional"]).sum()) * shocks.jump_off[0] / 4.0
        pnl = exposure * (np.exp(shocks.shocks[:, quarters, 1]) - 1.0)
        return StressResult("s", list(book["position_id"]), ["equity"], [shocks.quarters[q] for q in quarters],
                            np.zeros(len(book)), pnl[:, :, None], 0, pd.DataFrame())  # fmt: skip

    return revalue


def test_only_the_trading_book_is_revalued_instantaneously_on_the_snapshot() -> None:
    snapshot = MarketSnapshot(pd.Timestamp("2026-12-03 10:30", tz="America/New_York"), {"rates.ust.10y": 4.4, "equity.sp500": 6600.0}, "/in/s.csv")
    seen: list = []
    refresh = intraday_trading_stress(_book(), {"ai": _set([4.0, 6000.0])}, snapshot, _fake_engine(seen), quarters=4)
    (today_book, today_set, quarters, aged), (before_book, before_set, _, _) = seen
    assert list(today_book["position_id"]) == ["t1", "t2"] and quarters == [0, 1, 2, 3] and aged is False
    assert today_book["spot"].tolist() == pytest.approx([110.0, 55.0]) and before_book["spot"].tolist() == [100.0, 50.0]
    assert today_set.jump_off.tolist() == [4.4, 6600.0] and before_set.jump_off.tolist() == [4.0, 6000.0]
    ai = refresh.losses[refresh.losses["set"] == "ai"]
    np.testing.assert_allclose(ai["loss_today"], ai["loss_jump_off"] * 1.1 * 1.1)  # spot x1.1 and 10y 4.4/4.0
    assert refresh.summary["sets"]["ai"]["today"]["var_99"] == pytest.approx(np.quantile(ai["loss_today"], 0.99))
    assert intraday_violations(refresh.losses, refresh.jump_offs, snapshot.levels, refresh.summary) == []


def test_the_check_catches_a_jump_off_not_moved_a_stray_move_and_a_wrong_var() -> None:
    snapshot = MarketSnapshot(pd.Timestamp("2026-12-03 10:30", tz="America/New_York"), {"equity.sp500": 6600.0}, "/in/s.csv")
    refresh = intraday_trading_stress(_book(), {"ai": _set([4.0, 6000.0])}, snapshot, _fake_engine([]), quarters=4)
    jump = refresh.jump_offs.copy()
    jump.loc[jump["factor_id"] == "equity.sp500", "used"] = 6000.0  # the snapshot not applied
    jump.loc[jump["factor_id"] == "rates.ust.10y", "used"] = 4.2  # a factor it does not observe moved
    problems = intraday_violations(refresh.losses, jump, snapshot.levels, refresh.summary)
    assert any("equity.sp500" in p for p in problems) and any("rates.ust.10y" in p for p in problems)
    wrong = {"sets": {"ai": {"today": {"var_99": 0.0}}}}
    assert any("99% VaR" in p for p in intraday_violations(refresh.losses, refresh.jump_offs, snapshot.levels, wrong))
    broken = refresh.losses.assign(loss_today=np.nan)
    assert any("non-finite" in p for p in intraday_violations(broken, refresh.jump_offs, snapshot.levels, refresh.summary))
