"""Engine benchmark: throughput vs the QuantLib loop, hardware reference, memory, parity, in one run.

:func:`run_engine_benchmark` measures, on the *same* instruments and the *same* shocks:

- the engine's throughput (position-scenario revaluations per second) in float64 and float32:
  the pricing pass of :func:`~risk_dagster.engine.revalue.revalue` (:func:`market_pnl`: every
  position valued under every scenario, P&L aggregated per segment in float64), chunked as the
  engine chunks, on ``threads`` intra-op threads. Book preparation and the first (warm-up) pass
  are timed and reported but excluded; the figure is the median of ``repeats`` passes;
- the QuantLib loop's throughput: in a child process (QuantLib never enters this process), one
  ``ZeroCurve`` built and relinked per scenario, then ``NPV()`` of every instrument (instrument
  set-up excluded, as the engine's preparation is); single-threaded, as QuantLib is;
- their ratio ``speedup_vs_quantlib`` (float64 engine; ``speedup_vs_quantlib_fp32`` too);
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

from risk_dagster.engine.curves import RATE_FACTORS, treasury_zero_curve
from risk_dagster.engine.kernels import VIX_FACTOR, TorchBook, prepare_book, random_book
from risk_dagster.engine.revalue import _base_vector, auto_chunk_size, engine_values, market_pnl, oracle_request, revalue, run_oracle
from risk_dagster.translate.shockset import ShockSet

__all__ = [
    "MARKET_TYPES",
    "REPORT_KEYS",
    "bench_command",
    "benchmark_book",
    "benchmark_shocks",
    "matmul_gflops",
    "memory_check",
    "parity_error",
    "peak_rss_mb",
    "run_engine_benchmark",
]

MARKET_TYPES: tuple[str, ...] = ("fixed_bond", "frn", "irs", "equity", "fx_forward", "equity_option")
"""Instrument types both the engine and the QuantLib loop price."""

REPORT_KEYS: tuple[str, ...] = (
    "engine_per_s_fp64", "engine_per_s_fp32", "quantlib_per_s", "speedup_vs_quantlib", "max_rel_err_vs_quantlib",
    "peak_rss_mb",
)  # fmt: skip
"""Keys ``--json`` always carries (the issue's contract)."""

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


def _catalog() -> tuple[list[str], list[str]]:
    from risk_dagster.market.catalog import load_risk_factor_catalog

    cat = load_risk_factor_catalog()
    return [f.id for f in cat], [f.shock_type for f in cat]


def benchmark_shocks(factor_ids: Sequence[str], n_scenarios: int, *, seed: int = 0) -> FloatArray:
    """``[n_scenarios, 1, factors]`` shocks both the engine and the QuantLib all-pairs loop apply.

    Rates: a parallel move (sd 75 bp) plus a per-knot part (sd 25 bp); equities: one common log
    return (sd 0.15); FX: one common log return (sd 0.05); VIX: sd 6 points; all else zero.
    """
    rng = np.random.default_rng([seed, 9001])
    ids = list(factor_ids)
    path = np.zeros((int(n_scenarios), 1, len(ids)))
    rate_cols = [ids.index(f) for f in RATE_FACTORS]
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


def _quantlib_request(frame: pd.DataFrame, path: FloatArray, ids: list[str]) -> dict[str, Any]:
    """All-pairs oracle request; the common equity / FX / VIX shock of each scenario added to it."""
    curve = treasury_zero_curve()
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

    Returns
    -------
    dict
        :data:`REPORT_KEYS` plus ``engine_per_s_*``, ``speedup_vs_quantlib_fp32``,
        ``max_rel_err_fp32_vs_quantlib``, ``fp32_max_rel_err_total``, ``gflops``, ``dtype``,
        ``threads``, ``n_positions``, ``n_scenarios``, ``instrument_counts``, ``timings`` and
        ``machine``. Rates are per second, memory in MiB.
    """
    t_start = time.perf_counter()
    rss_start = current_rss_mb()
    ids, _ = _catalog()
    frame = benchmark_book(n_positions, book=book, seed=seed)
    path = benchmark_shocks(ids, n_scenarios, seed=seed)
    curve = treasury_zero_curve()
    timings: dict[str, Any] = {}

    t = time.perf_counter()
    prepared = prepare_book(frame, curve)
    timings["prepare_s"] = time.perf_counter() - t
    cols = [ids.index(f) for f in prepared.factor_ids]
    X = np.ascontiguousarray(path[:, -1, cols])
    n_rev = len(frame) * n_scenarios

    per_s: dict[str, float] = {}
    totals: dict[str, FloatArray] = {}
    with _torch_threads(threads):
        for name, dt in (("fp64", torch.float64), ("fp32", torch.float32)):
            t = time.perf_counter()
            tb = TorchBook(prepared, dt, "cpu")
            base = _base_vector(tb)
            timings[f"torchbook_{name}_s"] = time.perf_counter() - t
            chunk = auto_chunk_size(prepared, n_scenarios, dt)
            result: dict[str, FloatArray] = {}

            def run(tb: TorchBook = tb, base: torch.Tensor = base, chunk: int = chunk,
                    result: dict[str, FloatArray] = result) -> None:
                result["seg"] = market_pnl(tb, X, chunk, base=base)[0]

            warm, ts = _timed(run, repeats)
            totals[name] = result["seg"].sum(axis=1)
            timings[f"engine_{name}"] = {"warmup_s": warm, "median_s": statistics.median(ts), "repeats_s": ts,
                                         "chunk_size": int(chunk)}
            per_s[name] = n_rev / statistics.median(ts)
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
    ql = run_oracle(_quantlib_request(ql_frame, ql_path, ids), timeout=3600)
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
    ids, kinds = _catalog()
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
    rows = [
        ("book", f"{report['book']}: {report['n_positions']:,} positions x {report['n_scenarios']:,} scenarios"),
        ("engine fp64", f"{report['engine_per_s_fp64']:,.0f} revaluations/s ({report['threads']} thread(s))"),
        ("engine fp32", f"{report['engine_per_s_fp32']:,.0f} revaluations/s"),
        ("QuantLib loop", f"{report['quantlib_per_s']:,.0f} revaluations/s "
                          f"({report['quantlib_positions']:,} x {report['quantlib_scenarios']} scenarios)"),
        ("speedup fp64 / fp32", f"{report['speedup_vs_quantlib']:,.0f}x / {report['speedup_vs_quantlib_fp32']:,.0f}x"),
        ("parity fp64 / fp32", f"{report['max_rel_err_vs_quantlib']:.2e} / {report['max_rel_err_fp32_vs_quantlib']:.2e}"),
        ("matmul GFLOP/s", f"numpy fp64 {g['numpy_fp64']:.1f}, fp32 {g['numpy_fp32']:.1f}; "
                           f"torch({report['threads']}t) fp64 {g['torch_fp64']:.1f}, fp32 {g['torch_fp32']:.1f}"),
        ("peak RSS", f"{report['peak_rss_mb']:,.0f} MiB (this process; QuantLib runs in a child)"),
        ("wall", f"{report['timings']['total_s']:.1f} s"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def bench_command(positions: int = 20_000, scenarios: int = 500, json: bool = False, **kwargs: Any) -> str:  # noqa: A002
    """Text for ``risk-dagster bench engine``: one JSON object (``json=True``) or a table.

    ``kwargs`` go to :func:`run_engine_benchmark` (``book``, ``threads``, ``quantlib_scenarios``, ...).
    """
    report = run_engine_benchmark(int(positions), int(scenarios), **kwargs)
    if json:
        return _json.dumps(report, sort_keys=True, default=float)
    return format_table(report)
