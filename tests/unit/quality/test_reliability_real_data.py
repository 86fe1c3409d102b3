"""Reliability weights on the real shipped data: every source keeps (nearly) its prior, and each
kind of genuine misbehaviour injected into that data lowers the right source's weight, for the
right reason, while the other sources stay put."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from risk_dagster.market.history import load_history_sources, overlapping_quantities, source_frames
from risk_dagster.quality import reliability as R
from risk_dagster.scenarios.registry import load_fed_history

# weight / prior every source keeps on the shipped data, and the most a clear defect leaves it
REAL_FLOOR = 0.75
DEFECT_CEILING = 0.6


@pytest.fixture(scope="module")
def real() -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    return load_fed_history("2026").wide(), load_history_sources()


def _assess(fed: pd.DataFrame, sources: dict[str, pd.DataFrame]) -> dict[str, R.SourceAssessment]:
    return R.assess_sources(source_frames(fed, sources), overlapping_quantities(fed, sources))


@pytest.fixture(scope="module")
def baseline(real) -> dict[str, R.SourceAssessment]:
    return _assess(*real)


def _ratio(a: R.SourceAssessment) -> float:
    return a.weight / a.prior_weight


# Shipped sources with known defects in the data itself (risk_dagster/data/PROVENANCE.md), which
# the detectors are meant to find: the euribor.it scrape (typos, dropped minus signs), the Yahoo
# Euro Stoxx 50 archive (no rows 2019-05-16..09-29). Its missing 2018-12-28 moves two quarterly
# returns by 1.7 points, inside the stated tolerance (sources.yaml), so its peer yfinance keeps
# its prior.
KNOWN_DEFECTS = {"euribor_it", "yahoo"}


def test_real_data_keeps_priors(baseline) -> None:
    low = {
        s: (round(_ratio(a), 3), a.reasons)
        for s, a in baseline.items()
        if _ratio(a) < REAL_FLOOR and s not in KNOWN_DEFECTS
    }
    assert not low, low
    assert {"oecd", "ecb"} <= set(baseline)
    assert baseline["euribor_it"].weight < 0.5 * baseline["euribor_it"].prior_weight
    assert baseline["yahoo"].weight < baseline["yahoo"].prior_weight  # its 2019 gap
    assert {"fed", "treasury", "fred_md", "fred_qd", "french", "h10", "eia", "chicago_fed", "nber"} <= set(baseline)
    # the genuine events are recognised, not silently ignored
    notes = {s: " ".join(a.notes) for s, a in baseline.items()}
    assert "structural absence" in notes["treasury"] and "30 Yr" in notes["treasury"]
    assert "FEDFUNDS" not in baseline["fred_md"].reasons  # a year at 5.33 is a policy hold
    assert "USREC" not in baseline["nber"].reasons  # a 0/1 dummy switching is not a jump
    assert "DCOILWTICO 2020-04-20" in notes["eia"]
    assert "developing_asia_fx_index 1997Q4" in notes["fed"]


def _edit(frame: pd.DataFrame, column: str, mask: Callable[[pd.DataFrame], pd.Series], how) -> pd.DataFrame:
    out = frame.copy()
    rows = mask(out)
    out.loc[rows, column] = how(out.loc[rows, column])
    return out


def _dated(start: str, end: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda f: (f["date"] >= pd.Timestamp(start)) & (f["date"] <= pd.Timestamp(end))


def _treasury(edit) -> Callable:
    def inject(fed, sources):
        return fed, {**sources, "treasury_par_curve": edit(sources["treasury_par_curve"])}

    return inject


def _frozen_10y(frame: pd.DataFrame) -> pd.DataFrame:
    last = frame["date"].max() - pd.DateOffset(years=3)
    value = float(frame.loc[frame["date"] <= last, "10 Yr"].iloc[-1])
    return _edit(frame, "10 Yr", lambda f: f["date"] > last, lambda s: value)


def _delete_year(fed, sources):
    h10 = _edit(sources["h10_usdeur"], "DEXUSEU", _dated("2012-01-01", "2012-12-31"), lambda s: np.nan)
    return fed, {**sources, "h10_usdeur": h10}


def _fed_10y_off(fed, sources):
    out = fed.copy()
    out.loc[pd.Period("2015Q1"):pd.Period("2015Q4"), "treasury_10y"] += 2.0
    return out, sources


DEFECTS = {
    # the last three years of the 10y frozen at one value: a stale feed
    "stale_10y": ("treasury", "stale_runs", _treasury(_frozen_10y)),
    # a year of the 10y in basis points instead of percent
    "units_x100": ("treasury", "robust_jumps",
                   _treasury(lambda f: _edit(f, "10 Yr", _dated("2015-01-01", "2015-12-31"), lambda s: s * 100))),
    # one month of the 10y three points too high, in the Treasury file only
    "month_plus_3": ("treasury", "disagreement",
                     _treasury(lambda f: _edit(f, "10 Yr", _dated("2017-05-01", "2017-05-31"), lambda s: s + 3))),
    # a year of daily EUR/USD lost in the middle of the series (not holidays)
    "year_deleted": ("h10", "gaps", _delete_year),
    # the Fed table's 10y off by 2 points for four quarters
    "fed_10y_off": ("fed", "disagreement", _fed_10y_off),
}  # fmt: skip


@pytest.mark.parametrize("name", list(DEFECTS))
def test_injected_defect_lowers_the_right_source(name, real, baseline) -> None:
    source, rule, inject = DEFECTS[name]
    out = _assess(*inject(*real))
    hit = out[source]
    assert _ratio(hit) <= DEFECT_CEILING, (name, round(_ratio(hit), 3), hit.reasons)
    assert rule in {p.rule for p in hit.penalties}, (name, hit.reasons)
    for s, a in out.items():
        if s != source:
            assert a.weight >= 0.95 * baseline[s].weight, (name, s, round(a.weight, 3), a.reasons)
