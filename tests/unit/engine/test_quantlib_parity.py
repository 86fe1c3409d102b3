"""Parity with QuantLib, priced in a separate process: 200 random instruments per type, fp64.

Error measure: ``|engine - QuantLib| / max(|QuantLib NPV|, 1e-6 * notional)`` (a pure relative
error is meaningless for an option worth a millionth of a dollar); the bound is 1e-8.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

from risk_dagster.engine.curves import treasury_zero_curve
from risk_dagster.engine.kernels import random_book
from risk_dagster.engine.revalue import engine_values, oracle_request, run_oracle
from risk_dagster.market.catalog import load_risk_factor_catalog

TYPES = ("fixed_bond", "frn", "irs", "equity", "fx_forward", "equity_option", "loan")
PER_TYPE = 200

# QuantLib is in the [test] extras: the parity oracle must run, never be skipped.


def test_engine_matches_quantlib_for_every_instrument_type() -> None:
    catalog = load_risk_factor_catalog()
    ids = [f.id for f in catalog]
    kinds = [f.shock_type for f in catalog]
    book = pd.concat([random_book(PER_TYPE, seed=100 + i, types=(t,)) for i, t in enumerate(TYPES)], ignore_index=True)
    rng = np.random.default_rng(20260101)
    scale = np.array([100.0 if k == "absolute_bp" else 0.2 if k == "log_return" else 10.0 for k in kinds])
    path = np.cumsum(rng.standard_normal((len(book), 9, len(ids))) * scale / 3.0, axis=1)
    curve = treasury_zero_curve()
    ql = run_oracle(oracle_request(book, curve, path, ids), timeout=300)["npv"]
    eng = engine_values(book, curve, path, ids)
    err = np.abs(eng - ql) / np.maximum(np.abs(ql), 1e-6 * book["notional"].to_numpy())
    worst = {t: float(err[(book["instrument_type"] == t).to_numpy()].max()) for t in TYPES}
    assert all(v <= 1e-8 for v in worst.values()), worst
    assert np.isfinite(ql).all() and (np.abs(ql) > 0).mean() > 0.99
