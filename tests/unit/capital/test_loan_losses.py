"""The book's loan losses: segment mapping, balances, the scaling ``k = EL_book / r_industry`` worked
out by hand, the cap at 1, the cumulative loss rates, and reproducible samples (common random numbers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster.capital import loan_losses as LL
from risk_dagster.capital.loss_rates import (
    SEGMENTS,
    LossRateSatellite,
    macro_drivers,
    scenario_drivers,
)
from risk_dagster.portfolio.sample_book import load_sample_book
from risk_dagster.scenarios.registry import load_scenario


# ------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def satellite(rates, history) -> LossRateSatellite:
    return LossRateSatellite().fit(rates, macro_drivers(history))


@pytest.fixture(scope="module")
def severe_path(history) -> pd.DataFrame:
    return scenario_drivers(history, load_scenario("fed-2026-severely-adverse"))


@pytest.fixture(scope="module")
def baseline_path(history) -> pd.DataFrame:
    return scenario_drivers(history, load_scenario("fed-2026-baseline"))


@pytest.fixture(scope="module")
def sample_loans() -> pd.DataFrame:
    book = load_sample_book(validate=False)
    return book[book["instrument_type"] == "loan"].copy()


def _loans(rows: list[tuple]) -> pd.DataFrame:
    """``(position_id, segment, ead, drawn_amount, pd, lgd)`` rows as a loan book."""
    frame = pd.DataFrame(rows, columns=["position_id", "segment", "ead", "drawn_amount", "pd", "lgd"])
    frame.insert(1, "instrument_type", "loan")
    return frame


THREE = [
    ("L1", "first_lien_mortgage", 100.0, np.nan, 0.02, 0.25),  # EL 0.5, balance = ead
    ("L2", "first_lien_mortgage", 300.0, np.nan, 0.01, 0.50),  # EL 1.5
    ("L3", "credit_card", 80.0, 50.0, 0.04, 0.90),  # balance = drawn 50, EL 1.8
]


class FlatSatellite:
    """A satellite whose industry quarterly rate is a constant per segment (for exact arithmetic)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.calls: list[dict] = []

    def sample(self, drivers_path, n_samples, seed, segments=None, **kwargs):
        self.calls.append({"n": n_samples, "seed": seed, "segments": list(segments), **kwargs})
        index = pd.MultiIndex.from_product([range(n_samples), drivers_path.index], names=["sample", "quarter"])
        return pd.DataFrame({s: np.full(len(index), self.rate) for s in segments}, index=index)


def _flat_path(n: int = 13) -> pd.DataFrame:
    return pd.DataFrame({"x": np.zeros(n)}, index=pd.period_range("2026Q1", periods=n, freq="Q"))


# ------------------------------------------------------------------------------- segments and balances
def test_segment_mapping() -> None:
    assert LL.BOOK_TO_FED_SEGMENT["home_equity"] == "junior_lien_heloc"
    assert LL.BOOK_TO_FED_SEGMENT["auto"] == "other_consumer"
    assert set(LL.BOOK_TO_FED_SEGMENT.values()) <= set(SEGMENTS)
    book = _loans([
        ("H", "home_equity", 90.0, 40.0, 0.01, 0.5),
        ("A", "auto", 70.0, np.nan, 0.02, 0.5),
        ("O", "other_consumer", 30.0, np.nan, 0.02, 0.5),
    ])  # fmt: skip
    segs = LL.loan_segments(book)
    assert list(segs.balance.index) == list(SEGMENTS)
    assert segs.balance["junior_lien_heloc"] == 40.0
    assert segs.balance["other_consumer"] == 100.0
    assert segs.n_loans["other_consumer"] == 2 and segs.n_loans["junior_lien_heloc"] == 1
    assert segs.balance["credit_card"] == 0.0 and np.isnan(segs.expected_loss_rate["credit_card"])
    assert segs.total_balance == 140.0


def test_non_loans_are_ignored() -> None:
    book = _loans(THREE)
    other = pd.DataFrame({"position_id": ["B1"], "instrument_type": ["fixed_bond"], "segment": ["ust"],
                          "ead": [np.nan], "drawn_amount": [np.nan], "pd": [np.nan], "lgd": [np.nan]})
    segs = LL.loan_segments(pd.concat([book, other], ignore_index=True))
    assert segs.total_balance == 450.0


