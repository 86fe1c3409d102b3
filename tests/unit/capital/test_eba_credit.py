"""Euro-area credit drivers of the EBA 2025 scenario and their PD multipliers (capital.eba_credit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster.capital.eba_credit import BBB_SPREAD_JUMP_OFF, euro_driver_path, euro_pd_multipliers
from risk_dagster.capital.ifrs9 import StageExposure, project_ifrs9
from risk_dagster.capital.loss_rates import LossRateSatellite, load_charge_off_rates, macro_drivers
from risk_dagster.scenarios.eba_long import read as read_eba_long
from risk_dagster.scenarios.model import MacroScenario

Q = lambda s: pd.Period(s, freq="Q-DEC")  # noqa: E731


@pytest.fixture(scope="module")
def eba() -> dict[str, MacroScenario]:
    return {s.scenario_id: s for s in read_eba_long()}


@pytest.fixture(scope="module")
def loss_satellite(fed_history_2026: MacroScenario) -> LossRateSatellite:
    return LossRateSatellite().fit(load_charge_off_rates(), macro_drivers(fed_history_2026))


def test_the_driver_path_starts_from_2024_and_follows_the_published_years(eba) -> None:
    path = euro_driver_path(eba["eba-2025-adverse"])
    assert str(path.index[0]) == "2023Q1" and str(path.index[-1]) == "2027Q4"
    jump = path.loc[Q("2024Q4")]
    assert jump["unemployment_rate"] == pytest.approx(6.36, abs=0.01) and jump["house_price_index"] == 100.0
    assert jump["bbb_yield"] - jump["treasury_10y"] == pytest.approx(BBB_SPREAD_JUMP_OFF)
    # the EA adverse: -7.94 % house prices in 2026 after -3.11 % in 2025, unemployment to 11.93 %
    hpi = eba["eba-2025-adverse"].series("eba_residential_property_prices__ea")
    assert hpi[Q("2025Q4")] == pytest.approx(-3.11, abs=0.01) and hpi[Q("2026Q4")] == pytest.approx(-7.94, abs=0.01)
    expected = 100 * (1 + hpi[Q("2025Q4")] / 100) * (1 + hpi[Q("2026Q4")] / 100)
    assert path.loc[Q("2026Q4"), "house_price_index"] == pytest.approx(expected, rel=1e-9)
    assert path["unemployment_rate"].iloc[-1] == pytest.approx(11.93, abs=0.01)
    # the spread moves with the iTraxx Main: 56 -> 240 bp by 2025
    assert path.loc[Q("2025Q3"), "bbb_yield"] - path.loc[Q("2025Q3"), "treasury_10y"] > BBB_SPREAD_JUMP_OFF + 1.0


def test_adverse_multipliers_rise_and_the_baseline_stays_near_one(eba, loss_satellite) -> None:
    adverse = euro_pd_multipliers(eba["eba-2025-adverse"], loss_satellite)
    baseline = euro_pd_multipliers(eba["eba-2025-baseline"], loss_satellite)
    assert set(adverse) == {"residential_mortgage", "corporate", "sme", "consumer", "commercial_real_estate"}
    for segment, path in adverse.items():
        assert len(path) == 3 and min(path) > 1.0, segment
        assert max(path) > 1.5, segment
        assert all(0.75 < m < 1.25 for m in baseline[segment]), (segment, baseline[segment])


def test_the_adverse_path_costs_a_multiple_of_the_baseline_in_ifrs9_impairments(eba, loss_satellite) -> None:
    book = [StageExposure(segment="corporate", ead=(850.0, 120.0, 30.0), pd_1=0.008, pd_2=0.06, lgd=0.4,
                          lgd_default=0.45, residual_life=4.0, sicr=0.06, cure=0.3)]  # fmt: skip
    cost = {k: project_ifrs9(book, {"corporate": euro_pd_multipliers(eba[k], loss_satellite)["corporate"]}).total_impairment()
            for k in ("eba-2025-adverse", "eba-2025-baseline")}  # fmt: skip
    assert cost["eba-2025-adverse"] > 3 * cost["eba-2025-baseline"] > 0


def test_an_area_without_the_drivers_is_refused_naming_them(eba) -> None:
    with pytest.raises(ValueError, match="eba_long_term_rate of 'xx'"):
        euro_driver_path(eba["eba-2025-adverse"], key="xx")
    assert np.isfinite(euro_driver_path(eba["eba-2025-adverse"], key="it").to_numpy()).all()


# --------------------------------------------------------------------------- the chain to CET1
def test_the_chain_to_cet1_on_the_shipped_euro_bank(eba, loss_satellite) -> None:
    from risk_dagster.capital.eba_capital import EBA_2025_PUBLISHED, eba_capital_run, load_stage_table

    stages = load_stage_table()
    loans = sum(sum(s.ead) for s in stages)
    assert loans == pytest.approx(700e9)
    # the ECB's 2024Q4 aggregates the synthetic bank is calibrated on: stage 2 9.93 %, NPL 2.28 %
    assert sum(s.ead[1] for s in stages) / loans == pytest.approx(0.0993, abs=0.002)
    assert sum(s.ead[2] for s in stages) / loans == pytest.approx(0.0228, abs=0.002)
    adverse = eba_capital_run(eba["eba-2025-adverse"], loss_satellite)
    baseline = eba_capital_run(eba["eba-2025-baseline"], loss_satellite)
    assert adverse.capital.currency == "EUR" and adverse.capital.start_ratio == pytest.approx(0.1586)
    assert list(adverse.capital.table["year"]) == [2024, 2025, 2026, 2027]
    assert adverse.capital.depletion > 0.01 and baseline.capital.depletion == 0.0
    assert adverse.credit.total_impairment() > 3 * baseline.credit.total_impairment()
    summary = adverse.summary()
    assert summary["eba_2025_published"] is EBA_2025_PUBLISHED and summary["cet1_depletion_bp"] > 100
    assert any("market-risk loss" in line for line in summary["not_modelled"])
    # a booked market-risk loss deepens the trough by that loss over the RWA (it falls in a loss year: no tax)
    hit = eba_capital_run(eba["eba-2025-adverse"], loss_satellite, market_risk_loss=10e9)
    assert hit.capital.depletion - adverse.capital.depletion == pytest.approx(10e9 / adverse.capital.table["rwa"].iloc[0], rel=0.3)
    assert not any("market-risk loss" in line for line in hit.summary()["not_modelled"])


def test_a_bad_stage_table_is_refused_naming_the_entry(tmp_path) -> None:
    from risk_dagster.capital.eba_capital import load_stage_table
    from risk_dagster.errors import InputFileError

    bad = tmp_path / "stages.yaml"
    bad.write_text("segments:\n  - {segment: yachts, ead: [1, 1, 1], pd_1: 0.01, pd_2: 0.02, lgd: 0.1, lgd_default: 0.2,"
                   " residual_life: 2, sicr: 0.1, cure: 0.1}\n")  # fmt: skip
    with pytest.raises(InputFileError) as info:
        load_stage_table(bad)
    assert info.value.rule == "unknown_segment" and "segment #1" in str(info.value)
    bad.write_text("segments:\n  - {segment: sme, ead: [1, 1, 1], pd_1: 0.5, pd_2: 0.02, lgd: 0.1, lgd_default: 0.2,"
                   " residual_life: 2, sicr: 0.1, cure: 0.1}\n")  # fmt: skip
    with pytest.raises(InputFileError) as info:
        load_stage_table(bad)
    assert info.value.rule == "invalid_value" and "pd_1" in str(info.value)
