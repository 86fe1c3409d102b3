"""Distributed backend: scenario chunks of :func:`~risk_dagster.engine.revalue.revalue` on dask.distributed.

The book is prepared once on the client (:func:`~risk_dagster.engine.kernels.prepare_book`),
scattered once to every worker (``client.scatter(..., broadcast=True)``), and each worker builds
its :class:`~risk_dagster.engine.kernels.TorchBook` once per book (cached in the worker process).
One task prices one scenario chunk; the chunks are gathered and assembled in chunk order.

Exactness: the results equal the local backend's **bitwise** (float64) because every number is
produced by the same arithmetic:

- the chunk boundaries are the local backend's (same :func:`auto_chunk_size`, same
  :func:`loan_chunk_size`), and a task runs the local loop's own per-chunk step
  (:func:`market_chunk_pnl`, :func:`loan_pnl`) on exactly the slice the local loop would take, so
  each chunk's matmuls and reductions run on the same shapes in the same order;
- a market chunk's P&L needs no base vector (:meth:`TorchBook.segment_pnl` forms the change of
  value directly; its zero-shock constants are built by the same code on every worker);
- the central path and the assembly (segment mapping, median sample) run on the client with the
  same code path as :func:`revalue`.

Workers are CPU only; intra-op threads of a worker are pinned to ``threads_per_worker`` for a
cluster this module starts (BLAS results on this hardware do not depend on the thread count, see
``tests/unit/engine/test_distributed.py``, but a pinned count keeps that assumption small).
The per-position cache of :func:`revalue` is a local-backend feature; the distributed backend
always reprices every position.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch

from risk_dagster.engine.curves import ZeroCurve
from risk_dagster.engine.kernels import PreparedBook, TorchBook
from risk_dagster.engine.precision import DTYPES, PrecisionPolicy
from risk_dagster.engine.revalue import (
    ENGINE_VERSION,
    RevaluationCache,
    StressResult,
    assemble_segment_pnl,
    auto_chunk_size,
    central_position_pnl_aged,
    central_sample_index,
    loan_chunk_size,
    loan_pnl,
    market_chunk_pnl,
    plan_quarters,
    revalue,
    select_quarters,
    unshocked_factors,
)
from risk_dagster.translate.shockset import ShockSet

__all__ = ["Backend", "dask_client", "loan_chunk_size", "revalue_distributed", "revalue_with_backend"]

Backend = Literal["local", "dask"]


# ----------------------------------------------------------------------------- cluster
@contextlib.contextmanager
def dask_client(address: str | None = None, *, n_workers: int = 2, threads_per_worker: int = 1,
                processes: bool = True) -> Iterator[Any]:
    """A :class:`distributed.Client`: connected to ``address``, or to a new ``LocalCluster``.

    Parameters
    ----------
    address
        Scheduler address (``tcp://host:8786``) from the resource config; ``None`` starts a
        ``LocalCluster(n_workers, threads_per_worker, processes, dashboard_address=None)``.
    processes
        Worker processes (default; the real shape of a cluster: the book is pickled and shipped)
        or threads of this process.

    Yields
    ------
    distributed.Client
        Closed, with the cluster it started, on exit.
    """
    from distributed import Client, LocalCluster

    if address:
        client = Client(address)
        try:
            yield client
        finally:
            client.close()
        return
    with warnings.catch_warnings():  # "port 8787 in use" when other clusters run: no dashboard is served
        warnings.simplefilter("ignore", UserWarning)
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=processes,
                               dashboard_address=None)
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


# ----------------------------------------------------------------------------- worker side
_WORKER_LOCK = threading.Lock()
_WORKER_BOOKS: dict[tuple[str, str], TorchBook] = {}
_WORKER_CACHE_SIZE = 2  # a worker keeps the TorchBooks of the last two (book, dtype) pairs


def _worker_torch_book(token: str, book: PreparedBook, dtype_name: str) -> TorchBook:
    """The worker's TorchBook of the scattered book: built once per (book, dtype), then reused."""
    key = (token, dtype_name)
    with _WORKER_LOCK:
        tb = _WORKER_BOOKS.get(key)
        if tb is None:
            tb = TorchBook(book, DTYPES[dtype_name], torch.device("cpu"))
            while len(_WORKER_BOOKS) >= _WORKER_CACHE_SIZE:
                _WORKER_BOOKS.pop(next(iter(_WORKER_BOOKS)))
            _WORKER_BOOKS[key] = tb
        return tb


def _pin_threads(threads: int | None) -> None:
    if threads and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _market_task(token: str, book: PreparedBook, x: np.ndarray, dtype_name: str, threads: int | None) -> np.ndarray:
    """``[len(x), segments]`` market P&L of one scenario chunk: :func:`market_chunk_pnl`, the local loop's step."""
    _pin_threads(threads)
    return market_chunk_pnl(_worker_torch_book(token, book, dtype_name), x)


def _loan_task(book: PreparedBook, path: np.ndarray, quarters: list[int], dtype_name: str,
               threads: int | None) -> np.ndarray:
    """``[len(path), quarters, segments]`` loan P&L of one sample chunk (one iteration of the local loop)."""
    _pin_threads(threads)
    seg, _ = loan_pnl(book, path, quarters, DTYPES[dtype_name], torch.device("cpu"), max(1, path.shape[0]))
    return seg


# ----------------------------------------------------------------------------- entry points
def revalue_distributed(
    positions: pd.DataFrame,
    shockset: ShockSet,
    *,
    address: str | None = None,
    client: Any | None = None,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    processes: bool = True,
    chunk_size: int | None = None,
    quarter_index: int | Sequence[int] | None = -1,
    policy: PrecisionPolicy | None = None,
    curve: ZeroCurve | None = None,
    valuation_date: str | None = None,
    memory_budget_mb: float = 1024.0,
    age_book: bool = True,
) -> StressResult:
    """:func:`~risk_dagster.engine.revalue.revalue` with scenario chunks sharded over dask workers.

    Parameters
    ----------
    positions, shockset, quarter_index, policy, chunk_size, curve, valuation_date, memory_budget_mb, age_book
        As for :func:`revalue` (CPU pricing; the default policy is float64). ``chunk_size`` is
        the number of scenario rows per task, and the default is :func:`revalue`'s, so that the
        result equals the local backend's bitwise.
    address
        Scheduler address; ``None`` (and no ``client``) starts a ``LocalCluster`` for this call.
    client
        An open ``distributed.Client`` to reuse (a long-lived resource avoids a cluster start
        per call); takes precedence over ``address``.
    n_workers, threads_per_worker, processes
        Shape of the ``LocalCluster`` started when neither ``client`` nor ``address`` is given.

    Returns
    -------
    StressResult
        Equal to the local backend's (``pnl``, ``base_values``, ``central_sample``,
        ``central_pnl``); ``metadata`` adds ``backend``, ``n_tasks``, ``n_workers``.
    """
    if client is None:
        with dask_client(address, n_workers=n_workers, threads_per_worker=threads_per_worker,
                         processes=processes) as own:
            # pin worker threads only on a cluster we started (an external one keeps its own config)
            pin = threads_per_worker if (address is None and processes) else None
            return _revalue_on(own, positions, shockset, pin, chunk_size=chunk_size, quarter_index=quarter_index,
                               policy=policy, curve=curve, valuation_date=valuation_date,
                               memory_budget_mb=memory_budget_mb, age_book=age_book)
    return _revalue_on(client, positions, shockset, None, chunk_size=chunk_size, quarter_index=quarter_index,
                       policy=policy, curve=curve, valuation_date=valuation_date, memory_budget_mb=memory_budget_mb,
                       age_book=age_book)


def _revalue_on(client: Any, positions: pd.DataFrame, shockset: ShockSet, threads: int | None, *,
                chunk_size: int | None, quarter_index: int | Sequence[int] | None, policy: PrecisionPolicy | None,
                curve: ZeroCurve | None, valuation_date: str | None, memory_budget_mb: float,
                age_book: bool = True) -> StressResult:
    # Mirrors revalue(cache=None) step by step; only the two pricing loops go to the workers.
    t0 = time.perf_counter()
    dev = torch.device("cpu")
    policy = policy or PrecisionPolicy.default_for(dev)
    policy.check_device(dev)
    dtype_name = policy.name
    frame = positions.reset_index(drop=True)
    frame.attrs = dict(positions.attrs)
    qs = select_quarters(len(shockset.quarters), quarter_index)
    n_pos, n_samp, n_q = len(frame), shockset.n_samples, len(qs)
    pids = [str(x) for x in frame["position_id"]]
    all_segments = sorted({str(s) for s in frame["segment"]})
    t1 = time.perf_counter()
    plan = plan_quarters(frame, shockset, qs, policy, dev, curve=curve, valuation_date=valuation_date, age_book=age_book)
    book = plan.book0
    t2 = time.perf_counter()
    base_np = plan.base0.cpu().numpy().copy()
    loan_rows = book.loan["rows"]
    base_np[loan_rows] = frame["notional"].to_numpy(dtype=np.float64)[loan_rows]
    nseg = len(book.segments)
    chunk = chunk_size or auto_chunk_size(book, n_samp, policy.pricing_dtype, per_position=False,
                                          memory_budget_mb=memory_budget_mb)
    loan_path = plan.path_all if len(loan_rows) else np.zeros((n_samp, 1, len(book.factor_ids)))
    loan_chunk = loan_chunk_size(len(loan_rows), loan_path.shape[1], memory_budget_mb)

    # scatter each quarter's (aged) book once to every worker; tasks carry only their slice
    token = uuid.uuid4().hex
    books_f = [client.scatter(plan.prepared_quarter(frame, k), broadcast=True, hash=False) for k in range(n_q)] \
        if plan.aged else [client.scatter(book, broadcast=True, hash=False)] * n_q
    m_futs = [[client.submit(_market_task, f"{token}-q{k}", books_f[k], np.ascontiguousarray(plan.path_all[lo : lo + chunk, q, :]),
                             dtype_name, threads, key=f"market-chunk-{token}-{k}-{i}", pure=False)
               for i, lo in enumerate(range(0, n_samp, chunk))] for k, q in enumerate(qs)]
    book_f = books_f[0] if not plan.aged else client.scatter(book, broadcast=True, hash=False)
    l_futs = []
    if len(loan_rows):
        l_futs = [client.submit(_loan_task, book_f, np.ascontiguousarray(loan_path[lo : lo + loan_chunk]), qs, dtype_name,
                                threads, key=f"loan-chunk-{token}-{i}", pure=False)
                  for i, lo in enumerate(range(0, n_samp, loan_chunk))]
    m_parts = [client.gather(f) for f in m_futs]  # gathered in submission order = chunk order
    l_parts = client.gather(l_futs)
    n_workers = len(client.scheduler_info().get("workers", {}))
    n_tasks = sum(len(f) for f in m_futs) + len(l_futs)
    del m_futs, l_futs, book_f, books_f  # release the scattered data on the workers
    seg_m = np.zeros((n_samp, n_q, nseg))
    for k in range(n_q):
        seg_m[:, k] = np.concatenate(m_parts[k], axis=0) + plan.segment_carry(k, book.segment_codes, nseg)
    seg_l = np.concatenate(l_parts, axis=0) if l_parts else np.zeros((n_samp, n_q, nseg))
    t3 = time.perf_counter()

    pnl = assemble_segment_pnl(seg_m.reshape(n_samp * n_q, nseg), seg_l, book.segments, all_segments, n_samp, n_q)
    central = central_sample_index(pnl)
    # the central path is one sample: priced here with revalue's own calls
    central_pos = central_position_pnl_aged(plan, frame, central, policy, dev)
    central_df = pd.DataFrame(central_pos, index=pd.Index(pids, name="position_id"),
                              columns=[shockset.quarters[q] for q in qs])
    t4 = time.perf_counter()
    meta = {
        "engine_version": ENGINE_VERSION,
        "backend": "dask",
        "pricing_dtype": policy.name,
        "device": str(dev),
        "chunk_size": int(chunk),
        "loan_chunk_size": int(loan_chunk),
        "n_tasks": n_tasks,
        "n_workers": n_workers,
        "valuation_date": str(plan.context.valuation_date),
        "as_of": dict(plan.context.as_of),
        "aged": bool(age_book),
        "quarter_dates": [str(plan.dates[q]) for q in qs],
        "unshocked_factors": unshocked_factors(shockset, book),
        "options_without_dividend_yield": int(book.option["no_dividend"]) if len(book.option["rows"]) else 0,
        "n_positions": n_pos,
        "n_repriced": n_pos,
        "n_cash_flows": book.n_cash_flows,
        "n_grid_times": int(len(book.time_days)),
        "n_blocks": len(book.blocks),
        "seconds": {"keys": t1 - t0, "prepare": t2 - t1, "price": t3 - t2, "assemble": t4 - t3, "total": t4 - t0},
        "revaluations_per_s": float(n_pos * n_samp * n_q / max(t3 - t2, 1e-12)),
    }
    return StressResult(
        scenario_id=shockset.scenario_id, position_ids=pids, segments=all_segments,
        quarters=[shockset.quarters[q] for q in qs], base_values=base_np, pnl=pnl,
        central_sample=central, central_pnl=central_df, metadata=meta,
    )  # fmt: skip


def revalue_with_backend(
    positions: pd.DataFrame,
    shockset: ShockSet,
    *,
    backend: Backend = "local",
    address: str | None = None,
    client: Any | None = None,
    n_workers: int = 2,
    threads_per_worker: int = 1,
    processes: bool = True,
    cache: RevaluationCache | None = None,
    device: str | torch.device = "auto",
    **kwargs: Any,
) -> StressResult:
    """One switch for the Dagster resource: ``backend="local"`` (:func:`revalue`) or ``"dask"``.

    Parameters
    ----------
    backend
        ``"local"``: this process (``device`` and ``cache`` apply). ``"dask"``: scenario chunks
        on a cluster (``address`` / ``client`` / ``n_workers`` / ``threads_per_worker`` /
        ``processes`` apply; CPU pricing; no per-position cache).
    kwargs
        Passed on: ``quarter_index``, ``policy``, ``chunk_size``, ``curve``, ``valuation_date``,
        ``memory_budget_mb``.

    Raises
    ------
    ValueError
        For an unknown backend, or a ``cache`` or a non-CPU device with ``backend="dask"``.
    """
    if backend == "local":
        return revalue(positions, shockset, device=device, cache=cache, **kwargs)
    if backend == "dask":
        if cache is not None:
            raise ValueError("the dask backend has no per-position cache; pass cache=None or use backend='local'")
        if str(device).lower() not in ("auto", "cpu"):
            raise ValueError(f"the dask backend prices on the workers' CPUs; device={device!r} is not supported")
        return revalue_distributed(positions, shockset, address=address, client=client, n_workers=n_workers,
                                   threads_per_worker=threads_per_worker, processes=processes, **kwargs)
    raise ValueError(f"unknown backend {backend!r}; expected 'local' or 'dask'")
