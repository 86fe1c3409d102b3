"""One EBA set through the euro-area bank: market and FVOCI losses per sample, euro NII, CET1 paths (EBA method)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster.capital.balance_sheet import load_balance_sheet
from risk_dagster.capital.eba_capital import eba_capital_run, euro_balance_sheet_path
from risk_dagster.capital.eba_set_capital import EbaSetCapital, eba_capital_text, eba_market_losses, eba_set_capital
from risk_dagster.capital.euro_nii import SHORT_RATE_FACTOR, euro_nii_projection, repricing_assets
from risk_dagster.capital.loss_rates import LossRateSatellite, macro_drivers
from risk_dagster.engine.curves import knot_factor_ids
from risk_dagster.engine.revalue import revalue
from risk_dagster.portfolio.euro_book import load_euro_book
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.scenarios.registry import load_scenario
from risk_dagster.translate.shockset import ShockSet

EUR = list(knot_factor_ids("EUR"))
OTHER = ["credit.sovereign.de.10y", "credit.sovereign.fr.10y", "credit.sovereign.it.10y", "credit.sovereign.es.10y",
         "credit.itraxx.main_5y", "credit.itraxx.senior_financials_5y", "equity.eurostoxx50"]  # fmt: skip


def _revaluer(positions, shocks, quarters, age_book):
    return revalue(positions, shocks, quarter_index=list(quarters), age_book=age_book, device="cpu")


def _shocks(rate_bp: np.ndarray, spread_bp: float | np.ndarray = 0.0, equity: float = 0.0) -> ShockSet:
    """``rate_bp``: ``[samples, quarters]`` parallel EUR rate moves; spreads and the equity index moved alike."""
    n, q = rate_bp.shape
    ids = [*EUR, *OTHER]
    shocks = np.zeros((n, q, len(ids)))
    shocks[:, :, : len(EUR)] = rate_bp[:, :, None]
    shocks[:, :, len(EUR): len(EUR) + 6] = np.reshape(spread_bp, (-1, 1, 1)) if np.ndim(spread_bp) else spread_bp
    shocks[:, :, -1] = equity
    types = ["absolute_bp"] * (len(ids) - 1) + ["log_return"]
    quarters = [str(pd.Period("2025Q1") + i) for i in range(q)]
    return ShockSet(shocks=shocks, jump_off=np.full(len(ids), np.nan), factor_ids=ids, shock_types=types, quarters=quarters,
                    scenario_id="eba-2025-adverse", model_id="test", model_version="0", seed=0,
                    metadata={"jump_off_quarter": "2024Q4"})  # fmt: skip


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    return load_euro_book()


@pytest.fixture(scope="module")
def sheet():
    return load_balance_sheet(euro_balance_sheet_path())


@pytest.fixture(scope="module")
def base(fed_history_2026: MacroScenario, rates):
    satellite = LossRateSatellite().fit(rates, macro_drivers(fed_history_2026))
    return eba_capital_run(load_scenario("eba-2025-adverse"), satellite)


def test_wider_spreads_cost_fvoci_and_both_books_share_the_quarter(book) -> None:
    calm = eba_market_losses(book, _shocks(np.zeros((2, 12))), _revaluer)
    assert np.allclose(calm.trading, 0.0, atol=1e-3) and np.allclose(calm.fvoci, 0.0, atol=1e-3)
    wide = eba_market_losses(book, _shocks(np.zeros((2, 12)), spread_bp=100.0), _revaluer)
    assert (wide.fvoci > 1e9).all()  # EUR 112bn of FVOCI bonds, +100bp of spread: billions
    rates = np.zeros((3, 12))
    rates[:, 2] = 150.0  # a rate spike in the third quarter of the year
    hit = eba_market_losses(book, _shocks(rates), _revaluer)
    assert (hit.worst_quarter == 2).all()
    assert (hit.fvoci > 0).all() and (hit.trading < 0).all()  # the payer swaps gain what the bonds lose, in part
    total = -(hit.results["trading"].pnl.sum(axis=2) + hit.results["fvoci"].pnl.sum(axis=2))
    np.testing.assert_allclose(hit.trading + hit.fvoci, total.max(axis=1))


def test_nii_reprices_the_gap_and_loses_interest_on_new_defaults(book, sheet, base) -> None:
    s = _shocks(np.full((2, 12), 100.0))
    nii = euro_nii_projection(sheet, book, s, base.credit)
    gap = repricing_assets(book, sheet, 3) - sheet.deposit_beta * sheet.deposits - sheet.funding_beta * sheet.other_funding
    np.testing.assert_allclose(nii.repricing_gap, gap)
    assert (np.diff(repricing_assets(book, sheet, 3)) >= 0).all()  # more reprices the longer the horizon
    expected = 4 * sheet.net_interest_income + 0.01 * gap - nii.lost_interest
    np.testing.assert_allclose(nii.nii, np.broadcast_to(expected, nii.nii.shape))
    assert (nii.lost_interest > 0).all()
    with pytest.raises(ValueError, match=SHORT_RATE_FACTOR):
        euro_nii_projection(sheet, book, ShockSet(shocks=s.shocks[:, :, :1], jump_off=s.jump_off[:1], factor_ids=["rates.swap.eur.1m"],
                                                   shock_types=["absolute_bp"], quarters=s.quarters, scenario_id="x",
                                                   model_id="m", model_version="0", seed=0), base.credit)  # fmt: skip


def test_cet1_paths_per_sample_follow_the_eba_method(book, sheet, base) -> None:
    rates = np.zeros((4, 12))
    rates[1:, :4] = [[50.0], [100.0], [200.0]]  # four samples, larger first-year moves
    c: EbaSetCapital = eba_set_capital("ai", base, _shocks(rates, spread_bp=0.5 * rates[:, 0]), book, sheet, _revaluer,
                                       kind="adverse")  # fmt: skip
    assert c.samples == 4 and c.years == [2025, 2026, 2027] and c.horizon_quarters == 12 and c.currency == "EUR"
    step = c.cet1_capital[:, 1:] - c.cet1_capital[:, :-1]
    np.testing.assert_allclose(step, c.net_profit - c.dividends + c.oci, atol=1e-3)
    np.testing.assert_allclose(c.cet1_ratio, c.cet1_capital / sheet.rwa)
    assert (c.net_interest_income <= 4 * sheet.net_interest_income + 1e-6).all()  # the EBA's adverse cap
    assert np.all(np.diff(c.depletion) >= -1e-12)  # larger shocks deplete more
    out = c.per_sample_outcomes()
    np.testing.assert_allclose(out["total_loss"], c.impairments.sum() + c.market.trading + c.market.fvoci)
    s = c.summary()
    assert s["cet1_depletion_bp_median"] == pytest.approx(1e4 * np.median(c.depletion), abs=0.05)
    assert s["eba_2025_published"]["cet1_depletion_bp"] == 370
    assert c.year_table().loc["CET1 ratio (%)"].iloc[0] == pytest.approx(100 * sheet.cet1_ratio)
    walk = c.cet1_walk()
    parts = walk.drop(index="change of the CET1 ratio")["central sample (bp)"]
    assert parts.sum() == pytest.approx(walk.loc["change of the CET1 ratio", "central sample (bp)"], abs=1e-6)
    assert walk.loc["credit impairments (IFRS 9)", "median (bp)"] == pytest.approx(-1e4 * c.impairments.sum() / sheet.rwa)
    text = eba_capital_text(s)
    assert "EBA 2025 published: 370 bp for 64 banks" in text and "EBA method, EUR" in text and "2027" in text


def test_the_depletion_moves_with_the_assumptions_the_way_it_must(book, sheet, base) -> None:
    from risk_dagster.capital.eba_sensitivity import AS_CONFIGURED, eba_capital_sensitivity, scaled_multipliers

    assert scaled_multipliers({"a": [1.0, 3.0], "b": [2.0]}, 0.5, {"a"}) == {"a": [1.0, 2.0], "b": [2.0]}
    rates = np.zeros((3, 12))
    rates[:, :4] = [[20.0], [60.0], [120.0]]
    run = eba_set_capital("ai", base, _shocks(rates, spread_bp=rates[:, 0]), book, sheet, _revaluer, kind="adverse")
    table = eba_capital_sensitivity(run, _shocks(rates, spread_bp=rates[:, 0]), book, sheet, _revaluer, kind="adverse",
                                    payout_ratio=0.5).set_index("assumption")  # fmt: skip
    d = table["depletion_bp_median"]
    assert d[AS_CONFIGURED] == pytest.approx(1e4 * np.median(run.depletion))
    assert d["pd_stress_halved"] < d["mortgage_pd_stress_halved"] < d[AS_CONFIGURED] < d["pd_stress_doubled"]
    assert d["aoci_filter"] < d[AS_CONFIGURED] and d["no_payout"] <= d[AS_CONFIGURED] + 1e-9
    assert table.loc["pd_stress_halved", "impairments_bn"] < table.loc[AS_CONFIGURED, "impairments_bn"]
