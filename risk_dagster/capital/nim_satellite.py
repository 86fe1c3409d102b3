"""Net-interest-margin satellite: a benchmark for the capital projection's net interest income.

Plain functions and one estimator-like class, no Dagster (same layout as
:mod:`risk_dagster.capital.loss_rates`):

* :func:`load_net_interest_margin`: the FFIEC Call Report net interest margin (FRED series built
  by the St. Louis Fed), all U.S. banks (``USNIM``) and banks over $15bn of assets
  (``USG15NIM``), quarterly 1984Q1-2019Q1, percent annualized, read from the shipped
  ``risk_dagster/data/bank_performance/banks_data_1984.csv`` (``PROVENANCE.md``, "Bank
  performance (net interest margin)").
* :func:`nim_drivers`: the rate and labour-market drivers, computed from a quarter x variable
  frame of the Fed's canonical variables (the shipped Fed history,
  :func:`risk_dagster.scenarios.registry.load_fed_history`, or history + scenario path,
  :func:`scenario_nim_drivers`).
* :class:`NimSatellite`: a partial-adjustment OLS of the large-bank NIM; ``predict`` gives a
  dynamic forecast from a jump-off NIM, ``nii_ratio`` the path ``NIM_q / NIM_jump_off`` with which
  the capital projection can benchmark ``NII_q = NII_0 * ratio_q``; :func:`outcomes_analysis`
  refits without a window and forecasts it dynamically from its realized macro path.

Specification
-------------
Large-bank (over $15bn) margin, quarter ``t``, 1984Q2-2019Q1 (140 quarters)::

    NIM_t = a + rho NIM_{t-1} + b1 treasury_3m_t + b2 (treasury_10y - treasury_3m)_t
              + d 1[t = 2010Q1] + e_t

OLS (statsmodels), HAC (Newey-West, 4 lags) standard errors. Fitted on the shipped data and the
Fed 2026 history (``python scripts/nim_satellite.py``), HAC t-statistics in brackets::

    a            0.278 [ 2.78]    rho           0.898 [30.14]
    b1 (3m)      0.006 [ 2.02]    b2 (10y-3m)   0.020 [ 2.41]
    d (2010Q1)   0.423 [19.77]
    R2 0.870, residual sd 0.109 points, 140 quarters

Long-run multipliers ``b / (1 - rho)``: short rate +0.06, term spread +0.20 points of NIM per
point. The margin adjusts slowly (rho 0.90, half-life about 6.5 quarters): assets and deposits
reprice slowly.

What was tried (same sample and dummy; HAC t in brackets; outcomes RMSE / cumulative error for
2008Q1-2010Q4 and 2001Q1-2002Q4, see below):

* ``3m, slope`` (the choice): both significant at 5%; R2 0.870; 0.27 / -0.39 and 0.40 / -0.64.
* ``3m, slope, du`` (1-quarter unemployment change, the brief's first candidate): du 0.080
  [2.1]; R2 0.875; 0.36 / **+0.80** and 0.33 / -0.50.
* ``3m, slope, du4`` (4-quarter change): du4 0.030 [3.2]; R2 0.878; 0.44 / **+1.15** and
  0.31 / -0.47.
* ``slope`` alone: t 1.9; 0.22 / -0.20 and 0.38 / -0.61. ``3m, slope`` plus the 4-quarter
  change of the 3-month rate (t -1.7; it takes the slope's significance, t 1.4): 0.27 / -0.00
  and 0.34 / -0.53. The unemployment level (t -0.2), lagged instead of contemporaneous rates
  (AIC worse by 2) and the BBB spread (starts 1988Q4, losing 18 quarters) were dropped.
* A static regression (no lagged NIM) leaves strongly autocorrelated residuals (R2 0.37).

Why unemployment is out. In sample a rising unemployment rate *raises* the large-bank margin
(in 1990-91, 2001 and 2008-09 the Fed cut short rates faster than asset yields fell and deposit
costs dropped). Left out of the fit, though, it makes the 2008-10 forecast *over*-predict the
margin (cumulative +0.80 to +1.15 % of assets, NIM forecast above 4 in 2010), the dangerous
direction for a stress benchmark, and it would make NII rise mechanically with unemployment in
a severely adverse scenario. Without it the satellite under-predicts both windows
(conservative). The variable remains available (``NimSatellite(features=...)``, :data:`FEATURES`).

Signs. A steeper curve raises the margin (b2 > 0: banks fund short and lend long). The
short-rate level effect is positive and small (b1 0.006, long run 0.06 points per point):
deposit rates move less than market rates (a deposit beta below one widens the margin when
rates are high) while fixed-rate assets reprice late; the two mostly offset, as expected.

The 2010Q1 dummy. ``USG15NIM`` jumps from 3.42 to 3.85 in 2010Q1, the quarter FAS 166/167 put
credit-card securitization trusts back on large banks' balance sheets (high-margin card loans
reconsolidated): an accounting break, not macro. An impulse dummy in the partial-adjustment
equation is a level shift of ``d`` that then decays at rate ``rho``; it is fitted when 2010Q1 is
in the sample (dropped when the window excludes it) and is zero in every forecast.

Jump-off anchor
---------------
``predict(..., anchor="model")`` is the plain dynamic forecast: it starts from the jump-off NIM
and pulls it toward the aggregate's steady state (``(a + x b) / (1 - rho)``), which is what the
outcomes analysis uses (its jump-off *is* the aggregate). A bank's own margin can sit well away
from the aggregate's, and the data end 2019Q1 while the 2026 scenarios start 2026Q1; the pull
toward the 1984-2019 large-bank mean is then not a scenario effect. ``anchor="jump_off"`` (the
default of :meth:`NimSatellite.nii_ratio`) sets the intercept so that the jump-off NIM is the
steady state at the jump-off quarter's drivers: ``NIM_t - NIM_0 = rho (NIM_{t-1} - NIM_0) +
(x_t - x_0) b``; the path then moves only with the scenario's drivers.

Outcomes analysis
-----------------
Fit without the window, dynamic forecast of it from the realized NIM of the quarter before it
along the realized macro path (``anchor="model"``)::

    window          quarters  jump-off  RMSE   cum. error  mean realized  mean predicted  max |err|
    2008Q1-2010Q4   12        3.14      0.269  -0.392      3.367          3.236           0.561
    2001Q1-2002Q4    8        3.54      0.397  -0.639      3.763          3.443           0.557

``cum. error`` is ``sum(predicted - realized) / 4``: the NII error accumulated over the window in
% of average earning assets (NIM is annualized). In 2008-10 the forecast tracks 2008-09 (RMSE
0.11 over those 8 quarters) and misses the 2010Q1 accounting jump (realized 3.64-3.85, forecast
3.29-3.30; the dummy cannot be fitted with the window left out). In 2001-02 the realized margin
rose 0.45 as the 3-month rate fell from 6.0 (2000Q4) to 1.3 (2002Q4); the forecast stays flat (the slope
effect is offset by the short-rate level effect): the satellite does not capture the
deposit-repricing windfall of a fast easing cycle. Both errors are under-predictions. The 2020
pandemic cannot be tested: the series end 2019Q1 (FRED discontinued them in 2020).

2026 scenarios
--------------
``scripts/nim_satellite.py``: jump-off NIM = the last observed large-bank margin, 3.25 (2019Q1),
placed at the scenarios' jump-off quarter 2025Q4 for illustration (no later observation is
shipped). ``NIM_q / NIM_0``::

    quarter   baseline             severely adverse
              jump_off   model     jump_off   model
    2026Q1    1.000      0.994     0.999      0.992
    2026Q4    1.006      0.983     1.013      0.990
    2027Q4    1.013      0.975     1.025      0.987
    2028Q4    1.019      0.971     1.035      0.987
    2029Q1    1.020      0.970     1.038      0.989

In the baseline the curve steepens mildly (10y-3m from 0.4 at 2025Q4 to 1.1, 3-month rate
3.6 to 3.0): +2% by 2029Q1. In the severely adverse path the 3-month rate falls to 0.1 and the curve steepens (10y-3m to
2.2-2.6 points): the slope effect outweighs the short-rate effect and the margin widens by up
to 4% in the ``jump_off`` anchoring. The benchmark thus says an average large bank's NII need
not fall in that scenario at a constant balance sheet; a bank projection with falling NII is
more conservative than this history (and the 2001-02 under-prediction suggests the history's
own response was stronger still). With ``anchor="model"`` both paths drift down about 1-3% by
the pull of 3.25 toward the aggregate's steady state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm

from risk_dagster.capital.loss_rates import _window_mask
from risk_dagster.errors import InputFileError
from risk_dagster.paths import data_dir

# ----------------------------------------------------------------------------- data
NIM_FILE = "banks_data_1984.csv"
"""The FRED bank-performance table (relative to ``data/bank_performance``)."""

NIM_COLUMNS: dict[str, str] = {"USNIM": "all_banks", "USG15NIM": "large_banks"}
"""FRED series id (file column) -> column of :func:`load_net_interest_margin`."""

TARGET = "large_banks"
"""The margin the satellite is fitted on: banks with assets over $15bn."""

NIM_BOUNDS: tuple[float, float] = (0.0, 10.0)
"""Accepted range of a margin (percent annualized); outside it the file is refused."""


def _bank_performance_dir(root: str | Path | None) -> Path:
    return Path(root) if root is not None else data_dir() / "bank_performance"


def load_net_interest_margin(root: str | Path | None = None) -> pd.DataFrame:
    """Net interest margin of all U.S. banks and of banks over $15bn, quarterly.

    Parameters
    ----------
    root
        Folder holding :data:`NIM_FILE`; default the shipped ``risk_dagster/data/bank_performance``.

    Returns
    -------
    pandas.DataFrame
        Quarterly ``PeriodIndex`` (``Q-DEC``, named ``quarter``) 1984Q1-2019Q1, columns
        ``all_banks`` (``USNIM``) and ``large_banks`` (``USG15NIM``), percent annualized.

    Raises
    ------
    InputFileError
        Naming the file: ``missing_file``; ``unknown_column`` (a needed column absent);
        ``bad_date`` (a date that is unreadable or not the first day of a quarter, with the row);
        ``non_numeric`` / ``out_of_range`` (a margin that is blank, not a number or outside
        :data:`NIM_BOUNDS`, with row and column); ``duplicate_quarter``; ``gap`` (a missing
        quarter).
    """
    path = _bank_performance_dir(root) / NIM_FILE
    if not path.is_file():
        raise InputFileError(path, "missing_file", f"net interest margin file {path.name!r} not found in {path.parent}")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    needed = ["DATE", *NIM_COLUMNS]
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise InputFileError(path, "unknown_column", f"missing columns {missing}; have {list(raw.columns)}", column=missing[0])
    quarters = []
    for i, text in enumerate(raw["DATE"].str.strip()):
        row = i + 2  # the header is line 1
        try:
            ts = pd.Timestamp(text)
        except (ValueError, TypeError):
            ts = None
        if ts is None or pd.isna(ts) or ts.day != 1 or ts.month not in (1, 4, 7, 10):
            raise InputFileError(path, "bad_date", f"date {text!r} is not the first day of a quarter (YYYY-MM-01)", row=row, column="DATE")
        quarters.append(pd.Period(ts, freq="Q-DEC"))
    index = pd.PeriodIndex(quarters, freq="Q-DEC", name="quarter")
    out = pd.DataFrame(index=index)
    lo, hi = NIM_BOUNDS
    for src, name in NIM_COLUMNS.items():
        values = pd.to_numeric(raw[src].str.strip(), errors="coerce").to_numpy(dtype=float)
        for i in np.flatnonzero(np.isnan(values)):
            raise InputFileError(path, "non_numeric", f"{src} value {raw[src].iloc[i]!r} is not a number", row=int(i) + 2, column=src)
        for i in np.flatnonzero((values <= lo) | (values >= hi)):
            raise InputFileError(path, "out_of_range", f"{src} value {values[i]} outside ({lo}, {hi}) percent", row=int(i) + 2, column=src)
        out[name] = values
    dup = index.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise InputFileError(path, "duplicate_quarter", f"quarter {index[i]} appears twice", row=i + 2, column="DATE")
    out = out.sort_index()
    full = pd.period_range(out.index.min(), out.index.max(), freq="Q-DEC")
    if len(full) != len(out):
        gaps = full.difference(out.index)
        raise InputFileError(path, "gap", f"{len(gaps)} quarter(s) missing, first {gaps[0]}", column="DATE")
    out.attrs["units"] = "percent_annualized"
    out.attrs["source"] = str(path)
    return out


# ----------------------------------------------------------------------------- drivers
DRIVER_VARIABLES: tuple[str, ...] = ("treasury_3m", "treasury_10y", "unemployment_rate")
"""The Fed canonical variable ids the drivers are computed from."""

FEATURES: tuple[str, ...] = (
    "short_rate",
    "short_rate_change_4q",
    "term_spread",
    "unemployment_change",
    "unemployment_change_4q",
)
"""Columns of :func:`nim_drivers`."""

DEFAULT_FEATURES: tuple[str, ...] = ("short_rate", "term_spread")
"""The chosen specification (module docstring)."""

BREAK_QUARTERS: tuple[str, ...] = ("2010Q1",)
"""Impulse dummies fitted in-sample and zero in forecasts: 2010Q1, FAS 166/167 reconsolidation."""


def nim_drivers(frame: Any) -> pd.DataFrame:
    """The satellite's drivers, quarter ``t``.

    * ``short_rate``: 3-month Treasury yield, %;
    * ``short_rate_change_4q``: ``r_t - r_{t-4}`` of the 3-month yield, points;
    * ``term_spread``: 10-year less 3-month Treasury yield, percentage points;
    * ``unemployment_change``: ``u_t - u_{t-1}``, points;
    * ``unemployment_change_4q``: ``u_t - u_{t-4}``, points.

    Parameters
    ----------
    frame
        A quarter x variable frame with the :data:`DRIVER_VARIABLES` columns (e.g.
        ``MacroScenario.wide()``), or anything with a ``wide()`` method.
    """
    wide = frame.wide() if hasattr(frame, "wide") else frame
    missing = [v for v in DRIVER_VARIABLES if v not in wide.columns]
    if missing:
        raise KeyError(f"nim_drivers: missing variables {missing}; have {list(wide.columns)}")
    w = wide[list(DRIVER_VARIABLES)].astype(float).sort_index()
    u = w["unemployment_rate"]
    return pd.DataFrame(
        {
            "short_rate": w["treasury_3m"],
            "short_rate_change_4q": w["treasury_3m"] - w["treasury_3m"].shift(4),
            "term_spread": w["treasury_10y"] - w["treasury_3m"],
            "unemployment_change": u - u.shift(1),
            "unemployment_change_4q": u - u.shift(4),
        },
        index=w.index,
    )


def scenario_nim_drivers(history: Any, scenario: Any, include_jump_off: bool = False) -> pd.DataFrame:
    """Drivers over a scenario's quarters, changes taken across the seam from ``history``.

    History quarters before the scenario's first and the scenario path are stacked; the
    scenario's quarters are returned (with the quarter before the first when
    ``include_jump_off``).
    """
    hist = history.wide() if hasattr(history, "wide") else history
    path = scenario.wide() if hasattr(scenario, "wide") else scenario
    first = path.index.min()
    cols = list(DRIVER_VARIABLES)
    stacked = pd.concat([hist.loc[hist.index < first, cols], path[cols]]).sort_index()
    drivers = nim_drivers(stacked)
    start = first - 1 if include_jump_off else first
    if include_jump_off and start not in drivers.index:
        raise KeyError(f"history has no quarter {start} before the scenario's first quarter {first}")
    return drivers.loc[start : path.index.max()]


# ----------------------------------------------------------------------------- model
@dataclass
class NimFit:
    """One fitted partial-adjustment equation."""

    params: pd.Series
    bse: pd.Series
    tvalues: pd.Series
    rsquared: float
    resid_sd: float
    nobs: int
    sample: tuple[str, str]


class NimSatellite:
    """Partial-adjustment OLS of the large-bank net interest margin (module docstring).

    Parameters
    ----------
    features
        Columns of :func:`nim_drivers`; default :data:`DEFAULT_FEATURES`.
    breaks
        Impulse-dummy quarters (in-sample only); default :data:`BREAK_QUARTERS`.
    hac_maxlags
        Newey-West lags of the HAC covariance.
    """

    def __init__(
        self,
        features: Sequence[str] = DEFAULT_FEATURES,
        breaks: Sequence[str] = BREAK_QUARTERS,
        hac_maxlags: int = 4,
    ) -> None:
        unknown = [f for f in features if f not in FEATURES]
        if unknown:
            raise ValueError(f"unknown features {unknown}; choose from {FEATURES}")
        self.features = tuple(features)
        self.breaks = tuple(breaks)
        self.hac_maxlags = hac_maxlags
        self.fit_: NimFit | None = None

    # -- fitting
    def design(self, nim: pd.Series, drivers: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
        """Target and regressors (``const``, ``nim_lag``, features, break dummies), rows complete."""
        nim = nim.astype(float).sort_index()
        x = pd.DataFrame(index=nim.index)
        x["const"] = 1.0
        x["nim_lag"] = nim.shift(1)
        for f in self.features:
            x[f] = drivers[f].reindex(nim.index)
        for q in self.breaks:
            x[f"break_{q}"] = (nim.index == pd.Period(q, "Q-DEC")).astype(float)
        ok = x.notna().all(axis=1) & nim.notna()
        return nim[ok], x[ok]

    def fit(self, nim: pd.DataFrame | pd.Series, history: Any, exclude: Any = None) -> NimSatellite:
        """Fit on the margin and the historical macro frame.

        Parameters
        ----------
        nim
            :func:`load_net_interest_margin` (its :data:`TARGET` column is used) or one series.
        history
            Quarter x variable frame (or ``MacroScenario``) with :data:`DRIVER_VARIABLES`.
        exclude
            ``(start, end)`` window, or several, whose quarters are left out of the sample.
        """
        series = nim[TARGET] if isinstance(nim, pd.DataFrame) else nim
        y, x = self.design(series, nim_drivers(history))
        keep = ~_window_mask(x.index, exclude)
        y, x = y[keep], x[keep]
        dummies = [c for c in x.columns if c.startswith("break_")]
        x = x.drop(columns=[c for c in dummies if x[c].sum() == 0])
        res = sm.OLS(y, x).fit(cov_type="HAC", cov_kwds={"maxlags": self.hac_maxlags})
        self.fit_ = NimFit(
            params=res.params,
            bse=res.bse,
            tvalues=res.tvalues,
            rsquared=float(res.rsquared),
            resid_sd=float(np.sqrt(res.scale)),
            nobs=int(res.nobs),
            sample=(str(y.index.min()), str(y.index.max())),
        )
        return self

    def _require_fit(self) -> NimFit:
        if self.fit_ is None:
            raise RuntimeError("NimSatellite is not fitted: call fit() first")
        return self.fit_

    @property
    def rho(self) -> float:
        """The coefficient on last quarter's margin."""
        return float(self._require_fit().params["nim_lag"])

    def coefficients(self) -> pd.DataFrame:
        """``coef``, HAC ``se``, ``t``, and ``long_run`` (``coef / (1 - rho)``, drivers only)."""
        f = self._require_fit()
        out = pd.DataFrame({"coef": f.params, "se": f.bse, "t": f.tvalues})
        lr = out["coef"] / (1.0 - self.rho)
        out["long_run"] = lr.where(~out.index.isin(["nim_lag"]) & ~out.index.str.startswith("break_"))
        out.attrs.update(rsquared=f.rsquared, resid_sd=f.resid_sd, nobs=f.nobs, sample=f.sample)
        return out

    # -- forecasting
    def forecast(self, drivers: pd.DataFrame, jump_off_nim: float, anchor: str = "model", jump_off_drivers: pd.Series | None = None) -> pd.Series:
        """Dynamic forecast over ``drivers``' quarters from ``jump_off_nim`` (the quarter before).

        ``anchor="jump_off"`` needs ``jump_off_drivers`` (the drivers of the jump-off quarter).
        """
        f = self._require_fit()
        if not np.isfinite(jump_off_nim) or jump_off_nim <= 0:
            raise ValueError(f"jump_off_nim must be a positive margin in percent, got {jump_off_nim}")
        b = f.params.reindex(list(self.features)).to_numpy(dtype=float)
        x = drivers[list(self.features)].to_numpy(dtype=float)
        if np.isnan(x).any():
            bad = drivers.index[np.isnan(x).any(axis=1)][0]
            raise ValueError(f"drivers incomplete in quarter {bad}")
        rho = self.rho
        if anchor == "model":
            a = float(f.params["const"])
        elif anchor == "jump_off":
            if jump_off_drivers is None:
                raise ValueError("anchor='jump_off' needs the jump-off quarter's drivers")
            x0 = jump_off_drivers[list(self.features)].to_numpy(dtype=float)
            a = (1.0 - rho) * jump_off_nim - float(x0 @ b)
        else:
            raise ValueError(f"anchor must be 'model' or 'jump_off', got {anchor!r}")
        out = np.empty(len(x))
        prev = float(jump_off_nim)
        for t in range(len(x)):
            prev = a + rho * prev + float(x[t] @ b)
            out[t] = prev
        return pd.Series(out, index=drivers.index, name="nim")

    def predict(self, scenario_path: Any, history: Any, jump_off_nim: float, anchor: str = "model") -> pd.Series:
        """Dynamic NIM forecast (percent annualized) over the scenario's quarters.

        Parameters
        ----------
        scenario_path
            Quarter x variable frame (or ``MacroScenario``) over the projected quarters.
        history
            The macro history before the scenario (for the 4-quarter changes across the seam).
        jump_off_nim
            The margin of the quarter before the first projected one (the bank's own), percent.
        anchor
            ``"model"`` (fitted intercept) or ``"jump_off"`` (jump-off NIM as the steady state at
            the jump-off drivers); module docstring.
        """
        d = scenario_nim_drivers(history, scenario_path, include_jump_off=True)
        return self.forecast(d.iloc[1:], jump_off_nim, anchor=anchor, jump_off_drivers=d.iloc[0])

    def nii_ratio(self, scenario_path: Any, history: Any, jump_off_nim: float, anchor: str = "jump_off") -> pd.Series:
        """``NIM_q / NIM_jump_off`` per projected quarter: ``NII_q = NII_0 * ratio_q`` at a constant
        earning-asset base (scale by the balance-sheet path where it changes)."""
        path = self.predict(scenario_path, history, jump_off_nim, anchor=anchor)
        return (path / float(jump_off_nim)).rename("nii_ratio")


