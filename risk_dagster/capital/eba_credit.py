"""Euro-area credit-risk drivers of an EBA scenario, and the PD stress multipliers they give.

No euro-area default or charge-off history is shipped. The macro sensitivity of the euro book's
PDs is therefore *transferred* from the loss-rate satellites fitted on the Fed's U.S. charge-off
history (:mod:`risk_dagster.capital.loss_rates`, coefficients and out-of-sample outcomes in
that module's docstring and in ``models/loss_rates/`` of every run): each euro segment takes the
satellite of the U.S. segment closest to it (:data:`SEGMENT_SATELLITES`), driven by the EBA
scenario's path for the bank's country or area. What transfers is the elasticity of the loss rate
to unemployment, house and commercial property prices and the corporate spread; the *level* is
the bank's own (its stage PDs, :mod:`risk_dagster.capital.ifrs9`): only the ratio of the projected
loss rate to the one at the jump-off is used (:func:`~risk_dagster.capital.ifrs9.pd_multipliers`).
This is a stated proxy, not a euro-area estimate: euro-area mortgage losses are lower and less
cyclical than U.S. ones (full recourse, lower LTVs), so the multipliers are, if anything, high
for mortgages.

Driver path (:func:`euro_driver_path`), quarterly, from the EBA's annual figures by the rules of
``data_contracts/catalogs/conditioning_map.yaml`` (:func:`~risk_dagster.translate.conditioning.quarterly_path`):

* ``unemployment_rate``: level, interpolated from the 2024 rate to each year's average;
* ``real_gdp_growth``: each year's growth in each of its quarters;
* ``house_price_index`` / ``cre_price_index``: indices 100 at the end of 2024, chained with each
  year's growth; the 2024 house-price growth before (no 2024 commercial-property row: flat);
* ``treasury_10y``: the area's long-term rate (from its end-2024 starting point);
* ``bbb_yield``: ``treasury_10y`` plus a BBB spread that starts at the Fed's end-2024 BBB spread
  and moves one for one with the iTraxx Europe Main (Overall) 5y index from its 2024 level, the
  EBA's investment-grade credit variable (a stated proxy: the two are IG credit spreads of
  similar level, 110 and 56 bp at the end of 2024).

Eight quarters of history before the jump-off (2023-2024) are the 2024 values held flat (growth
rates at their 2024 rate), enough for the satellites' one- and two-quarter lags and four-quarter
changes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from risk_dagster.capital.ifrs9 import pd_multipliers
from risk_dagster.capital.loss_rates import LossRateSatellite, macro_drivers
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.conditioning import quarterly_path
from risk_dagster.translate.features import jump_off_quarter

__all__ = ["BBB_SPREAD_JUMP_OFF", "HISTORY_QUARTERS", "SEGMENT_SATELLITES", "euro_driver_path", "euro_pd_multipliers"]

SEGMENT_SATELLITES: dict[str, str] = {
    "residential_mortgage": "first_lien_mortgage",
    "corporate": "c_and_i",
    "sme": "c_and_i",
    "consumer": "other_consumer",
    "commercial_real_estate": "cre",
}
"""Euro segment -> the U.S. loss-rate satellite whose elasticities it takes (SMEs: the C&I one)."""

BBB_SPREAD_JUMP_OFF = 1.1
"""BBB yield less the 10-year Treasury at the end of 2024, percentage points: the Fed's 2026
historic table, 2024Q4 (the value :mod:`risk_dagster.translate.rating_spreads` is scaled to)."""

HISTORY_QUARTERS = 8
"""Quarters of flat history before the jump-off (lags and four-quarter changes)."""


def _series(scenario: MacroScenario, concept: str, key: str) -> pd.Series | None:
    variable = f"{concept}__{key}"
    return scenario.series(variable) if variable in scenario.variables else None


def euro_driver_path(scenario: MacroScenario, key: str = "ea") -> pd.DataFrame:
    """Quarterly credit drivers (:data:`~risk_dagster.capital.loss_rates.DRIVER_VARIABLES`) of
    the EBA scenario for one country or area (module docstring).

    Parameters
    ----------
    scenario
        An EBA scenario of :mod:`risk_dagster.scenarios.eba_long` (2024 values at the jump-off).
    key
        Country or area code in lower case (``ea``, ``de``, ``it`` ...).

    Returns
    -------
    pandas.DataFrame
        ``HISTORY_QUARTERS`` quarters to the jump-off, then every projected quarter to the last
        Q4; columns ``unemployment_rate``, ``real_gdp_growth``, ``house_price_index``,
        ``cre_price_index``, ``treasury_10y``, ``bbb_yield``.

    Raises
    ------
    ValueError
        When the scenario lacks the area's unemployment, GDP, house prices or long-term rate, or
        their 2024 values.
    """
    jump = jump_off_quarter(scenario)
    needed = {c: _series(scenario, c, key) for c in ("eba_unemployment_rate", "eba_real_gdp_growth",
                                                    "eba_residential_property_prices", "eba_long_term_rate")}  # fmt: skip
    missing = [c for c, s in needed.items() if s is None or jump not in s.index or not np.isfinite(s.loc[jump])]
    if missing:
        raise ValueError(f"{scenario.scenario_id}: no {', '.join(missing)} of {key!r} with a 2024 value at {jump}")
    last = pd.Period(f"{max(q.year for q in scenario.quarters)}Q4", freq="Q-DEC")
    projected = pd.period_range(jump + 1, last, freq="Q-DEC", name="quarter")
    past = pd.period_range(jump - (HISTORY_QUARTERS - 1), jump, freq="Q-DEC", name="quarter")

    def annual(series: pd.Series | None) -> dict[int, float]:
        if series is None:
            return {}
        return {q.year: float(v) for q, v in series.dropna().items() if q > jump}

    def start(series: pd.Series) -> float:
        return float(series.loc[jump])

    u, g, hpi, ltr = (s for s in needed.values() if s is not None)  # all four present (checked above), in order
    cre = _series(scenario, "eba_commercial_property_prices", key)
    cre_start_growth = start(cre) if cre is not None and jump in cre.index and np.isfinite(cre.loc[jump]) else 0.0
    itraxx = _series(scenario, "eba_itraxx", "overall_5y")
    out = pd.DataFrame(index=past.append(projected))
    out.index.name = "quarter"
    steps_back = np.arange(len(past) - 1, -1, -1)  # quarters before the jump-off, jump-off = 0
    out["unemployment_rate"] = np.r_[np.full(len(past), start(u)), quarterly_path("level_interpolated", annual(u), projected, start(u))]
    out["real_gdp_growth"] = np.r_[np.full(len(past), start(g)), quarterly_path("growth_even", annual(g), projected, np.nan)]
    out["house_price_index"] = np.r_[100.0 / (1 + start(hpi) / 100.0) ** (steps_back / 4.0),
                                     quarterly_path("index_from_growth", annual(hpi), projected, 100.0)]  # fmt: skip
    out["cre_price_index"] = np.r_[100.0 / (1 + cre_start_growth / 100.0) ** (steps_back / 4.0),
                                   quarterly_path("index_from_growth", annual(cre), projected, 100.0)]  # fmt: skip
    out["treasury_10y"] = np.r_[np.full(len(past), start(ltr)), quarterly_path("level_from_start", annual(ltr), projected, start(ltr))]
    spread = np.full(len(out), BBB_SPREAD_JUMP_OFF)
    if itraxx is not None and jump in itraxx.index and np.isfinite(itraxx.loc[jump]):
        moves = quarterly_path("level_from_start", annual(itraxx), projected, start(itraxx)) - start(itraxx)
        spread[len(past):] += moves / 100.0  # bp -> pp
    out["bbb_yield"] = out["treasury_10y"] + spread
    return out


def euro_pd_multipliers(
    scenario: MacroScenario,
    satellite: LossRateSatellite,
    *,
    key: str = "ea",
    segments: Mapping[str, str] | None = None,
) -> dict[str, list[float]]:
    """Annual PD stress multipliers of each euro segment under an EBA scenario.

    The satellite's expected quarterly loss rate along :func:`euro_driver_path`, averaged per
    calendar year, over its rate at the jump-off's drivers (the flat 2024 history): 1 means the
    2024 point-in-time PDs, 2 twice them.

    Parameters
    ----------
    scenario
        An EBA scenario (:mod:`risk_dagster.scenarios.eba_long`).
    satellite
        Fitted loss-rate satellites (:class:`~risk_dagster.capital.loss_rates.LossRateSatellite`).
    key
        Country or area of the bank's exposures.
    segments
        Euro segment -> satellite segment; :data:`SEGMENT_SATELLITES` by default.
    """
    mapping = dict(segments or SEGMENT_SATELLITES)
    path = euro_driver_path(scenario, key)
    drivers = macro_drivers(path)
    jump = jump_off_quarter(scenario)
    projected = drivers.index[drivers.index > jump]
    needed = sorted(set(mapping.values()))
    rates = satellite.predict(drivers.loc[projected], segments=needed)
    at_jump = satellite.predict(drivers.loc[[jump]], segments=needed).iloc[0]
    by_segment = pd.DataFrame({seg: rates[sat] for seg, sat in mapping.items()}, index=projected)
    return pd_multipliers(by_segment, {seg: float(at_jump[sat]) for seg, sat in mapping.items()})
