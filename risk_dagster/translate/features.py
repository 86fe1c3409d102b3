"""Conditioning features of the translators, computed from a macro path.

Every translator (the statsmodels satellite and the transformer) sees the same quarterly
features, derived from the Fed's canonical variables by transformations fixed in advance:

============================================  ==================================================
feature                                       transformation of the Fed variable
============================================  ==================================================
``real_gdp_growth`` ... ``uk_inflation``      growth and inflation rates as given (annualized %)
``unemployment_rate``                         level (%)
``unemployment_rate_chg``                     one-quarter change (pp)
``treasury_3m_chg`` ... ``prime_rate_chg``    one-quarter change of the rate (pp): 3m, 5y, 10y
                                              Treasury, BBB yield, mortgage and prime rates
``bbb_spread``, ``bbb_spread_chg``            BBB yield minus 10y Treasury: level and change (pp)
``vix``, ``vix_chg``                          level and change (points)
``equity_total_market_ret`` ...               100 x log return of the equity total market, house
                                              and CRE price indices
``usd_per_eur_ret`` ...                       100 x log return of the four Fed FX rates
============================================  ==================================================

Changes are taken between consecutive calendar quarters: a quarter whose predecessor is
absent has a ``NaN`` change. Missing inputs stay ``NaN`` (models mask or impute them in
their own documented way), never zero.

Basis: the Fed reports rates as quarterly *averages* and the VIX as the quarterly *maximum*;
the features keep that basis (they are the scenario's own numbers), whereas most market
factor histories are quarter-end levels (:mod:`risk_dagster.market.history`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from risk_dagster.scenarios.model import MacroScenario

__all__ = [
    "FEATURES",
    "GROWTH_VARIABLES",
    "RATE_VARIABLES",
    "RETURN_VARIABLES",
    "ACTIVITY_VARIABLES",
    "CONDITIONING_VARIABLES",
    "SATELLITE_REGRESSORS",
    "add_lags",
    "available_features",
    "feature_inputs",
    "check_conditioning",
    "jump_off_quarter",
    "macro_features",
    "macro_path",
    "projection_quarters",
]

GROWTH_VARIABLES: tuple[str, ...] = (
    "real_gdp_growth",
    "nominal_gdp_growth",
    "real_disposable_income_growth",
    "nominal_disposable_income_growth",
    "cpi_inflation",
    "euro_area_real_gdp_growth",
    "euro_area_inflation",
    "developing_asia_real_gdp_growth",
    "developing_asia_inflation",
    "japan_real_gdp_growth",
    "japan_inflation",
    "uk_real_gdp_growth",
    "uk_inflation",
)
"""Variables used as given (annualized percent growth or inflation)."""

RATE_VARIABLES: tuple[str, ...] = (
    "treasury_3m",
    "treasury_5y",
    "treasury_10y",
    "bbb_yield",
    "mortgage_rate",
    "prime_rate",
)
"""Rates (percent) entering as one-quarter changes in percentage points."""

RETURN_VARIABLES: tuple[str, ...] = (
    "equity_total_market",
    "house_price_index",
    "cre_price_index",
    "usd_per_eur",
    "jpy_per_usd",
    "usd_per_gbp",
    "developing_asia_fx_index",
)
"""Price indices and FX rates entering as 100 x quarterly log returns."""

FEATURES: list[str] = [
    *GROWTH_VARIABLES,
    "unemployment_rate",
    "unemployment_rate_chg",
    *(f"{v}_chg" for v in RATE_VARIABLES),
    "bbb_spread",
    "bbb_spread_chg",
    "vix",
    "vix_chg",
    *(f"{v}_ret" for v in RETURN_VARIABLES),
]
"""Every conditioning feature, in column order of :func:`macro_features`."""

CONDITIONING_VARIABLES: tuple[str, ...] = (
    "real_gdp_growth",
    "unemployment_rate",
    "treasury_10y",
    "treasury_3m",
    "bbb_yield",
    "vix",
    "equity_total_market",
    "house_price_index",
    "cre_price_index",
)
"""Fed domestic variables the satellite's regressors are built from. A scenario that gives all
of them is translated with the full models; one that gives only some is translated by models
conditioned on what it gives (:mod:`risk_dagster.translate.conditioning`)."""

ACTIVITY_VARIABLES: tuple[str, ...] = ("real_gdp_growth", "unemployment_rate")
"""A scenario must give at least one of these for any statistical translation: without the
real economy there is nothing to condition market moves on."""


def feature_inputs(feature: str) -> tuple[str, ...]:
    """The canonical variables a feature of :data:`FEATURES` is computed from."""
    if feature in GROWTH_VARIABLES or feature in ("unemployment_rate", "vix"):
        return (feature,)
    if feature in ("bbb_spread", "bbb_spread_chg"):
        return ("bbb_yield", "treasury_10y")
    for suffix in ("_chg", "_ret"):
        if feature.endswith(suffix):
            return (feature[: -len(suffix)],)
    raise KeyError(f"feature_inputs: unknown feature {feature!r}")


def available_features(scenario: MacroScenario) -> list[str]:
    """The features (:data:`FEATURES` order) a scenario determines over its whole projection:
    every input variable given, with a finite value in every projected quarter."""
    wide = scenario.wide().loc[projection_quarters(scenario)]
    given = {v for v in wide.columns if len(wide) and np.isfinite(wide[v].to_numpy(dtype=np.float64)).all()}
    return [f for f in FEATURES if set(feature_inputs(f)) <= given]


def check_conditioning(scenario: MacroScenario) -> None:
    """Refuse a scenario no translator can condition on.

    A scenario is translated on whatever subset of the conditioning variables it gives
    (:func:`available_features`), but it must give the real economy: at least one of
    :data:`ACTIVITY_VARIABLES`. An NGFS extract of carbon prices alone, for instance, carries
    nothing a statistical translator trained on the Fed's history can condition on (a climate
    transition overlay would be a different model).

    Raises
    ------
    ValueError
        Naming the scenario, what it gives and what is needed.
    """
    given = set(scenario.variables)
    if not any(v in given for v in ACTIVITY_VARIABLES):
        shown = ", ".join(sorted(given)[:8]) + (" ..." if len(given) > 8 else "")
        raise ValueError(
            f"scenario {scenario.scenario_id} ({scenario.source}) cannot be translated: it gives {shown or 'nothing'}, "
            f"none of the activity variables {', '.join(ACTIVITY_VARIABLES)} that any translation conditions on "
            "(mapped onto the Fed's canonical ids, data_contracts/catalogs/conditioning_map.yaml). A scenario of "
            "climate-policy variables alone, such as an NGFS carbon-price extract, needs a climate transition "
            "overlay, not a statistical translator trained on the Fed's history."
        )


SATELLITE_REGRESSORS: list[str] = [
    "real_gdp_growth",
    "unemployment_rate_chg",
    "treasury_10y_chg",
    "treasury_3m_chg",
    "bbb_spread_chg",
    "vix_chg",
    "equity_total_market_ret",
    "house_price_index_ret",
    "cre_price_index_ret",
]
"""The nine regressors of the satellite models: one per economic driver of market moves -- activity (real GDP growth), labour-market
stress (unemployment change), the long and short ends of the Treasury curve (10y and 3m
changes), credit (BBB-10y spread change), implied volatility (VIX change), and the three
asset prices the Fed projects (equity total market, house and CRE prices). Levels are left
out (they trend), as are the 5y change (nearly collinear with 10y and 3m), mortgage and prime
rates (functions of the Treasury curve) and the international block (only four FX rates
depend on it, and the scenario fixes those). The economic rationale came first, but the choice
was confirmed by a study scored on the four crisis windows of the backtest (energy score 4.33
for these nine vs 4.82 for all twenty features): those windows are design windows, and results
on them are not out-of-sample evidence for this choice."""


def jump_off_quarter(scenario: MacroScenario) -> pd.Period:
    """The scenario's jump-off quarter: its metadata, else the quarter before its first."""
    if scenario.jump_off is not None:
        return pd.Period(scenario.jump_off, freq="Q-DEC")
    return scenario.first_quarter - 1


