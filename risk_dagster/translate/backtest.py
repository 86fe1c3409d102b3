"""Outcomes analysis of the translators: a leave-crisis-out backtest.

For each crisis window (:data:`CRISIS_WINDOWS`) every model is trained WITHOUT the window's
quarters, fed the REALIZED macro path of the window (the features of its quarters, with the
preceding quarters as context for lags and input windows), and its one-quarter predictive
distribution of factor changes is scored against the realized changes.

These four windows are **design windows**: the study that chose the translators' design
(``notes/translator-study.md``: the skip path, the regressor set, the input window, the LOO
residuals) was scored on them, so the results here measure how well a design selected on these
windows fits them. They are not out-of-sample evidence of the models' skill.

What is scored
--------------
* Only the factors the scenario leaves OPEN: a factor the catalog marks ``fixed_by_fed`` is
  data in a scenario (the Fed sets its path), not a prediction.
* Every factor is standardized by its full-sample (1990 onward, crisis quarters included)
  standard deviation of one-quarter changes, so bp, log returns and vol points are comparable
  and the energy score is not dominated by the factors with the largest units.
* A cell (factor, quarter) without a realized value is masked; so is a cell where any model's
  draws are not finite (a factor a model could not fit), so that all models are scored on the
  same cells.

Scores
------
* Energy score (ES) per quarter over the joint vector of the open factors observed that
  quarter (the ``nrg`` estimator of ``scoringrules.energy_score``; :func:`energy_score`
  computes the identical number in chunks, because the library's NumPy backend materialises
  a ``samples x samples x factors`` array). Per factor class the ES of the class's sub-vector.
* CRPS per factor-quarter (``scoringrules.crps_ensemble``).
* Coverage of the central 90% and 99% intervals (empirical quantiles of the draws).

Aggregation: "pooled" (``overall``) means over all held-out quarters (ES) or cells (CRPS,
coverage) of all windows together, not a mean of window means. Every number is computed per
seed set (model seed, sampling seed) and reported as the mean over seed sets with its spread.
The comparison ratio (challenger / benchmark pooled ES) carries a block-bootstrap interval
over quarters (blocks of consecutive quarters inside a window, seed-averaged ES per quarter).

What a model sees. The realized macro features of the window (and up to ``context_quarters``
before it); the realized factor changes only up to the quarter before the window (the
transformer's lagged-change inputs come from its training ``Y``); inside the window it
sees no realized factor move (the transformer feeds back its own draws), as in a scenario.
Scores are of each quarter's one-quarter-change marginal.

Leakage. ``build_training_set(exclude=...)`` drops the window's ``Y`` (and ``X``) rows. The
satellite's lags are of macro features only, which the realized path supplies at test time
anyway. The transformer's lagged factor-change inputs are taken from the training ``Y``,
where the window's rows are absent, so the quarters right after the window see those lags
as MISSING (masked), not their realized values. Hence no buffer is needed and the default
``buffer_after`` is 0 quarters (set it for a model that reads lagged changes from the full
history). With 14 held-out quarters, differences under about 5% are noise.
"""

from __future__ import annotations

import inspect
import json as _json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scoringrules as sr

from risk_dagster.market.catalog import RiskFactorCatalog, load_risk_factor_catalog
from risk_dagster.market.history import FactorHistory
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.base import TrainingSet, Translator, build_training_set
from risk_dagster.translate.conditioning import hidden_features, restricted_copy
from risk_dagster.translate.shockset import FloatArray

__all__ = [
    "CLASSES",
    "CRISIS_WINDOWS",
    "BacktestResult",
    "backtest_command",
    "crps",
    "default_models",
    "energy_score",
    "interval_coverage",
    "run_backtest",
    "window_training_set",
]

CRISIS_WINDOWS: dict[str, tuple[str, ...]] = {
    "2001": ("2001Q1", "2001Q2", "2001Q3", "2001Q4"),
    "2008-09": ("2008Q3", "2008Q4", "2009Q1", "2009Q2"),
    "2020": ("2020Q1", "2020Q2"),
    "2022": ("2022Q1", "2022Q2", "2022Q3", "2022Q4"),
}
"""Held-out crisis windows (issue 3, section 6): window id -> its quarters (14 in all)."""

