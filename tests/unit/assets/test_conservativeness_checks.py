"""The conservativeness asset's 26 blocking checks fail when what they guard is wrong.

Each statistic's check recomputes its bound from the saved outcomes and calibration files (not from
the table the asset shows); the fixed-factor check recomputes every sample's gap to the
supervisor's path.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from risk_dagster.assets.conservativeness import FIXED_CHECK, fixed_factor_check, statistic_check_name, statistic_checks
from risk_dagster.conservativeness.bootstrap import bootstrap_test, calibration_test, results_frame
from risk_dagster.conservativeness.calibration import QuarterCalibration
from risk_dagster.conservativeness.registry import STATISTICS
from risk_dagster.conservativeness.saved import write_outcomes
from risk_dagster.conservativeness.statistics import SetOutcomes
from risk_dagster.storage import write_json

CET1, SEED = 240e9, 11
QUARTERS = [f"20{k:02d}Q1" for k in range(20)]


def _outcomes(n: int = 300, seed: int = 0) -> SetOutcomes:
    rng = np.random.default_rng(seed)
    loss = rng.lognormal(np.log(90e9), 0.3, n)
    return SetOutcomes(
        total_loss=loss, min_ratio=0.137 - loss / 1750e9, end_ratio=0.14 - loss / 3500e9,
        scb_unfloored=loss / 1750e9, pretax_income=20e9 - loss, trading_loss=rng.lognormal(np.log(18e9), 0.1, n),
        securities_loss=rng.lognormal(np.log(2e9), 0.2, n), ppnr=rng.normal(100e9, 2e9, n),
        open_rates=rng.normal(10e9, 3e9, n), open_credit=rng.normal(45e9, 5e9, n), open_equity=rng.normal(24e9, 3e9, n),
        open_other=rng.normal(5e9, 1e9, n), open_total=rng.normal(60e9, 8e9, n),
    )  # fmt: skip


def _calibration(seed: int = 0) -> QuarterCalibration:
    rng = np.random.default_rng(seed)
    cells = np.full(len(QUARTERS), 40.0)
    return QuarterCalibration(
        cells=cells, in_90=rng.binomial(40, 0.85, len(QUARTERS)).astype(float),
        in_99=rng.binomial(40, 0.97, len(QUARTERS)).astype(float), exposed=np.full(len(QUARTERS), 20.0),
        adverse_miss=rng.binomial(20, 0.03, len(QUARTERS)).astype(float), pit=rng.uniform(0.3, 0.7, len(QUARTERS)),
        exceed_95=(rng.uniform(size=len(QUARTERS)) < 0.1).astype(float),
    )  # fmt: skip


def _milder(o: SetOutcomes) -> SetOutcomes:
    """Every statistic's outcome moved the way that does not hurt the bank."""
    return replace(
        o, total_loss=0.5 * o.total_loss, min_ratio=o.min_ratio + 0.05, end_ratio=o.end_ratio + 0.05,
        scb_unfloored=0.5 * o.scb_unfloored, pretax_income=o.pretax_income + 50e9, trading_loss=0.5 * o.trading_loss,
        securities_loss=0.5 * o.securities_loss, ppnr=o.ppnr + 50e9, open_rates=0.5 * o.open_rates,
        open_credit=0.5 * o.open_credit, open_equity=0.5 * o.open_equity, open_other=0.5 * o.open_other,
        open_total=0.5 * o.open_total,
    )  # fmt: skip


def _badly_calibrated(c: QuarterCalibration) -> QuarterCalibration:
    return replace(c, in_90=0.5 * c.in_90, in_99=0.5 * c.in_99, adverse_miss=c.exposed * 0.5, pit=np.full_like(c.pit, 0.9),
                   exceed_95=np.ones_like(c.exceed_95))  # fmt: skip


def _checks(folder, ai, trad, ai_cal, trad_cal):
    write_outcomes(folder, ai, trad, ai_cal, trad_cal, QUARTERS)
    write_json(folder / "statistics.json", {"seed": SEED, "n_resamples": 1000, "jump_off_cet1_capital": CET1})
    table = results_frame(bootstrap_test(ai, trad, CET1, seed=SEED) + calibration_test(ai_cal, trad_cal, CET1, seed=SEED))
    return table, {r.check_name: r for r in statistic_checks(folder, table, table, 1.0)}


