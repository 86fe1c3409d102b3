"""Engine benchmark: throughput vs the QuantLib loop, hardware reference, memory, parity, in one run.

:func:`run_engine_benchmark` measures, on the *same* instruments and the *same* shocks:

- the engine's throughput (position-scenario revaluations per second) in float64 and float32,
  on ``threads`` intra-op threads, chunked as the engine chunks, for its two outputs:

  * *per-position values* (``engine_per_position_per_s_*``): :func:`market_pnl` with
    ``per_position=True``, the pass :func:`~risk_dagster.engine.revalue.revalue` runs with a
    cache: every position's value under every scenario (:meth:`TorchBook.values`), its P&L
    written to a ``[scenarios, positions]`` float64 array and summed per segment. This is the
    like-for-like comparison with the QuantLib loop, which computes one NPV per instrument;
  * *segment P&L* (``engine_segment_per_s_*``, also ``engine_per_s_*``): :func:`market_pnl`
    without per-position output, as ``revalue`` runs it without a cache: fused aggregation
    (:meth:`TorchBook.segment_pnl`), segment totals formed without per-position values for the
    cash-flow instruments.

  Book preparation and the first (warm-up) pass are timed and reported but excluded; each figure
  is the median of ``repeats`` passes;
- the QuantLib loop's throughput: in a child process (QuantLib never enters this process), one
  ``ZeroCurve`` built and relinked per scenario, then ``NPV()`` of every instrument (instrument
  set-up excluded, as the engine's preparation is); single-threaded, as QuantLib is;
- the ratios against that one QuantLib measurement: ``speedup_per_position_vs_quantlib`` and
  ``speedup_segment_vs_quantlib`` (= ``speedup_vs_quantlib``), float64, and their ``_fp32``;
- the fixed costs at a small size (:func:`fixed_cost_breakdown`, 2,000 x 200 by default, run
  first so its warm-up is the process's first): base curve, book preparation, ``TorchBook``
  construction, base values, the fused aggregates, the first pass's extra time, and per path the
  overhead of a chunk (a 1-scenario chunk) and the marginal cost of a scenario;
- numpy and torch matmul GFLOP/s (``2 n^3`` flops) as this machine's hardware reference;
- peak memory (``ru_maxrss`` of this process: the lifetime maximum, so the max over the run);
- the parity error: ``|engine - QuantLib| / max(|QuantLib|, 1e-6 * notional)`` over every
  instrument and scenario the QuantLib loop priced (the measure of the parity test).

Instruments: the market instruments QuantLib prices (fixed-rate bonds, FRNs, swaps, equities,
FX forwards, equity index options), either :func:`random_book` (``book="random"``: terms drawn
widely) or the sample bank book's market positions (``book="sample"``). Loans are left out: they
have no QuantLib instrument and the oracle's all-pairs mode carries no loan path.

Shocks: every scenario moves the 11 Treasury knots (a parallel plus a per-knot part), one
common log return for every equity factor, one for every FX factor, and the VIX; credit spreads
stay unshocked because the oracle's all-pairs mode carries one value per scenario for each of
these (a common spread shock would wrongly hit Treasury bonds). The engine's cost does not
depend on the shock values: its kernels run in full for every factor.

:func:`memory_check` revalues the one-million-position sample book under 1,000 scenarios and
reports peak RSS and wall time. Run it in a fresh process (``ru_maxrss`` is a lifetime maximum):
``python bench/bench_engine.py --memory-check``.
"""

from __future__ import annotations

import json as _json
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from risk_dagster.engine.curves import RATE_FACTORS, ZeroCurve, treasury_zero_curve
from risk_dagster.engine.kernels import VIX_FACTOR, TorchBook, prepare_book, random_book
from risk_dagster.engine.revalue import _base_vector, auto_chunk_size, engine_values, market_pnl, oracle_request, revalue, run_oracle
from risk_dagster.translate.shockset import ShockSet

__all__ = [
    "MARKET_TYPES",
    "REPORT_KEYS",
    "bench_command",
    "benchmark_book",
    "catalog_factors",
    "fixed_cost_breakdown",
    "benchmark_shocks",
    "matmul_gflops",
    "memory_check",
    "parity_error",
    "peak_rss_mb",
    "quantlib_request",
    "run_engine_benchmark",
]

MARKET_TYPES: tuple[str, ...] = ("fixed_bond", "frn", "irs", "equity", "fx_forward", "equity_option")
"""Instrument types both the engine and the QuantLib loop price."""

