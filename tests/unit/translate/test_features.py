"""Conditioning features: the macro path and the transformations fixed in advance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.features import (
    FEATURES,
    SATELLITE_REGRESSORS,
    add_lags,
    macro_features,
    macro_path,
    projection_quarters,
)


def test_features_of_2008q4_read_as_a_crisis(fed_history_2026: MacroScenario) -> None:
    feats = macro_features(fed_history_2026.wide())
    q = feats.loc[pd.Period("2008Q4")]
    assert list(feats.columns) == FEATURES
    assert q["equity_total_market_ret"] < -20.0  # log return x 100
    assert q["vix_chg"] > 20.0
    assert q["vix"] > 60.0
    assert q["unemployment_rate_chg"] > 0.5
    assert q["bbb_spread_chg"] > 1.0
    assert q["real_gdp_growth"] < 0.0


def test_transformations_match_their_definitions(fed_history_2026: MacroScenario) -> None:
    wide = fed_history_2026.wide()
    feats = macro_features(wide)
    q, p = pd.Period("2020Q2"), pd.Period("2020Q1")
    assert feats.at[q, "treasury_10y_chg"] == pytest.approx(wide.at[q, "treasury_10y"] - wide.at[p, "treasury_10y"])
    spread = wide["bbb_yield"] - wide["treasury_10y"]
    assert feats.at[q, "bbb_spread"] == pytest.approx(spread[q])
    assert feats.at[q, "house_price_index_ret"] == pytest.approx(
        100 * np.log(wide.at[q, "house_price_index"] / wide.at[p, "house_price_index"])
    )
    assert feats.at[q, "real_gdp_growth"] == wide.at[q, "real_gdp_growth"]


def test_missing_inputs_stay_nan(fed_history_2026: MacroScenario) -> None:
    feats = macro_features(fed_history_2026.wide())
    # VIX starts 1990Q1 and the euro in 1999Q1: no change before their second quarter.
    assert feats.loc[:"1990Q1", "vix_chg"].isna().all()
    assert feats.loc[:"1999Q1", "usd_per_eur_ret"].isna().all()
    assert feats.loc["1999Q2":, "usd_per_eur_ret"].notna().all()
    # An absent column gives NaN features, not zeros.
    partial = macro_features(fed_history_2026.wide().drop(columns=["vix"]))
    assert partial[["vix", "vix_chg"]].isna().all().all()


def test_macro_path_joins_history_and_projection(
    fed_history_2026: MacroScenario, severely_adverse: MacroScenario
) -> None:
    path = macro_path(severely_adverse, fed_history_2026, lookback=4)
    proj = projection_quarters(severely_adverse)
    assert len(proj) == 13
    assert path.index[0] == pd.Period("2025Q1") and path.index[-1] == proj[-1]
    assert len(path) == 4 + 13
    assert path.at[pd.Period("2025Q4"), "vix"] == fed_history_2026.wide().at[pd.Period("2025Q4"), "vix"]
    assert path.at[pd.Period("2026Q2"), "vix"] == pytest.approx(72.0)
    # The first projected quarter's changes are taken from the jump-off quarter.
    feats = macro_features(path)
    assert feats.loc[proj[0], "vix_chg"] == pytest.approx(path.at[proj[0], "vix"] - path.at[pd.Period("2025Q4"), "vix"])


def test_lags_come_from_the_context() -> None:
    idx = pd.period_range("2000Q1", "2000Q4", freq="Q-DEC", name="quarter")
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}, index=idx)
    lagged = add_lags(frame.iloc[2:], ["a"], 2, context=frame)
    assert lagged.columns.tolist() == ["a", "a_lag1", "a_lag2"]
    assert lagged["a_lag1"].tolist() == [2.0, 3.0]
    assert lagged["a_lag2"].tolist() == [1.0, 2.0]
    assert np.isnan(add_lags(frame.iloc[2:], ["a"], 1).iloc[0]["a_lag1"])


def test_satellite_regressors_are_nine_known_features() -> None:
    assert len(SATELLITE_REGRESSORS) == 9
    assert set(SATELLITE_REGRESSORS) <= set(FEATURES)


def test_scenarios_without_the_conditioning_variables_are_refused():
    import pytest

    from risk_dagster.scenarios.eba import read as read_eba
    from risk_dagster.scenarios.registry import load_scenario
    from risk_dagster.translate.features import check_conditioning

    check_conditioning(load_scenario("fed-2026-severely-adverse"))
    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "eba" / "eba_2025_scenario_sample.csv"
    eba = read_eba(fixture)[0]
    # On its own ids an EBA scenario gives no canonical activity variable: refused, naming them ...
    with pytest.raises(ValueError, match="cannot be translated.*real_gdp_growth, unemployment_rate"):
        check_conditioning(eba)
    # ... mapped onto the canonical ones (the template fixture holds the EU block) it is accepted.
    from risk_dagster.scenarios.registry import load_fed_history
    from risk_dagster.translate.conditioning import to_canonical

    check_conditioning(to_canonical(eba, load_fed_history("2026"), region="eu"))