CLASSES: tuple[str, ...] = ("rates", "credit", "equity", "fx", "volatility", "commodity", "real_estate", "conditions")
"""Factor classes reported separately (the catalog's ``asset_class``)."""

METRICS: tuple[str, ...] = ("energy_score", "crps", "coverage_90", "coverage_99")

ModelFactory = Callable[..., Translator]


# =============================================================================== scoring rules
def energy_score(obs: FloatArray, fct: FloatArray, *, chunk: int = 128) -> float:
    """Energy score of one ensemble forecast of a vector.

    ``ES = mean_m ||x_m - y|| - 1/(2 M^2) sum_{m,j} ||x_m - x_j||`` -- the ``nrg`` estimator
    of :func:`scoringrules.energy_score` (identical to rounding; a test checks it), computed
    in row chunks so memory stays ``chunk x M x D`` instead of ``M x M x D``.

    Parameters
    ----------
    obs
        ``[D]`` observation.
    fct
        ``[M, D]`` ensemble members.
    chunk
        Rows of the pairwise block computed at once.

    Returns
    -------
    float
        The score (lower is better).
    """
    y = np.asarray(obs, dtype=np.float64)
    x = np.asarray(fct, dtype=np.float64)
    if x.ndim != 2 or y.shape != (x.shape[1],):
        raise ValueError(f"energy_score: obs {y.shape} and fct {x.shape} do not match ([D] and [M, D])")
    m = x.shape[0]
    first = np.linalg.norm(x - y[None, :], axis=1).mean()
    pair = 0.0
    for a in range(0, m, chunk):
        pair += np.linalg.norm(x[a : a + chunk, None, :] - x[None, :, :], axis=2).sum()
    return float(first - pair / (2.0 * m * m))


def crps(obs: FloatArray, fct: FloatArray) -> FloatArray:
    """CRPS of each variable's ensemble: ``scoringrules.crps_ensemble`` (members on axis 0).

    Parameters
    ----------
    obs
        ``[D]`` observations.
    fct
        ``[M, D]`` ensemble.

    Returns
    -------
    numpy.ndarray
        ``[D]`` scores.
    """
    return np.asarray(sr.crps_ensemble(np.asarray(obs, np.float64), np.asarray(fct, np.float64), m_axis=0))


def interval_coverage(obs: FloatArray, fct: FloatArray, level: float) -> FloatArray:
    """Whether each observation lies in the ensemble's central ``level`` interval.

    Returns
    -------
    numpy.ndarray
        ``[D]`` booleans; bounds are the empirical ``(1 -+ level) / 2`` quantiles (linear
        interpolation), inclusive.
    """
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(np.asarray(fct, np.float64), [alpha, 1.0 - alpha], axis=0)
    y = np.asarray(obs, np.float64)
    return (y >= lo) & (y <= hi)


# =============================================================================== training
def _periods(quarters: Sequence[str | pd.Period]) -> list[pd.Period]:
    return sorted({pd.Period(q, freq="Q-DEC") for q in quarters})


def window_training_set(
    factor_history: FactorHistory,
    fed_history: MacroScenario,
    quarters: Sequence[str | pd.Period],
    *,
    source_weights: Mapping[str, float] | None = None,
    buffer_after: int = 0,
) -> TrainingSet:
    """The training set of one held-out window: every quarter but the window's (and
    ``buffer_after`` quarters after it; see the module notes on leakage)."""
    window = _periods(quarters)
    buffer = [window[-1] + k for k in range(1, buffer_after + 1)]
    return build_training_set(factor_history, fed_history, source_weights, exclude=[*window, *buffer])


def _instantiate(factory: ModelFactory, model_seed: int) -> Translator:
    """Build a model for one seed set.

    A factory that takes a ``seed`` keyword gets the model seed; otherwise the global NumPy
    (and torch, when loaded) generators are seeded before the factory runs, so a model that
    draws its initial weights from them is reproducible per seed set.
    """
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}
    if "seed" in params:
        return factory(seed=model_seed)
    np.random.seed(model_seed % 2**32)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(model_seed)
    return factory()