def test_every_statistic_check_passes_for_an_ai_set_as_conservative_as_the_traditional(tmp_path):
    trad, cal = _outcomes(), _calibration()
    _, results = _checks(tmp_path, trad, trad, cal, cal)
    assert sorted(results) == sorted(statistic_check_name(s) for s in STATISTICS)
    assert all(r.passed for r in results.values()), [k for k, r in results.items() if not r.passed]


def test_every_statistic_check_fails_for_a_milder_ai_set(tmp_path):
    trad, cal = _outcomes(), _calibration()
    _, results = _checks(tmp_path, _milder(trad), trad, _badly_calibrated(cal), cal)
    failed = sorted(k for k, r in results.items() if not r.passed)
    assert failed == sorted(statistic_check_name(s) for s in STATISTICS)
    r = results["stat_07_cet1_min_median"]
    assert "< -tolerance" in r.description and r.metadata["lower_bound"].value == pytest.approx(-0.05)


def test_a_statistic_check_fails_when_the_saved_outcomes_no_longer_give_the_table(tmp_path):
    trad, cal = _outcomes(), _calibration()
    table, _ = _checks(tmp_path, trad, trad, cal, cal)
    frame = pd.read_parquet(tmp_path / "outcomes_ai.parquet")
    frame["total_loss"] *= 1.1  # the file changed after the test ran
    frame.to_parquet(tmp_path / "outcomes_ai.parquet")
    results = {r.check_name: r for r in statistic_checks(tmp_path, table, table, 1.0)}
    assert not results["stat_01_loss_mean"].passed
    assert "differs from the table" in results["stat_01_loss_mean"].description


def test_the_fixed_factor_check_fails_on_any_moved_or_missing_fixed_factor(sa_set, severely_adverse, fed_history_2026):
    good = fixed_factor_check(sa_set, sa_set, severely_adverse, fed_history_2026)
    assert good.check_name == FIXED_CHECK and good.passed, good.description
    assert good.metadata["fixed_factors"].value > 5
    moved = sa_set.select(np.arange(sa_set.n_samples))
    moved.shocks[2, 4, moved.factor_index("rates.ust.10y")] += 1e-9  # a billionth of a bp: tolerance 0
    bad = fixed_factor_check(moved, sa_set, severely_adverse, fed_history_2026)
    assert not bad.passed and "ai: rates.ust.10y" in bad.description
    holed = sa_set.select(np.arange(sa_set.n_samples))
    holed.shocks[0, 0, holed.factor_index("vol.vix")] = np.nan
    assert not fixed_factor_check(sa_set, holed, severely_adverse, fed_history_2026).passed


@pytest.mark.parametrize("spec", STATISTICS[:1])
def test_check_names_are_numbered(spec):
    assert statistic_check_name(spec) == "stat_01_loss_mean"


def test_the_eba_asset_runs_the_same_checks_on_its_own_key(tmp_path, sa_set, severely_adverse, fed_history_2026):
    trad, cal = _outcomes(), _calibration()
    table, _ = _checks(tmp_path, _milder(trad), trad, _badly_calibrated(cal), cal)
    results = list(statistic_checks(tmp_path, table, table, 1.0, asset="eba_conservativeness"))
    assert {r.asset_key.to_user_string() for r in results} == {"eba_conservativeness"}
    assert sorted(r.check_name for r in results if not r.passed) == sorted(statistic_check_name(s) for s in STATISTICS)
    moved = sa_set.select(np.arange(sa_set.n_samples))
    moved.shocks[1, 2, moved.factor_index("rates.ust.10y")] += 1e-9
    bad = fixed_factor_check(moved, sa_set, severely_adverse, fed_history_2026, asset="eba_conservativeness")
    assert bad.asset_key.to_user_string() == "eba_conservativeness" and not bad.passed
