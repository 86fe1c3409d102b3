"""revalue(): shapes, sign conventions, chunking, central path, cache."""

from __future__ import annotations

import numpy as np
import pytest

from risk_dagster.engine.kernels import random_book
from risk_dagster.engine.precision import PrecisionPolicy
from risk_dagster.engine.revalue import RevaluationCache, revalue
from risk_dagster.market.catalog import load_risk_factor_catalog
from risk_dagster.translate.shockset import ShockSet


@pytest.fixture(scope="module")
def shockset() -> ShockSet:
    cat = load_risk_factor_catalog()
    ids = [f.id for f in cat]
    kinds = [f.shock_type for f in cat]
    scale = np.array([40.0 if k == "absolute_bp" else 0.08 if k == "log_return" else 4.0 for k in kinds])
    shocks = np.random.default_rng(0).standard_normal((40, 4, len(ids))) * scale
    return ShockSet(shocks, np.ones(len(ids)), ids, kinds, ["2026Q1", "2026Q2", "2026Q3", "2026Q4"], "test", "m", "1", 0)


@pytest.fixture(scope="module")
def book():  # noqa: ANN201
    return random_book(500, seed=11)


def test_shapes_signs_and_chunking(book, shockset) -> None:  # noqa: ANN001
    r = revalue(book, shockset, quarter_index=None, device="cpu")
    assert r.pnl.shape == (40, 4, len(r.segments))
    np.testing.assert_array_equal(r.loss, -r.pnl)
    small = revalue(book, shockset, quarter_index=None, device="cpu", chunk_size=7)
    np.testing.assert_allclose(small.pnl, r.pnl, rtol=1e-12, atol=1e-6)
    last = revalue(book, shockset, device="cpu")
    np.testing.assert_allclose(last.pnl[:, 0], r.pnl[:, -1], rtol=1e-12, atol=1e-6)
    # loans only lose, and cumulatively
    loans = [i for i, s in enumerate(r.segments) if s in {"auto", "cre", "credit_card", "c_and_i"}]
    assert (r.pnl[:, :, loans] <= 0).all() and (np.diff(r.pnl[:, :, loans], axis=1) <= 0).all()
    # per-position central path adds up to the central sample's segments
    np.testing.assert_allclose(r.central_pnl.to_numpy().sum(0), r.pnl[r.central_sample].sum(-1), rtol=1e-10)
    f32 = revalue(book, shockset, device="cpu", policy=PrecisionPolicy.from_names("float32"))
    tot = np.abs(last.pnl.sum(-1)).max()
    assert np.abs(f32.pnl.sum(-1) - last.pnl.sum(-1)).max() / max(tot, 1.0) < 1e-3


def test_missing_factor_is_an_error(book, shockset) -> None:  # noqa: ANN001
    keep = [i for i, f in enumerate(shockset.factor_ids) if f != "vol.vix"]
    bad = ShockSet(shockset.shocks[:, :, keep], shockset.jump_off[keep], [shockset.factor_ids[i] for i in keep],
                   [shockset.shock_types[i] for i in keep], shockset.quarters, "t", "m", "1", 0)
    with pytest.raises(KeyError, match="vol.vix"):
        revalue(book, bad, device="cpu")


def test_cache_reprices_only_changed_positions(book, shockset) -> None:  # noqa: ANN001
    cache = RevaluationCache()
    first = revalue(book, shockset, device="cpu", cache=cache)
    assert cache.last_repriced == len(book)
    again = revalue(book, shockset, device="cpu", cache=cache)
    assert cache.last_repriced == 0
    np.testing.assert_allclose(again.pnl, first.pnl, rtol=1e-12, atol=1e-6)
    changed = book.copy()
    changed.loc[[3, 10], "notional"] *= 2.0
    after = revalue(changed, shockset, device="cpu", cache=cache)
    assert cache.last_repriced == 2
    fresh = revalue(changed, shockset, device="cpu")
    np.testing.assert_allclose(after.pnl, fresh.pnl, rtol=1e-10, atol=1e-5)
    # a changed scenario input reprices the positions that depend on it, and only those
    moved = ShockSet(shockset.shocks.copy(), shockset.jump_off, shockset.factor_ids, shockset.shock_types,
                     shockset.quarters, "test", "m", "1", 0)
    moved.shocks[:, :, moved.factor_index("fx.eurusd")] += 0.01
    revalue(changed, moved, device="cpu", cache=cache)
    assert cache.last_repriced == int((changed["fx_factor"] == "fx.eurusd").sum())
