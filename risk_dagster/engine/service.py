"""Revalue a book under a ShockSet with the configured backend, and ``risk-dagster stress``.

The one place where engine settings (device, precision, backend, memory budget) turn into a
call of :func:`~risk_dagster.engine.distributed.revalue_with_backend`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from risk_dagster.engine.distributed import revalue_with_backend
from risk_dagster.engine.losses import summarize_losses
from risk_dagster.engine.precision import PrecisionPolicy
from risk_dagster.engine.revalue import StressResult
from risk_dagster.errors import InputFileError
from risk_dagster.translate.shockset import ShockSet

PRECISIONS = {"fp64": "float64", "fp32": "float32"}
BACKENDS = ("local", "dask")

#: Output format of ``risk-dagster stress``, told by the extension of ``--out``.
OUTPUT_FORMATS: dict[str, str] = {
    ".parquet": "parquet table sample, quarter, segment, loss",
    ".csv": "CSV table sample, quarter, segment, loss",
    ".npz": "NumPy arrays loss [samples, quarters, segments], segments, quarters",
}

#: Fields :meth:`ShockSet.load_npz` reads (``levels`` is written too, but recomputed on reading).
SHOCKSET_FIELDS: tuple[str, ...] = (
    "shocks", "jump_off", "factor_ids", "shock_types", "quarters",
    "scenario_id", "model_id", "model_version", "seed", "metadata",
)  # fmt: skip

CURRENCY = "USD"
SIGN_CONVENTION = "loss positive, gain negative"
#: A quantile ``q`` of ``n`` samples rests on ``n * (1 - q)`` tail samples; fewer than this is flagged.
MIN_TAIL_SAMPLES = 10
#: The summary's quantile statistics and their level.
TAIL_STATISTICS: dict[str, float] = {"var_95": 0.95, "var_99": 0.99, "es_99": 0.99}


class EngineConfig(Protocol):
    """What the engine needs from its settings (the Dagster ``EngineSettings`` resource fits)."""

    device: str
    precision: str
    backend: str
    dask_address: str
    memory_budget_mb: float


def engine_policy(precision: str) -> PrecisionPolicy:
    """Pricing in fp64 (default) or fp32; aggregates always fp64."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {sorted(PRECISIONS)}, not {precision!r}")
    return PrecisionPolicy(pricing_dtype=PRECISIONS[precision])


def revalue_book(
    positions: pd.DataFrame,
    shocks: ShockSet,
    settings: EngineConfig,
    quarter_index: int | list[int] | None = None,
    age_book: bool = True,
) -> StressResult:
    """The chosen quarters (default every one) of every sample, on the configured backend.

    ``age_book=False``: the jump-off book under each quarter's shocks (instantaneous).
    """
    return revalue_with_backend(
        positions,
        shocks,
        backend=settings.backend,  # type: ignore[arg-type]
        address=settings.dask_address or None,
        device=settings.device if settings.backend == "local" else "cpu",
        quarter_index=quarter_index,
        policy=engine_policy(settings.precision),
        memory_budget_mb=settings.memory_budget_mb,
        age_book=age_book,
    )


class _Settings:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


def output_format(out: str | Path) -> str:
    """The format ``risk-dagster stress`` writes to ``out`` (``parquet``, ``csv`` or ``npz``), told by its
    extension; any other extension is an :class:`InputFileError` naming the file."""
    suffix = Path(out).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        accepted = "; ".join(f"{ext} ({what})" for ext, what in OUTPUT_FORMATS.items())
        raise InputFileError(
            out, "unsupported_extension",
            f"the output format is told by the extension, and {suffix or 'no extension'!r} is none of: {accepted}",
        )  # fmt: skip
    return suffix[1:]


def load_shockset(path: str | Path) -> ShockSet:
    """:meth:`ShockSet.load_npz` with every failure an :class:`InputFileError` naming the file.

    A missing file, one that is not a NumPy ``.npz`` archive, one that lacks a field of
    :data:`SHOCKSET_FIELDS`, one whose arrays do not fit together, and one without samples.
    """
    import zipfile

    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "missing_file", "no such ShockSet file (write one with `risk-dagster translate`)")
    try:
        data = np.load(p, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):  # a bare .npy array
            raise ValueError("a single .npy array, not an archive of named arrays")
        with data:
            fields = set(data.files)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise InputFileError(p, "unreadable_npz", f"not a NumPy .npz archive of a ShockSet: {_one_line(exc)}") from exc
    missing = [f for f in SHOCKSET_FIELDS if f not in fields]
    if missing:
        raise InputFileError(
            p, "missing_field",
            f"a ShockSet .npz carries {', '.join(SHOCKSET_FIELDS)}; this one lacks {', '.join(missing)}",
        )  # fmt: skip
    try:
        shockset = ShockSet.load_npz(p)
    except Exception as exc:  # a corrupt member (zlib, EOF), a bad shape or dtype, bad metadata JSON
        raise InputFileError(p, "invalid_shockset", f"{type(exc).__name__}: {_one_line(exc)}") from exc
    if shockset.n_samples == 0 or not shockset.quarters:
        raise InputFileError(p, "empty_shockset", f"shocks of shape {list(shockset.shocks.shape)}: no samples or quarters")
    return shockset


