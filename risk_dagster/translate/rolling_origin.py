"""Rolling-origin evaluation of the translators over all quarters, not only crises.

At each origin ``o`` (every ``step`` quarters from ``first_origin``), every model is fitted on
the quarters *before* ``o`` only, fed the realized macro path of the ``step`` quarters from
``o``, and its one-quarter predictive distribution of the open factors scored against what
happened (energy score, CRPS, 90% / 99% coverage, the measures of
:mod:`risk_dagster.translate.backtest`, which does the fitting and scoring: each origin is a
held-out block with every later quarter also left out of training). Every quarter from the
first origin on is scored once, by a model that never saw it or anything after it.

Quarters are split into **stress** (the Fed's quarterly VIX above 30, or an NBER recession
month in the quarter) and **calm**; both models are scored on the same quarters and cells.
The transformer / satellite comparison is the ratio of pooled energy scores with a moving-block
bootstrap interval over chronological quarters (blocks of ``block_length``), for all quarters
and for the stress quarters. The four crisis windows of :data:`~risk_dagster.translate.backtest.CRISIS_WINDOWS`
shaped the models' design: quarters inside them are flagged ``design_window`` and the pooled
scores are also reported without them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.market.history import FactorHistory
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.backtest import CRISIS_WINDOWS, BacktestResult, ModelFactory, run_backtest

__all__ = ["origins", "recession_indicator", "rolling_origin", "rolling_origin_markdown", "stress_quarters"]

VIX_STRESS = 30.0
"""Quarterly VIX (the Fed's quarterly maximum) above which a quarter counts as stress."""


def origins(last: pd.Period, *, first: str = "2000Q1", step: int = 8) -> dict[str, list[pd.Period]]:
    """Origin label -> the ``step`` quarters predicted from it, up to ``last``."""
    out: dict[str, list[pd.Period]] = {}
    start = pd.Period(first, freq="Q-DEC")
    while start <= last:
        block = [start + k for k in range(step) if start + k <= last]
        out[f"origin {start}"] = block
        start = start + step
    return out


def stress_quarters(fed_history: MacroScenario, recession: pd.Series | None = None) -> set[pd.Period]:
    """Quarters with the Fed's VIX above :data:`VIX_STRESS` or an NBER recession month.

    Parameters
    ----------
    fed_history
        The Fed's historic table (``vix`` is its quarterly maximum).
    recession
        Monthly 0/1 NBER indicator indexed by date (FRED USREC); none: VIX only.
    """
    wide = fed_history.wide()
    out = {q for q, v in wide.get("vix", pd.Series(dtype=float)).items() if np.isfinite(v) and v > VIX_STRESS}
    if recession is not None:
        months = pd.to_datetime(recession.index)
        flagged = pd.PeriodIndex(months[recession.to_numpy() > 0.5], freq="Q-DEC")
        out |= set(flagged)
    return {pd.Period(q, freq="Q-DEC") for q in out}


def recession_indicator() -> pd.Series:
    """The shipped monthly NBER recession indicator (FRED USREC, from 1996) as a date-indexed series."""
    from risk_dagster.market.loaders import load_usrec

    frame = load_usrec()
    return pd.Series(frame["USREC"].to_numpy(dtype=np.float64), index=pd.to_datetime(frame["date"]), name="USREC")


def rolling_origin_markdown(doc: Mapping[str, Any]) -> str:
    """The rolling-origin scores as Markdown for a risk reader."""
    models = [m for m in doc if m not in ("comparison", "settings")]
    lines = [
        "### Rolling-origin evaluation (fitted on the past only, every quarter scored)",
        "",
        f"Origins every {doc['settings']['step']} quarters from {doc['settings']['first_origin']} to "
        f"{doc['settings']['last_quarter']}; {doc['settings']['scored_quarters']} quarters scored, "
        f"{len(doc['settings']['stress_quarters'])} of them stress ({doc['settings']['stress_definition']}).",
        "",
        "| model | subset | quarters | energy score | CRPS | coverage 90% | coverage 99% |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]

    def fmt(v: Any) -> str:
        return "-" if v is None else f"{v:.3f}"

    for m in models:
        for subset, row in (("all", doc[m]), ("stress", doc[m]["stress"]), ("calm", doc[m]["calm"]),
                            ("outside design windows", doc[m]["outside_design_windows"])):
            lines.append(
                f"| {m} | {subset} | {row['n_quarters']} | {fmt(row['energy_score'])} | {fmt(row['crps'])} | "
                f"{fmt(row['coverage_90'])} | {fmt(row['coverage_99'])} |"
            )
    comp = doc["comparison"]
    for label, c in (("all quarters", comp), ("stress quarters", comp["stress"]),
                     ("outside the design windows", comp["outside_design_windows"])):
        if c.get("ratio") is not None:
            lo, hi = c["interval"]
            lines.append(f"\n{comp['challenger']} / {comp['benchmark']} energy score, {label}: "
                         f"**{c['ratio']:.3f}** (90% block-bootstrap interval {lo:.3f}-{hi:.3f}, {c['n_quarters']} quarters)")
    return "\n".join(lines) + "\n"


def _design_quarters() -> set[pd.Period]:
    return {pd.Period(q, freq="Q-DEC") for qs in CRISIS_WINDOWS.values() for q in qs}


def _pooled(result: BacktestResult, model: str, quarters: set[str]) -> dict[str, Any]:
    """The backtest's own aggregation (:meth:`BacktestResult._metrics`) over ``quarters``."""
    metrics = result._metrics(model, quarters=quarters)  # noqa: SLF001 - one aggregation, shared
    spread = metrics.pop("seed_spread")
    metrics.pop("n_cells", None)
    metrics["by_seed_set"] = {k: [round(v, 4) for v in s["per_seed_set"]] for k, s in spread.items()}
    return metrics


def _ratio(result: BacktestResult, quarters: set[str], *, n_boot: int, block_length: int, seed: int) -> dict[str, Any]:
    q = result.quarter_scores
    q = q[(q["group"] == "all") & q["quarter"].isin(quarters)]
    es = q.groupby(["model", "quarter"])["energy_score"].mean().unstack("model")  # seed-averaged
    if result.benchmark not in es or result.challenger not in es:
        return {"ratio": None, "interval": None, "n_quarters": 0}
    es = es[[result.benchmark, result.challenger]].dropna()
    es = es.loc[sorted(es.index, key=lambda s: pd.Period(s, freq="Q-DEC"))]
    b, c = es[result.benchmark].to_numpy(), es[result.challenger].to_numpy()
    n = len(b)
    if n == 0:
        return {"ratio": None, "interval": None, "n_quarters": 0}
    ratio = float(c.sum() / b.sum())
    length = max(1, min(block_length, n))
    starts = np.arange(n - length + 1)
    rng = np.random.default_rng(seed)
    draws = np.empty(n_boot)
    n_blocks = -(-n // length)
    for r in range(n_boot):
        pick = np.concatenate([np.arange(s, s + length) for s in rng.choice(starts, n_blocks)])[:n]
        draws[r] = c[pick].sum() / b[pick].sum()
    low, high = np.quantile(draws, [0.05, 0.95])
    return {
        "ratio": ratio,
        "interval": [float(low), float(high)],
        "n_quarters": int(n),
        "bootstrap": {"n_boot": int(n_boot), "block_length": int(length), "seed": int(seed), "over": "chronological quarters"},
    }


def rolling_origin(
    factor_history: FactorHistory,
    fed_history: MacroScenario,
    *,
    models: Mapping[str, ModelFactory],
    recession: pd.Series | None = None,
    first_origin: str = "2000Q1",
    step: int = 8,
    n_samples: int = 500,
    seeds: Sequence[int | tuple[int, int]] = (0, 1),
    source_weights: Mapping[str, float] | None = None,
    n_boot: int = 2000,
    block_length: int = 4,
    boot_seed: int = 12345,
    last_quarter: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit at every origin on the past only, score every later quarter once.

    Parameters
    ----------
    factor_history, fed_history
        The shipped data, as for :func:`~risk_dagster.translate.backtest.run_backtest`.
    models
        Name -> factory (``satellite`` and ``transformer`` for the comparison).
    recession
        Monthly NBER indicator for the stress split (see :func:`stress_quarters`).
    first_origin, step
        First origin and the quarters between origins (= quarters predicted from each).
    n_samples, seeds, source_weights
        As for ``run_backtest``; at least two seed sets for the comparison's seed spread.
    n_boot, block_length, boot_seed
        Moving-block bootstrap of the energy-score ratio.
    last_quarter
        Last quarter scored; the last quarter with realized factor changes by default.

    Returns
    -------
    dict
        Plain JSON: per model ``energy_score``, ``crps``, ``coverage_90``, ``coverage_99``
        (pooled over every scored quarter), ``stress``, ``calm`` and ``outside_design_windows``
        (same metrics), ``by_seed_set``; ``comparison`` (transformer / satellite ``ratio`` and its
        90% ``interval``, for ``all`` quarters and for ``stress`` ones); ``settings``.
    """
    changes = factor_history.changes.dropna(how="all")
    last = pd.Period(last_quarter, freq="Q-DEC") if last_quarter else pd.Period(changes.index[-1], freq="Q-DEC")
    blocks = origins(last, first=first_origin, step=step)
    result = run_backtest(
        factor_history,
        fed_history,
        models=models,
        windows=blocks,
        n_samples=n_samples,
        seeds=seeds,
        source_weights=source_weights,
        buffer_after=10_000,  # everything after the origin's block is left out too: the past only
        n_boot=10,  # the leave-window-out interval is not used here
        progress=progress,
    )
    scored = set(result.quarter_scores["quarter"])
    stress = {str(q) for q in stress_quarters(fed_history, recession)} & scored
    design = {str(q) for q in _design_quarters()} & scored
    subsets = {"stress": stress, "calm": scored - stress, "outside_design_windows": scored - design}
    out: dict[str, Any] = {}
    for model in result.models:
        summary = _pooled(result, model, scored)
        for name, quarters in subsets.items():
            summary[name] = {k: v for k, v in _pooled(result, model, quarters).items() if k != "by_seed_set"}
        out[model] = summary
    out["comparison"] = {
        "benchmark": result.benchmark,
        "challenger": result.challenger,
        **_ratio(result, scored, n_boot=n_boot, block_length=block_length, seed=boot_seed),
        "stress": _ratio(result, stress, n_boot=n_boot, block_length=block_length, seed=boot_seed),
        "outside_design_windows": _ratio(result, scored - design, n_boot=n_boot, block_length=block_length, seed=boot_seed),
    }
    out["settings"] = {
        "origins": [str(b[0]) for b in blocks.values()],
        "step": int(step),
        "first_origin": first_origin,
        "last_quarter": str(last),
        "n_samples": int(n_samples),
        "seed_sets": result.settings["seed_sets"],
        "training": "quarters before the origin only (every later quarter excluded)",
        "stress_definition": f"Fed quarterly VIX > {VIX_STRESS:g} or an NBER recession month",
        "stress_quarters": sorted(stress, key=lambda s: pd.Period(s, freq="Q-DEC")),
        "design_window_quarters": sorted(design, key=lambda s: pd.Period(s, freq="Q-DEC")),
        "scored_quarters": int(len(scored)),
        "factors_scored": result.settings["factors_scored"],
        "standardization": result.settings["standardization"],
        "seconds": result.settings["seconds"],
        "conditioning": "not the same: the satellite regresses on the nine SATELLITE_REGRESSORS and their first "
        "lags; the transformer's skip path uses the same nine and lags, while its network reads every macro "
        "feature of translate.features.FEATURES over a four-quarter window plus the factors' own lagged changes "
        "(realized before the block, its own draws inside it). No ablation restricted to the satellite's inputs "
        "has been run yet.",
    }
    return out
