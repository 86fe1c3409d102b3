"""The traditional benchmark translator: statsmodels satellite regressions per risk factor.

Model. The regressor set and the leave-one-out residuals were chosen in a study scored on the
backtest's four crisis windows (2001, 2008Q3-2009Q2, 2020Q1-Q2, 2022; see
``notes/translator-study.md``): those are design windows, so the backtest's results on them are
not out-of-sample evidence for this design.

* Mean. For each factor, weighted least squares of its one-quarter change on the nine
  :data:`~risk_dagster.translate.features.SATELLITE_REGRESSORS` and their first lags (an
  ADL(0,1)); weights are the training set's per-quarter reliability weights. The lag matters
  for the basis: the Fed's rates are quarterly averages while most factor histories are
  quarter-end levels, and a quarter-end change loads on this and the previous quarter's
  average change. Newey-West (HAC, 4 lags) standard errors are reported.
* Tails. Quantile regressions (statsmodels ``QuantReg``) at 5% and 95% on the same design,
  reported as fit statistics (in-sample exceedance rates and the 5-95% band width).
* Residuals. Leave-one-out residuals ``e_i / (1 - h_ii)`` from the weighted hat matrix: the
  in-sample residuals are too narrow for crises (first study, on the design windows: 90%
  coverage 0.55).
* Stress scale. A single residual scale per quarter, ``sigma_t^2 = exp(a + b' z_t)`` with
  ``z = (VIX level, VIX change, unemployment change)``, fitted as a Gamma GLM (log link) on
  the cross-factor mean of squared standardized LOO residuals, with coefficients restricted
  to be >= 0 (a driver that comes out negative is dropped: more stress never means a calmer
  scenario). Factors that are exact functions of the regressors (the Fed's BBB spread, VIX,
  equity, house and CRE prices) have no residual and no say in it. Residual vectors are divided
  by their quarter's fitted scale and multiplied by the scenario quarter's scale, clipped to
  ``[min, scale_cap x max]`` of the training scales.
* Sampling. Block bootstrap (blocks of ``block_length`` consecutive training quarters) of WHOLE
  residual vectors, so cross-factor and serial residual dependence survive. A factor with
  no history in a drawn quarter (eurusd before 1999 ...) gets that factor's standardized
  residual of a uniformly drawn quarter where it is observed (its dependence on the others
  is lost for that cell only; :attr:`SatelliteTranslator.fill_share` reports how often). A
  Treasury tenor without history in the drawn quarter (1m before 2001, 20y before 1993, 30y in
  2002-2006) instead takes the residual interpolated in maturity from the tenors observed that
  quarter (flat beyond the ends): an independent draw would make its spread to the neighbours
  a random difference of two full-size residuals, which no curve ever showed.
* Missing regressors at prediction time take their training mean (never zero).
* Paths. The drawn one-quarter changes are summed and made coherent over the horizon by the
  shared :class:`~risk_dagster.translate.base.CoherenceModel` (fitted with the satellite):
  mean-reverting tenor, fed funds and credit spreads, a soft zero lower bound, and each open
  factor's path kept within its historical h-quarter envelope around the fitted mean path.
  :meth:`SatelliteTranslator.predictive_changes` (one-quarter draws, what the backtest scores)
  is unaffected.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.regression.quantile_regression import QuantReg

from risk_dagster.market.catalog import RiskFactorCatalog
from risk_dagster.market.history import FactorHistory
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.base import (
    TENOR_YEARS,
    CoherenceModel,
    TrainingSet,
    assemble_shockset,
)
from risk_dagster.translate.features import SATELLITE_REGRESSORS, add_lags
from risk_dagster.translate.shockset import FloatArray, ShockSet

__all__ = ["SCALE_FEATURES", "SatelliteTranslator"]

SCALE_FEATURES: tuple[str, ...] = ("vix", "vix_chg", "unemployment_rate_chg")
"""Drivers of the residual stress scale."""

_FORMAT = "risk_dagster.translate.satellite/1"


def _fit_stress_scale(stress: FloatArray, drivers: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Gamma GLM (log link) of the stress measure on its drivers, signs restricted to >= 0.

    A stress scale that *fell* as a driver rose would make a severe scenario calmer than a
    mild one; a driver whose coefficient comes out negative is dropped (most negative
    t-statistic first) and the model refitted. Dropped drivers get coefficient 0 (t = NaN).

    Returns
    -------
    tuple
        ``[1 + drivers]`` coefficients (constant first) and their t-statistics.
    """
    active = list(range(drivers.shape[1]))
    family = sm.families.Gamma(sm.families.links.Log())
    # Fitted on standardized drivers, coefficients mapped back to the drivers' own units; where
    # IRLS diverges (a lone driver with a far outlier: the unemployment change of 2020 Q2, when
    # the scenario gives no VIX) the same likelihood is maximized by BFGS.
    center = drivers.mean(axis=0) if len(drivers) else np.zeros(drivers.shape[1])
    spread = drivers.std(axis=0) if len(drivers) else np.ones(drivers.shape[1])
    spread = np.where(spread > 1e-12, spread, 1.0)
    standard = (drivers - center[None, :]) / spread[None, :]
    while True:
        exog = sm.add_constant(standard[:, active], has_constant="add")
        glm = sm.GLM(stress, exog, family=family)
        try:
            res = glm.fit()
        except ValueError:  # IRLS diverged (weights overflow): the same likelihood by BFGS
            res = glm.fit(method="bfgs", maxiter=1000, disp=False)
        params, tvalues = np.asarray(res.params, dtype=np.float64).copy(), np.asarray(res.tvalues)
        params[1:] = params[1:] / spread[active]
        params[0] = params[0] - float(params[1:] @ center[active])
        negative = [k for k in range(1, len(params)) if params[k] < 0]
        if not negative:
            break
        worst = min(negative, key=lambda k: tvalues[k])
        active.pop(worst - 1)
    coef = np.zeros(drivers.shape[1] + 1)
    tval = np.full(drivers.shape[1] + 1, np.nan)
    coef[0], tval[0] = params[0], tvalues[0]
    for k, col in enumerate(active, start=1):
        coef[col + 1], tval[col + 1] = params[k], tvalues[k]
    return coef, tval