REPORT_KEYS: tuple[str, ...] = (
    "engine_per_s_fp64", "engine_per_s_fp32", "quantlib_per_s", "speedup_vs_quantlib", "max_rel_err_vs_quantlib",
    "peak_rss_mb",
    "engine_per_position_per_s_fp64", "engine_per_position_per_s_fp32",
    "speedup_per_position_vs_quantlib", "speedup_per_position_vs_quantlib_fp32",
    "engine_segment_per_s_fp64", "engine_segment_per_s_fp32",
    "speedup_segment_vs_quantlib", "speedup_segment_vs_quantlib_fp32",
)  # fmt: skip
"""Keys ``--json`` always carries (the issue's contract). ``engine_per_s_*`` and ``speedup_vs_quantlib``
are the segment-P&L figures (``engine_segment_per_s_*``, ``speedup_segment_vs_quantlib``), as before."""

PER_POSITION_MAX_ELEMENTS = 2**27
"""Most ``positions x scenarios`` float64 P&L values one per-position pass writes (1 GiB): beyond it the
per-position path is timed on the first scenarios only (``per_position_scenarios`` in the report)."""

FloatArray = npt.NDArray[np.float64]


# ----------------------------------------------------------------------------- small helpers
def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set size (MiB) of this process: a lifetime maximum (``who``: a ``resource.RUSAGE_*``)."""
    kb = resource.getrusage(who).ru_maxrss  # KiB on Linux
    return float(kb) / 1024.0


def current_rss_mb() -> float:
    """Current resident set size (MiB), from ``/proc/self/statm``; NaN where that does not exist."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def _timed(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float]]:
    """(warm-up seconds, list of ``repeats`` timed seconds)."""
    t = time.perf_counter()
    fn()
    warm = time.perf_counter() - t
    out = []
    for _ in range(max(1, repeats)):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return warm, out


def matmul_gflops(n: int = 2048, *, repeats: int = 3, threads: int | None = None) -> dict[str, float]:
    """GFLOP/s of an ``n x n`` matmul (``2 n^3`` flops, median of ``repeats`` after a warm-up).

    ``numpy_*``: numpy's BLAS on its default thread count (all cores: the machine's reference);
    ``torch_*``: torch (MKL) on ``threads`` intra-op threads, the engine's setting.
    """
    rng = np.random.default_rng(0)
    out: dict[str, float] = {}
    flops = 2.0 * n**3
    for name, dt in (("fp64", np.float64), ("fp32", np.float32)):
        a, b = rng.standard_normal((n, n)).astype(dt), rng.standard_normal((n, n)).astype(dt)
        _, ts = _timed(lambda a=a, b=b: a @ b, repeats)
        out[f"numpy_{name}"] = flops / statistics.median(ts) / 1e9
        ta, tb = torch.from_numpy(a), torch.from_numpy(b)
        with _torch_threads(threads):
            _, ts = _timed(lambda ta=ta, tb=tb: ta @ tb, repeats)
        out[f"torch_{name}"] = flops / statistics.median(ts) / 1e9
    return out


class _torch_threads:  # noqa: N801 - used as a context manager
    """Set torch's intra-op threads for a block, restore them after."""

    def __init__(self, n: int | None) -> None:
        self.n, self.old = n, torch.get_num_threads()

    def __enter__(self) -> None:
        if self.n:
            torch.set_num_threads(int(self.n))

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.old)


def parity_error(engine: FloatArray, quantlib: FloatArray, notional: FloatArray) -> FloatArray:
    """``|engine - QuantLib| / max(|QuantLib|, 1e-6 * notional)`` (the parity test's measure)."""
    return np.abs(engine - quantlib) / np.maximum(np.abs(quantlib), 1e-6 * np.abs(notional))


# ----------------------------------------------------------------------------- inputs
def benchmark_book(n_positions: int, *, book: str = "random", seed: int = 0) -> pd.DataFrame:
    """``n_positions`` market positions (:data:`MARKET_TYPES`).

    ``"random"``: :func:`random_book` over those types. ``"sample"``: the sample bank book's
    market positions (its mix of Treasuries, agencies, corporates, FRNs, swaps, equities, FX and
    options; the shipped seed, ``seed`` is ignored): a book large enough is generated and ``n_positions`` of its market positions are
    taken evenly spaced, so every segment keeps its share.
    """
    n = int(n_positions)
    if book == "random":
        return random_book(n, seed=seed, types=MARKET_TYPES)
    if book == "sample":
        from risk_dagster.portfolio.sample_book import generate_sample_book

        size = max(n, 16)
        while True:
            full = generate_sample_book(size)  # the shipped sample book (its own seed)
            market = full[full["instrument_type"].isin(MARKET_TYPES)].reset_index(drop=True)
            if len(market) >= n:
                take = np.unique(np.linspace(0, len(market) - 1, n).round().astype(np.int64))
                return market.iloc[take].reset_index(drop=True)
            size = int(size * max(1.2, 1.05 * n / max(len(market), 1)))
    raise ValueError(f"unknown book {book!r}; expected 'random' or 'sample'")


