"""Distributed backend: a two-worker LocalCluster gives the local backend's results bitwise."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import distributed  # noqa: F401 - a project dependency: fail loudly if it is missing

from risk_dagster.engine.distributed import dask_client, revalue_distributed, revalue_with_backend
from risk_dagster.engine.kernels import random_book
from risk_dagster.engine.precision import PrecisionPolicy
from risk_dagster.engine.revalue import RevaluationCache, StressResult, revalue
from risk_dagster.market.catalog import load_risk_factor_catalog
from risk_dagster.translate.shockset import ShockSet



@pytest.fixture(scope="module")
def shockset() -> ShockSet:
    cat = load_risk_factor_catalog()
    ids = [f.id for f in cat]
    kinds = [f.shock_type for f in cat]
    scale = np.array([40.0 if k == "absolute_bp" else 0.08 if k == "log_return" else 4.0 for k in kinds])
    shocks = np.random.default_rng(7).standard_normal((24, 3, len(ids))) * scale
    return ShockSet(shocks, np.ones(len(ids)), ids, kinds, ["2026Q1", "2026Q2", "2026Q3"], "dist", "m", "1", 0)


@pytest.fixture(scope="module")
def book():  # noqa: ANN201
    return random_book(300, seed=5)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    # two worker processes, one thread each; closed (with the cluster) by the context manager
    with dask_client(None, n_workers=2, threads_per_worker=1, processes=True) as c:
        yield c


def assert_same(a: StressResult, b: StressResult) -> None:
    """Bitwise equality of everything but timings."""
    assert a.position_ids == b.position_ids and a.segments == b.segments and a.quarters == b.quarters
    assert a.pnl.dtype == b.pnl.dtype == np.float64
    np.testing.assert_array_equal(a.pnl, b.pnl, strict=True)
    np.testing.assert_array_equal(a.base_values, b.base_values, strict=True)
    assert a.central_sample == b.central_sample
    assert a.central_pnl.equals(b.central_pnl)
    assert a.metadata["chunk_size"] == b.metadata["chunk_size"]


@pytest.mark.parametrize("chunk", [7, None])
def test_dask_equals_local_bitwise(client, book, shockset, chunk) -> None:  # noqa: ANN001
    local = revalue(book, shockset, quarter_index=None, device="cpu", chunk_size=chunk)
    dist = revalue_distributed(book, shockset, client=client, quarter_index=None, chunk_size=chunk)
    assert_same(local, dist)
    assert dist.metadata["backend"] == "dask" and dist.metadata["n_workers"] == 2
    if chunk == 7:  # 24 samples x 3 quarters = 72 rows -> 11 market tasks, spread over the workers
        assert dist.metadata["n_tasks"] >= 11


def test_dask_equals_local_fp32_last_quarter_and_small_budget(client, book, shockset) -> None:  # noqa: ANN001
    f32 = PrecisionPolicy.from_names("float32")
    # a tiny memory budget forces many market and loan chunks: the boundaries must match too
    local = revalue(book, shockset, device="cpu", policy=f32, memory_budget_mb=0.05)
    dist = revalue_with_backend(book, shockset, backend="dask", client=client, policy=f32, memory_budget_mb=0.05)
    assert dist.metadata["n_tasks"] > 2
    assert_same(local, dist)


def test_backend_switch(client, book, shockset) -> None:  # noqa: ANN001
    local = revalue_with_backend(book, shockset, backend="local", device="cpu")
    assert_same(local, revalue(book, shockset, device="cpu"))
    with pytest.raises(ValueError, match="backend"):
        revalue_with_backend(book, shockset, backend="spark")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cache"):
        revalue_with_backend(book, shockset, backend="dask", client=client, cache=RevaluationCache())


def test_own_local_cluster_by_default(book, shockset) -> None:  # noqa: ANN001
    # no client and no address: starts (and closes) its own two-worker cluster; threads keep it fast
    small = book.iloc[:60]
    dist = revalue_distributed(small, shockset, n_workers=2, processes=False, chunk_size=5)
    assert_same(revalue(small, shockset, device="cpu", chunk_size=5), dist)
