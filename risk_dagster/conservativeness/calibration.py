"""Statistics 21-25 of the conservativeness test: calibration of both translators on history.

The AI model (the transformer) and the traditional one (the satellite) are each refitted at every
origin of the rolling-origin evaluation (:mod:`risk_dagster.translate.rolling_origin`: an origin
every 8 quarters from 2000Q1, each model fitted on the quarters before the origin only), fed the
realized macro path of the origin's block, and their one-quarter predictive draws of the open
factors kept for the **stress quarters** of the block (the Fed's quarterly VIX above 30, or an
NBER recession month). Blocks without a stress quarter are not fitted. Both models are scored on
the same quarters and the same cells (factor, quarter): those with a realized change and finite
draws of both. The draws are those of the models' designs (configurations) refitted on the past:
a registered lane version trained on all of history cannot be scored out of sample, so statistics
21-25 are the same for every lane of a run whose lanes share the design, and for every scenario.

Per stress quarter ``t`` with cells ``f`` (``r`` the realized change, ``x`` the model's draws,
``delta`` the book's sensitivities, market scope, book total; shock units throughout):

21. ``crisis_coverage_90`` = sum_t #{f: q_5%(x) <= r <= q_95%(x)} / sum_t #cells (a ratio of sums
    over all quarters, not a mean of quarter means);
22. ``crisis_coverage_99`` the same for ``q_0.5% .. q_99.5%``;
23. ``crisis_adverse_miss`` = sum_t #{f exposed: r beyond the 1% quantile on the side that hurts
    the book} / sum_t #exposed, exposed = ``delta_f != 0``; the hurting side is up for
    ``delta_f > 0`` (``r > q_99%``) and down for ``delta_f < 0`` (``r < q_1%``);
24. ``crisis_book_loss_pit`` = mean over quarters of ``PIT_t = (#{s: L_s < l} + 0.5 #{s: L_s = l}) / n``,
    ``l = sum_f delta_f r_f`` the book's realized linearised loss and ``L_s = sum_f delta_f x_sf``
    the model's predictive loss, over the quarter's cells;
25. ``crisis_book_loss_exceed_95`` = share of quarters with ``l > q_95%(L)``.

Quarters without an exposed cell drop out of 23-25. The test (:func:`~risk_dagster.conservativeness.bootstrap.calibration_test`)
resamples moving blocks of consecutive stress quarters, the same blocks for both models.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from risk_dagster.storage import write_npz
from risk_dagster.translate.shockset import FloatArray

AI_MODEL = "transformer"
"""The backtest model whose draws stand for the AI set."""
TRADITIONAL_MODEL = "satellite"
"""The backtest model whose draws stand for the traditional set."""
CALIBRATION_IDS: tuple[str, ...] = (
    "crisis_coverage_90",
    "crisis_coverage_99",
    "crisis_adverse_miss",
    "crisis_book_loss_pit",
    "crisis_book_loss_exceed_95",
)
FIRST_ORIGIN = "2000Q1"
ORIGIN_STEP = 8
FORMAT = "risk_dagster.conservativeness.calibration/1"


@dataclass(frozen=True)
class CalibrationDraws:
    """Both models' one-quarter predictive draws and the realized changes on the stress quarters.

    Attributes
    ----------
    quarters
        ``[T]`` stress quarters, chronological.
    factor_ids
        ``[F]`` open factors.
    realized
        ``[T, F]`` realized one-quarter changes (shock units); NaN outside the scored cells.
    draws
        Model -> ``[n, T, F]`` predictive draws (shock units).
    settings
        How they were made (origins, samples, seed, models, seconds).
    """

    quarters: tuple[str, ...]
    factor_ids: tuple[str, ...]
    realized: FloatArray
    draws: Mapping[str, FloatArray]
    settings: Mapping[str, Any] = field(default_factory=dict)

    def scaled(self, model: str, multiplier: float) -> CalibrationDraws:
        """A copy with ``model``'s draws multiplied by ``multiplier`` (the conservative overlay)."""
        draws = dict(self.draws)
        draws[model] = draws[model] * float(multiplier)
        return replace(self, draws=draws)

    def save_npz(self, path: str | Path) -> Path:
        arrays = {f"draws__{m}": d for m, d in self.draws.items()}
        doc = {"format": FORMAT, "quarters": list(self.quarters), "factor_ids": list(self.factor_ids),
               "models": list(self.draws), "settings": dict(self.settings)}  # fmt: skip
        return write_npz(path, realized=self.realized, meta=np.array(json.dumps(doc)), **arrays)

    @classmethod
    def load_npz(cls, path: str | Path) -> CalibrationDraws:
        with np.load(Path(path), allow_pickle=False) as z:
            doc = json.loads(str(z["meta"]))
            if doc.get("format") != FORMAT:
                raise ValueError(f"{path}: not a calibration-draws file (format {doc.get('format')!r})")
            draws = {m: z[f"draws__{m}"] for m in doc["models"]}
            return cls(tuple(doc["quarters"]), tuple(doc["factor_ids"]), z["realized"], draws, doc["settings"])


