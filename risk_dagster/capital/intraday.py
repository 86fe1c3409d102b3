"""The intraday refresh: the trading book's global-market-shock loss at today's market.

Every 30 minutes of the session the desk's latest snapshot (:mod:`risk_dagster.market.snapshot`)
replaces the scenario's jump-off market: the trading book's spots and spreads move onto it, the
scenario sets' jump-off levels become the snapshot's where it observes them, and the book is
revalued instantaneously under each sample's shocks over the first ``quarters`` quarters, worst
quarter per sample, as the regulatory run's trading line (:func:`~risk_dagster.capital.market_lines.trading_loss`).
The same loss at the scenario's own jump-off is computed beside it, so the refresh shows how far
today's market has moved the stress loss. Loans, AFS, HTM and capital are not refreshed intraday
(the aged paths and the capital projection are the regulatory run's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.capital.market_lines import Revaluer, positions_in, trading_loss
from risk_dagster.capital.scenario_capital import distribution
from risk_dagster.market.snapshot import MarketSnapshot, rebase_book, rebase_shockset
from risk_dagster.translate.shockset import ShockSet

JUMP_OFF_TOLERANCE = 1e-12
"""A set's jump-off level must equal the snapshot's exactly (up to float rounding) where observed."""


@dataclass
class IntradayStress:
    """The refresh's results.

    Attributes
    ----------
    losses
        One row per set and sample: ``set``, ``sample``, ``loss_today`` and ``loss_jump_off``
        (USD, positive = loss), ``quarter`` (1-based worst quarter, today).
    jump_offs
        One row per set and factor of the set: ``set``, ``factor_id``, ``scenario`` (the set's own
        jump-off), ``used`` (the refresh's), ``observed`` (the snapshot has it).
    book_moves
        The book's spot and spread moves (:func:`~risk_dagster.market.snapshot.rebase_book`).
    summary
        Per set: ``today`` and ``jump_off`` loss distributions (USD), ``change_var_99``; and the
        snapshot's ``as_of``, ``file``, ``n_trading_positions``.
    """

    losses: pd.DataFrame
    jump_offs: pd.DataFrame
    book_moves: pd.DataFrame
    summary: dict[str, Any]


def intraday_trading_stress(
    positions: pd.DataFrame,
    sets: Mapping[str, ShockSet],
    snapshot: MarketSnapshot,
    revaluer: Revaluer,
    quarters: int,
) -> IntradayStress:
    """The trading book's instantaneous stress loss at the snapshot, per set (module docstring)."""
    trading = positions_in(positions, "trading")
    loss_rows, jump_rows, moves = [], [], pd.DataFrame()
    summary: dict[str, Any] = {"as_of": snapshot.as_of.isoformat(), "file": snapshot.path,
                               "n_trading_positions": int(len(trading)), "quarters": quarters, "sets": {}}  # fmt: skip
    for label, shocks in sets.items():
        moved = rebase_shockset(shocks, snapshot)
        book, moves = rebase_book(trading, shocks, snapshot)
        if len(trading):
            today = trading_loss(revaluer(book, moved, list(range(quarters)), False), quarters)
            before = trading_loss(revaluer(trading, shocks, list(range(quarters)), False), quarters)
            loss_today, loss_before, worst = today.loss, before.loss, today.quarter
        else:
            loss_today = loss_before = np.zeros(shocks.n_samples)
            worst = np.ones(shocks.n_samples, dtype=int)
        loss_rows.append(pd.DataFrame({"set": label, "sample": np.arange(len(loss_today)), "loss_today": loss_today,
                                       "loss_jump_off": loss_before, "quarter": worst}))  # fmt: skip
        jump_rows.append(pd.DataFrame({"set": label, "factor_id": shocks.factor_ids, "scenario": shocks.jump_off.astype(float),
                                       "used": moved.jump_off.astype(float),
                                       "observed": [f in snapshot.levels for f in shocks.factor_ids]}))  # fmt: skip
        dist_today, dist_before = distribution(loss_today), distribution(loss_before)
        summary["sets"][label] = {"today": dist_today, "jump_off": dist_before,
                                  "change_var_99": dist_today["var_99"] - dist_before["var_99"]}  # fmt: skip
    return IntradayStress(pd.concat(loss_rows, ignore_index=True), pd.concat(jump_rows, ignore_index=True), moves, summary)


def intraday_violations(losses: pd.DataFrame, jump_offs: pd.DataFrame, snapshot_levels: Mapping[str, float],
                        summary: Mapping[str, Any]) -> list[str]:  # fmt: skip
    """What is wrong with a refresh's files, recomputed from them and the snapshot (empty: nothing).

    Every factor the snapshot observes is used at the snapshot's level and no other factor's
    jump-off moved; every loss is finite; each set's stated 99% VaR is the 99% quantile of its
    losses today.
    """
    problems = []
    for row in jump_offs.itertuples(index=False):
        want = snapshot_levels[row.factor_id] if row.factor_id in snapshot_levels else row.scenario
        if not (np.isclose(row.used, want, rtol=0, atol=JUMP_OFF_TOLERANCE) or (np.isnan(row.used) and np.isnan(want))):
            problems.append(f"{row.set}: {row.factor_id} jump-off {row.used:g}, expected {want:g}")
    for label, group in losses.groupby("set"):
        values = group["loss_today"].to_numpy(dtype=float)
        if not np.isfinite(values).all() or not np.isfinite(group["loss_jump_off"].to_numpy(dtype=float)).all():
            problems.append(f"{label}: non-finite losses")
            continue
        stated = (summary.get("sets") or {}).get(label, {}).get("today", {}).get("var_99")
        if stated is None or not np.isclose(stated, np.quantile(values, 0.99), rtol=1e-9, atol=1e-6):
            problems.append(f"{label}: stated 99% VaR {stated} is not the 99% quantile of its losses")
    return problems[:20]
