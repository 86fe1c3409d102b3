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

With ``paths`` (the default), the same origins also score what production uses: the paths of
levels each model draws over the block with :meth:`Translator.sample` (consistency and
coherence applied) on the block's realized Fed path, against the realized levels -- a path
energy score and coverage by horizon (:mod:`risk_dagster.translate.path_scores`, key
``paths``), reusing the models fitted for the one-quarter scores. With the conditioning ablation
among the models (:data:`~risk_dagster.translate.path_scores.ABLATION_MODEL`, the transformer
restricted to the satellite's inputs), its ratios are reported under ``ablation``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.market.history import FactorHistory
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.backtest import (
    CRISIS_WINDOWS,
    BacktestResult,
    ModelFactory,
    _instantiate,
    _seed_pairs,
    run_backtest,
)
from risk_dagster.translate.path_scores import (
    ABLATION_MODEL,
    block_bootstrap_ratio,
    path_scores,
)
from risk_dagster.translate.protocol import Translator

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


def masked_variables(blocks: Mapping[str, Sequence[pd.Period]], fraction: float, seed: int) -> dict[str, list[str]]:
    """Origin label -> the conditioning variables withheld there (none when ``fraction`` is 0)."""
    from risk_dagster.translate.features import ACTIVITY_VARIABLES, CONDITIONING_VARIABLES

    k = int(round(float(fraction) * len(CONDITIONING_VARIABLES)))
    if k <= 0:
        return {}
    if k >= len(CONDITIONING_VARIABLES):
        raise ValueError(f"mask_fraction {fraction}: at least one activity variable must stay")
    rng = np.random.default_rng(seed)
    out: dict[str, list[str]] = {}
    for label in blocks:
        while True:
            pick = sorted(rng.choice(len(CONDITIONING_VARIABLES), size=k, replace=False))
            chosen = [CONDITIONING_VARIABLES[i] for i in pick]
            if any(v not in chosen for v in ACTIVITY_VARIABLES):
                break
        out[label] = chosen
    return out


def rolling_origin_markdown(doc: Mapping[str, Any]) -> str:
    """The rolling-origin scores as Markdown for a risk reader."""
    models = [m for m in doc if m not in ("comparison", "settings", "ablation", "paths")]
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
    for c in (doc.get("ablation") or {}).values():
        if isinstance(c, Mapping) and c.get("ratio") is not None:
            lo, hi = c["interval"]
            lines.append(f"\n{c['challenger']} / {c['benchmark']} energy score, all quarters: "
                         f"**{c['ratio']:.3f}** (90% block-bootstrap interval {lo:.3f}-{hi:.3f}, {c['n_quarters']} quarters)")
    if doc.get("paths"):
        lines += ["", _paths_markdown(doc["paths"])]
    return "\n".join(lines) + "\n"


def _paths_markdown(paths: Mapping[str, Any]) -> str:
    """The path scores (:func:`~risk_dagster.translate.path_scores.path_scores`) as Markdown."""
    models = [m for m in paths if m not in ("comparison", "ablation", "settings", "notes")]
    horizon = int(paths["settings"]["max_horizon"])

    def fmt(v: Any, digits: int = 3) -> str:
        return "-" if v is None else f"{v:.{digits}f}"

    def by_h(row: Mapping[str, Any], key: str) -> str:
        values = row.get(key) or {}
        return " ".join(fmt(values.get(str(h)), 2) for h in range(1, horizon + 1))

    lines = [
        "#### Paths production draws (consistency and coherence applied), scored against the realized path",
        "",
        (
            f"{paths['settings']['n_samples']} paths per origin and seed set over up to {horizon} quarters; "
            f"energy score joint over horizons x open factors, each {paths['settings']['coordinates']}; "
            f"coverage of the realized levels by horizon h = 1..{horizon}. Stress: {paths['settings']['stress']}."
        ),
        "",
        "| model | subset | origins | path energy score | 90% coverage by h | 99% coverage by h |",
        "|---|---|---:|---:|---|---|",
    ]
    for m in models:
        for subset, row in (("all", paths[m]), ("stress", paths[m]["stress"]), ("calm", paths[m]["calm"])):
            lines.append(
                f"| {m} | {subset} | {row['n_origins']} | {fmt(row['energy_score'])} | "
                f"{by_h(row, 'coverage_90_by_horizon')} | {by_h(row, 'coverage_99_by_horizon')} |"
            )
    comparisons = [("all origins", paths["comparison"]), ("stress origins", paths["comparison"].get("stress") or {})]
    comparisons += [("all origins", c) for c in (paths.get("ablation") or {}).values() if isinstance(c, Mapping)]
    for label, c in comparisons:
        if c.get("ratio") is not None:
            lo, hi = c["interval"]
            lines.append(f"\n{c['challenger']} / {c['benchmark']} path energy score, {label}: **{c['ratio']:.3f}** "
                         f"(90% block-bootstrap interval over origins {lo:.3f}-{hi:.3f}, {c['n_origins']} origins)")
    return "\n".join(lines)


def _design_quarters() -> set[pd.Period]:
    return {pd.Period(q, freq="Q-DEC") for qs in CRISIS_WINDOWS.values() for q in qs}


def _pooled(result: BacktestResult, model: str, quarters: set[str]) -> dict[str, Any]:
    """The backtest's own aggregation (:meth:`BacktestResult._metrics`) over ``quarters``."""
    metrics = result._metrics(model, quarters=quarters)  # noqa: SLF001 - one aggregation, shared
    spread = metrics.pop("seed_spread")
    metrics.pop("n_cells", None)
    metrics["by_seed_set"] = {k: [round(v, 4) for v in s["per_seed_set"]] for k, s in spread.items()}
    return metrics


def _ratio(
    result: BacktestResult,
    quarters: set[str],
    *,
    n_boot: int,
    block_length: int,
    seed: int,
    benchmark: str | None = None,
    challenger: str | None = None,
) -> dict[str, Any]:
    benchmark = benchmark or result.benchmark
    challenger = challenger or result.challenger
    q = result.quarter_scores
    q = q[(q["group"] == "all") & q["quarter"].isin(quarters)]
    es = q.groupby(["model", "quarter"])["energy_score"].mean().unstack("model")  # seed-averaged
    if benchmark not in es or challenger not in es:
        return {"ratio": None, "interval": None, "n_quarters": 0}
    es = es[[benchmark, challenger]].dropna()
    es = es.loc[sorted(es.index, key=lambda s: pd.Period(s, freq="Q-DEC"))]
    res = block_bootstrap_ratio(
        es[benchmark].to_numpy(), es[challenger].to_numpy(), n_boot=n_boot, block_length=block_length, seed=seed
    )
    if res["n"] == 0:
        return {"ratio": None, "interval": None, "n_quarters": 0}
    return {
        "ratio": res["ratio"],
        "interval": res["interval"],
        "n_quarters": res["n"],
        "bootstrap": {**res["bootstrap"], "over": "chronological quarters"},
    }


def _recording(factories: Mapping[str, ModelFactory], fitted: dict[str, list[Translator]]) -> dict[str, ModelFactory]:
    """Factories that build exactly what ``run_backtest`` would (:func:`backtest._instantiate`:
    the seed keyword, or the global generators seeded) and keep each model, so that the path
    scores reuse the models fitted for the one-quarter scores instead of fitting them again."""

    def wrap(name: str, factory: ModelFactory) -> ModelFactory:
        def make(seed: int) -> Translator:
            model = _instantiate(factory, seed)
            fitted[name].append(model)
            return model

        return make

    return {name: wrap(name, f) for name, f in factories.items()}


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
    paths: bool = True,
    path_samples: int | None = None,
    path_block_length: int = 2,
    progress: Callable[[str], None] | None = None,
    mask_fraction: float = 0.0,
    mask_seed: int = 2024,
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
    paths
        Also score the multi-quarter paths production draws from each origin
        (:func:`~risk_dagster.translate.path_scores.path_scores`, with the models fitted for the
        one-quarter scores): key ``paths``.
    path_samples
        Paths drawn per origin, model and seed set; ``n_samples`` by default.
    path_block_length
        Consecutive origins per block of the path comparison's bootstrap.
    mask_fraction, mask_seed
        The masked-conditioning experiment: at each origin, ``round(mask_fraction x 9)`` of
        the nine :data:`~risk_dagster.translate.features.CONDITIONING_VARIABLES` are withheld
        (drawn with ``mask_seed``, the same for every model; at least one of the activity
        variables always kept, as :func:`~risk_dagster.translate.features.check_conditioning`
        requires), and every model is fitted and sampled without the features computed from
        them, as production translates a scenario that does not give them
        (:mod:`risk_dagster.translate.conditioning`). The paths are not scored then.

    Returns
    -------
    dict
        Plain JSON: per model ``energy_score``, ``crps``, ``coverage_90``, ``coverage_99``
        (pooled over every scored quarter), ``stress``, ``calm`` and ``outside_design_windows``
        (same metrics), ``by_seed_set``; ``comparison`` (transformer / satellite ``ratio`` and its
        90% ``interval``, for ``all`` quarters and for ``stress`` ones); with the
        :data:`~risk_dagster.translate.path_scores.ABLATION_MODEL` among ``models``, ``ablation``
        (its one-quarter ratios to the satellite and from the transformer); with ``paths``,
        ``paths`` (per model ``energy_score``, ``coverage_90_by_horizon``,
        ``coverage_99_by_horizon``, ``stress``, ``calm``, ``by_origin``; ``comparison`` of the
        path energy scores with its interval over origins; ``settings``); ``settings``.
    """
    changes = factor_history.changes.dropna(how="all")
    last = pd.Period(last_quarter, freq="Q-DEC") if last_quarter else pd.Period(changes.index[-1], freq="Q-DEC")
    blocks = origins(last, first=first_origin, step=step)
    fitted: dict[str, list[Translator]] = {m: [] for m in models}
    hidden = masked_variables(blocks, mask_fraction, mask_seed)
    paths = paths and not hidden
    result = run_backtest(
        factor_history,
        fed_history,
        models=_recording(models, fitted) if paths else models,
        windows=blocks,
        n_samples=n_samples,
        seeds=seeds,
        source_weights=source_weights,
        buffer_after=10_000,  # everything after the origin's block is left out too: the past only
        n_boot=10,  # the leave-window-out interval is not used here
        progress=progress,
        hidden=hidden,
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
    ablation = ABLATION_MODEL in result.models
    if ablation:
        kw = {"n_boot": n_boot, "block_length": block_length, "seed": boot_seed}
        out["ablation"] = {
            "model": ABLATION_MODEL,
            "vs_benchmark": {"benchmark": result.benchmark, "challenger": ABLATION_MODEL,
                             **_ratio(result, scored, challenger=ABLATION_MODEL, **kw)},
            "challenger_vs_ablation": {"benchmark": ABLATION_MODEL, "challenger": result.challenger,
                                       **_ratio(result, scored, benchmark=ABLATION_MODEL, **kw)},
        }  # fmt: skip
    if paths:
        n_sets = len(_seed_pairs(seeds))
        handed = {
            (name, label, k): fitted[name][i * n_sets + k]
            for name in models
            if len(fitted[name]) == len(blocks) * n_sets
            for i, label in enumerate(blocks)
            for k in range(n_sets)
        }
        scores = path_scores(
            factor_history,
            fed_history,
            models=models,
            blocks=blocks,
            n_samples=path_samples if path_samples is not None else n_samples,
            seeds=seeds,
            source_weights=source_weights,
            stress=stress_quarters(fed_history, recession),
            scale=result.settings["scale"],
            fitted=handed,
            progress=progress,
        )
        out["paths"] = scores.to_json(
            benchmark=result.benchmark, challenger=result.challenger, n_boot=n_boot,
            block_length=path_block_length, seed=boot_seed,
        )  # fmt: skip
    out["settings"] = {
        "mask_fraction": float(mask_fraction),
        "masked_variables": {w: list(v) for w, v in hidden.items()},
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
        "conditioning": _CONDITIONING + (_ABLATION_RUN if ablation else _NO_ABLATION),
    }
    return out


_CONDITIONING = (
    "not the same: the satellite regresses on the nine SATELLITE_REGRESSORS and their first "
    "lags; the transformer's skip path uses the same nine and lags, while its network reads every macro "
    "feature of translate.features.FEATURES over a four-quarter window plus the factors' own lagged changes "
    "(realized before the block, its own draws inside it)."
)
_NO_ABLATION = " No ablation restricted to the satellite's inputs has been run yet."
_ABLATION_RUN = (
    f" Ablation {ABLATION_MODEL!r} (translate.path_scores.satellite_inputs_transformer): the transformer whose "
    "network reads only the satellite's inputs -- the nine SATELLITE_REGRESSORS and the VIX level of the "
    "satellite's stress scale, in the quarter and the quarter before (window 2), no lagged factor change, "
    "every other feature masked as missing -- with the same skip path, stress scale, configuration otherwise "
    "and ensemble seeds; scored like the others (its own key, 'ablation', and in 'paths')."
)