def calibration_key(training_hash: str, settings: Mapping[str, Any]) -> str:
    """The cache key of a set of calibration draws: the training data's hash and every setting
    that changes them (models and their configurations, samples, seed, origins, code version)."""
    from risk_dagster.translate.registry import settings_key

    return settings_key(training_hash, settings)


def calibration_draws(
    factor_history: Any,
    fed_history: Any,
    models: Mapping[str, Callable[..., Any]],
    *,
    recession: pd.Series | None,
    first_origin: str = FIRST_ORIGIN,
    step: int = ORIGIN_STEP,
    n_samples: int = 500,
    seed: int = 0,
    source_weights: Mapping[str, float] | None = None,
    progress: Callable[[str], None] | None = None,
) -> CalibrationDraws:
    """Fit both models at every rolling origin whose block holds a stress quarter (the past only)
    and keep their draws for those quarters.

    Parameters
    ----------
    factor_history, fed_history
        The shipped history (:class:`~risk_dagster.market.history.FactorHistory`, the Fed's historic table).
    models
        Name -> factory; must hold :data:`AI_MODEL` and :data:`TRADITIONAL_MODEL`.
    recession
        Monthly NBER indicator for the stress quarters (none: VIX only).
    first_origin, step, n_samples, seed, source_weights
        As for :func:`~risk_dagster.translate.rolling_origin.rolling_origin`; one seed set.
    """
    from risk_dagster.translate.backtest import run_backtest
    from risk_dagster.translate.rolling_origin import origins, stress_quarters

    missing = {AI_MODEL, TRADITIONAL_MODEL} - set(models)
    if missing:
        raise ValueError(f"calibration_draws: models {sorted(missing)} missing")
    changes = factor_history.changes.dropna(how="all")
    last = pd.Period(changes.index[-1], freq="Q-DEC")
    stress = stress_quarters(fed_history, recession)
    blocks = {label: block for label, block in origins(last, first=first_origin, step=step).items()
              if any(q in stress for q in block)}  # fmt: skip
    if not blocks:
        raise ValueError(f"calibration_draws: no stress quarter from {first_origin} to {last}")
    result = run_backtest(
        factor_history, fed_history, models=dict(models), windows=blocks, n_samples=n_samples, seeds=(seed,),
        source_weights=source_weights, buffer_after=10_000, n_boot=10, progress=progress, keep_draws=True,
    )  # fmt: skip
    open_ids = list(result.settings["factors_scored"])
    quarters, realized, draws = [], [], {m: [] for m in (AI_MODEL, TRADITIONAL_MODEL)}
    for label, block in blocks.items():
        for t, q in enumerate(block):
            if q not in stress:
                continue
            quarters.append(str(q))
            realized.append(result.realized[label][t])
            for m in draws:
                draws[m].append(result.draws[m][label][:, t, :])
    settings = {
        "origins": [str(b[0]) for b in blocks.values()],
        "first_origin": first_origin,
        "step": int(step),
        "last_quarter": str(last),
        "n_samples": int(n_samples),
        "seed": int(seed),
        "training": "quarters before the origin only (every later quarter excluded)",
        "stress_definition": "Fed quarterly VIX > 30 or an NBER recession month",
        "models": {AI_MODEL: "AI", TRADITIONAL_MODEL: "traditional"},
        "seconds": result.settings["seconds"],
    }
    return CalibrationDraws(
        quarters=tuple(quarters),
        factor_ids=tuple(open_ids),
        realized=np.asarray(realized, dtype=np.float64),
        draws={m: np.stack(v, axis=1).astype(np.float64) for m, v in draws.items()},
        settings=settings,
    )