def projection_quarters(scenario: MacroScenario) -> pd.PeriodIndex:
    """The scenario's projected quarters (those after its jump-off), sorted."""
    jump = jump_off_quarter(scenario)
    quarters = scenario.quarters
    return pd.PeriodIndex(quarters[quarters > jump], freq="Q-DEC", name="quarter")


def macro_path(scenario: MacroScenario, history: MacroScenario, lookback: int = 4) -> pd.DataFrame:
    """History up to the jump-off followed by the scenario's projection, one row per quarter.

    Parameters
    ----------
    scenario
        The projection (e.g. ``fed-2026-severely-adverse``).
    history
        The Fed historic table the scenario starts from, ideally of the scenario's vintage
        (``load_fed_history("2026")``); it must contain the jump-off quarter.
    lookback
        Number of historic quarters kept, ending at the jump-off quarter (>= 1: the jump-off
        row gives the first projected quarter its changes).

    Returns
    -------
    pandas.DataFrame
        ``PeriodIndex`` (``quarter``) of ``lookback`` historic plus every projected quarter,
        consecutive; columns are canonical variable ids (history's first, then any the
        scenario adds). ``NaN`` where a variable is not given.

    Raises
    ------
    ValueError
        When ``lookback < 1``, the history lacks the jump-off quarter, or the scenario has
        no projected quarter.
    """
    if lookback < 1:
        raise ValueError(f"macro_path: lookback must be >= 1, got {lookback}")
    jump = jump_off_quarter(scenario)
    hist = history.wide()
    if jump not in hist.index:
        raise ValueError(
            f"macro_path: history {history.scenario_id!r} ({history.first_quarter}..{history.last_quarter}) "
            f"lacks the jump-off quarter {jump} of {scenario.scenario_id!r}"
        )
    proj_q = projection_quarters(scenario)
    if len(proj_q) == 0:
        raise ValueError(f"macro_path: scenario {scenario.scenario_id!r} has no quarter after its jump-off {jump}")
    proj = scenario.wide().loc[proj_q]
    columns = list(dict.fromkeys([*hist.columns, *proj.columns]))
    past = hist.loc[jump - (lookback - 1) : jump]
    index = pd.period_range(jump - (lookback - 1), proj_q[-1], freq="Q-DEC", name="quarter")
    out = pd.concat([past.reindex(columns=columns), proj.reindex(columns=columns)])
    out = out[~out.index.duplicated(keep="last")]
    return out.reindex(index).astype("float64")


