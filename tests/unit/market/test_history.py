"""Quarterly factor history: levels, changes in shock units, coverage, blending, overlaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster.market.history import (
    FactorHistory,
    build_factor_history,
    default_source_weights,
    overlapping_quantities,
)
from risk_dagster.market.loaders import to_quarterly
from risk_dagster.quality.reliability import blend_sources

Q = lambda s: pd.Period(s, freq="Q-DEC")  # noqa: E731


def test_frame_shapes(history: FactorHistory) -> None:
    assert isinstance(history.levels.index, pd.PeriodIndex) and history.levels.index.name == "quarter"
    assert history.levels.index[0] == Q("1976Q1") and history.end == Q("2025Q4")
    assert history.levels.index.equals(history.changes.index)
    assert list(history.levels.columns) == list(history.changes.columns)
    assert (history.levels.dtypes == "float64").all() and (history.changes.dtypes == "float64").all()
    table = history.levels_table()
    assert table.columns[0] == "quarter" and table["quarter"].iloc[0] == "1976Q1"


def test_ten_year_2008q4_quarter_end(history: FactorHistory) -> None:
    # Treasury 2.25 at 2008-12-31, FRED-MD December average 2.42, blended with equal priors.
    level = history.levels.loc[Q("2008Q4"), "rates.ust.10y"]
    assert 2.2 <= level <= 2.4
    assert history.weights_used["rates.ust.10y"] == {"treasury": 0.85, "fred_md": 0.85}
    # changes in bp
    prev = history.levels.loc[Q("2008Q3"), "rates.ust.10y"]
    assert history.changes.loc[Q("2008Q4"), "rates.ust.10y"] == pytest.approx((level - prev) * 100)
    assert history.changes.loc[Q("2008Q4"), "rates.ust.10y"] < -100


def test_blend_weights_select_a_source(fed_history, sources) -> None:
    only_treasury = build_factor_history(fed_history, sources=sources, weights={"treasury": 1.0, "fred_md": 0.0})
    curve_q = to_quarterly(sources["treasury_par_curve"], {"10 Yr": "last"})["10 Yr"]
    got = only_treasury.levels["rates.ust.10y"]
    common = curve_q.index.intersection(got.index)
    pd.testing.assert_series_equal(got.loc[common], curve_q.loc[common], check_names=False)
    assert got.loc[Q("2008Q4")] == pytest.approx(2.25)
    # before the Treasury file starts, only FRED-MD (weight 0) is present: no information
    assert np.isnan(got.loc[Q("1985Q4")])
    assert only_treasury.weights_used["rates.ust.10y"] == {"treasury": 1.0, "fred_md": 0.0}


def test_blend_sources_contract() -> None:
    idx = pd.period_range("2000Q1", periods=3, freq="Q-DEC")
    a = pd.Series([1.0, 2.0, np.nan], index=idx)
    b = pd.Series([3.0, 5.0, 7.0], index=idx)
    np.testing.assert_allclose(blend_sources({"a": a, "b": b}, {"a": 1.0, "b": 0.0}).iloc[:2], a.iloc[:2])
    np.testing.assert_allclose(blend_sources({"a": a, "b": b}, {"a": 1.0, "b": 1.0}), [2.0, 3.5, 7.0])


def test_equity_2008q4_crash_in_log_returns(history: FactorHistory) -> None:
    ret = history.changes.loc[Q("2008Q4"), "equity.total_market"]
    assert ret == pytest.approx(np.log(9056.7 / 11826.0), abs=1e-9)
    assert ret < -0.2
    assert history.changes.loc[Q("2008Q4"), "equity.sector.money"] < -0.2


def test_vix_changes_are_points(history: FactorHistory) -> None:
    assert history.levels.loc[Q("2008Q4"), "vol.vix"] == pytest.approx(80.9)
    assert history.changes.loc[Q("2008Q4"), "vol.vix"] == pytest.approx(80.9 - 46.7)
    assert history.levels.loc[: Q("1989Q4"), "vol.vix"].isna().all()


def test_levels_nan_before_series_start(history: FactorHistory) -> None:
    eur = history.levels["fx.eurusd"]
    assert eur.loc[: Q("1998Q4")].isna().all()
    assert eur.loc[Q("1999Q1")] == pytest.approx(1.0, abs=0.2)
    assert history.changes["fx.eurusd"].loc[: Q("1999Q1")].isna().all()
    assert not (history.levels == 0).all().any()
    # the Treasury stopped the 30-year from 2002-02-19 to 2006-02-08: a gap, not zeros
    thirty = history.levels["rates.ust.30y"]
    assert thirty.loc[Q("2002Q1") : Q("2005Q4")].isna().all()
    assert thirty.loc[Q("2006Q1")] > 4


def test_coverage_table(history: FactorHistory) -> None:
    cov = history.coverage
    assert list(cov.index) == list(history.levels.columns)
    for fid in cov.index:
        valid = history.levels[fid].dropna()
        assert cov.loc[fid, "n_quarters"] == len(valid)
        if len(valid):
            assert cov.loc[fid, "first_quarter"] == valid.index[0]
            assert cov.loc[fid, "last_quarter"] == valid.index[-1]
    assert cov.loc["fx.eurusd", "first_quarter"] == Q("1999Q1")
    assert cov.loc["fx.eurusd", "sources"] == "fed,h10"
    assert cov.loc["equity.total_market", "first_quarter"] == Q("1987Q1")
    assert cov.loc["credit.bbb", "first_quarter"] == Q("1988Q4")
    assert cov.loc["rates.ust.1m", "first_quarter"] == Q("2001Q3")
    assert cov.loc["equity.sector.hlth", "last_quarter"] == Q("2024Q4")
    assert cov.loc["rates.ust.10y", "sources"] == "treasury,fred_md"


def test_sector_index_is_cumulated_returns(history: FactorHistory, sources) -> None:
    monthly = sources["french_industry_12"]
    q = to_quarterly(monthly, {"Hlth": "compound"})["Hlth"]
    chg = history.changes["equity.sector.hlth"]
    pd.testing.assert_series_equal(chg.loc["1976Q1":"2024Q4"], q.loc["1976Q1":"2024Q4"], check_names=False)
    lvl = history.levels["equity.sector.hlth"]
    assert lvl.loc[Q("1976Q1")] == pytest.approx(100.0)
    assert np.log(lvl.loc[Q("2024Q4")] / lvl.loc[Q("2024Q3")]) == pytest.approx(chg.loc[Q("2024Q4")])


def test_spreads_and_fixed_fed_derivations(history: FactorHistory, fed_history) -> None:
    bbb = history.levels.loc[Q("2008Q4"), "credit.spread.bbb_10y"]
    assert bbb == pytest.approx(fed_history.loc[Q("2008Q4"), "bbb_yield"] - fed_history.loc[Q("2008Q4"), "treasury_10y"])
    assert history.levels["credit.spread.baa_10y"].dropna().gt(0).all()
    assert history.changes.loc[Q("2008Q4"), "credit.spread.baa_10y"] > 100  # bp widening


def test_window_and_missing_dataset(fed_history, sources) -> None:
    partial = {k: v for k, v in sources.items() if k != "french_industry_12"}
    h = build_factor_history(fed_history, sources=partial, start="2000Q1", end="2009Q4")
    assert h.levels.index[0] == Q("2000Q1") and h.levels.index[-1] == Q("2009Q4")
    assert h.levels["equity.sector.hlth"].isna().all()
    assert h.coverage.loc["equity.sector.hlth", "n_quarters"] == 0
    assert any("equity.sector.hlth" in n for n in h.notes)
    # the window's first change uses the quarter before it
    assert not np.isnan(h.changes.loc[Q("2000Q1"), "rates.ust.10y"])
    with pytest.raises(ValueError, match="before start"):
        build_factor_history(fed_history, sources=sources, start="2000Q1", end="1999Q4")


def test_default_weights_from_contracts() -> None:
    w = default_source_weights(["fed", "treasury", "fred_md", "h10", "french"])
    assert w["treasury"] == w["fed"] == w["fred_md"] == 0.85
    assert 0.4 <= w["french"] <= 0.75


def test_overlapping_quantities(fed_history, sources) -> None:
    ov = overlapping_quantities(fed_history, sources)
    assert set(ov["treasury_10y"]) == {"fed", "treasury", "fred_md"}
    assert set(ov["equity_total_market_return"]) == {"fed", "fred_md"}
    assert set(ov["usd_per_eur"]) == {"fed", "h10"}
    assert set(ov["wti"]) == {"eia", "fred_md"}
    for by_source in ov.values():
        for series in by_source.values():
            assert isinstance(series.index, pd.PeriodIndex) and series.index.freqstr == "Q-DEC"
    ten = pd.concat(ov["treasury_10y"], axis=1).dropna()
    assert (ten["treasury"] - ten["fred_md"]).abs().max() < 0.1  # both quarterly means
    assert ov["equity_total_market_return"]["fed"].loc[Q("2008Q4")] == pytest.approx(100 * np.log(9056.7 / 11826.0))
    eur = pd.concat(ov["usd_per_eur"], axis=1).dropna()
    assert (eur["fed"] - eur["h10"]).abs().max() < 0.01
