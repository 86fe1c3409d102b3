"""Any scenario's variables as conditioning: the EBA 2025 US block translated by both models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk_dagster.errors import InputFileError
from risk_dagster.market.history import FactorHistory
from risk_dagster.scenarios.eba_long import read as read_eba_long
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.conditioning import condition_on, conditioning_info, to_canonical
from risk_dagster.translate.features import SATELLITE_REGRESSORS, available_features, check_conditioning
from risk_dagster.translate.pipeline import draw_filtered
from risk_dagster.translate.plausibility import PlausibilityFilter, hard_rule_violations
from risk_dagster.translate.satellite import SatelliteTranslator
from risk_dagster.translate.training import TrainingSet

N = 150


@pytest.fixture(scope="module")
def eba_adverse() -> MacroScenario:
    return {s.scenario_id: s for s in read_eba_long()}["eba-2025-adverse"]


@pytest.fixture(scope="module")
def eba_filter(factor_history: FactorHistory) -> PlausibilityFilter:
    """A filter of this module's own: applying it to 12-quarter EBA paths fits a 12-quarter
    discriminator, which must not leak into the session's shared filter (saved elsewhere)."""
    return PlausibilityFilter().fit(factor_history, seed=0)


@pytest.fixture(scope="module")
def canonical(eba_adverse: MacroScenario, fed_history_2026: MacroScenario) -> MacroScenario:
    return to_canonical(eba_adverse, fed_history_2026)


def test_long_layout_reads_the_published_us_block(eba_adverse: MacroScenario) -> None:
    wide = eba_adverse.wide()
    assert str(eba_adverse.jump_off) == "2024Q4" and eba_adverse.source == "eba"
    # US adverse real GDP growth as published: -5.05% (2025), -2.45% (2026), +4.28% (2027).
    np.testing.assert_allclose(wide["eba_real_gdp_growth__us"].to_numpy(), [2.764972, -5.054689359, -2.453754283, 4.280464339], rtol=1e-6)  # 2024, then 2025-27
    assert wide["eba_unemployment_rate__us"].max() == pytest.approx(10.04554632)