def test_unknown_segment_refused_with_its_name() -> None:
    book = _loans([*THREE, ("X", "boat_loans", 10.0, np.nan, 0.01, 0.5)])
    with pytest.raises(ValueError, match="boat_loans"):
        LL.loan_segments(book)


def test_balance_is_drawn_else_ead() -> None:
    book = _loans(THREE)
    np.testing.assert_array_equal(LL.loan_balance(book).to_numpy(), [100.0, 300.0, 50.0])


@pytest.mark.parametrize("ead, drawn", [(0.0, np.nan), (np.nan, np.nan), (100.0, 0.0), (-5.0, np.nan)])
def test_loan_without_positive_balance_refused(ead: float, drawn: float) -> None:
    book = _loans([*THREE, ("BAD7", "cre", ead, drawn, 0.01, 0.5)])
    with pytest.raises(ValueError, match="BAD7"):
        LL.loan_balance(book)
    with pytest.raises(ValueError, match="BAD7"):
        LL.loan_segments(book)


# ------------------------------------------------------------------------------- scaling by hand
def test_expected_loss_rate_and_scaling_by_hand(rates) -> None:
    segs = LL.loan_segments(_loans(THREE))
    # mortgage: (100 x 0.02 x 0.25 + 300 x 0.01 x 0.5) / 400 = 2 / 400; card: 50 x 0.04 x 0.9 / 50
    assert segs.expected_loss_rate["first_lien_mortgage"] == pytest.approx(0.005)
    assert segs.expected_loss_rate["credit_card"] == pytest.approx(0.036)
    industry = LL.industry_loss_rates(rates)
    for seg in ("first_lien_mortgage", "credit_card"):
        assert industry[seg] == pytest.approx(rates[seg].mean() / 100.0)
    k = LL.book_scaling(segs, industry)
    assert k["first_lien_mortgage"] == pytest.approx(0.005 / industry["first_lien_mortgage"])
    assert k["credit_card"] == pytest.approx(0.036 / industry["credit_card"])
    # segments without loans: no effect
    assert all(k[s] == 1.0 for s in SEGMENTS if s not in ("first_lien_mortgage", "credit_card"))


def test_projection_by_hand_with_flat_industry_rate(rates) -> None:
    sat = FlatSatellite(0.01)
    p = LL.project_loan_losses(sat, _flat_path(), _loans(THREE), rates, n_samples=3, seed=5, jump_off=pd.Period("2025Q4"))
    assert sat.calls[0]["seed"] == 5 and sat.calls[0]["jump_off"] == pd.Period("2025Q4")
    assert p.losses.shape == (3, 13, len(SEGMENTS)) and p.samples == 3
    industry = LL.industry_loss_rates(rates)
    m, c = SEGMENTS.index("first_lien_mortgage"), SEGMENTS.index("credit_card")
    rate_m = 0.01 * 0.005 / industry["first_lien_mortgage"]
    rate_c = 0.01 * 0.036 / industry["credit_card"]
    np.testing.assert_allclose(p.rates[:, :, m], rate_m)
    np.testing.assert_allclose(p.losses[:, :, m], rate_m * 400.0)
    np.testing.assert_allclose(p.losses[:, :, c], rate_c * 50.0)
    others = [j for j in range(len(SEGMENTS)) if j not in (m, c)]
    np.testing.assert_array_equal(p.losses[:, :, others], 0.0)
    # nine-quarter cumulative rates, percent of the jump-off balance
    cum = p.cumulative_rates()
    assert list(cum.columns) == [*SEGMENTS, "total"]
    np.testing.assert_allclose(cum["first_lien_mortgage"], 100.0 * 9 * rate_m)
    np.testing.assert_allclose(cum["credit_card"], 100.0 * 9 * rate_c)
    np.testing.assert_allclose(cum["total"], 100.0 * 9 * (rate_m * 400 + rate_c * 50) / 450.0)
    assert cum["cre"].isna().all()
    np.testing.assert_allclose(p.total(), np.full((3, 9), rate_m * 400 + rate_c * 50))
    np.testing.assert_allclose(p.cumulative_rates(4)["credit_card"], 100.0 * 4 * rate_c)


