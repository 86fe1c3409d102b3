"""A book is priced on its currency's curve: the Treasury curve for USD, the EBA starting-point swap curve for EUR."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster.engine.curves import RATE_FACTORS, implied_par_yields, knot_factor_ids, tenor_months
from risk_dagster.engine.foreign_curves import swap_par_yields, swap_zero_curve
from risk_dagster.engine.revalue import revalue
from risk_dagster.engine.valuation import book_currency, pricing_curve, valuation_context
from risk_dagster.translate.shockset import ShockSet

EUR_KNOTS = knot_factor_ids("EUR")


def _bond(currency: str, credit: str | None = None, rating: str = "AAA", segment: str = "sovereign") -> dict:
    return {"position_id": f"B{currency}", "instrument_type": "fixed_bond", "segment": segment, "currency": currency,
            "notional": 1e8, "direction": 1, "maturity_years": 10.0, "coupon_rate": 0.03, "coupon_frequency": 1.0,
            "rating": rating, "credit_curve": credit}


def _shockset(factors: dict[str, float], n_quarters: int = 1) -> ShockSet:
    ids = list(factors)
    shocks = np.broadcast_to(np.array(list(factors.values()))[None, None, :], (1, n_quarters, len(ids))).copy()
    return ShockSet(shocks=shocks, factor_ids=ids, shock_types=["absolute_bp"] * len(ids),
                    quarters=[str(pd.Period("2025Q1") + i) for i in range(n_quarters)], jump_off=np.full(len(ids), np.nan),
                    scenario_id="t", model_id="test", model_version="0", seed=0, metadata={"jump_off_quarter": "2024Q4"})


def test_knot_ids_and_tenors() -> None:
    assert knot_factor_ids("USD") == RATE_FACTORS
    assert EUR_KNOTS[0] == "rates.swap.eur.1m" and EUR_KNOTS[-1] == "rates.swap.eur.30y"
    assert [tenor_months(f) for f in EUR_KNOTS] == [tenor_months(f) for f in RATE_FACTORS]
    with pytest.raises(ValueError, match="ends in"):
        tenor_months("rates.swap.eur.ten")


def test_eur_curve_reprices_the_eba_starting_point() -> None:
    curve = swap_zero_curve("EUR")
    assert curve.currency == "EUR" and curve.factor_ids == EUR_KNOTS and str(curve.valuation_date) == "2024-12-31"
    par = swap_par_yields("EUR")
    published = [par[f] for f in RATE_FACTORS]
    implied = implied_par_yields(curve)
    for p, i in zip(published, implied, strict=True):
        if np.isfinite(p):  # the 6M is not published: interpolated
            assert i == pytest.approx(p, abs=1e-10)
    assert pricing_curve("USD").currency == "USD"


def test_book_currency_and_mixed_books() -> None:
    assert book_currency(pd.DataFrame([_bond("EUR", "credit.sovereign.de.10y")])) == "EUR"
    assert book_currency(pd.DataFrame(columns=["currency", "instrument_type"])) == "USD"
    with pytest.raises(ValueError, match="mixes currencies"):
        book_currency(pd.DataFrame([_bond("EUR"), {**_bond("USD"), "position_id": "X"}]))


def test_eur_book_moves_with_eur_swaps_not_treasuries() -> None:
    book = pd.DataFrame([_bond("EUR", "credit.sovereign.de.10y")])
    book.attrs["as_of"] = "2024-12-31"
    eur = revalue(book, _shockset({**{f: 100.0 for f in EUR_KNOTS}, "credit.sovereign.de.10y": 0.0}), age_book=False)
    ust = revalue(book, _shockset({**{f: 0.0 for f in EUR_KNOTS}, "credit.sovereign.de.10y": 0.0,
                                   **{f: 100.0 for f in RATE_FACTORS}}), age_book=False)  # fmt: skip
    assert eur.pnl.sum() < -5e6  # +100bp on a 10y bond of 100mn: about -8mn
    assert ust.pnl.sum() == pytest.approx(0.0, abs=1e-6)
    assert "EUR swap curve" in eur.metadata["as_of"]


def test_sovereign_spread_shock_and_base_spread() -> None:
    from risk_dagster.translate.sovereign import sovereign_base_spread_bp

    book = pd.DataFrame([_bond("EUR", "credit.sovereign.it.10y", rating="BBB")])
    book.attrs["as_of"] = "2024-12-31"
    zero = {f: 0.0 for f in EUR_KNOTS}
    wide = revalue(book, _shockset({**zero, "credit.sovereign.it.10y": 100.0}), age_book=False)
    assert wide.pnl.sum() < -5e6
    assert 100 < sovereign_base_spread_bp("credit.sovereign.it.10y") < 150  # EBA 2024: BTP 3.37% vs swap 2.24%


def test_valuation_context_anchors_on_scenario_jump_off() -> None:
    s = _shockset({f: 0.0 for f in EUR_KNOTS})
    s.jump_off[:] = 3.0  # the scenario's own jump-off row: 3% at every tenor
    s.metadata["jump_off_basis"] = {f: "scenario" for f in EUR_KNOTS}
    ctx = valuation_context(s, currency="EUR")
    assert np.allclose(implied_par_yields(ctx.curve), 3.0, atol=1e-9)
    assert ctx.curve.factor_ids == EUR_KNOTS