def catalog_factors() -> tuple[list[str], list[str]]:
    """The risk-factor catalog's ids and shock types, in catalog order."""
    from risk_dagster.market.catalog import load_risk_factor_catalog

    cat = load_risk_factor_catalog()
    return [f.id for f in cat], [f.shock_type for f in cat]


def benchmark_shocks(factor_ids: Sequence[str], n_scenarios: int, *, seed: int = 0,
                     rate_factors: Sequence[str] = RATE_FACTORS) -> FloatArray:
    """``[n_scenarios, 1, factors]`` shocks both the engine and the QuantLib all-pairs loop apply.

    Rates (the pricing curve's knots, ``rate_factors``: the Treasury's by default): a parallel move
    (sd 75 bp) plus a per-knot part (sd 25 bp); equities: one common log return (sd 0.15); FX: one
    common log return (sd 0.05); VIX: sd 6 points; all else zero.
    """
    rng = np.random.default_rng([seed, 9001])
    ids = list(factor_ids)
    path = np.zeros((int(n_scenarios), 1, len(ids)))
    rate_cols = [ids.index(f) for f in rate_factors]
    path[:, 0, rate_cols] = 75.0 * rng.standard_normal((n_scenarios, 1)) + 25.0 * rng.standard_normal((n_scenarios, len(rate_cols)))
    eq = 0.15 * rng.standard_normal(n_scenarios)
    fx = 0.05 * rng.standard_normal(n_scenarios)
    vix = 6.0 * rng.standard_normal(n_scenarios)
    for j, f in enumerate(ids):
        if f.startswith("equity."):
            path[:, 0, j] = eq
        elif f.startswith("fx."):
            path[:, 0, j] = fx
        elif f == VIX_FACTOR:
            path[:, 0, j] = vix
    return path


def _engine_shocks(path: FloatArray, ids: Sequence[str], factor_ids: Sequence[str]) -> FloatArray:
    """``[scenarios, len(factor_ids)]`` last-quarter shocks in the engine's factor order; a factor the
    catalog lacks (a book's optional factor, e.g. a foreign curve's) stays at zero shock."""
    col = {f: i for i, f in enumerate(ids)}
    X = np.zeros((path.shape[0], len(factor_ids)))
    for j, f in enumerate(factor_ids):
        if f in col:
            X[:, j] = path[:, -1, col[f]]
    return X


def quantlib_request(frame: pd.DataFrame, path: FloatArray, ids: list[str], curve: ZeroCurve | None = None) -> dict[str, Any]:
    """All-pairs oracle request on ``curve`` (default the Treasury's); the common equity / FX / VIX
    shock of each scenario added to it."""
    curve = curve or treasury_zero_curve()
    req = oracle_request(frame, curve, path, ids, mode="cross")
    col = {f: i for i, f in enumerate(ids)}
    eq = next(i for f, i in col.items() if f.startswith("equity."))
    fx = next(i for f, i in col.items() if f.startswith("fx."))
    for j, sc in enumerate(req["scenarios"]):
        sc["equity"] = float(path[j, -1, eq])
        sc["fx"] = float(path[j, -1, fx])
        sc["vix"] = float(path[j, -1, col[VIX_FACTOR]])
    return req