def test_long_layout_refuses_a_broken_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("scenario,variable,year,value\nadverse,real_gdp,2025,1.0\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="missing_column|measure"):
        read_eba_long(bad)


def test_annual_figures_become_quarters_by_the_stated_rules(canonical: MacroScenario, fed_history_2026: MacroScenario) -> None:
    wide = canonical.wide()
    # the jump-off row carries only the publisher's own starting points (the EUR market variables)
    assert list(map(str, wide.index))[:3] == ["2024Q4", "2025Q1", "2025Q2"] and str(wide.index[-1]) == "2027Q4"
    at_jump = wide.loc[pd.Period("2024Q4", freq="Q-DEC")].dropna()
    assert "real_gdp_growth" not in at_jump and "eur_swap_10y" in at_jump and at_jump["euro_stoxx_50"] == 100.0
    # growth_even: every quarter of 2025 carries the annual rate
    np.testing.assert_allclose(wide.loc["2025Q1":"2025Q4", "real_gdp_growth"], -5.054689359)
    # index_from_growth: four quarters of 2025 compound to the annual growth from the jump-off level
    start = fed_history_2026.wide().loc[pd.Period("2024Q4", freq="Q-DEC"), "house_price_index"]
    assert wide.loc[pd.Period("2025Q4", freq="Q-DEC"), "house_price_index"] / start == pytest.approx(1 - 0.06535663429)
    # level_interpolated: from the jump-off level to the 2025 average at mid-year, flat after 2027
    u0 = fed_history_2026.wide().loc[pd.Period("2024Q4", freq="Q-DEC"), "unemployment_rate"]
    u = wide["unemployment_rate"].dropna().to_numpy()
    assert u0 < u[0] < u[1] < 8.913555392 < u[2]
    assert u[-1] == pytest.approx(8.647014703)
    assert to_canonical(canonical, fed_history_2026) is canonical  # idempotent


def test_only_what_the_scenario_gives_is_conditioned_on(canonical: MacroScenario, satellite: SatelliteTranslator) -> None:
    given = available_features(canonical)
    assert {"real_gdp_growth", "unemployment_rate_chg", "treasury_10y_chg", "house_price_index_ret"} <= set(given)
    assert not {"vix", "vix_chg", "treasury_3m_chg", "bbb_spread_chg", "equity_total_market_ret"} & set(given)
    info = conditioning_info(satellite, canonical)
    assert info["restricted"] and "vix_chg" in info["hidden"]


@pytest.mark.parametrize("model", ["satellite", "transformer"])
def test_the_eba_us_block_is_translated_by_both_models(
    model: str,
    eba_adverse: MacroScenario,
    canonical: MacroScenario,
    satellite: SatelliteTranslator,
    transformer_small: object,
    training_set: TrainingSet,
    fed_history_2026: MacroScenario,
    factor_history: FactorHistory,
    eba_filter: PlausibilityFilter,
) -> None:
    filt = eba_filter
    translator = satellite if model == "satellite" else transformer_small
    accepted, report = draw_filtered(
        translator, eba_adverse, fed_history_2026, filt, n_samples=N, seed=3,
        factor_history=factor_history, training=training_set,
    )  # fmt: skip
    # The EBA adverse path fixes a US 10y rising 140 bp in a recession with the 3m and 5y open: the
    # small test transformer's open tenors breach the filter's historical curve shapes more often
    # than the satellite's (0.98 satellite, 0.83 small transformer at this seed, 150 samples).
    assert report.acceptance_rate >= (0.9 if model == "satellite" else 0.75)
    assert accepted.metadata["conditioning"]["restricted"]
    # What the scenario gives is reproduced: the 10y on the EBA's US long-term rate path.
    ten = accepted.levels[:, :, accepted.factor_index("rates.ust.10y")]
    np.testing.assert_allclose(ten, np.broadcast_to(canonical.wide()["treasury_10y"].dropna().to_numpy(), ten.shape), atol=1e-9)
    euro_fixed = {
        *(f"rates.gov.{c}.10y" for c in ("de", "ea", "fr", "gb", "jp", "ch", "ca", "au")),
        *(f"rates.swap.eur.{t}" for t in ("1m", "3m", "1y", "2y", "3y", "5y", "7y", "10y", "20y", "30y")),
        "equity.eurostoxx50", "fx.eurusd",
        *(f"credit.itraxx.{k}_5y" for k in ("main", "senior_financials", "sub_financials", "crossover")),
        # Italy and Spain fixed by the EBA's long-term rates; the four sovereign spreads over swaps follow
        "rates.gov.it.10y", "rates.gov.es.10y", *(f"credit.sovereign.{c}.10y" for c in ("de", "fr", "it", "es")),
    }  # fmt: skip
    assert set(accepted.metadata["fixed_factors"]) == {"rates.ust.10y", "realestate.house", "realestate.cre", *euro_fixed}
    # ... the euro-area market variables too, from the EBA's own end-2024 starting point
    swap = accepted.levels[:, :, accepted.factor_index("rates.swap.eur.5y")]
    np.testing.assert_allclose(swap, np.broadcast_to(canonical.wide()["eur_swap_5y"].iloc[1:].to_numpy(), swap.shape), atol=1e-9)
    assert accepted.jump_off[accepted.factor_index("rates.swap.eur.5y")] == pytest.approx(2.15475)
    stoxx = accepted.factor("equity.eurostoxx50")[:, 3]
    np.testing.assert_allclose(stoxx, np.log(canonical.wide()["euro_stoxx_50"].iloc[4] / 100.0), atol=1e-12)
    # open knots between fixed ones follow them; the AAA 10y follows the fixed Bund
    six, three, one = (accepted.factor(f"rates.swap.eur.{t}") for t in ("6m", "3m", "1y"))
    np.testing.assert_allclose(six, (2 / 3) * three + (1 / 3) * one, atol=1e-9)
    np.testing.assert_allclose(accepted.factor("rates.eur.aaa.10y"), accepted.factor("rates.gov.de.10y"), atol=1e-9)
    assert accepted.metadata["jump_off_basis"]["rates.swap.eur.6m"] == "interpolated"
    # the iTraxx Main: no history, fixed from the EBA's 2024 level (56 bp) to its 2025 average (240 bp) at mid-year
    main = accepted.levels[:, :, accepted.factor_index("credit.itraxx.main_5y")]
    np.testing.assert_allclose(main, np.broadcast_to(canonical.wide()["itraxx_overall_5y"].iloc[1:].to_numpy(), main.shape), atol=1e-9)
    assert accepted.jump_off[accepted.factor_index("credit.itraxx.main_5y")] == pytest.approx(0.5623, abs=1e-4)
    # What it leaves open is generated, with uncertainty: the VIX and the BBB spread.
    for f in ("vol.vix", "credit.spread.bbb_10y"):
        assert accepted.factor(f)[:, 3].std() > 1.0, f
    for rule, bad in hard_rule_violations(accepted, filt.rules).items():
        assert not bad.any(), rule


def test_a_refit_is_the_same_model_on_fewer_inputs(canonical: MacroScenario, satellite: SatelliteTranslator, training_set: TrainingSet) -> None:
    restricted = condition_on(satellite, canonical, training_set)
    assert isinstance(restricted, SatelliteTranslator) and restricted is not satellite
    assert set(restricted.regressors) < set(SATELLITE_REGRESSORS)
    assert restricted.scale_features == ["unemployment_rate_chg"]
    assert restricted.block_length == satellite.block_length and restricted.version == satellite.version
    assert condition_on(satellite, canonical.__class__.from_wide("x", canonical.wide(), source="fed", kind="custom", name="x",
                                                                 jump_off=canonical.jump_off), training_set) is not satellite
    with pytest.raises(ValueError, match="needs the training set"):
        condition_on(satellite, canonical, None)


def test_a_scenario_without_the_real_economy_is_refused_clearly() -> None:
    from risk_dagster.scenarios.ngfs import read as read_ngfs
    from risk_dagster.paths import data_dir

    ngfs = read_ngfs(next((data_dir() / "ngfs").glob("*.csv")))[0]
    with pytest.raises(ValueError, match="cannot be translated.*climate transition overlay"):
        check_conditioning(ngfs)


def test_the_long_layout_is_recognised_as_a_scenario_file() -> None:
    from risk_dagster.scenarios.eba_long import shipped_file
    from risk_dagster.scenarios.registry import detect_reader, read_scenario_files

    assert detect_reader(shipped_file()).__name__ == "risk_dagster.scenarios.eba_long"
    ids = {s.scenario_id for s in read_scenario_files([str(shipped_file())])}
    assert {"eba-2025-adverse", "eba-2025-baseline"} <= ids
