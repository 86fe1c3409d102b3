"""Net-interest-margin satellite on the shipped FFIEC/FRED margin history: the loader and its
refusals, the expected signs, determinism, the dynamic forecast from a jump-off NIM and the
leave-window-out outcomes analysis."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from risk_dagster.capital.nim_satellite import (
    NIM_FILE,
    OUTCOME_WINDOWS,
    NimSatellite,
    load_net_interest_margin,
    outcomes_analysis,
)
from risk_dagster.errors import InputFileError
from risk_dagster.paths import data_dir
from risk_dagster.scenarios.registry import load_scenario


@pytest.fixture(scope="module")
def nim() -> pd.DataFrame:
    return load_net_interest_margin()


@pytest.fixture(scope="module")
def model(nim, history) -> NimSatellite:
    return NimSatellite().fit(nim, history)


# ----------------------------------------------------------------------------- loader
def test_loader_shape_and_range(nim):
    assert list(nim.columns) == ["all_banks", "large_banks"]
    assert isinstance(nim.index, pd.PeriodIndex) and nim.index.freqstr == "Q-DEC"
    assert str(nim.index[0]) == "1984Q1" and str(nim.index[-1]) == "2019Q1"
    assert len(nim) == 141 and nim.notna().all().all()
    assert nim["large_banks"].between(2.7, 4.0).all()
    assert nim["all_banks"].between(2.9, 5.0).all()
    # spot checks against the file: 1984-01-01 and the 2010Q1 FAS 166/167 jump
    assert nim.loc["1984Q1", "large_banks"] == pytest.approx(3.04)
    assert nim.loc["1984Q1", "all_banks"] == pytest.approx(3.78)
    assert nim.loc["2010Q1", "large_banks"] == pytest.approx(3.85)


def _damaged_copy(tmp_path, line: int, old: str, new: str):
    src = data_dir() / "bank_performance" / NIM_FILE
    dst = tmp_path / NIM_FILE
    shutil.copyfile(src, dst)
    lines = dst.read_text().splitlines(keepends=True)
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    dst.write_text("".join(lines))
    return dst


def test_loader_refuses_non_numeric_value(tmp_path):
    # line 3 is 1984-04-01; its USG15NIM is 3.06 (the 11th field)
    _damaged_copy(tmp_path, 3, ",3.06,", ",n/a,")
    with pytest.raises(InputFileError) as exc:
        load_net_interest_margin(tmp_path)
    err = exc.value
    assert err.rule == "non_numeric" and err.row == 3 and err.column == "USG15NIM"
    assert NIM_FILE in str(err) and "3" in str(err)


def test_loader_refuses_out_of_range_and_bad_date(tmp_path):
    _damaged_copy(tmp_path, 3, ",3.06,", ",30.6,")
    with pytest.raises(InputFileError) as exc:
        load_net_interest_margin(tmp_path)
    assert exc.value.rule == "out_of_range" and exc.value.row == 3
    _damaged_copy(tmp_path, 5, "1984-10-01", "1984-10-15")
    with pytest.raises(InputFileError) as exc:
        load_net_interest_margin(tmp_path)
    assert exc.value.rule == "bad_date" and exc.value.row == 5 and NIM_FILE in str(exc.value)


def test_loader_missing_file(tmp_path):
    with pytest.raises(InputFileError) as exc:
        load_net_interest_margin(tmp_path)
    assert exc.value.rule == "missing_file" and NIM_FILE in str(exc.value)


# ----------------------------------------------------------------------------- fit
def test_fit_signs_and_persistence(model):
    c = model.coefficients()
    assert c.attrs["nobs"] == 140
    assert 0.8 < c.loc["nim_lag", "coef"] < 0.97  # slow partial adjustment, stationary
    assert c.loc["term_spread", "coef"] > 0 and c.loc["term_spread", "t"] > 2  # steeper curve -> wider margin
    assert abs(c.loc["short_rate", "long_run"]) < 0.15  # short-rate level effect small
    assert c.loc["break_2010Q1", "coef"] > 0.3  # FAS 166/167 reconsolidation jump
    assert set(c.columns) == {"coef", "se", "t", "long_run"}


def test_fit_is_deterministic(nim, history, model):
    again = NimSatellite().fit(nim, history)
    pd.testing.assert_frame_equal(model.coefficients(), again.coefficients())


# ----------------------------------------------------------------------------- predict
@pytest.mark.parametrize("sid", ["fed-2026-baseline", "fed-2026-severely-adverse"])
@pytest.mark.parametrize("anchor", ["jump_off", "model"])
def test_predict_starts_from_jump_off_and_stays_sane(model, history, sid, anchor):
    scen = load_scenario(sid)
    for jump in (2.0, 3.25, 4.5):
        path = model.predict(scen, history, jump, anchor=anchor)
        assert list(path.index) == list(scen.wide().index)
        # one quarter of partial adjustment away from the jump-off: (1 - rho) of the gap to the
        # steady state under the fitted intercept, only the drivers' change when anchored
        assert abs(path.iloc[0] - jump) < ((1 - model.rho) * abs(jump - 3.0) + 0.05 if anchor == "model" else 0.02)
        assert path.between(0.5, 6.0).all()
        ratio = model.nii_ratio(scen, history, jump, anchor=anchor)
        np.testing.assert_allclose(ratio.to_numpy(), path.to_numpy() / jump)
        if anchor == "jump_off" or jump == 3.25:
            assert ratio.between(0.9, 1.1).all()
    # the jump_off anchor keeps the jump-off as steady state: a higher jump-off scales the path
    if anchor == "jump_off":
        lo = model.predict(scen, history, 2.0, anchor=anchor)
        hi = model.predict(scen, history, 4.0, anchor=anchor)
        np.testing.assert_allclose((hi - lo).to_numpy(), 2.0, atol=1e-9)


def test_severely_adverse_steepening_widens_margin(model, history):
    jump = 3.25
    base = model.nii_ratio(load_scenario("fed-2026-baseline"), history, jump)
    sev = model.nii_ratio(load_scenario("fed-2026-severely-adverse"), history, jump)
    assert sev.iloc[-1] > base.iloc[-1] > 1.0


# ----------------------------------------------------------------------------- outcomes
# Measured (module docstring): 2008-10 RMSE 0.269, cum -0.392; 2001-02 RMSE 0.397, cum -0.639.
OUTCOME_BOUNDS = {"gfc_2008_2010": (0.30, 0.45), "dotcom_2001_2002": (0.43, 0.70)}


@pytest.mark.parametrize("name", list(OUTCOME_WINDOWS))
def test_outcomes_analysis_error_bounds(nim, history, name):
    out = outcomes_analysis(OUTCOME_WINDOWS[name], nim, history)
    rmse_bound, cum_bound = OUTCOME_BOUNDS[name]
    assert out["n_quarters"] == len(out["path"]) > 0
    assert out["rmse"] < rmse_bound
    assert abs(out["error_cum"]) < cum_bound
    assert out["error_cum"] < 0  # under-prediction: conservative for a stress benchmark
    first = pd.Period(OUTCOME_WINDOWS[name][0], "Q-DEC")
    assert out["jump_off_nim"] == pytest.approx(nim.loc[first - 1, "large_banks"])


def test_outcomes_analysis_refuses_2020(nim, history):
    with pytest.raises(ValueError, match="2019Q1"):
        outcomes_analysis(("2020Q1", "2021Q4"), nim, history)