def _seed_pairs(seeds: Sequence[int | tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for s in seeds:
        out.append((int(s[0]), int(s[1])) if isinstance(s, tuple | list) else (int(s), int(s)))
    if not out:
        raise ValueError("run_backtest: at least one seed set is needed")
    return out


# =============================================================================== result
def _stats(values: Sequence[float]) -> dict[str, Any]:
    a = np.asarray(values, dtype=np.float64)
    return {
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
        "min": float(a.min()),
        "max": float(a.max()),
        "per_seed_set": [float(v) for v in a],
    }


def _clean(obj: Any) -> Any:
    """Plain JSON: numpy scalars to Python, non-finite floats to ``None`` (JSON has no NaN)."""
    if isinstance(obj, Mapping):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return float(obj) if np.isfinite(obj) else None
    return obj


@dataclass
class BacktestResult:
    """Raw scores of a leave-crisis-out backtest and their summaries.

    Attributes
    ----------
    quarter_scores
        One row per (model, seed_set, window, quarter, group): ``energy_score`` and
        ``n_factors``; ``group`` is ``all`` (the joint open-factor vector) or a factor class.
    cell_scores
        One row per (model, seed_set, window, quarter, factor): ``asset_class``, ``crps``,
        ``in_90``, ``in_99``, the standardized realized change ``z`` and the draws' mean
        ``mean_z``.
    settings
        n_samples, seed sets, windows, factors scored, standardization, timings.
    benchmark, challenger
        Model names compared (``satellite``, ``transformer``).
    n_boot, block_length, boot_seed
        Block bootstrap of the comparison ratio.
    """

    quarter_scores: pd.DataFrame
    cell_scores: pd.DataFrame
    settings: dict[str, Any]
    benchmark: str = "satellite"
    challenger: str = "transformer"
    n_boot: int = 5000
    block_length: int = 2
    boot_seed: int = 12345
    notes: list[str] = field(default_factory=list)
    draws: dict[str, dict[str, FloatArray]] = field(default_factory=dict)
    """With ``keep_draws``: model -> window -> ``[n_samples, quarters, open factors]`` one-quarter
    predictive changes in shock units (not standardized), first seed set; cells a model could
    not fit are NaN."""
    realized: dict[str, FloatArray] = field(default_factory=dict)
    """With ``keep_draws``: window -> ``[quarters, open factors]`` realized changes, shock units;
    NaN where unobserved or where any model's draws are not finite (the cells scored)."""

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(self.quarter_scores["model"]))

    # ------------------------------------------------------------------ aggregation
    def _metrics(
        self, model: str, window: str | None = None, group: str = "all", quarters: set[str] | None = None
    ) -> dict[str, Any]:
        """Mean over seed sets of each metric, with the spread, for one slice (``quarters``: only
        those quarters, e.g. the stress quarters of a rolling-origin evaluation)."""
        q = self.quarter_scores
        c = self.cell_scores
        q = q[(q["model"] == model) & (q["group"] == group)]
        c = c[c["model"] == model]
        if group != "all":
            c = c[c["asset_class"] == group]
        if quarters is not None:
            q, c = q[q["quarter"].isin(quarters)], c[c["quarter"].isin(quarters)]
        if window is not None:
            q, c = q[q["window"] == window], c[c["window"] == window]
        per_seed = {
            "energy_score": q.groupby("seed_set")["energy_score"].mean(),
            "crps": c.groupby("seed_set")["crps"].mean(),
            "coverage_90": c.groupby("seed_set")["in_90"].mean(),
            "coverage_99": c.groupby("seed_set")["in_99"].mean(),
        }
        out: dict[str, Any] = {}
        spread: dict[str, Any] = {}
        for name, series in per_seed.items():
            if len(series):
                out[name] = float(series.mean())
                spread[name] = _stats(series.to_numpy())
            else:
                out[name] = None
        out["n_quarters"] = int(q[["window", "quarter"]].drop_duplicates().shape[0])
        out["n_cells"] = int(len(c) / max(1, c["seed_set"].nunique())) if len(c) else 0
        out["seed_spread"] = spread
        return out

    def model_summary(self, model: str) -> dict[str, Any]:
        """Overall (pooled), per window and per class metrics of one model."""
        out = self._metrics(model)
        windows = list(self.settings["windows"])
        out["windows"] = {w: self._metrics(model, w) for w in windows}
        classes = [g for g in CLASSES if g in set(self.quarter_scores["group"])]
        out["by_class"] = {g: self._metrics(model, None, g) for g in classes}
        out["by_class_windows"] = {
            w: {g: {k: v for k, v in self._metrics(model, w, g).items() if k != "seed_spread"} for g in classes}
            for w in windows
        }
        return out

    def _quarter_es(self, model: str) -> pd.Series:
        """Seed-averaged joint ES per held-out quarter (index: window, quarter)."""
        q = self.quarter_scores
        q = q[(q["model"] == model) & (q["group"] == "all")]
        return q.groupby(["window", "quarter"], sort=False)["energy_score"].mean()

    def comparison(self) -> dict[str, Any] | None:
        """Challenger / benchmark energy score: pooled ratio, its block-bootstrap 90% interval,
        per-window and per-seed-set ratios, and the issue's goal check.

        Goal (issue 3): the challenger's pooled ES at least 10% below the benchmark's
        (ratio <= 0.90) AND its pooled 90% coverage within [0.85, 0.95]. ``goal_met`` uses the
        point estimate; ``goal_met_upper`` asks the bootstrap interval's upper end to be <= 0.90.
        """
        if self.benchmark not in self.models or self.challenger not in self.models:
            return None
        b, c = self._quarter_es(self.benchmark), self._quarter_es(self.challenger)
        b, c = b.align(c, join="inner")
        ratio = float(c.sum() / b.sum())
        # Block bootstrap over quarters: blocks of consecutive quarters that stay inside one window.
        keys = list(b.index)
        blocks: list[list[int]] = []
        for w in dict.fromkeys(k[0] for k in keys):
            idx = [i for i, k in enumerate(keys) if k[0] == w]
            L = min(self.block_length, len(idx))
            blocks += [idx[s : s + L] for s in range(len(idx) - L + 1)]
        rng = np.random.default_rng(self.boot_seed)
        n = len(keys)
        L = max(len(x) for x in blocks)
        n_draw = -(-n // L)
        bv, cv = b.to_numpy(), c.to_numpy()
        ratios = np.empty(self.n_boot)
        for r in range(self.n_boot):
            pick = np.concatenate([blocks[i] for i in rng.integers(0, len(blocks), n_draw)])[:n]
            ratios[r] = cv[pick].sum() / bv[pick].sum()
        lo, hi = np.quantile(ratios, [0.05, 0.95])
        per_window = {
            w: float(c.xs(w, level="window").sum() / b.xs(w, level="window").sum())
            for w in dict.fromkeys(k[0] for k in keys)
        }
        q = self.quarter_scores[self.quarter_scores["group"] == "all"]
        by_seed = q.groupby(["model", "seed_set"])["energy_score"].mean()
        seed_ratios = [
            float(by_seed[(self.challenger, s)] / by_seed[(self.benchmark, s)])
            for s in sorted(set(q["seed_set"]))
            if (self.challenger, s) in by_seed.index and (self.benchmark, s) in by_seed.index
        ]
        cov90 = self._metrics(self.challenger)["coverage_90"]
        es_ok = ratio <= 0.90
        cov_ok = cov90 is not None and 0.85 <= cov90 <= 0.95
        return {
            "benchmark": self.benchmark,
            "challenger": self.challenger,
            "es_ratio": ratio,
            "es_ratio_interval_90": [float(lo), float(hi)],
            "es_ratio_by_window": per_window,
            "es_ratio_by_seed_set": seed_ratios,
            "bootstrap": {"n_boot": self.n_boot, "block_length": self.block_length, "over": "held-out quarters"},
            "challenger_coverage_90": cov90,
            "goal": "es_ratio <= 0.90 and 0.85 <= challenger coverage_90 <= 0.95",
            "es_goal_met": bool(es_ok),
            "coverage_goal_met": bool(cov_ok),
            "goal_met": bool(es_ok and cov_ok),
            "goal_met_upper": bool(hi <= 0.90 and cov_ok),
        }

    # ------------------------------------------------------------------ export
    def to_json(self) -> dict[str, Any]:
        """One plain-JSON object: per model its ``energy_score``, ``crps``, ``coverage_90``,
        ``coverage_99`` (pooled), ``windows`` {id: same}, ``by_class`` and ``seed_spread``;
        then ``comparison`` and ``settings``."""
        out: dict[str, Any] = {m: self.model_summary(m) for m in self.models}
        out["comparison"] = self.comparison()
        out["settings"] = dict(self.settings)
        out["notes"] = list(self.notes)
        return _clean(out)

    def to_markdown(self) -> str:
        """Tables for the pack and Dagster metadata: pooled and per-window metrics per model,
        per-class metrics, and the comparison."""
        models = self.models
        summaries = {m: self.model_summary(m) for m in models}

        def fmt(v: Any, digits: int = 3) -> str:
            return "-" if v is None else f"{v:.{digits}f}"

        def spread(s: dict[str, Any], k: str) -> str:
            sp = s["seed_spread"].get(k)
            return "" if not sp or len(sp["per_seed_set"]) < 2 else f" ({sp['min']:.3f}-{sp['max']:.3f})"

        lines = [
            "### Leave-crisis-out backtest (open factors, standardized; ES and CRPS: lower is better)",
            "",
            f"{self.settings['n_samples']} samples, seed sets {self.settings['seed_sets']}, "
            f"{len(self.settings['factors_scored'])} open factors; brackets: min-max over seed sets.",
            "",
            "| model | window | quarters | ES | CRPS | cov 90% | cov 99% |",
            "|---|---|---|---|---|---|---|",
        ]
        for m in models:
            s = summaries[m]
            rows = [("pooled", s), *s["windows"].items()]
            for w, r in rows:
                lines.append(
                    f"| {m} | {w} | {r['n_quarters']} | {fmt(r['energy_score'])}{spread(r, 'energy_score')} | "
                    f"{fmt(r['crps'])} | {fmt(r['coverage_90'], 2)} | {fmt(r['coverage_99'], 2)} |"
                )
        lines += ["", "| model | class | ES | CRPS | cov 90% | cov 99% |", "|---|---|---|---|---|---|"]
        for m in models:
            for g, r in summaries[m]["by_class"].items():
                lines.append(
                    f"| {m} | {g} | {fmt(r['energy_score'])} | {fmt(r['crps'])} | "
                    f"{fmt(r['coverage_90'], 2)} | {fmt(r['coverage_99'], 2)} |"
                )
        comp = self.comparison()
        lines.append("")
        if comp is None:
            lines.append(f"No comparison: models run were {models} (need {self.benchmark} and {self.challenger}).")
        else:
            lo, hi = comp["es_ratio_interval_90"]
            by_w = ", ".join(f"{w} {v:.2f}" for w, v in comp["es_ratio_by_window"].items())
            lines += [
                f"**{comp['challenger']} / {comp['benchmark']} energy score: {comp['es_ratio']:.3f}** "
                f"(block-bootstrap 90% interval {lo:.3f}-{hi:.3f}; by window: {by_w}; "
                f"by seed set: {', '.join(f'{v:.3f}' for v in comp['es_ratio_by_seed_set'])}).",
                f"Goal (ratio <= 0.90 and 90% coverage in [0.85, 0.95]): "
                f"{'met' if comp['goal_met'] else 'NOT met'} -- ratio {comp['es_ratio']:.3f}, "
                f"{comp['challenger']} coverage_90 {fmt(comp['challenger_coverage_90'], 3)}.",
            ]
        for note in self.notes:
            lines.append(f"- {note}")
        return "\n".join(lines) + "\n"


# =============================================================================== the backtest
def run_backtest(
    factor_history: FactorHistory,
    fed_history: MacroScenario,
    *,
    models: Mapping[str, ModelFactory],
    windows: Mapping[str, Sequence[str | pd.Period]] = CRISIS_WINDOWS,
    n_samples: int = 1000,
    seeds: Sequence[int | tuple[int, int]] = (0, 1),
    source_weights: Mapping[str, float] | None = None,
    buffer_after: int = 0,
    context_quarters: int = 8,
    catalog: RiskFactorCatalog | None = None,
    benchmark: str = "satellite",
    challenger: str = "transformer",
    n_boot: int = 5000,
    progress: Callable[[str], None] | None = None,
    hidden: Mapping[str, Sequence[str]] | None = None,
    keep_draws: bool = False,
) -> BacktestResult:
    """Leave-crisis-out backtest of one or more translators.

    Parameters
    ----------
    factor_history, fed_history
        The data every window's training set is built from, as in
        :func:`~risk_dagster.translate.base.build_training_set`.
    models
        Name -> factory of an unfitted :class:`~risk_dagster.translate.base.Translator`
        (called once per window and seed set; a factory with a ``seed`` keyword gets the
        model seed, see :func:`_instantiate`).
    windows
        Window id -> quarters held out together.
    n_samples
        Draws per quarter.
    seeds
        Seed sets: an int ``s`` means model seed ``s`` and sampling seed ``s``; a pair gives
        them separately.
    source_weights
        Reliability weights passed to :func:`~risk_dagster.translate.base.build_training_set`.
    buffer_after
        Quarters after each window also left out of training (0: see the module notes).
    context_quarters
        Quarters of features before the window passed as ``context``.
    catalog
        Risk-factor catalog (classes, which factors are fixed); the shipped one by default.
    benchmark, challenger
        Model names compared by :meth:`BacktestResult.comparison`.
    n_boot
        Bootstrap replications of the comparison interval.
    progress
        Called with one line per fitted model.
    hidden
        Window id -> conditioning variables the window's scenario does not give (the masked
        conditioning experiment): every model is fitted and sampled without the features
        computed from them (:func:`~risk_dagster.translate.conditioning.restricted_copy`, the
        refit production makes for such a scenario), those features set missing in the
        window's inputs. The factors scored are the same open factors either way.
    keep_draws
        Keep the first seed set's raw draws and the realized changes of the scored cells
        (:attr:`BacktestResult.draws`, :attr:`BacktestResult.realized`): the calibration
        statistics of the conservativeness test are computed from them.

    Returns
    -------
    BacktestResult
    """
    if not models:
        raise ValueError("run_backtest: no model to run")
    catalog = catalog if catalog is not None else load_risk_factor_catalog()
    seed_sets = _seed_pairs(seeds)
    full = build_training_set(factor_history, fed_history, source_weights)
    factor_ids = list(full.factor_ids)
    open_ids = [f for f in factor_ids if not catalog.get(f).is_fixed_by_fed]
    open_pos = np.array([factor_ids.index(f) for f in open_ids])
    classes = np.array([catalog.get(f).asset_class for f in open_ids])
    # Full-sample std (crisis quarters included): the same yardstick for every window and model.
    std = full.Y[open_ids].std(ddof=1).to_numpy(dtype=np.float64)
    features = full.features
    timings: dict[str, float] = {m: 0.0 for m in models}
    kept: dict[str, dict[str, FloatArray]] = {m: {} for m in models} if keep_draws else {}
    kept_realized: dict[str, FloatArray] = {}
    q_rows: list[dict[str, Any]] = []
    c_frames: list[pd.DataFrame] = []
    started = time.perf_counter()

    for wid, quarters in windows.items():
        wq = _periods(quarters)
        training = window_training_set(
            factor_history, fed_history, wq, source_weights=source_weights, buffer_after=buffer_after
        )
        leaked = set(training.X.index) & set(wq)
        if leaked:  # build_training_set's contract; a violation would void the backtest
            raise AssertionError(f"run_backtest: window {wid} quarters in training: {sorted(map(str, leaked))}")
        if list(training.factor_ids) != factor_ids:
            raise ValueError(f"run_backtest: window {wid} trains on other factors than the full sample")
        missing = [q for q in wq if q not in features.index]
        if missing:
            raise ValueError(f"run_backtest: window {wid}: no macro features for {[str(q) for q in missing]}")
        X = features.loc[wq]
        context = features[features.index < wq[0]].tail(context_quarters)
        masked = hidden_features((hidden or {}).get(wid, ()))
        if masked:
            X, context = X.assign(**{c: np.nan for c in masked}), context.assign(**{c: np.nan for c in masked})
        realized = factor_history.changes.reindex(index=wq, columns=open_ids).to_numpy(dtype=np.float64)
        z_obs = realized / std[None, :]

        for k, (model_seed, sample_seed) in enumerate(seed_sets):
            draws: dict[str, FloatArray] = {}
            for name, factory in models.items():
                t0 = time.perf_counter()
                model = _instantiate(factory, model_seed)
                if masked:
                    model = restricted_copy(model, masked)
                model = model.fit(training)
                out = np.asarray(model.predictive_changes(X, n_samples, sample_seed, context=context), np.float64)
                timings[name] += time.perf_counter() - t0
                ids = list(getattr(model, "factor_ids_", factor_ids))
                if out.shape != (n_samples, len(wq), len(ids)):
                    raise ValueError(f"run_backtest: {name} returned {out.shape}, expected {(n_samples, len(wq), len(ids))}")
                pos = open_pos if ids == factor_ids else np.array([ids.index(f) for f in open_ids])
                draws[name] = out[:, :, pos] / std[None, None, :]
                if progress is not None:
                    progress(f"backtest: {name} window {wid} seed set {k} ({time.perf_counter() - t0:.1f}s)")
            # Same cells for every model: realized and finite in all draws.
            valid = np.isfinite(z_obs)
            for d in draws.values():
                valid &= np.isfinite(d).all(axis=0)
            if keep_draws and k == 0:
                kept_realized[wid] = np.where(valid, realized, np.nan)
                for name, d in draws.items():
                    kept[name][wid] = d * std[None, None, :]
            for name, d in draws.items():
                for t, q in enumerate(wq):
                    m = valid[t]
                    if not m.any():
                        continue
                    y, x = z_obs[t, m], d[:, t, m]
                    q_rows.append(
                        {"model": name, "seed_set": k, "window": wid, "quarter": str(q), "group": "all",
                         "energy_score": energy_score(y, x), "n_factors": int(m.sum())}
                    )  # fmt: skip
                    cls_t = classes[m]
                    for g in CLASSES:
                        sel = cls_t == g
                        if sel.any():
                            q_rows.append(
                                {"model": name, "seed_set": k, "window": wid, "quarter": str(q), "group": g,
                                 "energy_score": energy_score(y[sel], x[:, sel]), "n_factors": int(sel.sum())}
                            )  # fmt: skip
                    c_frames.append(
                        pd.DataFrame(
                            {
                                "model": name,
                                "seed_set": k,
                                "window": wid,
                                "quarter": str(q),
                                "factor_id": np.array(open_ids)[m],
                                "asset_class": cls_t,
                                "crps": crps(y, x),
                                "in_90": interval_coverage(y, x, 0.90),
                                "in_99": interval_coverage(y, x, 0.99),
                                "z": y,
                                "mean_z": x.mean(axis=0),
                            }
                        )
                    )

    settings = {
        "n_samples": int(n_samples),
        "seed_sets": [list(s) for s in seed_sets],
        "windows": {w: [str(q) for q in _periods(qs)] for w, qs in windows.items()},
        "n_quarters": int(sum(len(_periods(qs)) for qs in windows.values())),
        "factors_scored": open_ids,
        "factors_fixed_excluded": [f for f in factor_ids if f not in open_ids],
        "standardization": "full-sample std of one-quarter changes, " f"{full.start}-{full.end}",
        "scale": dict(zip(open_ids, map(float, std), strict=True)),
        "buffer_after": int(buffer_after),
        "context_quarters": int(context_quarters),
        "pooling": "mean over all held-out quarters (ES) / factor-quarters (CRPS, coverage)",
        "models": list(models),
        "hidden": {w: list(v) for w, v in (hidden or {}).items()},
        "seconds": {"total": round(time.perf_counter() - started, 1), **{m: round(t, 1) for m, t in timings.items()}},
    }
    return BacktestResult(
        quarter_scores=pd.DataFrame(q_rows),
        cell_scores=pd.concat(c_frames, ignore_index=True) if c_frames else pd.DataFrame(),
        settings=settings,
        benchmark=benchmark,
        challenger=challenger,
        n_boot=n_boot,
        draws=kept,
        realized=kept_realized,
    )


# =============================================================================== CLI
def default_models(quick: bool = False) -> tuple[dict[str, ModelFactory], list[str]]:
    """The models of ``risk-dagster backtest``: the satellite, and the transformer when its
    module is importable (its small preset under ``quick``).

    Returns
    -------
    tuple
        Name -> factory, and notes (e.g. that the transformer was not available).
    """
    from risk_dagster.translate.satellite import SatelliteTranslator

    models: dict[str, ModelFactory] = {"satellite": SatelliteTranslator}
    notes: list[str] = []
    try:
        from risk_dagster.translate.transformer import TransformerConfig, TransformerTranslator
    except ImportError as error:
        notes.append(f"transformer not run: risk_dagster.translate.transformer is not importable ({error})")
        return models, notes

    config = TransformerConfig.small() if quick else TransformerConfig()

    def transformer(seed: int) -> Translator:
        # Disjoint ensembles per seed set: members base_seed .. base_seed + n_seeds - 1.
        return TransformerTranslator(config, base_seed=1000 * seed)

    factory: ModelFactory = transformer
    if quick:
        notes.append("quick mode: the transformer's small preset (TransformerConfig.small())")
    models["transformer"] = factory
    return models, notes


def backtest_command(json: bool, quick: bool = False) -> str:  # noqa: A002 - the CLI flag's name
    """``risk-dagster backtest [--json]``: the outcomes analysis on the shipped data: the
    leave-crisis-out backtest on the four design windows, then the rolling-origin evaluation
    over all quarters (:mod:`risk_dagster.translate.rolling_origin`, key ``rolling_origin``),
    with the paths production draws scored too (``rolling_origin.paths``) and, when the
    transformer runs, its conditioning ablation restricted to the satellite's inputs
    (:func:`~risk_dagster.translate.path_scores.satellite_inputs_transformer`, key
    ``rolling_origin.transformer_satellite_inputs`` and ``rolling_origin.ablation``).

    Parameters
    ----------
    json
        Return one JSON object (per model ``energy_score``, ``crps``, ``coverage_90``,
        ``coverage_99``, overall and per window; ``comparison``; ``settings``) instead of
        Markdown tables.
    quick
        200 samples and one seed set (tests, smoke runs) instead of 1000 samples and seed sets
        0 and 1.

    Returns
    -------
    str
        The text to print.
    """
    from risk_dagster.market.history import build_factor_history
    from risk_dagster.scenarios.registry import load_fed_history

    fed = load_fed_history("2026")
    history = build_factor_history(fed.wide())
    models, notes = default_models(quick)
    result = run_backtest(
        history,
        fed,
        models=models,
        windows=CRISIS_WINDOWS,
        n_samples=200 if quick else 1000,
        seeds=(0,) if quick else (0, 1),
        n_boot=1000 if quick else 5000,
    )
    result.notes.extend(notes)
    from risk_dagster.translate.path_scores import ABLATION_MODEL, satellite_inputs_transformer
    from risk_dagster.translate.rolling_origin import recession_indicator, rolling_origin, rolling_origin_markdown

    rolling_models = dict(models)
    if "transformer" in models:  # the conditioning ablation: the transformer on the satellite's inputs only
        rolling_models[ABLATION_MODEL] = satellite_inputs_transformer(quick=quick)
    rolling = rolling_origin(
        history,
        fed,
        models=rolling_models,
        recession=recession_indicator(),
        first_origin="2016Q1" if quick else "2000Q1",
        n_samples=200 if quick else 1000,
        seeds=(0,) if quick else (0, 1),
        n_boot=1000 if quick else 2000,
    )
    if json:
        out = result.to_json()
        out.setdefault("transformer", None)  # the key, null when the model was not run
        out["rolling_origin"] = rolling
        return _json.dumps(out, indent=2)
    return result.to_markdown() + "\n" + rolling_origin_markdown(rolling)
