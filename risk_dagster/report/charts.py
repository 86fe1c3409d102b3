"""Charts shared by Dagster metadata and the documentation pack (matplotlib, no display needed).

Every chart function returns the figure's bytes: PNG by default (Dagster metadata embeds PNG),
SVG with ``fmt="svg"`` (the pack inlines SVG: sharp at any zoom, text drawn as paths so no
label can inject markup; fixed hash salt and no date, so the same data give the same bytes).
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Mapping, Sequence
from typing import Literal

import matplotlib

matplotlib.use("Agg")  # headless: never needs a screen
matplotlib.rcParams["svg.hashsalt"] = "risk_dagster"  # deterministic SVG ids
matplotlib.rcParams["svg.fonttype"] = "path"  # text as outlines: no font lookups, nothing to inject
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from risk_dagster.translate.shockset import ShockSet  # noqa: E402

# The key factors the supervisor's scenario fixes: every sample follows the scenario's path.
FAN_FACTORS: tuple[tuple[str, str, str], ...] = (
    ("rates.ust.10y", "10-year Treasury yield", "percent"),
    ("credit.spread.bbb_10y", "BBB - 10y spread", "percent"),
    ("equity.total_market", "Equity total market", "index level"),
    ("vol.vix", "VIX", "index points"),
)
# Factors the scenario leaves open: the translators generate their distribution.
OPEN_FAN_FACTORS: tuple[tuple[str, str, str], ...] = (
    ("rates.ust.2y", "2-year Treasury yield", "percent"),
    ("credit.spread.baa_10y", "Baa - 10y spread", "percent"),
    ("equity.sector.money", "Financials sector (French 'Money')", "index level"),
    ("fx.broad_dollar", "Broad dollar index", "index level"),
)
_BANDS = ((0.05, 0.95, 0.18), (0.25, 0.75, 0.35))
Format = Literal["png", "svg"]


SERIES_COLOURS: tuple[str, ...] = ("#1f5fa8", "#c0392b", "#2e8b57", "#8e44ad", "#d4880f", "#17a2b8", "#6d4c41", "#7f8c8d")
"""Series colours in order (eight: a run-level chart draws every scenario of a run)."""

def fan_chart_png(
    shocksets: Mapping[str, ShockSet],
    *,
    factors: Sequence[tuple[str, str, str]] = FAN_FACTORS,
    title: str = "",
    dpi: int = 110,
    fmt: Format = "png",
) -> bytes:
    """PNG (or SVG) of fan charts: level paths of key factors, 5-95% and 25-75% bands and the median.

    Parameters
    ----------
    shocksets
        Label -> ShockSet (e.g. ``{"AI (transformer)": ..., "traditional (satellite)": ...}``);
        each is drawn in its own colour on the same axes, starting at the jump-off level.
    factors
        ``(factor id, title, unit)`` per panel; factors absent from a ShockSet are skipped.
    """
    colours = SERIES_COLOURS
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4), sharex=False)
    for ax, (factor_id, panel_title, unit) in zip(axes.flat, factors, strict=False):
        for colour, (label, shockset) in zip(colours, shocksets.items(), strict=False):
            if factor_id not in shockset.factor_ids or shockset.n_samples == 0:
                continue
            j = shockset.factor_index(factor_id)
            levels = shockset.levels[:, :, j]
            start = np.full((levels.shape[0], 1), shockset.jump_off[j])
            paths = np.concatenate([start, levels], axis=1)
            x = np.arange(paths.shape[1])
            for low, high, alpha in _BANDS:
                lo, hi = np.quantile(paths, [low, high], axis=0)
                ax.fill_between(x, lo, hi, color=colour, alpha=alpha, linewidth=0)
            ax.plot(x, np.median(paths, axis=0), color=colour, linewidth=1.8, label=label)
        quarters = next(iter(shocksets.values())).quarters
        labels = ["jump-off", *quarters]
        ax.set_xticks(range(0, len(labels), 2), [labels[i] for i in range(0, len(labels), 2)], rotation=45, fontsize=7)
        ax.set_title(panel_title, fontsize=10)
        ax.set_ylabel(unit, fontsize=8)
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return figure_bytes(fig, fmt, dpi)


def loss_histogram_png(
    losses: Mapping[str, np.ndarray],
    *,
    title: str = "",
    xlabel: str = "nine-quarter total loss (USD bn)",
    dpi: int = 110,
    fmt: Format = "png",
) -> bytes:
    """PNG of loss histograms (values in USD, shown in bn), one per label, with the 99% quantile marked."""
    colours = SERIES_COLOURS
    fig, ax = plt.subplots(figsize=(8, 4))
    for colour, (label, values) in zip(colours, losses.items(), strict=False):
        bn = np.asarray(values, dtype=float) / 1e9
        ax.hist(bn, bins=60, alpha=0.45, color=colour, label=label, density=True)
        var_99 = float(np.quantile(bn, 0.99))
        ax.axvline(var_99, color=colour, linestyle="--", linewidth=1.2, label=f"{label} 99% quantile {var_99:,.1f}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    return _finish(fig, ax, title, dpi, fmt)


def capital_path_png(
    paths: Mapping[str, tuple[Sequence[float], Sequence[float], Sequence[float]]],
    quarters: Sequence[str],
    *,
    start: float,
    minimum: float,
    title: str = "",
    dpi: int = 110,
    fmt: Format = "png",
    tick_labels: Sequence[str] | None = None,
) -> bytes:
    """PNG (or SVG) of CET1 ratio paths (percent): per label the median with its 5-95% band; jump-off and minimum marked.

    ``paths`` maps a label to ``(median, p05, p95)`` per quarter (percent), the jump-off excluded
    (``start``). ``tick_labels``: the x labels, the jump-off first (default ``jump-off``, ``PQ1`` ...;
    the EBA's year ends for an annual path).
    """
    colours = SERIES_COLOURS
    x = np.arange(len(quarters) + 1)
    fig, ax = plt.subplots(figsize=(8, 4))
    for colour, (label, (median, lo, hi)) in zip(colours, paths.items(), strict=False):
        ax.fill_between(x, [start, *lo], [start, *hi], color=colour, alpha=0.18, linewidth=0)
        ax.plot(x, [start, *median], color=colour, linewidth=1.8, label=f"{label}: median, 5-95% band")
    ax.axhline(minimum, color="black", linestyle=":", linewidth=1.0, label=f"minimum {minimum:.1f}%")
    labels = list(tick_labels) if tick_labels is not None else ["jump-off", *[f"PQ{i}" for i in range(1, len(quarters) + 1)]]
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("CET1 ratio (%)")
    return _finish(fig, ax, title, dpi, fmt)


def conservativeness_bounds_png(table: object, *, title: str = "", dpi: int = 110, fmt: Format = "png") -> bytes:
    """PNG of each statistic's bootstrap lower bound of d against its -tolerance, both over the tolerance.

    ``table`` is :func:`~risk_dagster.conservativeness.bootstrap.results_frame`; a bar left of -1 fails.
    """
    frame = table  # a pandas frame indexed by statistic id
    scaled = frame["lower_bound"] / frame["tolerance"]  # type: ignore[index]
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(scaled) + 1.2))
    colours = ["#2e8b57" if ok else "#c0392b" for ok in frame["passed"]]  # type: ignore[index]
    labels = [f"{n} {i}" for n, i in zip(frame["number"], frame.index, strict=True)]  # type: ignore[index, attr-defined]
    y = np.arange(len(scaled))
    ax.barh(y, np.clip(scaled.to_numpy(), -5.0, 5.0), color=colours)
    ax.axvline(-1.0, color="black", linestyle=":", linewidth=1.0, label="-tolerance")
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("95% lower bound of d / tolerance (clipped to +-5; pass at or right of -1)")
    return _finish(fig, ax, title, dpi, fmt)


def macro_paths_chart(
    paths: Mapping[str, Mapping[str, Sequence[float]]],
    quarters: Sequence[str],
    panels: Sequence[tuple[str, str, str]],
    *,
    dpi: int = 110,
    fmt: Format = "svg",
) -> bytes:
    """Small multiples of the supervisor's macro paths, one line per scenario.

    Parameters
    ----------
    paths
        Scenario label -> variable -> values over ``quarters`` (NaN where a variable is absent).
    panels
        ``(variable, title, unit)`` per panel, in order; a variable no scenario has is skipped.
    """
    colours = ("#1b1f24", "#c0392b", "#1f5fa8", "#2e8b57", "#8e44ad")
    shown = [p for p in panels if any(p[0] in v for v in paths.values())]
    columns = 3
    rows = max(1, -(-len(shown) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(10, 2.5 * rows + 0.4), squeeze=False)
    x = np.arange(len(quarters))
    step = max(1, len(quarters) // 6)
    for ax, (variable, panel_title, unit) in zip(axes.flat, shown, strict=False):
        for colour, (label, values) in zip(colours, paths.items(), strict=False):
            if variable in values:
                ax.plot(x, np.asarray(values[variable], dtype=float), color=colour, linewidth=1.6, label=label)
        ax.set_title(panel_title, fontsize=9)
        ax.set_ylabel(unit, fontsize=7)
        ax.set_xticks(x[::step], [quarters[i] for i in range(0, len(quarters), step)], rotation=45, fontsize=6)
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(shown):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return figure_bytes(fig, fmt, dpi)


def bar_chart(
    values: Mapping[str, Mapping[str, float]],
    *,
    ylabel: str,
    title: str = "",
    dpi: int = 110,
    fmt: Format = "svg",
) -> bytes:
    """Grouped bars: category -> series -> value (e.g. loss line -> AI / traditional -> USD bn)."""
    colours = SERIES_COLOURS
    categories = list(values)
    series = list(dict.fromkeys(name for v in values.values() for name in v))  # first-seen order
    width = 0.8 / max(1, len(series))
    fig, ax = plt.subplots(figsize=(8, 3.6))
    x = np.arange(len(categories))
    for k, (colour, name) in enumerate(zip(colours, series, strict=False)):
        heights = [values[c].get(name, np.nan) for c in categories]
        ax.bar(x + (k - (len(series) - 1) / 2) * width, heights, width=width, color=colour, label=name)
    ax.set_xticks(x, categories, rotation=20, fontsize=7, ha="right")
    ax.set_ylabel(ylabel)
    return _finish(fig, ax, title, dpi, fmt)


def figure_bytes(fig: object, fmt: Format, dpi: int) -> bytes:
    """The figure as PNG or SVG bytes (closed). SVG carries no date, so it is reproducible."""
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else None
    fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return buffer.getvalue()


def _finish(fig: object, ax: object, title: str, dpi: int, fmt: Format) -> bytes:
    """Grid, legend and title on ``ax``; the figure's bytes."""
    ax.grid(alpha=0.3)  # type: ignore[attr-defined]
    if ax.get_legend_handles_labels()[0]:  # type: ignore[attr-defined]
        ax.legend(fontsize=7)  # type: ignore[attr-defined]
    if title:
        ax.set_title(title, fontsize=10)  # type: ignore[attr-defined]
    fig.tight_layout()  # type: ignore[attr-defined]
    return figure_bytes(fig, fmt, dpi)


def svg_element(svg: bytes) -> str:
    """The ``<svg>`` element of an SVG document (its XML declaration and DOCTYPE dropped), to inline in HTML."""
    text = svg.decode("utf-8", errors="replace")
    start = text.find("<svg")
    if start < 0:
        raise ValueError("not an SVG document")
    # matplotlib's RDF metadata names namespace URLs; they are identifiers, never fetched, but a page
    # holds no URL it does not need
    return re.sub(r"<metadata>.*?</metadata>\s*", "", text[start:], flags=re.S)


def png_markdown(png: bytes, alt: str = "chart") -> str:
    """Markdown embedding a PNG as a data URI (how Dagster metadata shows images)."""
    return f"![{alt}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})"