# ----------------------------------------------------------------------------- outcomes
OUTCOME_WINDOWS: dict[str, tuple[str, str]] = {
    "gfc_2008_2010": ("2008Q1", "2010Q4"),
    "dotcom_2001_2002": ("2001Q1", "2002Q4"),
}
"""Windows of the outcomes analysis. The margin series end 2019Q1, so 2020 cannot be tested."""


def outcomes_analysis(
    window: tuple[str, str] = OUTCOME_WINDOWS["gfc_2008_2010"],
    nim: pd.DataFrame | None = None,
    history: Any = None,
    features: Sequence[str] = DEFAULT_FEATURES,
) -> dict[str, Any]:
    """Fit without ``window``; forecast it dynamically from the realized NIM just before it.

    Parameters
    ----------
    window
        ``(first, last)`` quarters, inclusive.
    nim, history
        Default the shipped margin and the Fed 2026 history.

    Returns
    -------
    dict
        ``window``, ``n_quarters``, ``jump_off_nim``, ``rmse`` (points of NIM), ``error_cum``
        (``sum(predicted - realized) / 4``: cumulative NII error in % of earning assets),
        ``mean_realized``, ``mean_predicted``, ``max_abs_error`` and ``path`` (a frame with
        ``realized`` and ``predicted``).
    """
    if nim is None:
        nim = load_net_interest_margin()
    if history is None:
        from risk_dagster.scenarios.registry import load_fed_history

        history = load_fed_history("2026")
    series = nim[TARGET] if isinstance(nim, pd.DataFrame) else nim
    q = pd.period_range(window[0], window[1], freq="Q-DEC")
    jump_q = q[0] - 1
    if q[-1] > series.index.max() or jump_q < series.index.min():
        raise ValueError(
            f"window {window[0]}-{window[1]} is outside the margin data {series.index.min()}-{series.index.max()}"
        )
    model = NimSatellite(features=features).fit(series, history, exclude=window)
    drivers = nim_drivers(history)
    pred = model.forecast(drivers.loc[q], float(series.loc[jump_q]), anchor="model")
    realized = series.loc[q]
    err = pred - realized
    return {
        "window": f"{q[0]}-{q[-1]}",
        "n_quarters": len(q),
        "jump_off_nim": float(series.loc[jump_q]),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "error_cum": float(err.sum() / 4.0),
        "mean_realized": float(realized.mean()),
        "mean_predicted": float(pred.mean()),
        "max_abs_error": float(err.abs().max()),
        "path": pd.DataFrame({"realized": realized, "predicted": pred}),
    }