def _consecutive(wide: pd.DataFrame) -> pd.DataFrame:
    """The frame on a gap-free quarterly index, so a diff never spans a missing quarter."""
    index = pd.PeriodIndex(wide.index, freq="Q-DEC")
    if not index.is_unique:
        raise ValueError("macro_features: duplicate quarters")
    frame = wide.set_axis(index, axis=0).sort_index()
    full = pd.period_range(frame.index.min(), frame.index.max(), freq="Q-DEC", name="quarter")
    return frame.reindex(full).apply(pd.to_numeric, errors="coerce").astype("float64")


def macro_features(wide: pd.DataFrame) -> pd.DataFrame:
    """The conditioning features (:data:`FEATURES`) of each quarter of a wide macro frame.

    Parameters
    ----------
    wide
        Quarter-indexed (``PeriodIndex`` or convertible) x canonical variable ids, e.g.
        ``MacroScenario.wide()`` or :func:`macro_path`. Absent columns give ``NaN`` features.

    Returns
    -------
    pandas.DataFrame
        Same quarters as ``wide`` (sorted) x :data:`FEATURES`, float64; the first quarter's
        changes are ``NaN``, and so is any feature whose input is missing.
    """
    if len(wide) == 0:
        return pd.DataFrame(columns=FEATURES, index=pd.PeriodIndex([], freq="Q-DEC", name="quarter"), dtype="float64")
    frame = _consecutive(wide)

    def col(name: str) -> pd.Series:
        if name in frame.columns:
            return frame[name]
        return pd.Series(np.nan, index=frame.index, dtype="float64")

    out: dict[str, pd.Series] = {v: col(v) for v in GROWTH_VARIABLES}
    out["unemployment_rate"] = col("unemployment_rate")
    out["unemployment_rate_chg"] = col("unemployment_rate").diff()
    for v in RATE_VARIABLES:
        out[f"{v}_chg"] = col(v).diff()
    spread = col("bbb_yield") - col("treasury_10y")
    out["bbb_spread"] = spread
    out["bbb_spread_chg"] = spread.diff()
    out["vix"] = col("vix")
    out["vix_chg"] = col("vix").diff()
    for v in RETURN_VARIABLES:
        level = col(v)
        out[f"{v}_ret"] = 100.0 * np.log(level.where(level > 0)).diff()
    features = pd.DataFrame(out, index=frame.index)[FEATURES].astype("float64")
    # Back to the caller's quarters (a gap in the input stays a gap in the output).
    wanted = pd.PeriodIndex(wide.index, freq="Q-DEC", name="quarter").sort_values()
    return features.reindex(wanted)


def add_lags(
    features: pd.DataFrame,
    columns: Sequence[str],
    lags: int = 1,
    context: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Features with their lagged copies, lags taken by calendar quarter.

    Parameters
    ----------
    features
        Quarter-indexed feature frame: the rows wanted.
    columns
        Features kept, each followed by ``<name>_lag1`` ... ``<name>_lag<lags>``.
    lags
        Number of lags (0: the columns only).
    context
        A frame holding earlier quarters (e.g. the full history's features), used for the lags
        of the first rows and of rows after a gap; ``features`` itself when ``None``.

    Returns
    -------
    pandas.DataFrame
        ``features.index`` x ``[c, c_lag1, ..., for c in columns]``; ``NaN`` where the lagged
        quarter is unknown.
    """
    source = features if context is None else pd.concat([context[~context.index.isin(features.index)], features])
    source = source.sort_index()
    cols = list(columns)
    out = {c: features[c] for c in cols}
    for lag in range(1, lags + 1):
        shifted = source[cols].copy()
        shifted.index = shifted.index + lag  # the value of quarter t-lag, labelled t
        shifted = shifted.reindex(features.index)
        for c in cols:
            out[f"{c}_lag{lag}"] = shifted[c]
    order = [name for c in cols for name in (c, *(f"{c}_lag{k}" for k in range(1, lags + 1)))]
    return pd.DataFrame(out, index=features.index)[order].astype("float64")