# ----------------------------------------------------------------------------- the benchmark
def run_engine_benchmark(
    n_positions: int = 20_000,
    n_scenarios: int = 500,
    *,
    seed: int = 0,
    quantlib_scenarios: int = 10,
    threads: int = 1,
    book: str = "random",
    repeats: int = 5,
    quantlib_positions: int | None = None,
    matmul_n: int = 2048,
    fixed_cost_positions: int | None = 2_000,
    fixed_cost_scenarios: int = 200,
) -> dict[str, Any]:
    """Engine vs QuantLib on the same instruments and shocks, in one run.

    Parameters
    ----------
    n_positions, n_scenarios
        Book size (market positions, see :func:`benchmark_book`) and scenarios for the engine.
    seed
        Book and shock seed.
    quantlib_scenarios
        The first ``quantlib_scenarios`` scenarios are priced by QuantLib too (its loop is slow).
    threads
        torch intra-op threads of the engine (1: per core, like the single-threaded QuantLib loop).
    book
        ``"random"`` or ``"sample"`` (see :func:`benchmark_book`).
    repeats
        Timed engine passes per dtype (median reported; one warm-up pass before, excluded).
    quantlib_positions
        Price only this many positions (evenly spaced) in QuantLib; ``None``: all.
    matmul_n
        Size of the reference matmul.
    fixed_cost_positions, fixed_cost_scenarios
        Size of the fixed-cost breakdown (:func:`fixed_cost_breakdown`, run first); ``None``: skip it.

    Returns
    -------
    dict
        :data:`REPORT_KEYS` plus ``speedup_vs_quantlib_fp32``, ``per_position_scenarios``,
        ``per_position_vs_segment_max_rel_diff``, ``fixed_costs``,
        ``max_rel_err_fp32_vs_quantlib``, ``fp32_max_rel_err_total``, ``gflops``, ``dtype``,
        ``threads``, ``n_positions``, ``n_scenarios``, ``instrument_counts``, ``timings`` and
        ``machine``. Rates are per second, memory in MiB.
    """
    t_start = time.perf_counter()
    rss_start = current_rss_mb()
    fixed = None
    if fixed_cost_positions:
        fixed = fixed_cost_breakdown(int(fixed_cost_positions), int(fixed_cost_scenarios), book=book, seed=seed,
                                     threads=threads, repeats=repeats)
    ids, _ = catalog_factors()
    frame = benchmark_book(n_positions, book=book, seed=seed)
    path = benchmark_shocks(ids, n_scenarios, seed=seed)
    curve = treasury_zero_curve()
    timings: dict[str, Any] = {}

    t = time.perf_counter()
    prepared = prepare_book(frame, curve)
    timings["prepare_s"] = time.perf_counter() - t
    extra = [f for f in prepared.factor_ids if f not in ids]  # a book's optional factors: zero shock
    if extra:
        ids = [*ids, *extra]
        path = np.concatenate([path, np.zeros((path.shape[0], path.shape[1], len(extra)))], axis=2)
    X = _engine_shocks(path, ids, prepared.factor_ids)
    n_rev = len(frame) * n_scenarios

    # per-position pass: at most PER_POSITION_MAX_ELEMENTS values written (its output is [scenarios, positions])
    n_pp = int(max(1, min(n_scenarios, PER_POSITION_MAX_ELEMENTS // max(len(frame), 1))))
    X_pp = X[:n_pp]

    per_s: dict[str, float] = {}
    per_pos_s: dict[str, float] = {}
    totals: dict[str, FloatArray] = {}
    pos_totals: dict[str, FloatArray] = {}
    with _torch_threads(threads):
        for name, dt in (("fp64", torch.float64), ("fp32", torch.float32)):
            t = time.perf_counter()
            tb = TorchBook(prepared, dt, "cpu")
            base = _base_vector(tb)
            timings[f"torchbook_{name}_s"] = time.perf_counter() - t
            chunk = auto_chunk_size(prepared, n_scenarios, dt)
            pos_chunk = auto_chunk_size(prepared, n_pp, dt, per_position=True)
            result: dict[str, FloatArray] = {}

            def run(tb: TorchBook = tb, base: torch.Tensor = base, chunk: int = chunk,
                    result: dict[str, FloatArray] = result) -> None:
                result["seg"] = market_pnl(tb, X, chunk, base=base)[0]

            def run_pos(tb: TorchBook = tb, base: torch.Tensor = base, chunk: int = pos_chunk,
                        result: dict[str, FloatArray] = result) -> None:
                result["pos"] = market_pnl(tb, X_pp, chunk, per_position=True, base=base)[1]  # type: ignore[assignment]

            warm, ts = _timed(run, repeats)
            totals[name] = result["seg"].sum(axis=1)
            timings[f"engine_{name}"] = {"warmup_s": warm, "median_s": statistics.median(ts), "repeats_s": ts,
                                         "chunk_size": int(chunk)}
            per_s[name] = n_rev / statistics.median(ts)
            result.pop("seg")
            warm, ts = _timed(run_pos, repeats)
            pos_totals[name] = result.pop("pos").sum(axis=1)
            timings[f"engine_per_position_{name}"] = {"warmup_s": warm, "median_s": statistics.median(ts),
                                                      "repeats_s": ts, "chunk_size": int(pos_chunk)}
            per_pos_s[name] = len(frame) * n_pp / statistics.median(ts)
            del tb, base

    # QuantLib: same instruments (or an evenly spaced subset), the first scenarios
    n_ql_sc = max(1, min(int(quantlib_scenarios), n_scenarios))
    if quantlib_positions is not None and quantlib_positions < len(frame):
        take = np.unique(np.linspace(0, len(frame) - 1, int(quantlib_positions)).round().astype(np.int64))
        ql_frame = frame.iloc[take].reset_index(drop=True)
    else:
        ql_frame = frame
    ql_path = path[:n_ql_sc]
    t = time.perf_counter()
    ql = run_oracle(quantlib_request(ql_frame, ql_path, ids), timeout=3600)
    timings["quantlib_wall_s"] = time.perf_counter() - t
    timings["quantlib_loop_s"] = ql["seconds"]
    timings["quantlib_setup_s"] = ql["setup_seconds"]
    quantlib_per_s = len(ql_frame) * n_ql_sc / ql["seconds"]

    notional = ql_frame["notional"].to_numpy(dtype=np.float64)[None, :]
    errs = {}
    for name, dt in (("fp64", torch.float64), ("fp32", torch.float32)):
        with _torch_threads(threads):
            eng = engine_values(ql_frame, curve, ql_path, ids, pairs=False, dtype=dt)
        errs[name] = float(parity_error(eng, ql["npv"], notional).max())

    t = time.perf_counter()
    gflops = matmul_gflops(matmul_n, threads=threads)
    timings["matmul_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t_start

    scale = max(float(np.abs(totals["fp64"]).max()), 1.0)
    report: dict[str, Any] = {
        "engine_per_s_fp64": per_s["fp64"],
        "engine_per_s_fp32": per_s["fp32"],
        "quantlib_per_s": quantlib_per_s,
        "speedup_vs_quantlib": per_s["fp64"] / quantlib_per_s,
        "speedup_vs_quantlib_fp32": per_s["fp32"] / quantlib_per_s,
        "engine_per_position_per_s_fp64": per_pos_s["fp64"],
        "engine_per_position_per_s_fp32": per_pos_s["fp32"],
        "speedup_per_position_vs_quantlib": per_pos_s["fp64"] / quantlib_per_s,
        "speedup_per_position_vs_quantlib_fp32": per_pos_s["fp32"] / quantlib_per_s,
        "engine_segment_per_s_fp64": per_s["fp64"],
        "engine_segment_per_s_fp32": per_s["fp32"],
        "speedup_segment_vs_quantlib": per_s["fp64"] / quantlib_per_s,
        "speedup_segment_vs_quantlib_fp32": per_s["fp32"] / quantlib_per_s,
        "per_position_scenarios": n_pp,
        "per_position_vs_segment_max_rel_diff": float(
            np.abs(pos_totals["fp64"] - totals["fp64"][:n_pp]).max() / scale),
        "fixed_costs": fixed,
        "max_rel_err_vs_quantlib": errs["fp64"],
        "max_rel_err_fp32_vs_quantlib": errs["fp32"],
        "fp32_max_rel_err_total": float(np.abs(totals["fp32"] - totals["fp64"]).max() / scale),
        "peak_rss_mb": peak_rss_mb(),
        "start_rss_mb": rss_start,
        "gflops": gflops,
        "matmul_gflops_fp64": gflops["numpy_fp64"],
        "matmul_gflops_fp32": gflops["numpy_fp32"],
        "dtype": "float64 (engine_per_s_fp64, parity) and float32 (engine_per_s_fp32)",
        "threads": int(threads),
        "book": book,
        "n_positions": len(frame),
        "n_scenarios": int(n_scenarios),
        "quantlib_positions": len(ql_frame),
        "quantlib_scenarios": n_ql_sc,
        "instrument_counts": {str(k): int(v) for k, v in frame["instrument_type"].value_counts().sort_index().items()},
        "n_cash_flows": int(prepared.n_cash_flows),
        "n_grid_times": int(len(prepared.time_days)),
        "seed": int(seed),
        "timings": timings,
        "machine": _machine(),
    }
    return report


FIXED_COST_ITEMS: tuple[tuple[str, str], ...] = (
    ("curve_s", "base curve (treasury_zero_curve, 1st call)"),
    ("prepare_s", "book preparation (prepare_book)"),
    ("torchbook_s", "TorchBook construction"),
    ("base_s", "base values (_base_vector)"),
    ("aggregates_s", "fused aggregates (TorchBook._aggregates)"),
    ("first_pass_extra_s", "first pass, extra over a steady one"),
)
"""One-off costs of a first revaluation (``dtypes.*`` holds the dtype-dependent ones), in report order."""


def fixed_cost_breakdown(n_positions: int = 2_000, n_scenarios: int = 200, *, book: str = "random", seed: int = 0,
                         threads: int = 1, repeats: int = 5) -> dict[str, Any]:
    """Where the time of a small revaluation goes: one-off costs against per-chunk and per-scenario costs.

    Measured on the benchmark's book and shocks (:func:`benchmark_book`, :func:`benchmark_shocks`)
    at ``n_positions x n_scenarios``, in the order :func:`~risk_dagster.engine.revalue.revalue`
    pays them: the base curve (cached after its first call in a process), :func:`prepare_book`,
    then per dtype a fresh :class:`TorchBook`, the zero-shock values (:func:`_base_vector`), the
    fused aggregates (:meth:`TorchBook._aggregates`, built on the first segment pass) and the
    first pass over the scenarios (its time beyond a steady pass's median is the warm-up).
    For each path (``segment``: fused aggregation; ``per_position``: ``market_pnl(per_position=True)``)
    a 1-scenario chunk and a full chunk of ``k`` scenarios are timed (median of repeats): the
    marginal cost of a scenario is ``(t_k - t_1) / (k - 1)`` and the overhead of a chunk
    ``t_1`` minus that marginal cost (``t_1``, ``t_k``: the fastest of the repeats, the least
    disturbed on a shared machine), and ``modelled_pass_s = chunks x overhead + scenarios x
    marginal`` is set beside the measured pass. Run it first in a process to see torch's
    first-call costs.

    Returns
    -------
    dict
        ``n_positions``, ``n_scenarios``, ``threads``, ``curve_s``, ``prepare_s`` and ``dtypes``:
        per ``fp64`` / ``fp32`` ``torchbook_s``, ``base_s``, ``aggregates_s``, and per path
        ``chunk_size``, ``n_chunks``, ``first_pass_s``, ``steady_pass_s``, ``first_pass_extra_s``,
        ``chunk_1_s``, ``chunk_overhead_s``, ``marginal_per_scenario_s``, ``modelled_pass_s``; ``first_run_s`` (the
        one-off costs plus the first segment pass, fp64), ``shares`` of it and ``dominant``.
    """
    t = time.perf_counter()
    curve = treasury_zero_curve()
    curve_s = time.perf_counter() - t
    ids, _ = catalog_factors()
    frame = benchmark_book(n_positions, book=book, seed=seed)
    path = benchmark_shocks(ids, n_scenarios, seed=seed)
    t = time.perf_counter()
    prepared = prepare_book(frame, curve)
    prepare_s = time.perf_counter() - t
    X = _engine_shocks(path, ids, prepared.factor_ids)
    n_sc = X.shape[0]
    out: dict[str, Any] = {"n_positions": len(frame), "n_scenarios": n_sc, "threads": int(threads), "book": book,
                           "curve_s": curve_s, "prepare_s": prepare_s, "dtypes": {}}
    reps_small = max(3 * repeats, 15)
    with _torch_threads(threads):
        for name, dt in (("fp64", torch.float64), ("fp32", torch.float32)):
            d: dict[str, Any] = {}
            t = time.perf_counter()
            tb = TorchBook(prepared, dt, "cpu")
            d["torchbook_s"] = time.perf_counter() - t
            t = time.perf_counter()
            base = _base_vector(tb)
            d["base_s"] = time.perf_counter() - t
            t = time.perf_counter()
            tb._aggregates()
            d["aggregates_s"] = time.perf_counter() - t
            paths = (("segment", auto_chunk_size(prepared, n_sc, dt), False),
                     ("per_position", auto_chunk_size(prepared, n_sc, dt, per_position=True), True))
            for label, chunk, per_position in paths:

                def run(x: FloatArray, ch: int, tb: TorchBook = tb, base: torch.Tensor = base,
                        per_position: bool = per_position) -> None:
                    market_pnl(tb, x, ch, per_position=per_position, base=base)

                first, steady = _timed(lambda run=run, chunk=chunk: run(X, chunk), repeats)
                k = int(min(chunk, n_sc))
                _, t1 = _timed(lambda run=run: run(X[:1], 1), reps_small)
                _, tk = _timed(lambda run=run, k=k: run(X[:k], k), max(repeats, 5))
                c1, ck = min(t1), min(tk)  # the least disturbed run: the machine may be shared
                marginal = max((ck - c1) / (k - 1), 0.0) if k > 1 else 0.0
                overhead = max(c1 - marginal, 0.0)
                n_chunks = int(-(-n_sc // chunk))
                d[label] = {
                    "chunk_size": int(chunk), "n_chunks": n_chunks, "first_pass_s": first,
                    "steady_pass_s": statistics.median(steady), "steady_pass_min_s": min(steady),
                    "first_pass_extra_s": max(first - statistics.median(steady), 0.0),
                    "chunk_1_s": c1, "chunk_k_s": ck, "chunk_k": k,
                    "chunk_overhead_s": overhead, "marginal_per_scenario_s": marginal,
                    "modelled_pass_s": n_chunks * overhead + n_sc * marginal,
                }  # fmt: skip
            d["first_pass_extra_s"] = d["segment"]["first_pass_extra_s"]
            out["dtypes"][name] = d
            del tb, base
    d64 = out["dtypes"]["fp64"]
    parts = {"curve_s": curve_s, "prepare_s": prepare_s, **{k: d64[k] for k, _ in FIXED_COST_ITEMS[2:]},
             "steady_pass_s": d64["segment"]["steady_pass_s"]}
    total = sum(parts.values())
    out["first_run_s"] = total
    out["shares"] = {k: v / total for k, v in parts.items()} if total > 0 else {}
    fixed_only = {k: v for k, v in parts.items() if k != "steady_pass_s"}
    out["dominant"] = max(fixed_only, key=fixed_only.__getitem__)
    return out


def _machine() -> dict[str, Any]:
    from importlib import metadata

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "unknown"

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "numpy": np.__version__,
            "quantlib": version("QuantLib") if version("QuantLib") != "unknown" else version("QuantLib-Python"),
            "python": platform.python_version()}


# ----------------------------------------------------------------------------- memory check
def memory_check(n_positions: int = 1_000_000, n_scenarios: int = 1_000, budget_gb: float = 8.0, *,
                 seed: int = 0, memory_budget_mb: float = 1024.0, dtype: str = "float64") -> dict[str, Any]:
    """Revalue the ``n_positions`` sample book (loans included) under ``n_scenarios`` scenarios of one quarter.

    The whole engine path (:func:`revalue`, chunked by ``memory_budget_mb``) on CPU. Shocks: every
    catalog factor, independent normals (40 bp, 0.08 log return, 4 points). Run in a fresh
    process: ``peak_rss_mb`` is the process's lifetime peak (book generation included). ``seed``
    seeds the shocks; the book is the shipped sample book.

    Returns
    -------
    dict
        ``peak_rss_mb``, ``within_budget``, ``wall_s`` (generation + revaluation),
        ``generate_s``, ``revalue_s``, the engine's phase timings and chunk size,
        ``revaluations_per_s`` (pricing phase), sizes.
    """
    from risk_dagster.engine.precision import PrecisionPolicy
    from risk_dagster.portfolio.sample_book import generate_sample_book

    t0 = time.perf_counter()
    book = generate_sample_book(int(n_positions))  # the shipped sample book
    t1 = time.perf_counter()
    rss_book = current_rss_mb()
    ids, kinds = catalog_factors()
    scale = np.array([40.0 if k == "absolute_bp" else 0.08 if k == "log_return" else 4.0 for k in kinds])
    shocks = np.random.default_rng([seed, 1000]).standard_normal((int(n_scenarios), 1, len(ids))) * scale
    ss = ShockSet(shocks, np.ones(len(ids)), ids, kinds, ["2026Q1"], "memory-check", "benchmark", "1", seed)
    t2 = time.perf_counter()
    res = revalue(book, ss, device="cpu", policy=PrecisionPolicy.from_names(dtype), memory_budget_mb=memory_budget_mb)
    t3 = time.perf_counter()
    peak = peak_rss_mb()
    return {
        "n_positions": int(n_positions),
        "n_scenarios": int(n_scenarios),
        "dtype": dtype,
        "memory_budget_mb": float(memory_budget_mb),
        "peak_rss_mb": peak,
        "rss_after_book_mb": rss_book,
        "budget_gb": float(budget_gb),
        "within_budget": bool(peak <= budget_gb * 1024.0),
        "wall_s": (t1 - t0) + (t3 - t2),
        "generate_s": t1 - t0,
        "revalue_s": t3 - t2,
        "engine_seconds": res.metadata["seconds"],
        "chunk_size": res.metadata["chunk_size"],
        "n_cash_flows": res.metadata["n_cash_flows"],
        "n_grid_times": res.metadata["n_grid_times"],
        "n_blocks": res.metadata["n_blocks"],
        "revaluations_per_s": res.metadata["revaluations_per_s"],
        "total_loss_mean": float(res.total_loss.mean()),
        "threads": torch.get_num_threads(),
        "machine": _machine(),
    }


# ----------------------------------------------------------------------------- CLI
def format_table(report: dict[str, Any]) -> str:
    """A readable table of a :func:`run_engine_benchmark` report."""
    g = report["gflops"]

    def rate(x: float) -> str:
        return f"{x / 1e6:,.2f}M/s" if x >= 1e6 else f"{x / 1e3:,.1f}k/s" if x >= 1e3 else f"{x:,.0f}/s"

    q = report["quantlib_per_s"]
    pp = report["per_position_scenarios"]
    pp_note = "" if pp == report["n_scenarios"] else f"; first {pp:,} scenarios"
    rows = [
        ("book", f"{report['book']}: {report['n_positions']:,} positions x {report['n_scenarios']:,} scenarios"),
        ("QuantLib loop", f"{rate(q)} per-instrument NPVs ({report['quantlib_positions']:,} x "
                          f"{report['quantlib_scenarios']} scenarios, 1 thread): the reference of both ratios"),
        ("engine per position", f"fp64 {rate(report['engine_per_position_per_s_fp64'])} "
                                f"({report['speedup_per_position_vs_quantlib']:,.0f}x), fp32 "
                                f"{rate(report['engine_per_position_per_s_fp32'])} "
                                f"({report['speedup_per_position_vs_quantlib_fp32']:,.0f}x): every position's value, "
                                f"like for like with QuantLib ({report['threads']} thread(s){pp_note})"),
        ("engine segment P&L", f"fp64 {rate(report['engine_segment_per_s_fp64'])} "
                               f"({report['speedup_segment_vs_quantlib']:,.0f}x), fp32 "
                               f"{rate(report['engine_segment_per_s_fp32'])} "
                               f"({report['speedup_segment_vs_quantlib_fp32']:,.0f}x): fused aggregation, segment "
                               f"totals only ({report['threads']} thread(s))"),
        ("per position = segment", f"totals agree to {report['per_position_vs_segment_max_rel_diff']:.1e} (fp64, "
                                   "relative to the largest total)"),
        ("parity fp64 / fp32", f"{report['max_rel_err_vs_quantlib']:.2e} / {report['max_rel_err_fp32_vs_quantlib']:.2e}"
                               " (per-position values vs QuantLib)"),
        ("matmul GFLOP/s", f"numpy fp64 {g['numpy_fp64']:.1f}, fp32 {g['numpy_fp32']:.1f}; "
                           f"torch({report['threads']}t) fp64 {g['torch_fp64']:.1f}, fp32 {g['torch_fp32']:.1f}"),
        ("peak RSS", f"{report['peak_rss_mb']:,.0f} MiB (this process; QuantLib runs in a child)"),
        ("wall", f"{report['timings']['total_s']:.1f} s"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    text = "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
    if report.get("fixed_costs"):
        text += "\n" + format_fixed_costs(report["fixed_costs"])
    return text


def format_fixed_costs(fc: dict[str, Any]) -> str:
    """The lines of a :func:`fixed_cost_breakdown`: one-off costs, then per-chunk and per-scenario costs."""
    d64, d32 = fc["dtypes"]["fp64"], fc["dtypes"]["fp32"]
    total = fc["first_run_s"]

    def ms(x: float) -> str:
        return f"{x * 1e3:9.2f} ms"

    def us(x: float) -> str:
        return f"{x * 1e6:9.1f} us"

    def share(key: str) -> str:
        return f"{100 * fc['shares'].get(key, 0.0):4.0f}%"

    label_w = max(len(text) for _, text in FIXED_COST_ITEMS) + 2
    lines = [f"fixed costs at {fc['n_positions']:,} positions x {fc['n_scenarios']:,} scenarios ({fc['book']} book, "
             f"{fc['threads']} thread(s)); a first fp64 revaluation takes {total * 1e3:,.1f} ms:",
             f"  {'':<{label_w}}{'fp64':>12} {'share':>5}  {'fp32':>12}"]
    for key, text in FIXED_COST_ITEMS:
        v64 = fc[key] if key in fc else d64[key]
        v32 = "" if key in fc else ms(d32[key])
        lines.append(f"  {text:<{label_w}}{ms(v64)} {share(key)}  {v32:>12}")
    seg = d64["segment"]
    lines.append(f"  {'steady segment pass':<{label_w}}{ms(seg['steady_pass_s'])} {share('steady_pass_s')}  "
                 f"{ms(d32['segment']['steady_pass_s'])}   ({seg['n_chunks']} chunk(s) of {seg['chunk_size']})")
    lines.append("  per pass, by path:")
    for label, key in (("segment P&L", "segment"), ("per position", "per_position")):
        a, b = d64[key], d32[key]
        lines.append(f"    {label + ', chunk overhead':<{label_w - 2}}{ms(a['chunk_overhead_s'])}        "
                     f"{ms(b['chunk_overhead_s'])}   (a 1-scenario chunk: {a['chunk_1_s'] * 1e3:.2f} ms fp64)")
        lines.append(f"    {label + ', per scenario':<{label_w - 2}}{us(a['marginal_per_scenario_s'])}        "
                     f"{us(b['marginal_per_scenario_s'])}   (pass = {a['n_chunks']} chunk(s) of {a['chunk_size']}: "
                     f"modelled {a['modelled_pass_s'] * 1e3:.1f} ms, measured {a['steady_pass_min_s'] * 1e3:.1f}"
                     f"-{a['steady_pass_s'] * 1e3:.1f} ms fp64)")
    dom = fc["dominant"]
    name = dict(FIXED_COST_ITEMS)[dom]
    value = fc[dom] if dom in fc else d64[dom]
    lines.append(f"  dominant fixed cost: {name}, {value * 1e3:,.1f} ms = {100 * fc['shares'][dom]:.0f}% of the first "
                 f"revaluation, {value / max(seg['steady_pass_s'], 1e-12):,.1f}x a steady segment pass; chunk overhead "
                 f"x chunks = {seg['chunk_overhead_s'] * seg['n_chunks'] * 1e3:,.2f} ms of that pass")
    return "\n".join(lines)


def bench_command(positions: int = 20_000, scenarios: int = 500, json: bool = False, **kwargs: Any) -> str:  # noqa: A002
    """Text for ``risk-dagster bench engine``: one JSON object (``json=True``) or a table.

    ``kwargs`` go to :func:`run_engine_benchmark` (``book``, ``threads``, ``quantlib_scenarios``, ...).
    """
    report = run_engine_benchmark(int(positions), int(scenarios), **kwargs)
    if json:
        return _json.dumps(report, sort_keys=True, default=float)
    return format_table(report)