# =============================================================================== per quarter
@dataclass(frozen=True)
class QuarterCalibration:
    """Per stress quarter ``[T]`` counts and book-loss scores of one model; 21-25 are functions of them."""

    cells: npt.NDArray[np.float64]
    in_90: npt.NDArray[np.float64]
    in_99: npt.NDArray[np.float64]
    exposed: npt.NDArray[np.float64]
    adverse_miss: npt.NDArray[np.float64]
    pit: npt.NDArray[np.float64]
    """NaN for a quarter without an exposed cell."""
    exceed_95: npt.NDArray[np.float64]
    """1.0 / 0.0; NaN as ``pit``."""

    @property
    def quarters(self) -> int:
        return int(self.cells.shape[0])

    def take(self, index: np.ndarray) -> QuarterCalibration:
        """The quarters ``index`` (``[..., m]``: a batch of resamples)."""
        return QuarterCalibration(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def to_frame(self, quarters: Sequence[str] | None = None) -> pd.DataFrame:
        frame = pd.DataFrame({f.name: getattr(self, f.name) for f in fields(self)})
        if quarters is not None:
            frame.index = pd.Index(list(quarters), name="quarter")
        return frame


def quarter_calibration(draws: FloatArray, realized: FloatArray, delta: FloatArray) -> QuarterCalibration:
    """The per-quarter quantities of the module docstring.

    Parameters
    ----------
    draws
        ``[n, T, F]`` one model's predictive draws.
    realized
        ``[T, F]`` realized changes, NaN outside the scored cells.
    delta
        ``[F]`` the book's loss per unit move of each factor (0 where the book has no exposure).
    """
    x = np.asarray(draws, dtype=np.float64)
    r = np.asarray(realized, dtype=np.float64)
    d = np.asarray(delta, dtype=np.float64)
    if x.shape[1:] != r.shape or r.shape[1] != d.shape[0]:
        raise ValueError(f"quarter_calibration: draws {x.shape}, realized {r.shape}, delta {d.shape} do not match")
    valid = np.isfinite(r) & np.isfinite(x).all(axis=0)
    q = np.quantile(np.where(valid[None], x, 0.0), [0.005, 0.01, 0.05, 0.95, 0.99, 0.995], axis=0)
    lo99, p01, lo90, hi90, p99, hi99 = q
    rr = np.where(valid, r, 0.0)
    exposed = valid & (d[None, :] != 0.0)
    miss = np.where(d[None, :] > 0, rr > p99, rr < p01) & exposed
    loss_real = (rr * np.where(exposed, d[None, :], 0.0)).sum(axis=1)
    loss_pred = np.einsum("ntf,tf->nt", np.where(exposed[None], x, 0.0), np.where(exposed, d[None, :], 0.0))
    has = exposed.any(axis=1)
    below = (loss_pred < loss_real[None, :]).mean(axis=0)
    ties = (loss_pred == loss_real[None, :]).mean(axis=0)
    pit = np.where(has, below + 0.5 * ties, np.nan)
    exceed = np.where(has, (loss_real > np.quantile(loss_pred, 0.95, axis=0)).astype(np.float64), np.nan)
    return QuarterCalibration(
        cells=valid.sum(axis=1).astype(np.float64),
        in_90=(valid & (rr >= lo90) & (rr <= hi90)).sum(axis=1).astype(np.float64),
        in_99=(valid & (rr >= lo99) & (rr <= hi99)).sum(axis=1).astype(np.float64),
        exposed=exposed.sum(axis=1).astype(np.float64),
        adverse_miss=miss.sum(axis=1).astype(np.float64),
        pit=pit,
        exceed_95=exceed,
    )


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return num.sum(axis=-1) / den.sum(axis=-1)


def _mean_over_scored(x: np.ndarray) -> np.ndarray:
    """Mean over the quarters with a value (NaN: no exposed cell); NaN, without a warning, when none has one."""
    scored = np.isfinite(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(scored, x, 0.0).sum(axis=-1) / scored.sum(axis=-1)


CALIBRATION_FUNCTIONS: dict[str, Callable[[QuarterCalibration], np.ndarray]] = {
    "crisis_coverage_90": lambda c: _ratio(c.in_90, c.cells),
    "crisis_coverage_99": lambda c: _ratio(c.in_99, c.cells),
    "crisis_adverse_miss": lambda c: _ratio(c.adverse_miss, c.exposed),
    "crisis_book_loss_pit": lambda c: _mean_over_scored(c.pit),
    "crisis_book_loss_exceed_95": lambda c: _mean_over_scored(c.exceed_95),
}
"""Statistic id -> function of a model's per-quarter calibration (a batch ``[B, T]`` gives ``[B]``)."""


def calibration_values(calibration: QuarterCalibration) -> dict[str, float]:
    """Point values of statistics 21-25 for one model."""
    return {i: float(f(calibration)) for i, f in CALIBRATION_FUNCTIONS.items()}


def model_calibrations(
    draws: CalibrationDraws, delta: FloatArray, *, ai_multiplier: float = 1.0
) -> dict[str, QuarterCalibration]:
    """``{"ai": ..., "traditional": ...}`` per-quarter calibration, the AI draws scaled by ``ai_multiplier``."""
    scaled = draws.scaled(AI_MODEL, ai_multiplier) if ai_multiplier != 1.0 else draws
    return {
        "ai": quarter_calibration(scaled.draws[AI_MODEL], scaled.realized, delta),
        "traditional": quarter_calibration(scaled.draws[TRADITIONAL_MODEL], scaled.realized, delta),
    }


__all__ = [
    "AI_MODEL",
    "CALIBRATION_FUNCTIONS",
    "CALIBRATION_IDS",
    "TRADITIONAL_MODEL",
    "CalibrationDraws",
    "QuarterCalibration",
    "calibration_draws",
    "calibration_key",
    "calibration_values",
    "model_calibrations",
    "quarter_calibration",
]
