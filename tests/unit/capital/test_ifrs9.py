"""IFRS 9 stage projection under a static balance sheet (risk_dagster.capital.ifrs9)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster.capital.ifrs9 import StageExposure, pd_multipliers, project_ifrs9


def _mortgages(**overrides) -> StageExposure:
    values = dict(segment="residential_mortgage", ead=(900.0, 80.0, 20.0), pd_1=0.01, pd_2=0.08, lgd=0.2,
                  lgd_default=0.3, residual_life=10.0, sicr=0.05, cure=0.25)  # fmt: skip
    values.update(overrides)
    return StageExposure(**values)


def test_one_year_by_hand() -> None:
    out = project_ifrs9([_mortgages()], {"residential_mortgage": [2.0]}).table.set_index("year")
    # S1 -> S3 = 2 x 1% of 900 = 18; S1 -> S2 = 2 x 5% of 900 = 90; S2 -> S3 = 2 x 8% of 80 = 12.8;
    # S2 -> S1 = 25% / 2 of 80 = 10
    y1 = out.loc[1]
    assert (y1["s1_to_s3"], y1["s1_to_s2"], y1["s2_to_s3"], y1["s2_to_s1"]) == pytest.approx((18.0, 90.0, 12.8, 10.0))
    assert (y1["ead_1"], y1["ead_2"], y1["ead_3"]) == pytest.approx((802.0, 147.2, 50.8))
    lifetime = 1 - (1 - 0.16) * (1 - 0.08) ** 9  # the stressed year, then the starting PD for the other nine
    assert y1["ecl"] == pytest.approx(802.0 * 0.02 * 0.2 + 147.2 * lifetime * 0.2 + 50.8 * 0.3)
    y0 = out.loc[0]
    assert y0["ecl"] == pytest.approx(900 * 0.01 * 0.2 + 80 * (1 - 0.92**10) * 0.2 + 20 * 0.3)
    assert y1["impairment"] == pytest.approx(y1["ecl"] - y0["ecl"])


def test_lifetime_pds_stress_the_remaining_scenario_years_only() -> None:
    out = project_ifrs9([_mortgages()], {"residential_mortgage": [2.0, 3.0, 1.0]}).table.set_index("year")
    y1 = out.loc[1]
    # at the end of year 1: the 12-month PD is year 2's (x3); the lifetime runs through years 2 and 3
    assert y1["ecl_1"] == pytest.approx(y1["ead_1"] * 0.03 * 0.2)
    survival = (1 - 0.24) * (1 - 0.08) * (1 - 0.08) ** 8
    assert y1["ecl_2"] == pytest.approx(y1["ead_2"] * (1 - survival) * 0.2)


def test_the_balance_sheet_is_static_and_defaults_accumulate() -> None:
    out = project_ifrs9([_mortgages()], {"residential_mortgage": [3.0, 2.0, 1.5]})
    t = out.table
    np.testing.assert_allclose(t[["ead_1", "ead_2", "ead_3"]].sum(axis=1), 1000.0)
    assert t["ead_3"].is_monotonic_increasing
    assert (out.impairments()["residential_mortgage"] > 0).all()
    assert out.total_impairment() == pytest.approx(t["ecl"].iloc[-1] - t["ecl"].iloc[0])


def test_a_harsher_path_costs_more_and_no_stress_costs_only_the_drift_to_default() -> None:
    base = project_ifrs9([_mortgages()], {"residential_mortgage": [1.0, 1.0, 1.0]}).total_impairment()
    mild = project_ifrs9([_mortgages()], {"residential_mortgage": [1.5, 1.5, 1.5]}).total_impairment()
    harsh = project_ifrs9([_mortgages()], {"residential_mortgage": [3.0, 3.0, 3.0]}).total_impairment()
    assert 0 < base < mild < harsh


def test_bad_parameters_are_refused_with_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="pd_1"):
        _mortgages(pd_1=0.2, pd_2=0.1)
    with pytest.raises(ValueError, match="lgd_default"):
        _mortgages(lgd_default=0.1)
    with pytest.raises(ValueError, match="no PD multiplier path"):
        project_ifrs9([_mortgages()], {})
    with pytest.raises(ValueError, match="positive and finite"):
        project_ifrs9([_mortgages()], {"residential_mortgage": [1.0, -1.0]})
    with pytest.raises(ValueError, match="different lengths"):
        project_ifrs9([_mortgages(), _mortgages(segment="sme")], {"residential_mortgage": [1.0], "sme": [1.0, 2.0]})


def test_multipliers_are_annual_means_of_the_loss_rates_over_the_jump_off() -> None:
    index = pd.period_range("2025Q1", "2026Q4", freq="Q-DEC")
    rates = pd.DataFrame({"sme": [0.01, 0.01, 0.03, 0.03, 0.02, 0.02, 0.02, 0.02]}, index=index)
    assert pd_multipliers(rates, {"sme": 0.01}) == {"sme": pytest.approx([2.0, 2.0])}
    with pytest.raises(ValueError, match="positive"):
        pd_multipliers(rates, {"sme": 0.0})