def tail_counts(n_samples: int) -> dict[str, int]:
    """Samples beyond each quantile statistic of the summary: ``floor(n * (1 - q))``."""
    return {key: math.floor(n_samples * (1.0 - q) + 1e-9) for key, q in TAIL_STATISTICS.items()}


def tail_warning(n_samples: int) -> str | None:
    """One line when a quantile statistic rests on fewer than :data:`MIN_TAIL_SAMPLES` tail samples, else ``None``.

    The rule: a quantile ``q`` of ``n`` samples is flagged when ``n * (1 - q) < 10``, so the 99% VaR
    and ES need at least 1,000 samples and the 95% VaR 200.
    """
    counts = tail_counts(n_samples)
    levels = sorted({q for key, q in TAIL_STATISTICS.items() if counts[key] < MIN_TAIL_SAMPLES}, reverse=True)
    if not levels:
        return None
    names = {0.99: "99% VaR and ES", 0.95: "95% VaR"}
    tails = [math.floor(n_samples * (1 - q) + 1e-9) for q in levels]
    rest = [f"{names.get(levels[0], f'{levels[0]:.0%} quantile')} rest on {tails[0]:,} tail sample(s)"]
    rest += [f"{names.get(q, f'{q:.0%} quantile')} on {t:,}" for q, t in zip(levels[1:], tails[1:], strict=True)]
    needs = [f"{q:.0%} needs at least {math.ceil(MIN_TAIL_SAMPLES / (1 - q) - 1e-9):,} samples" for q in levels]
    return (f"few samples: the {', '.join(rest)} (of {n_samples:,} samples); a quantile q is flagged when its "
            f"tail count n * (1 - q) < {MIN_TAIL_SAMPLES}, so {', '.join(needs)}; treat these figures as indicative")


def write_losses(result: StressResult, out: str | Path) -> Path:
    """Losses (positive = loss, USD) to ``out`` in the format its extension names (:func:`output_format`)."""
    from risk_dagster.storage import atomic_write, write_npz, write_parquet

    target = Path(out)
    kind = output_format(target)
    if kind == "npz":
        return write_npz(target, loss=result.loss, segments=np.asarray(result.segments, dtype=str),
                         quarters=np.asarray(result.quarters, dtype=str))
    if kind == "csv":
        frame = result.loss_frame()
        return atomic_write(target, lambda tmp: frame.to_csv(tmp, index=False))
    return write_parquet(target, result.loss_frame())


