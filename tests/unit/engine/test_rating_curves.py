"""Bonds priced off their rating bucket's spread: under the same severe scenario a CCC bond loses
more than a AAA bond of the same terms, and the sample book's corporates sit on their bucket."""

from __future__ import annotations

import numpy as np
import pandas as pd

from risk_dagster.engine.curves import RATE_FACTORS
from risk_dagster.engine.kernels import random_book
from risk_dagster.engine.revalue import revalue
from risk_dagster.portfolio.sample_book import load_sample_book
from risk_dagster.scenarios.registry import load_fed_history, load_scenario
from risk_dagster.translate.consistency import fixed_factor_paths, jump_off_frame
from risk_dagster.translate.rating_spreads import (
    ANCHOR_FACTOR,
    RATING_FACTORS,
    add_rating_spreads,
    rating_factor,
)
from risk_dagster.translate.shockset import ShockSet


def _severely_adverse_set() -> ShockSet:
    """One sample: the 2026 severely adverse path of every factor the Fed fixes among the curve
    knots and the BBB-10y spread (other knots unmoved), with the rating spreads derived from it."""
    scenario, history = load_scenario("fed-2026-severely-adverse"), load_fed_history("2026")
    ids = [*RATE_FACTORS, ANCHOR_FACTOR]
    fixed = fixed_factor_paths(scenario, history, ids)
    assert ANCHOR_FACTOR in fixed and "rates.ust.10y" in fixed
    q = len(fixed[ANCHOR_FACTOR])
    shocks = np.stack([fixed.get(f, np.zeros(q)) for f in ids], axis=-1)[None]
    jump = jump_off_frame(scenario, history, pd.DataFrame(index=pd.PeriodIndex([], freq="Q-DEC")), ids)["level"].fillna(3.0)
    quarters = [str(p) for p in pd.period_range(scenario.quarters[0], periods=q, freq="Q-DEC")]
    base = ShockSet(shocks, jump.to_numpy(), ids, ["absolute_bp"] * len(ids), quarters, scenario.scenario_id, "fixed-paths", "1", 0)
    return add_rating_spreads(base)


def test_a_ccc_bond_loses_more_than_a_aaa_bond_of_the_same_maturity() -> None:
    ss = _severely_adverse_set()
    book = random_book(2, seed=3, types=("fixed_bond",))
    terms = {"maturity_years": 7.0, "coupon_rate": 0.05, "coupon_frequency": 2.0, "notional": 1e6, "direction": 1}
    for col, value in terms.items():
        book[col] = value
    book["rating"] = ["AAA", "CCC"]
    book["segment"] = ["corporate_ig", "corporate_hy"]
    book["credit_curve"] = [rating_factor(r) for r in book["rating"]]
    result = revalue(book, ss, quarter_index=None, device="cpu")
    pnl = result.central_pnl  # one sample: its per-position P&L by quarter
    aaa, ccc = pnl.loc[book["position_id"].iloc[0]].to_numpy(), pnl.loc[book["position_id"].iloc[1]].to_numpy()
    peak = int(np.argmax(ss.factor(ANCHOR_FACTOR)[0]))
    assert ccc[peak] < aaa[peak] < 0  # both lose at the spread peak, the CCC bond more
    assert -ccc[peak] > 3.0 * -aaa[peak]
    # the shocks themselves: the CCC spread widens several times the AAA spread
    ccc_bp = ss.factor("credit.spread.rating.ccc")[0, peak]
    aaa_bp = ss.factor("credit.spread.rating.aaa")[0, peak]
    assert ccc_bp > 5.0 * aaa_bp > 0


def test_sample_book_corporates_are_on_their_rating_bucket() -> None:
    book = load_sample_book(validate=False)
    corp = book[book["segment"].isin(["corporate_ig", "corporate_hy"])]
    assert len(corp) and (corp["credit_curve"] == corp["rating"].map(rating_factor)).all()
    assert set(corp["credit_curve"]) <= set(RATING_FACTORS)
    assert set(corp.loc[corp["segment"] == "corporate_hy", "credit_curve"]) == {
        "credit.spread.rating.bb", "credit.spread.rating.b", "credit.spread.rating.ccc"}  # fmt: skip
    agency = book[book["segment"] == "agency"]
    debentures = agency[agency["instrument_type"] == "fixed_bond"]
    assert len(debentures) and (debentures["credit_curve"] == "credit.spread.aaa_10y").all()
    # MBS pools carry no credit curve: their spread moves with the mortgage rate (engine.mbs)
    assert agency.loc[agency["instrument_type"] == "agency_mbs", "credit_curve"].isna().all()
