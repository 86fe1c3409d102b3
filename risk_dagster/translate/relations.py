"""Relations of open factors to their fixed siblings, fitted on history.

A Fed scenario fixes the BBB-10y spread, the 3m / 5y / 10y Treasury yields and the VIX; it
leaves open the Moody's Baa-10y and Aaa-10y spreads, the 20y / 30y yields and the VXO, whose paths must follow what
is fixed the way history shows. Each relation here is a small linear model of the open factor's
*level* ``y`` (measured over an optional base factor) on levels of fixed or already-coherent
factors, with an AR(1) residual:

    y_t = a + sum_k b_k x_{k,t} + u_t,      u_t = phi u_{t-1} + eta_t,

fitted by OLS on the quarter-end history (statsmodels; HAC standard errors reported), ``phi``
the AR(1) coefficient of the residual. Along a scenario path the mean ``a + b' x_t`` follows the
supervisor's fixed path (never contradicted), ``u`` starts at its jump-off value and decays,
and its innovations are the translator's own drawn innovations of ``y`` (so the joint
dependence with every other factor survives), scaled down where their spread exceeds the
history of ``Delta u`` (:attr:`Relation.diff_sd`).

Why these forms (history in :func:`fit_relations`'s data, 1988 Q4 onwards for the BBB spread):

* **Baa-10y on BBB-10y** (levels). The ratio Baa-10y / BBB-10y ranged 0.85-2.5 since 1988 and
  sat near 1.0 in 2008-09: seasoned Baa bonds widen less than the BBB index in calm years and
  about as much in a crisis. A level relation with a slope below one reproduces both (slope
  0.80, HAC t 18, R^2 0.74 on 1989 Q4-2025 Q2; ``scripts/relations_report.py`` prints every
  fit), where
  a constant ratio would overstate calm spreads and an AR(1) around the jump-off (the previous
  model) let Baa fall to half of BBB at the end of a severe path.
* **Aaa-10y on BBB-10y** (levels): the same, weaker (slope 0.37, R^2 0.39).
* **20y-10y on the 10y-5y and 10y-3m slopes.** The long end's term spread moves with the
  slope the scenario fixes (10y-5y coefficient 0.44, HAC t 9; R^2 0.68 on 1993 Q4-2024 Q4): in
  2008 and 2020 the 10y fell, the curve steepened and the 20y and 30y stayed well above the 10y.
  The 10y-3m slope adds nothing (t 0.2) and is kept as fitted, not selected away.
* **30y-20y on the 10y-5y slope** (coefficient 0.32, R^2 0.40), over the coherent 20y (the
  tightest spread of the curve).
* **VXO on VIX** (levels). The CBOE's old S&P 100 index follows the VIX the Fed fixes
  (``scripts/relations_report.py`` prints the fit); drawn on its own it could fall below
  anything since 1976 while the Fed's VIX stays high.

A relation whose factors are not all present (or whose regressors have no jump-off level) is
skipped and the coherence model's older treatment applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from risk_dagster.translate.shockset import FloatArray

__all__ = ["RELATION_SPECS", "Relation", "RelationSpec", "fit_relations"]


@dataclass(frozen=True)
class RelationSpec:
    """What a relation links (before fitting).

    Attributes
    ----------
    target
        The open factor it determines.
    base
        Factor the target is measured over (``y = target - base``), or ``None`` (``y`` is the
        target's level).
    regressors
        Name -> ``{factor id: weight}``: each regressor is a weighted sum of factor levels
        (percent), e.g. the 10y-5y slope ``{"rates.ust.10y": 1, "rates.ust.5y": -1}``.
    unit
        Shock units per level unit of the target: 100 for a rate or spread in percent shocked
        in bp, 1 for an index in points (the VXO).
    """

    target: str
    base: str | None
    regressors: dict[str, dict[str, float]]
    unit: float = 100.0

    @property
    def inputs(self) -> list[str]:
        """Every factor the relation reads (base first)."""
        out = [self.base] if self.base else []
        for combo in self.regressors.values():
            out += [f for f in combo if f not in out]
        return out


RELATION_SPECS: tuple[RelationSpec, ...] = (
    RelationSpec("credit.spread.baa_10y", None, {"bbb_10y": {"credit.spread.bbb_10y": 1.0}}),
    RelationSpec("credit.spread.aaa_10y", None, {"bbb_10y": {"credit.spread.bbb_10y": 1.0}}),
    RelationSpec(
        "rates.ust.20y",
        "rates.ust.10y",
        {
            "slope_10y_5y": {"rates.ust.10y": 1.0, "rates.ust.5y": -1.0},
            "slope_10y_3m": {"rates.ust.10y": 1.0, "rates.ust.3m": -1.0},
        },
    ),
    RelationSpec("rates.ust.30y", "rates.ust.20y", {"slope_10y_5y": {"rates.ust.10y": 1.0, "rates.ust.5y": -1.0}}),
    RelationSpec("vol.vxo", None, {"vix": {"vol.vix": 1.0}}, unit=1.0),
)
"""The relations, in the order they are applied (the 30y reads the coherent 20y)."""

MIN_QUARTERS = 40
"""Fewest joint quarters for a relation to be fitted (ten years)."""


@dataclass
class Relation:
    """A fitted relation (see the module docstring).

    Attributes
    ----------
    spec
        What it links.
    intercept, coef
        ``a`` and ``b`` (per regressor name), percent.
    phi
        AR(1) coefficient of the residual, clipped to ``[0, phi_max]``.
    diff_sd
        Standard deviation of the residual's one-quarter change in history, in the target's
        shock unit (bp, or points): the ceiling of the drawn innovations' root mean square.
    resid_sd, r2, n_quarters, t_hac
        Fit statistics: residual sd (percent), R^2, quarters used, HAC (4 lags) t-statistics.
    first, last
        First and last quarter of the fit.
    """

    spec: RelationSpec
    intercept: float
    coef: dict[str, float]
    phi: float
    diff_sd: float
    resid_sd: float
    r2: float
    n_quarters: int
    t_hac: dict[str, float] = field(default_factory=dict)
    first: str = ""
    last: str = ""

    def mean(self, regressor_levels: Mapping[str, FloatArray]) -> FloatArray:
        """``a + sum_k b_k x_k`` for regressor levels of any (broadcastable) shape."""
        total = np.asarray(self.intercept, dtype=np.float64)
        for name, b in self.coef.items():
            total = total + b * np.asarray(regressor_levels[name], dtype=np.float64)
        return total

    def regressor_levels(self, level_of: Mapping[str, FloatArray]) -> dict[str, FloatArray]:
        """Regressor name -> its level, from factor levels (``{factor id: array}``)."""
        return {
            name: sum(w * np.asarray(level_of[f], dtype=np.float64) for f, w in combo.items())
            for name, combo in self.spec.regressors.items()
        }

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (floats round-trip exactly through ``json``)."""
        s = self.spec
        return {
            "target": s.target,
            "base": s.base,
            "regressors": {k: dict(v) for k, v in s.regressors.items()},
            "unit": s.unit,
            "intercept": self.intercept,
            "coef": dict(self.coef),
            "phi": self.phi,
            "diff_sd": self.diff_sd,
            "resid_sd": self.resid_sd,
            "r2": self.r2,
            "n_quarters": self.n_quarters,
            "t_hac": dict(self.t_hac),
            "first": self.first,
            "last": self.last,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Relation:
        spec = RelationSpec(
            str(doc["target"]),
            None if doc.get("base") is None else str(doc["base"]),
            {str(k): {str(f): float(w) for f, w in v.items()} for k, v in doc["regressors"].items()},
            unit=float(doc.get("unit", 100.0)),
        )
        return cls(
            spec=spec,
            intercept=float(doc["intercept"]),
            coef={str(k): float(v) for k, v in doc["coef"].items()},
            phi=float(doc["phi"]),
            diff_sd=float(doc["diff_sd"]),
            resid_sd=float(doc["resid_sd"]),
            r2=float(doc["r2"]),
            n_quarters=int(doc["n_quarters"]),
            t_hac={str(k): float(v) for k, v in doc.get("t_hac", {}).items()},
            first=str(doc.get("first", "")),
            last=str(doc.get("last", "")),
        )


def _consecutive_pairs(series: pd.Series) -> tuple[FloatArray, FloatArray]:
    idx = pd.PeriodIndex(series.index, freq="Q-DEC")
    s = pd.Series(series.to_numpy(dtype=np.float64), index=idx)
    prev = s.reindex(idx - 1).to_numpy()
    ok = np.isfinite(prev) & np.isfinite(s.to_numpy())
    return s.to_numpy()[ok], prev[ok]


def fit_relations(
    levels: pd.DataFrame, specs: Sequence[RelationSpec] = RELATION_SPECS, *, phi_max: float = 0.98
) -> dict[str, Relation]:
    """Fit every relation whose factors the history holds.

    Parameters
    ----------
    levels
        Quarter-end factor levels (quarters x factor ids, percent for rates and spreads), quarters
        left out of training set to NaN.
    specs
        Relations to fit.
    phi_max
        Upper clip of the residual's AR(1) coefficient.

    Returns
    -------
    dict
        Target factor id -> :class:`Relation`, for relations with at least :data:`MIN_QUARTERS`
        joint quarters.
    """
    import statsmodels.api as sm

    out: dict[str, Relation] = {}
    for spec in specs:
        needed = [spec.target, *spec.inputs]
        if any(f not in levels.columns for f in needed):
            continue
        frame = levels[needed].dropna()
        if len(frame) < MIN_QUARTERS:
            continue
        y = frame[spec.target] - (frame[spec.base] if spec.base else 0.0)
        X = pd.DataFrame(
            {name: sum(w * frame[f] for f, w in combo.items()) for name, combo in spec.regressors.items()},
            index=frame.index,
        )
        fit = sm.OLS(y.to_numpy(dtype=np.float64), sm.add_constant(X.to_numpy(dtype=np.float64))).fit()
        hac = fit.get_robustcov_results(cov_type="HAC", maxlags=4)
        resid = pd.Series(fit.resid, index=frame.index)
        cur, prev = _consecutive_pairs(resid)
        phi = float(np.dot(cur, prev) / np.dot(prev, prev)) if len(prev) >= 20 else 1.0
        diffs = cur - prev
        names = list(spec.regressors)
        out[spec.target] = Relation(
            spec=spec,
            intercept=float(fit.params[0]),
            coef={n: float(b) for n, b in zip(names, fit.params[1:], strict=True)},
            phi=float(np.clip(phi, 0.0, phi_max)),
            diff_sd=float(np.std(diffs, ddof=1) * spec.unit) if len(diffs) >= 20 else float("nan"),
            resid_sd=float(np.std(fit.resid, ddof=1)),
            r2=float(fit.rsquared),
            n_quarters=int(len(frame)),
            t_hac={n: float(t) for n, t in zip(["const", *names], hac.tvalues, strict=True)},
            first=str(frame.index[0]),
            last=str(frame.index[-1]),
        )
    return out