def stress_command(
    portfolio: str | Path,
    shocks: str | Path,
    out: str | Path,
    *,
    device: str = "auto",
    precision: str = "fp64",
    backend: str = "local",
    dask_address: str = "",
) -> dict[str, Any]:
    """``risk-dagster stress``: losses per sample, quarter and segment to ``out``.

    ``out`` ending in ``.parquet`` or ``.csv`` gets the tidy table ``sample, quarter, segment, loss``;
    ``.npz`` gets ``loss [samples, quarters, segments]`` with ``segments`` and ``quarters``; any
    other extension is refused before anything is read or priced. Losses are in USD, positive
    for a loss.

    Returns
    -------
    dict
        The loss summary (mean, median, VaR, ES, max, by segment, by quarter; USD, loss positive)
        with ``currency``, ``sign_convention``, ``tail_samples`` and ``warnings``.

    Raises
    ------
    InputFileError
        Naming the file: an output extension none of :data:`OUTPUT_FORMATS`, a missing or invalid
        book, a ShockSet that is missing, unreadable, incomplete or lacks a factor the book needs.
    ValueError
        An unknown precision, device or backend.
    """
    from risk_dagster.engine.precision import resolve_device
    from risk_dagster.portfolio.positions import load_portfolio

    target = Path(out)
    out_kind = output_format(target)
    engine_policy(precision)
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    try:
        resolve_device(device)
    except RuntimeError as exc:  # cuda asked for where there is none
        raise ValueError(str(exc)) from None
    shockset = load_shockset(shocks)
    book = load_portfolio(Path(portfolio))
    settings = _Settings(device=device, precision=precision, backend=backend, dask_address=dask_address,
                         memory_budget_mb=1024.0)
    try:
        result = revalue_book(book, shockset, settings)  # type: ignore[arg-type]
    except KeyError as exc:  # shockset_matrix: a factor the book needs is not in the ShockSet
        text = _one_line(exc)
        rule = "missing_factor" if "factor" in text.lower() else "missing_key"
        raise InputFileError(shocks, rule, f"{text} (book {portfolio})") from None
    except ValueError as exc:  # e.g. shocked par yields with no zero curve: name the inputs
        if isinstance(exc, InputFileError):
            raise
        raise InputFileError(shocks, "revaluation_failed", f"{_one_line(exc)} (book {portfolio})") from None
    write_losses(result, target)
    summary = summarize_losses(result).to_json()
    warning = tail_warning(summary["n_samples"])
    warnings = [warning] if warning else []
    unshocked = [str(f) for f in result.metadata.get("unshocked_factors") or []]
    if unshocked:  # optional factors of the book (foreign curves) that the ShockSet does not carry
        warnings.append(f"{len(unshocked)} factor(s) the book depends on are not in {shocks} and stay at zero "
                        f"shock: {', '.join(unshocked[:8])}{' ...' if len(unshocked) > 8 else ''}")
    summary.update({
        "currency": CURRENCY,
        "sign_convention": SIGN_CONVENTION,
        "tail_samples": tail_counts(summary["n_samples"]),
        "warnings": warnings,
        "unshocked_factors": unshocked,
        "out": str(target),
        "out_format": out_kind,
        "positions": len(book),
        "scenario_id": shockset.scenario_id,
        "shocks": str(shocks),
        "pricing_dtype": result.metadata.get("pricing_dtype"),
        "device": result.metadata.get("device"),
    })  # fmt: skip
    return summary


def amount_scale(values: Any) -> tuple[float, str]:
    """Divisor and label for showing USD amounts: ``USD bn`` from 1e9, ``USD m`` from 1e6, else ``USD``."""
    finite = [abs(float(v)) for v in values if v is not None and math.isfinite(float(v))]
    top = max(finite, default=0.0)
    if top >= 1e9:
        return 1e9, f"{CURRENCY} bn"
    if top >= 1e6:
        return 1e6, f"{CURRENCY} m"
    return 1.0, CURRENCY


_SCALE_WORDS = {f"{CURRENCY} bn": " (billions of US dollars)", f"{CURRENCY} m": " (millions of US dollars)",
                CURRENCY: " (US dollars)"}


def format_stress_summary(summary: dict[str, Any]) -> str:
    """The summary of :func:`stress_command` as text, with the unit (scale shown) and the sign convention."""
    stats = [("mean", "mean"), ("median", "median"), ("VaR 95%", "var_95"), ("VaR 99%", "var_99"),
             ("ES 99%", "es_99"), ("max", "max")]
    divisor, unit = amount_scale([summary[k] for _, k in stats])
    decimals = 0 if divisor == 1.0 else 3

    def amount(v: float) -> str:
        return f"{v / divisor:>14,.{decimals}f}"

    by_segment, by_quarter = summary.get("by_segment", {}), summary.get("by_quarter", {})
    width = max([len(s) for s in (*by_segment, *by_quarter)] + [10])
    lines = [
        (f"stress: scenario {summary.get('scenario_id')}, {summary.get('positions', 0):,} positions, "
         f"{summary['n_samples']:,} samples x {len(by_quarter)} quarters ({summary.get('pricing_dtype')}, "
         f"{summary.get('device')})"),
        (f"amounts in {unit}{_SCALE_WORDS.get(unit, '')}; {SIGN_CONVENTION}; "
         "a sample's horizon loss is its worst quarter's total loss"),
        f"horizon loss ({unit}):",
    ]
    tails = summary.get("tail_samples", {})
    for label, key in stats:
        note = f"   ({tails[key]:,} tail samples)" if key in tails else ""
        lines.append(f"  {label:<{width}}{amount(summary[key])}{note}")
    lines.append(f"mean loss by segment at each sample's worst quarter ({unit}):")
    lines += [f"  {name:<{width}}{amount(v)}" for name, v in by_segment.items()]
    lines.append(f"mean total loss by quarter ({unit}):")
    lines += [f"  {name:<{width}}{amount(v)}" for name, v in by_quarter.items()]
    lines.append(f"losses written to {summary.get('out')} ({OUTPUT_FORMATS.get('.' + str(summary.get('out_format')), '')};"
                 f" loss in {CURRENCY}, unscaled, {SIGN_CONVENTION})")
    return "\n".join(lines)


def _one_line(error: BaseException) -> str:
    text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    return " ".join(str(text).split())
