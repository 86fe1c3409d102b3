"""QuantLib parity of the run's own book: the engine's prices against QuantLib's, instrument by instrument.

The benchmark (:mod:`risk_dagster.engine.benchmark`) measures parity on a generated book; this
measures it on the book the run revalues, so the submission pack can show it. The market positions
QuantLib can price (:data:`~risk_dagster.engine.benchmark.MARKET_TYPES`; loans and MBS have no
QuantLib instrument here) are taken evenly spaced, at most ``max_positions``, and priced under
``n_scenarios`` instantaneous shocks of the benchmark's design
(:func:`~risk_dagster.engine.benchmark.benchmark_shocks`) plus the unshocked curve, by the engine
in float64 and by QuantLib in its own process (:func:`~risk_dagster.engine.revalue.run_oracle`).

The error measure is the parity test's: ``|engine - QuantLib| / max(|QuantLib|, 1e-6 x notional)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from risk_dagster.engine.benchmark import MARKET_TYPES, catalog_factors, quantlib_request, benchmark_shocks, parity_error
from risk_dagster.engine.revalue import engine_values, run_oracle
from risk_dagster.engine.valuation import book_currency, pricing_curve

PARITY_TOLERANCE = 1e-8
"""The engine's stated parity with QuantLib (float64), the tolerance of the parity tests."""


def book_parity(
    portfolio: pd.DataFrame, *, max_positions: int = 300, n_scenarios: int = 8, seed: int = 0, timeout: float = 600.0
) -> pd.DataFrame:
    """Per instrument type: positions priced, scenarios, the largest and the median relative error.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``instrument_type`` plus an ``all`` row: ``positions``, ``scenarios``,
        ``max_rel_err``, ``median_rel_err``, ``within_tolerance`` (max <= :data:`PARITY_TOLERANCE`).
        Empty when the book holds no position QuantLib prices.
    """
    market = portfolio[portfolio["instrument_type"].isin(MARKET_TYPES)].reset_index(drop=True)
    columns = ["positions", "scenarios", "max_rel_err", "median_rel_err", "within_tolerance"]
    if market.empty:
        return pd.DataFrame(columns=columns)
    if len(market) > max_positions:
        take = np.unique(np.linspace(0, len(market) - 1, max_positions).round().astype(np.int64))
        market = market.iloc[take].reset_index(drop=True)
    ids, _ = catalog_factors()
    curve = pricing_curve(book_currency(market))  # the Treasury curve, or the EUR swap curve of a euro book
    path = benchmark_shocks(ids, n_scenarios, seed=seed, rate_factors=curve.factor_ids)
    path = np.concatenate([np.zeros((1, *path.shape[1:])), path])  # the unshocked curve first
    quantlib = run_oracle(quantlib_request(market, path, ids, curve), timeout=timeout)
    engine = engine_values(market, curve, path, ids, pairs=False, dtype=torch.float64)
    notional = market["notional"].to_numpy(dtype=np.float64)[None, :]
    error = parity_error(engine, quantlib["npv"], notional)  # [scenarios, positions]
    rows = {}
    types = market["instrument_type"].to_numpy()
    for name in [*sorted(set(types)), "all"]:
        cols = np.ones(len(types), dtype=bool) if name == "all" else types == name
        block = error[:, cols]
        rows[name] = {
            "positions": int(cols.sum()),
            "scenarios": int(path.shape[0]),
            "max_rel_err": float(block.max()),
            "median_rel_err": float(np.median(block)),
            "within_tolerance": bool(block.max() <= PARITY_TOLERANCE),
        }
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("instrument_type")


__all__ = ["PARITY_TOLERANCE", "book_parity"]
