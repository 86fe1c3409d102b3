"""CET1 under the EBA's method: static balance sheet, annual steps (capital.eba_projection)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from risk_dagster.capital.balance_sheet import load_balance_sheet, sample_balance_sheet_path
from risk_dagster.capital.eba_projection import project_eba_capital


@pytest.fixture(scope="module")
def bank():
    """The sample balance sheet moved to an end-2024 starting point, in EUR (the figures are the test's)."""
    return replace(load_balance_sheet(sample_balance_sheet_path()), as_of=date(2024, 12, 31), currency="EUR",
                   cet1_capital=100.0, rwa_credit=600.0, rwa_market=50.0, rwa_operational=75.0,
                   net_interest_income=5.0, noninterest_income=2.0, noninterest_expense=4.0,
                   operational_loss_per_quarter=0.25, tax_rate=0.25, aoci_in_cet1=True)  # fmt: skip


def test_one_adverse_path_by_hand(bank) -> None:
    out = project_eba_capital(bank, years=[2025, 2026, 2027], kind="adverse", net_interest_income=[22.0, 19.0, 18.0],
                              impairments=[10.0, 15.0, 8.0], market_risk_loss=6.0, oci=[-2.0, 0.0, 1.0], payout_ratio=0.5)  # fmt: skip
    t = out.table.set_index("year")
    # NII capped at the starting 4 x 5 = 20; fees 8, expenses 16, operational losses 1
    assert list(t["net_interest_income"]) == [20.0, 20.0, 19.0, 18.0]
    assert t.loc[2025, "pre_tax_profit"] == pytest.approx(20 + 8 - 16 - 10 - 6 - 1)  # -5: no tax, no dividend
    assert (t.loc[2025, "taxes"], t.loc[2025, "dividends"]) == (0.0, 0.0)
    assert t.loc[2025, "cet1_capital"] == pytest.approx(100 - 5 - 2)
    assert t.loc[2026, "pre_tax_profit"] == pytest.approx(19 + 8 - 16 - 15 - 1)  # -5
    pre = 18 + 8 - 16 - 8 - 1  # 2027: +1, taxed at 25 %, half of the rest paid out
    assert t.loc[2027, "net_profit"] == pytest.approx(pre * 0.75) and t.loc[2027, "dividends"] == pytest.approx(pre * 0.375)
    assert t.loc[2027, "cet1_capital"] == pytest.approx(93 - 5 + pre * 0.375 + 1.0)
    assert out.start_ratio == pytest.approx(100 / 725) and out.currency == "EUR"
    assert out.depletion == pytest.approx(100 / 725 - t["cet1_ratio"].min())
    assert out.depletion_to_end == pytest.approx(100 / 725 - t.loc[2027, "cet1_ratio"])


def test_the_baseline_keeps_a_higher_nii_and_aoci_can_be_left_out(bank) -> None:
    base = project_eba_capital(bank, years=[2025, 2026, 2027], kind="baseline", net_interest_income=[22.0] * 3,
                               impairments=[1.0] * 3, market_risk_loss=0.0, oci=[-50.0, 0.0, 0.0])  # fmt: skip
    assert list(base.table["net_interest_income"])[1:] == [22.0] * 3
    no_aoci = project_eba_capital(replace(bank, aoci_in_cet1=False), years=[2025, 2026, 2027], kind="baseline",
                                  net_interest_income=[22.0] * 3, impairments=[1.0] * 3, market_risk_loss=0.0,
                                  oci=[-50.0, 0.0, 0.0])  # fmt: skip
    assert no_aoci.end_ratio - base.end_ratio == pytest.approx(50.0 / 725)


def test_bad_inputs_are_refused(bank) -> None:
    kwargs = dict(kind="adverse", net_interest_income=[20.0] * 3, impairments=[1.0] * 3, market_risk_loss=0.0)
    with pytest.raises(ValueError, match="consecutive"):
        project_eba_capital(bank, years=[2025, 2027, 2028], **kwargs)
    with pytest.raises(ValueError, match="is not before"):
        project_eba_capital(replace(bank, as_of=date(2025, 6, 30)), years=[2025, 2026, 2027], **kwargs)
    with pytest.raises(ValueError, match="impairments needs 3"):
        project_eba_capital(bank, years=[2025, 2026, 2027], **{**kwargs, "impairments": [1.0]})