def test_rate_capped_at_one(rates) -> None:
    # pd = lgd = 1: k = 1 / r_industry, x a 50% quarterly industry rate is far above 1
    book = _loans([("C", "credit_card", 10.0, np.nan, 1.0, 1.0)])
    p = LL.project_loan_losses(FlatSatellite(0.5), _flat_path(), book, rates, 2, 0)
    c = SEGMENTS.index("credit_card")
    np.testing.assert_array_equal(p.rates[:, :, c], 1.0)
    np.testing.assert_array_equal(p.losses[:, :, c], 10.0)


def test_real_rates_are_industry_times_k(satellite, severe_path, rates) -> None:
    book = _loans(THREE)
    p = LL.project_loan_losses(satellite, severe_path, book, rates, 4, 17)
    drawn = satellite.sample(severe_path, 4, 17, segments=list(SEGMENTS))
    for j, seg in enumerate(SEGMENTS):
        industry_q = drawn[seg].to_numpy().reshape(4, len(severe_path))
        np.testing.assert_allclose(p.rates[:, :, j], np.minimum(industry_q * p.scaling[seg], 1.0), rtol=1e-12)
    np.testing.assert_allclose(p.losses, p.rates * p.balance.to_numpy()[None, None, :])
    assert p.quarters == tuple(str(q) for q in severe_path.index)


def test_doubled_pd_loses_twice(satellite, severe_path, rates, sample_loans) -> None:
    base = LL.project_loan_losses(satellite, severe_path, sample_loans, rates, 20, 3)
    risky = sample_loans.copy()
    risky["pd"] = risky["pd"] * 2.0
    doubled = LL.project_loan_losses(satellite, severe_path, risky, rates, 20, 3)
    held = base.balance > 0
    np.testing.assert_allclose(doubled.scaling[held], 2.0 * base.scaling[held])
    assert doubled.scaling[~held].eq(1.0).all()  # no loans: no effect
    assert (2.0 * base.rates < 1.0).all()  # the cap does not bind on the shipped book
    np.testing.assert_allclose(doubled.losses, 2.0 * base.losses, rtol=1e-12)


# ------------------------------------------------------------------------------- samples
def test_head_keeps_samples_common_random_numbers(satellite, severe_path, rates, sample_loans) -> None:
    big = LL.project_loan_losses(satellite, severe_path, sample_loans, rates, 30, 42)
    small = LL.project_loan_losses(satellite, severe_path, sample_loans, rates, 7, 42)
    head = big.head(7)
    assert head.samples == 7
    np.testing.assert_array_equal(head.losses, small.losses)
    np.testing.assert_array_equal(head.rates, small.rates)
    np.testing.assert_array_equal(big.losses[:7], small.losses)
    with pytest.raises(ValueError, match="31 samples"):
        big.head(31)


def test_same_seed_same_losses_other_seed_differs(satellite, severe_path, rates, sample_loans) -> None:
    a = LL.project_loan_losses(satellite, severe_path, sample_loans, rates, 10, 7)
    b = LL.project_loan_losses(satellite, severe_path, sample_loans, rates, 10, 7)
    c = LL.project_loan_losses(satellite, severe_path, sample_loans, rates, 10, 8)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert not np.allclose(a.losses, c.losses)


def test_severely_adverse_loses_more_than_baseline(satellite, severe_path, baseline_path, rates, sample_loans) -> None:
    severe = LL.project_loan_losses(satellite, severe_path, sample_loans, rates, 200, 1)
    base = LL.project_loan_losses(satellite, baseline_path, sample_loans, rates, 200, 1)
    s, b = severe.cumulative_rates()["total"], base.cumulative_rates()["total"]
    assert s.median() > b.median()
    # the same draws: the severe path loses more sample by sample, nearly always
    assert (s > b).mean() > 0.9
    summary = severe.summary()
    assert summary.loc["total", "loss_rate_9q_median_pct"] == pytest.approx(s.median())
    assert summary.loc["total", "balance_usd_bn"] == pytest.approx(severe.balance.sum() / 1e9)
