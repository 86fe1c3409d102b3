"""Loan loss-rate satellites on the shipped Fed charge-off history: the loader and its splice, the
drivers, the signs a risk manager expects (fitted coefficients and shocked real history), HAC
standard errors, driver clamping, the jump-off residual, reproducible samples (common random
numbers) and the leave-crisis-out outcomes analysis."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from risk_dagster.capital.loss_rates import (
    DEFAULT_CLAMP_MARGIN,
    DEFAULT_FEATURES,
    OUTCOME_WINDOWS,
    SEGMENTS,
    LossRateSatellite,
    load_charge_off_rates,
    macro_drivers,
    outcomes_analysis,
    scenario_drivers,
    to_annualized_percent,
)
from risk_dagster.errors import InputFileError
from risk_dagster.paths import data_dir
from risk_dagster.scenarios.registry import load_scenario


@pytest.fixture(scope="module")
def drivers(history) -> pd.DataFrame:
    return macro_drivers(history)


@pytest.fixture(scope="module")
def model(rates, drivers) -> LossRateSatellite:
    return LossRateSatellite().fit(rates, drivers)


def _path(n: int = 9, **values: float) -> pd.DataFrame:
    """A flat driver path (every lag equal) from base-feature values."""
    base = {
        "unemployment_rate": 4.0,
        "unemployment_change_4q": 0.0,
        "house_price_growth_4q": 4.0,
        "cre_price_growth_4q": 4.0,
        "real_gdp_growth": 2.5,
        "bbb_spread": 1.8,
    }
    base.update(values)
    cols = {}
    for name, v in base.items():
        for suffix in ("", "_l1", "_l2"):
            cols[name + suffix] = v
    index = pd.period_range("2026Q1", periods=n, freq="Q-DEC", name="quarter")
    return pd.DataFrame(cols, index=index)


CALM = {}
STRESS = {
    "unemployment_rate": 10.0,
    "unemployment_change_4q": 4.0,
    "house_price_growth_4q": -15.0,
    "cre_price_growth_4q": -30.0,
    "real_gdp_growth": -6.0,
    "bbb_spread": 5.5,
}


# ----------------------------------------------------------------------------- loader
def test_loader_reads_the_shipped_files(rates):
    assert isinstance(rates.index, pd.PeriodIndex) and rates.index.freqstr.startswith("Q")
    assert list(rates.columns) == list(SEGMENTS)
    assert rates.index.min() == pd.Period("1985Q1", "Q")
    assert rates.index.max() == pd.Period("2023Q2", "Q")
    other = rates["other_loans"]  # all loans SA
    assert other[pd.Period("2010Q1", "Q")] == pytest.approx(3.02)
    assert other[pd.Period("2009Q4", "Q")] == pytest.approx(2.91)
    assert other.idxmax() == pd.Period("2010Q1", "Q")
    assert rates.loc[pd.Period("2009Q4", "Q"), "credit_card"] == pytest.approx(10.51)
    # residential and CRE start 1991Q1
    assert rates.loc[:"1990Q4", ["first_lien_mortgage", "cre"]].isna().all().all()
    assert rates.loc["1991Q1":"2023Q2", ["first_lien_mortgage", "cre", "credit_card"]].notna().all().all()


def test_splice_appends_fred_vintage_after_the_ddp(rates):
    assert rates.attrs["splice_quarter"] == "2020Q2"
    # DDP-only segments end 2020Q1
    for seg in ("c_and_i", "other_consumer", "other_loans"):
        assert rates[seg].last_valid_index() == pd.Period("2020Q1", "Q")
    cards = rates["credit_card"]
    assert cards["2021Q1":"2021Q4"].tolist() == pytest.approx([2.79, 2.36, 1.83, 1.66])
    assert cards[pd.Period("2023Q2", "Q")] == pytest.approx(3.15)
    # the overlap keeps the DDP value: cards 2009Q4 is 10.51 in the DDP file, 10.49 in the FRED vintage
    assert cards[pd.Period("2009Q4", "Q")] == pytest.approx(10.51)
    assert rates["junior_lien_heloc"].equals(rates["first_lien_mortgage"])


def test_missing_file_names_it(tmp_path):
    shutil.copytree(data_dir() / "bank_losses" / "fed_chgdel_ddp", tmp_path / "fed_chgdel_ddp")
    with pytest.raises(InputFileError) as info:
        load_charge_off_rates(tmp_path)
    assert "CCARD_CO_QTR.xlsx" in str(info.value)
    assert info.value.rule == "missing_file"


# ----------------------------------------------------------------------------- drivers
def test_drivers_features_and_lags(history, drivers):
    wide = history.wide()
    q = pd.Period("2009Q4", "Q")
    assert drivers.loc[q, "unemployment_change_4q"] == pytest.approx(
        wide.loc[q, "unemployment_rate"] - wide.loc[q - 4, "unemployment_rate"]
    )
    assert drivers.loc[q, "house_price_growth_4q"] == pytest.approx(
        100 * np.log(wide.loc[q, "house_price_index"] / wide.loc[q - 4, "house_price_index"])
    )
    assert drivers.loc[q, "bbb_spread_l1"] == pytest.approx(wide.loc[q - 1, "bbb_yield"] - wide.loc[q - 1, "treasury_10y"])
    assert drivers.loc[q, "cre_price_growth_4q_l2"] == pytest.approx(drivers.loc[q - 2, "cre_price_growth_4q"])
    for feats in DEFAULT_FEATURES.values():
        assert all(f.endswith(("_l1", "_l2")) for f in feats)


def test_scenario_drivers_use_history_for_lags(history, model):
    scen = load_scenario("fed-2026-severely-adverse")
    path = scenario_drivers(history, scen)
    first = scen.wide().index.min()
    assert path.index[0] == first
    assert path.loc[first, "unemployment_rate_l1"] == pytest.approx(history.wide().loc[first - 1, "unemployment_rate"])
    pred = model.predict(path)
    assert np.isfinite(pred.to_numpy()).all()
    base = model.predict(scenario_drivers(history, load_scenario("fed-2026-baseline")))
    assert (pred.sum() > base.sum()).all()


# ----------------------------------------------------------------------------- model
def test_predictions_in_unit_interval(model):
    for path in (_path(**CALM), _path(**STRESS), _path(unemployment_rate=25.0, house_price_growth_4q=-60.0)):
        pred = model.predict(path)
        assert ((pred > 0) & (pred < 1)).all().all()


def test_stress_raises_every_segment(model):
    calm, stress = model.predict(_path(**CALM)), model.predict(_path(**STRESS))
    assert (stress > calm).all().all()


@pytest.mark.parametrize("segment", [s for s, f in DEFAULT_FEATURES.items() if any("unemployment" in x for x in f)])
def test_losses_rise_with_unemployment(model, segment):
    low = model.predict(_path(unemployment_rate=4.0, unemployment_change_4q=0.0), [segment])
    high = model.predict(_path(unemployment_rate=9.0, unemployment_change_4q=3.0), [segment])
    assert (high[segment] > low[segment]).all()


def test_first_lien_rises_with_falling_house_prices(model):
    up = model.predict(_path(house_price_growth_4q=5.0), ["first_lien_mortgage"])
    down = model.predict(_path(house_price_growth_4q=-15.0), ["first_lien_mortgage"])
    assert (down > up).all().all()
    assert model.fits["first_lien_mortgage"].params["house_price_growth_4q_l2"] < 0


def test_cre_rises_with_falling_cre_prices(model):
    up = model.predict(_path(cre_price_growth_4q=5.0), ["cre"])
    down = model.predict(_path(cre_price_growth_4q=-25.0), ["cre"])
    assert (down > up).all().all()


def test_coefficients_table(model):
    coef = model.coefficients()
    assert set(coef["segment"]) == set(SEGMENTS)
    assert np.isfinite(coef[["coef", "se", "t"]].to_numpy()).all()
    assert (coef["cov"] == "HAC(maxlags=4)").all()
    feats = coef[coef["term"] != "const"]
    assert np.isfinite(feats[["lower", "upper"]].to_numpy()).all() and (feats["lower"] < feats["upper"]).all()
    assert (coef["resid_sd"] > 0).all() and ((coef["resid_phi"] >= 0) & (coef["resid_phi"] < 1)).all()


def test_fit_excluding_window_drops_quarters(rates, drivers):
    full = LossRateSatellite().fit(rates, drivers, segments=["credit_card"])
    cut = LossRateSatellite().fit(rates, drivers, segments=["credit_card"], exclude=("2008Q1", "2010Q4"))
    assert full.fits["credit_card"].n_obs - cut.fits["credit_card"].n_obs == 12
    with pytest.raises(KeyError):
        cut.predict(_path(), ["cre"])


# ----------------------------------------------------------------------------- signs on the real history
SIGN_EXPECTED = {"unemployment": 1, "bbb_spread": 1, "house_price_growth": -1, "cre_price_growth": -1}


def test_fitted_signs_a_risk_manager_expects(model):
    # the specs carry the drivers a risk manager looks for ...
    for seg in ("first_lien_mortgage", "junior_lien_heloc"):
        assert any(f.startswith("unemployment") for f in DEFAULT_FEATURES[seg])
        assert any(f.startswith("house_price_growth") for f in DEFAULT_FEATURES[seg])
    assert any(f.startswith("cre_price_growth") for f in DEFAULT_FEATURES["cre"])
    for seg in ("credit_card", "other_consumer", "other_loans", "c_and_i"):
        assert any(f.startswith("unemployment") for f in DEFAULT_FEATURES[seg])
    # ... and every fitted coefficient has the expected sign
    checked = 0
    for seg, fit in model.fits.items():
        for term, coef in fit.params.drop("const").items():
            sign = next(v for k, v in SIGN_EXPECTED.items() if term.startswith(k))
            assert np.sign(coef) == sign, (seg, term, coef)
            checked += 1
    assert checked == sum(len(f) for f in DEFAULT_FEATURES.values())


HISTORY_WINDOW = ("2015Q1", "2017Q4")  # a calm stretch of real history, inside every fit sample's driver range


def _shift(path: pd.DataFrame, prefix: str, delta: float) -> pd.DataFrame:
    out = path.copy()
    cols = [c for c in out.columns if c.startswith(prefix)]
    out[cols] = out[cols] + delta
    return out


def test_shocks_on_real_history_raise_predicted_losses(model, drivers):
    base_path = drivers.loc[HISTORY_WINDOW[0] : HISTORY_WINDOW[1]]
    base = model.predict(base_path)
    # unemployment 3 points higher (level and 4-quarter change): every segment with an unemployment driver
    unemp = model.predict(_shift(_shift(base_path, "unemployment_rate", 3.0), "unemployment_change_4q", 3.0))
    # house prices / CRE prices 20 % lower than a year before: 100 log(0.8) on the 4-quarter growth
    fall = 100 * np.log(0.8)
    hpi = model.predict(_shift(base_path, "house_price_growth_4q", fall))
    crei = model.predict(_shift(base_path, "cre_price_growth_4q", fall))
    for seg, feats in DEFAULT_FEATURES.items():
        uses = {p: any(f.startswith(p) for f in feats) for p in ("unemployment", "house_price_growth", "cre_price_growth")}
        for shocked, prefix in ((unemp, "unemployment"), (hpi, "house_price_growth"), (crei, "cre_price_growth")):
            if uses[prefix]:
                assert (shocked[seg] > base[seg]).all(), (seg, prefix)
            else:
                pd.testing.assert_series_equal(shocked[seg], base[seg])
    for seg in ("first_lien_mortgage", "junior_lien_heloc"):
        assert (hpi[seg] > 1.5 * base[seg]).all()  # material, not just positive
    assert (crei["cre"] > 1.5 * base["cre"]).all()
    assert (unemp["credit_card"] > 1.1 * base["credit_card"]).all()
    assert model.clamped(base_path)["n_clamped"].sum() == 0


# ----------------------------------------------------------------------------- HAC
def test_hac_standard_errors_by_default(rates, drivers, model):
    fit = model.fits["credit_card"]
    assert model.cov_type == "HAC" and model.cov_kwds == {"maxlags": 4}
    assert fit.result.cov_type == "HAC" and fit.cov_type == "HAC(maxlags=4)"
    hc1 = LossRateSatellite(cov_type="HC1").fit(rates, drivers, segments=["credit_card"])
    assert hc1.coefficients()["cov"].eq("HC1").all()
    # same point estimates, wider (autocorrelation-robust) standard errors
    pd.testing.assert_series_equal(hc1.fits["credit_card"].params, fit.params)
    assert (fit.bse > hc1.fits["credit_card"].bse).all()


# ----------------------------------------------------------------------------- clamping
def test_bounds_are_the_fit_sample_range_widened(rates, drivers, model):
    fit = model.fits["cre"]
    feat = "cre_price_growth_4q_l2"
    sample = drivers.loc[fit.first_quarter : fit.last_quarter, feat]
    b = fit.bounds.loc[feat]
    assert b["sample_min"] == pytest.approx(sample.min()) and b["sample_max"] == pytest.approx(sample.max())
    width = sample.max() - sample.min()
    assert b["lower"] == pytest.approx(sample.min() - DEFAULT_CLAMP_MARGIN * width)
    assert b["upper"] == pytest.approx(sample.max() + DEFAULT_CLAMP_MARGIN * width)
    tight = LossRateSatellite(clamp_margin=0.0).fit(rates, drivers, segments=["cre"]).fits["cre"].bounds.loc[feat]
    assert tight["lower"] == pytest.approx(sample.min()) and tight["upper"] == pytest.approx(sample.max())
    with pytest.raises(ValueError):
        LossRateSatellite(clamp_margin=-0.1)


def test_clamping_caps_extrapolation_and_is_reported(rates, drivers, model):
    path = _path()
    feat = "cre_price_growth_4q_l2"
    lower = model.fits["cre"].bounds.loc[feat, "lower"]
    path.iloc[3:6, path.columns.get_loc(feat)] = -80.0  # three quarters far below any history
    path.iloc[6, path.columns.get_loc("unemployment_rate_l1")] = 30.0  # one quarter above
    at_bound = path.copy()
    at_bound.iloc[3:6, at_bound.columns.get_loc(feat)] = lower
    pd.testing.assert_series_equal(model.predict(path)["cre"], model.predict(at_bound)["cre"])
    rep = model.clamped(path)
    assert rep.loc[("cre", feat), "n_below"] == 3 and rep.loc[("cre", feat), "n_above"] == 0
    assert rep.loc[("cre", feat), "lower"] == pytest.approx(lower)
    assert rep.loc[("credit_card", "unemployment_rate_l1"), "n_above"] == 1
    per_segment = rep["n_clamped"].groupby("segment").sum()
    assert per_segment["cre"] == 3 and per_segment["credit_card"] == 1 and per_segment["other_consumer"] == 0
    assert model.clamped(_path())["n_clamped"].sum() == 0
    # without clamping the logit extrapolates: far higher losses, nothing reported
    free = LossRateSatellite(clamp_margin=None).fit(rates, drivers, segments=["cre"])
    assert (free.predict(path)["cre"].iloc[3:6] > 5 * model.predict(path)["cre"].iloc[3:6]).all()
    assert free.clamped(path)["n_clamped"].sum() == 0
    # sampling clamps too: same residual draws, so the clamped quarters equal those at the bound
    a, b = model.sample(path, 20, 3, ["cre"]), model.sample(at_bound, 20, 3, ["cre"])
    pd.testing.assert_frame_equal(a, b)


# ----------------------------------------------------------------------------- jump-off residual
def test_jump_off_residual_start(model):
    path = _path(**STRESS)
    jump = pd.Period("2025Q4", "Q-DEC")
    for seg in ("credit_card", "c_and_i"):
        fit = model.fits[seg]
        g = (jump + 1).ordinal - fit.last_quarter.ordinal  # 2023Q2 -> 2026Q1: 11; 2020Q1 -> 2026Q1: 24
        assert fit.jump_off_gap(jump) == g and g > 0
        phi, r_last = fit.resid_phi, fit.last_resid
        mean = phi ** (g + np.arange(len(path))) * r_last
        # predict adds the conditional mean path
        shift = logit(model.predict(path, [seg], jump_off=jump)[seg]) - logit(model.predict(path, [seg])[seg])
        np.testing.assert_allclose(shift.to_numpy(), mean, rtol=1e-8, atol=1e-12)
        # sample: first residual ~ N(phi^g r, sd^2 (1 - phi^2g)), the same z as the stationary start
        n = 200
        eta = np.tile(logit(model.predict(path, [seg])[seg]).to_numpy(), (n, 1))
        e_stat = logit(model.sample(path, n, 11, [seg])[seg]).to_numpy().reshape(n, -1) - eta
        e_jump = logit(model.sample(path, n, 11, [seg], jump_off=str(jump))[seg]).to_numpy().reshape(n, -1) - eta
        dev = e_jump - mean
        np.testing.assert_allclose(dev[:, 0], e_stat[:, 0] * np.sqrt(1 - phi ** (2 * g)), atol=1e-8)
        np.testing.assert_allclose(dev[:, 1:] - phi * dev[:, :-1], e_stat[:, 1:] - phi * e_stat[:, :-1], atol=1e-8)
        # common random numbers with a jump-off: another driver path, the same residuals
        e_calm = logit(model.sample(_path(**CALM), n, 11, [seg], jump_off=jump)[seg]).to_numpy().reshape(n, -1)
        e_calm = e_calm - np.tile(logit(model.predict(_path(**CALM), [seg])[seg]).to_numpy(), (n, 1))
        np.testing.assert_allclose(e_calm, e_jump, atol=1e-8)
    # the residual decays to the model: a jump-off long after the fit sample changes nothing visible
    far = model.predict(path, jump_off="2200Q4")
    np.testing.assert_allclose(far.to_numpy(), model.predict(path).to_numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="precedes"):
        model.predict(path, jump_off="2019Q4")


# ----------------------------------------------------------------------------- sampling
def test_sample_reproducible_and_common_random_numbers(model):
    calm, stress = _path(**CALM), _path(**STRESS)
    a = model.sample(stress, 50, 1234)
    b = model.sample(stress, 50, 1234)
    pd.testing.assert_frame_equal(a, b)
    assert a.index.names == ["sample", "quarter"] and len(a) == 50 * len(stress)
    assert ((a > 0) & (a < 1)).all().all()
    assert not a.equals(model.sample(stress, 50, 99))
    # same seed, other scenario and other segment subset/order: the logit residuals are the same draws
    c = model.sample(calm, 50, 1234, segments=["cre", "credit_card"])
    for seg in ("cre", "credit_card"):
        ra = logit(a[seg]).to_numpy() - np.tile(logit(model.predict(stress)[seg]).to_numpy(), 50)
        rc = logit(c[seg]).to_numpy() - np.tile(logit(model.predict(calm)[seg]).to_numpy(), 50)
        np.testing.assert_allclose(ra, rc, atol=1e-8)
    # a Generator in the same state gives the same draws
    g1, g2 = np.random.default_rng(7), np.random.default_rng(7)
    pd.testing.assert_frame_equal(model.sample(calm, 5, g1), model.sample(calm, 5, g2))


def test_sample_centres_on_prediction(model):
    path = _path(**STRESS)
    draws = model.sample(path, 2000, 5)
    median = draws.groupby(level="quarter").median()
    np.testing.assert_allclose(median.to_numpy(), model.predict(path).to_numpy(), rtol=0.1)


# ----------------------------------------------------------------------------- outcomes
@pytest.mark.parametrize("window", list(OUTCOME_WINDOWS))
def test_outcomes_analysis_finite(rates, drivers, window):
    table = outcomes_analysis(rates, drivers, OUTCOME_WINDOWS[window])
    cols = ["realized_cum", "predicted_cum", "error_cum", "rmse_annualized"]
    assert np.isfinite(table[cols].to_numpy()).all()
    if window == "gfc_2008_2010":
        assert set(table.index) == set(SEGMENTS) and (table["n_quarters"] == 12).all()
        assert table.loc["other_loans", "realized_cum"] == pytest.approx(rates["other_loans"]["2008Q1":"2010Q4"].sum() / 4)
        # the clamp stops CRE extrapolating the 2008-10 CRE price fall (30 % cumulative vs 5.9 unclamped)
        assert table.loc["cre", "n_clamped"] > 0 and table.loc["cre", "ratio_cum"] < 1.5
    else:
        assert table.loc["credit_card", "n_quarters"] == 8 and table.loc["c_and_i", "n_quarters"] == 1


def test_annualized_roundtrip(model):
    pred = model.predict(_path(**STRESS))
    assert (to_annualized_percent(pred) == pred * 400).all().all()