class SatelliteTranslator:
    """Per-factor WLS satellites with stress-scaled, block-bootstrapped LOO residual vectors.

    Parameters
    ----------
    regressors
        Contemporaneous regressors (features); :data:`SATELLITE_REGRESSORS` by default.
    lags
        Lags of each regressor added to the design.
    block_length
        Quarters per bootstrap block.
    hac_maxlags
        Newey-West lags of the reported standard errors.
    quantiles
        Levels of the reported quantile regressions.
    scale_cap
        Upper clip of the scenario scale, as a multiple of the largest training scale.
    min_obs
        Factors with fewer complete training quarters are not fitted (their draws are NaN).
    scale_features
        Drivers of the residual stress scale; :data:`SCALE_FEATURES` by default (a scenario
        without the VIX or unemployment drops those: :mod:`risk_dagster.translate.conditioning`).

    Attributes
    ----------
    model_id, version
        ``satellite`` and the model version.
    """

    model_id: str = "satellite"
    version: str = "1.3.0"  # 1.3.0: inner tenors capped, VXO on VIX, index floors (coherence); scale drivers follow the regressors

    def __init__(
        self,
        regressors: Sequence[str] = tuple(SATELLITE_REGRESSORS),
        *,
        lags: int = 1,
        block_length: int = 4,
        hac_maxlags: int = 4,
        quantiles: Sequence[float] = (0.05, 0.95),
        scale_cap: float = 1.5,
        min_obs: int = 30,
        scale_features: Sequence[str] | None = None,
    ) -> None:
        self.regressors = list(regressors)
        self.scale_features = list(SCALE_FEATURES if scale_features is None else scale_features)
        self.lags = int(lags)
        self.block_length = int(block_length)
        self.hac_maxlags = int(hac_maxlags)
        self.quantiles = [float(q) for q in quantiles]
        self.scale_cap = float(scale_cap)
        self.min_obs = int(min_obs)
        self._fitted = False

    def init_params(self) -> dict[str, Any]:
        """The constructor's arguments of this model (``type(self)(**init_params())`` is an
        unfitted copy); what :meth:`to_dict` saves as ``config``."""
        return {
            "regressors": list(self.regressors),
            "lags": self.lags,
            "block_length": self.block_length,
            "hac_maxlags": self.hac_maxlags,
            "quantiles": list(self.quantiles),
            "scale_cap": self.scale_cap,
            "min_obs": self.min_obs,
            "scale_features": list(self.scale_features),
        }

    # ------------------------------------------------------------------ design
    @property
    def terms(self) -> list[str]:
        """Design columns: ``const``, then each regressor followed by its lags."""
        names = [n for r in self.regressors for n in (r, *(f"{r}_lag{k}" for k in range(1, self.lags + 1)))]
        return ["const", *names]

    def _design(self, X: pd.DataFrame, context: pd.DataFrame | None) -> pd.DataFrame:
        lagged = add_lags(X, self.regressors, self.lags, context)
        lagged.insert(0, "const", 1.0)
        return lagged[self.terms]

    # ------------------------------------------------------------------ fit
    def fit(self, training: TrainingSet) -> Self:
        """Fit every factor's satellite, the LOO residuals and the stress scale on ``training``
        (:func:`~risk_dagster.translate.base.build_training_set` output); returns ``self``."""
        design = self._design(training.X, training.features)
        terms = self.terms
        D = design.to_numpy(dtype=np.float64)
        Y = training.Y.to_numpy(dtype=np.float64)
        w_all = training.sample_weight.reindex(training.X.index).to_numpy(dtype=np.float64)
        T, F = Y.shape
        P = len(terms)
        complete_x = np.isfinite(D).all(axis=1)

        coef = np.full((F, P), np.nan)
        tval = np.full((F, P), np.nan)
        stat_names = (
            "r2", "adj_r2", "n_obs", "resid_std", "loo_std",
            "q_low_exceed", "q_high_exceed", "q_band", "q_low_pr2", "q_high_pr2",
        )  # fmt: skip
        stats: dict[str, FloatArray] = {k: np.full(F, np.nan) for k in stat_names}
        q_coef = np.full((len(self.quantiles), F, P), np.nan)
        loo = np.full((T, F), np.nan)
        exact = np.zeros(F, dtype=bool)
        for j in range(F):
            rows = complete_x & np.isfinite(Y[:, j])
            n = int(rows.sum())
            if n < max(self.min_obs, P + 5):
                continue
            d, y, w = D[rows], Y[rows, j], w_all[rows]
            res = sm.WLS(y, d, weights=w).fit(cov_type="HAC", cov_kwds={"maxlags": self.hac_maxlags})
            coef[j], tval[j] = res.params, res.tvalues
            stats["r2"][j], stats["adj_r2"][j], stats["n_obs"][j] = res.rsquared, res.rsquared_adj, n
            resid = y - d @ res.params
            if resid.std() <= 1e-9 * max(y.std(), 1e-12):
                # An exact function of the regressors (the Fed's own BBB spread, VIX, equity,
                # house and CRE prices): no residual, no tail model, no say in the stress scale.
                exact[j] = True
                tval[j] = np.nan  # t-statistics of an identity are meaningless
                loo[rows, j] = 0.0
                stats["resid_std"][j] = stats["loo_std"][j] = 0.0
                continue
            # Weighted hat matrix diagonal: h_ii = w_i x_i' (X'WX)^-1 x_i.
            xtwx_inv = np.linalg.pinv(d.T @ (d * w[:, None]))
            h = np.einsum("ij,jk,ik->i", d, xtwx_inv, d) * w
            e_loo = resid / np.clip(1.0 - h, 1e-3, None)
            loo[rows, j] = e_loo
            stats["resid_std"][j] = resid.std(ddof=P)
            stats["loo_std"][j] = e_loo.std(ddof=1)
            fits = []
            for k, q in enumerate(self.quantiles):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # QuantReg's iteration / singular-design notices
                    qr = QuantReg(y, d).fit(q=q, max_iter=2000)
                q_coef[k, j] = qr.params
                fits.append(d @ qr.params)
                if k == 0:
                    stats["q_low_exceed"][j], stats["q_low_pr2"][j] = float((y < fits[-1]).mean()), qr.prsquared
                if k == len(self.quantiles) - 1:
                    stats["q_high_exceed"][j], stats["q_high_pr2"][j] = float((y > fits[-1]).mean()), qr.prsquared
            if len(fits) >= 2:
                stats["q_band"][j] = float(np.mean(fits[-1] - fits[0]))

        fitted = np.isfinite(coef).all(axis=1)
        sd = np.where(fitted & ~exact, stats["loo_std"], np.nan)
        keep = np.isfinite(loo).any(axis=1)
        z = loo[keep] / sd[None, :]
        stress = np.nanmean(z**2, axis=1)

        scale_X = training.X.loc[training.X.index[keep], self.scale_features].to_numpy(dtype=np.float64)
        ok = np.isfinite(scale_X).all(axis=1) & np.isfinite(stress)
        self.scale_feature_mean_ = np.nanmean(scale_X, axis=0)
        self.scale_coef_, self.scale_tvalues_ = _fit_stress_scale(stress[ok], scale_X[ok])
        train_scale = self._scale(scale_X)
        self.scale_range_ = np.array([np.nanmin(train_scale[ok]), np.nanmax(train_scale[ok])])

        self.exact_ = exact
        self.factor_ids_ = list(training.factor_ids)
        self.shock_types_ = list(training.shock_types)
        self.coef_ = coef
        self.tvalues_ = tval
        self.quantile_coef_ = q_coef
        self.stats_ = stats
        self.loo_std_ = sd
        self.regressor_mean_ = np.nanmean(np.where(complete_x[:, None], D, np.nan), axis=0)
        self.residuals_ = loo[keep] / train_scale[:, None]  # standardized by the quarter's stress scale
        self.residual_quarters_ = [str(q) for q in training.X.index[keep]]
        self.train_scale_ = train_scale
        self.levels_ = training.levels.copy()
        self.training_summary_ = training.summary()
        self.coherence_: CoherenceModel | None = CoherenceModel.fit(training)
        self._fitted = True
        return self

    def _scale(self, scale_X: FloatArray) -> FloatArray:
        z = np.where(np.isfinite(scale_X), scale_X, self.scale_feature_mean_[None, :])
        return np.sqrt(np.exp(self.scale_coef_[0] + z @ self.scale_coef_[1:]))

    def _check(self) -> None:
        if not self._fitted:
            raise RuntimeError("SatelliteTranslator: call fit() (or from_dict()) first")

    @property
    def fill_share(self) -> float:
        """Share of residual cells with no history, filled from the factor's own residuals."""
        self._check()
        return float(np.isnan(self.residuals_).mean())

    # ------------------------------------------------------------------ predict
    def predictive_mean(self, X: pd.DataFrame, *, context: pd.DataFrame | None = None) -> FloatArray:
        """``[len(X), factors]`` fitted mean one-quarter changes."""
        self._check()
        D = self._design(X, context).to_numpy(dtype=np.float64)
        D = np.where(np.isfinite(D), D, self.regressor_mean_[None, :])
        unfitted = np.where(np.isfinite(self.coef_).all(axis=1), 0.0, np.nan)  # NaN draws, not zeros
        return D @ np.nan_to_num(self.coef_.T, nan=0.0) + unfitted[None, :]

    def stress_scale(self, X: pd.DataFrame) -> FloatArray:
        """``[len(X)]`` residual scale of each quarter, clipped to the training range (x cap)."""
        self._check()
        raw = self._scale(X.reindex(columns=self.scale_features).to_numpy(dtype=np.float64))
        return np.clip(raw, self.scale_range_[0], self.scale_cap * self.scale_range_[1])

    def predictive_changes(
        self, X: pd.DataFrame, n_samples: int, seed: int, *, context: pd.DataFrame | None = None
    ) -> FloatArray:
        """Sampled one-quarter changes: fitted mean plus stress-scaled residual vectors.

        Parameters
        ----------
        X
            Quarter-indexed features (:func:`~risk_dagster.translate.features.macro_features`
            columns), one row per quarter to predict.
        n_samples, seed
            Number of draws; seed of ``numpy.random.default_rng``.
        context
            Earlier quarters' features for the lags of the first rows (e.g. the macro path's
            features); without it the first row's lags take their training mean.

        Returns
        -------
        numpy.ndarray
            ``[n_samples, len(X), factors]`` float64 in shock units.
        """
        self._check()
        rng = np.random.default_rng(seed)
        mean = self.predictive_mean(X, context=context)
        scale = self.stress_scale(X)
        resid = self._bootstrap(rng, int(n_samples), len(X))
        return mean[None, :, :] + scale[None, :, None] * resid

    def _curve_filled(self, pool: FloatArray) -> FloatArray:
        """``pool`` with each tenor's missing residuals interpolated in maturity from the tenors
        observed in the same quarter (flat beyond the ends); other cells as they are."""
        tenors = [(TENOR_YEARS[f], j) for j, f in enumerate(self.factor_ids_) if f in TENOR_YEARS]
        if len(tenors) < 2:
            return pool
        years = np.array([t for t, _ in tenors])
        cols = np.array([j for _, j in tenors])
        out = pool.copy()
        for r in range(pool.shape[0]):
            values = pool[r, cols]
            seen = np.isfinite(values)
            if seen.all() or not seen.any():
                continue
            out[r, cols[~seen]] = np.interp(years[~seen], years[seen], values[seen])
        return out

    def _bootstrap(self, rng: np.random.Generator, n_samples: int, horizon: int) -> FloatArray:
        pool = self._curve_filled(self.residuals_)
        T, F = pool.shape
        L = max(1, min(self.block_length, T))
        n_blocks = -(-horizon // L)
        starts = rng.integers(0, T - L + 1, size=(n_samples, n_blocks))
        idx = (starts[:, :, None] + np.arange(L)[None, None, :]).reshape(n_samples, -1)[:, :horizon]
        out = pool[idx]  # [S, H, F]
        for j in np.flatnonzero(np.isnan(pool).any(axis=0)):
            observed = np.flatnonzero(~np.isnan(pool[:, j]))
            cell = np.isnan(out[:, :, j])
            if observed.size and cell.any():
                out[:, :, j][cell] = pool[rng.choice(observed, size=int(cell.sum())), j]
        return out

    # ------------------------------------------------------------------ sample
    def sample(
        self,
        scenario: MacroScenario,
        n_samples: int,
        seed: int,
        *,
        history: MacroScenario,
        factor_history: FactorHistory | None = None,
        catalog: RiskFactorCatalog | None = None,
        equity_weights: Mapping[str, float] | None = None,
    ) -> ShockSet:
        """Joint cumulative shocks for every projected quarter of ``scenario``: the satellite's
        one-quarter draws (:meth:`predictive_changes`) through the shared
        :func:`~risk_dagster.translate.base.assemble_shockset`, the fitted mean as the envelope's
        centre.

        ``n_samples`` draws, same ``seed`` same numbers; ``scenario``, ``history``,
        ``factor_history``, ``catalog`` and ``equity_weights`` as in ``assemble_shockset``.
        """
        self._check()
        return assemble_shockset(
            self,
            scenario,
            history,
            lambda X, context: self.predictive_changes(X, n_samples, seed, context=context),
            # The fitted mean path: the point the envelope shrinks a path's residual toward.
            lambda X, context: self.predictive_mean(X, context=context),
            seed=seed,
            lookback=max(1, self.lags) + 1,
            factor_history=factor_history,
            catalog=catalog,
            equity_weights=equity_weights,
            metadata=lambda X: {
                "stress_scale": [float(s) for s in self.stress_scale(X)],
                "residual_fill_share": self.fill_share,
            },
        )

    # ------------------------------------------------------------------ reports
    def coefficients(self) -> pd.DataFrame:
        """Factor x (statistic, term): ``coef`` and HAC ``t`` per term, plus ``fit`` ``r2``, ``n_obs``."""
        self._check()
        coef = pd.DataFrame(self.coef_, index=self.factor_ids_, columns=self.terms)
        tval = pd.DataFrame(self.tvalues_, index=self.factor_ids_, columns=self.terms)
        fit = pd.DataFrame({"r2": self.stats_["r2"], "n_obs": self.stats_["n_obs"]}, index=self.factor_ids_)
        out = pd.concat({"coef": coef, "t_hac": tval, "fit": fit}, axis=1)
        out.index.name = "factor_id"
        return out

    def fit_statistics(self) -> pd.DataFrame:
        """Per factor: R^2, adjusted R^2, n_obs, residual and LOO std, LOO inflation, the
        quantile regressions' in-sample exceedance rates, pseudo-R^2 and mean 5-95% band."""
        self._check()
        out = pd.DataFrame(self.stats_, index=self.factor_ids_)
        out.insert(5, "loo_inflation", out["loo_std"] / out["resid_std"])
        out.index.name = "factor_id"
        return out

    def summary(self) -> dict[str, Any]:
        """Plain-JSON summary for metadata: fit statistics by median, stress-scale model."""
        stats = self.fit_statistics()
        return {
            "model_id": self.model_id,
            "version": self.version,
            "n_factors": len(self.factor_ids_),
            "n_fitted": int(np.isfinite(self.coef_).all(axis=1).sum()),
            "median_r2": float(stats["r2"].median()),
            "median_loo_inflation": float(stats["loo_inflation"].median()),
            "scale_model": dict(zip(["const", *self.scale_features], map(float, self.scale_coef_), strict=True)),
            "scale_tvalues": {
                k: (float(v) if np.isfinite(v) else None)
                for k, v in zip(["const", *self.scale_features], self.scale_tvalues_, strict=True)
            },
            "exact_factors": [f for f, e in zip(self.factor_ids_, self.exact_, strict=True) if e],
            "scale_range": [float(x) for x in self.scale_range_],
            "coherence": self.coherence_.summary() if self.coherence_ is not None else None,
            "residual_quarters": len(self.residual_quarters_),
            "residual_fill_share": self.fill_share,
            "training": self.training_summary_,
        }

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """Plain state: numpy arrays under ``arrays``, JSON-able config/metadata elsewhere.

        The arrays can go to safetensors and the rest to JSON; nothing is pickled.
        """
        self._check()
        levels = self.levels_
        arrays = {
            "coef": self.coef_,
            "tvalues": self.tvalues_,
            "quantile_coef": self.quantile_coef_,
            "loo_std": self.loo_std_,
            "regressor_mean": self.regressor_mean_,
            "residuals": self.residuals_,
            "train_scale": self.train_scale_,
            "scale_coef": self.scale_coef_,
            "scale_tvalues": self.scale_tvalues_,
            "scale_feature_mean": self.scale_feature_mean_,
            "scale_range": self.scale_range_,
            "exact": self.exact_.astype(np.float64),
            "levels": levels.to_numpy(dtype=np.float64),
            **{f"stat_{k}": v for k, v in self.stats_.items()},
        }
        coherence = self.coherence_.to_dict() if self.coherence_ is not None else None
        if coherence is not None:
            arrays.update(coherence.pop("arrays"))
        return {
            "format": _FORMAT,
            "model_id": self.model_id,
            "version": self.version,
            "config": self.init_params(),
            "factor_ids": list(self.factor_ids_),
            "shock_types": list(self.shock_types_),
            "residual_quarters": list(self.residual_quarters_),
            "level_quarters": [str(q) for q in levels.index],
            "training": self.training_summary_,
            "coherence": coherence,
            "arrays": {k: np.ascontiguousarray(v, dtype=np.float64) for k, v in arrays.items()},
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> SatelliteTranslator:
        """Rebuild a fitted model from :meth:`to_dict` output."""
        if state.get("format") != _FORMAT:
            raise ValueError(f"SatelliteTranslator.from_dict: format {state.get('format')!r}, expected {_FORMAT!r}")
        model = cls(**state["config"])
        model.version = str(state.get("version", cls.version))
        a = {k: np.asarray(v, dtype=np.float64) for k, v in state["arrays"].items()}
        model.factor_ids_ = list(state["factor_ids"])
        model.shock_types_ = list(state["shock_types"])
        model.coef_, model.tvalues_, model.quantile_coef_ = a["coef"], a["tvalues"], a["quantile_coef"]
        model.loo_std_, model.regressor_mean_ = a["loo_std"], a["regressor_mean"]
        model.residuals_, model.train_scale_ = a["residuals"], a["train_scale"]
        model.scale_coef_, model.scale_tvalues_ = a["scale_coef"], a["scale_tvalues"]
        model.scale_feature_mean_, model.scale_range_ = a["scale_feature_mean"], a["scale_range"]
        model.exact_ = a["exact"].astype(bool)
        model.stats_ = {k[len("stat_") :]: v for k, v in a.items() if k.startswith("stat_")}
        model.residual_quarters_ = list(state["residual_quarters"])
        model.levels_ = pd.DataFrame(
            a["levels"],
            index=pd.PeriodIndex(state["level_quarters"], freq="Q-DEC", name="quarter"),
            columns=model.factor_ids_,
        )
        model.training_summary_ = dict(state.get("training", {}))
        # A model saved before the coherence step had none: it samples plain sums, as it did.
        coherence = state.get("coherence")
        model.coherence_ = CoherenceModel.from_dict(coherence, a) if coherence else None
        model._fitted = True
        return model
