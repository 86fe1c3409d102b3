"""Reliability weights: each injected anomaly lowers the weight with the right reason, a clean
series keeps its prior, blending is exact, and a crisis jump other sources confirm is excused."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster.quality import reliability as R

QUARTERS = pd.period_range("1990Q1", periods=120, freq="Q")
POLICY = R.load_source_policy().penalties


def _series(seed: int, scale: float = 0.2, level: float = 5.0) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(level + np.cumsum(rng.normal(0.0, scale, len(QUARTERS))), index=QUARTERS, name="x")


def _rules(a: R.SourceAssessment) -> set[str]:
    return {p.rule for p in a.penalties}


# ------------------------------------------------------------------ policy


def test_policy_reads_sources_yaml() -> None:
    policy = R.load_source_policy()
    assert policy.prior("fed") == 0.85 and policy.prior("user") == 0.5
    assert policy.sources["french"].source_class == "vendor"
    assert {"fed", "treasury", "fred_md", "fred_qd", "h10", "eia", "chicago_fed", "nber", "french",
            "fed_chgdel", "ngfs", "eba", "user"} <= set(policy.sources)
    assert policy.penalties.floor == 0.05 and policy.penalties.stale_length_for("quarterly") == 4
    with pytest.raises(KeyError, match="unknown source"):
        policy.prior("bloomberg")


# ------------------------------------------------------------------ detectors


def test_clean_series_keeps_prior() -> None:
    a = R.assess_source("fed", "demo", _series(1), 0.85, POLICY)
    assert a.weight == 0.85 and a.penalties == [] and a.reasons == ""


def test_stale_run_lowers_weight() -> None:
    x = _series(2)
    x.iloc[40:50] = x.iloc[40]
    assert [r.length for r in R.stale_runs(x, min_run=4)] == [10]
    a = R.assess_source("fed", "demo", x, 0.85, POLICY)
    assert _rules(a) == {"stale_runs"} and a.weight < 0.85
    assert "2000Q1" in a.reasons


def test_stale_run_at_zero_lower_bound_is_not_flagged() -> None:
    x = _series(3)
    x.iloc[40:50] = 0.1
    assert R.stale_runs(x, min_run=4, floor_band=0.25) == []


def test_spike_lowers_weight() -> None:
    x = _series(4)
    x.iloc[60] += 10.0  # a typo: one cell of one source
    jumps = R.robust_jumps(x, z_limit=8.0)
    assert {j.label for j in jumps} == {QUARTERS[60], QUARTERS[61]}  # there and back
    a = R.assess_source("fed", "demo", x, 0.85, POLICY)
    assert _rules(a) == {"robust_jumps"}
    (p,) = a.penalties
    assert p.n_findings == 1  # the spike and its reversal are one event
    # sized by the share of the series it affects (one bad cell of 119 changes), not by a count
    assert p.severity == pytest.approx(1 / 119)
    assert a.weight == pytest.approx(0.85 * POLICY.factor("robust_jumps", 1 / 119))
    assert 0.85 * 0.85 < a.weight < 0.85  # one unconfirmed outlier costs a little


def test_gap_lowers_weight() -> None:
    x = _series(5)
    x.iloc[30:33] = np.nan
    x.iloc[:5] = np.nan  # before the series starts: not a gap
    found = R.gaps(x)
    assert [(g.start, g.n_missing) for g in found] == [(QUARTERS[30], 3)]
    a = R.assess_source("fed", "demo", x, 0.85, POLICY)
    # 3 missing of the 115 quarters from the first to the last observation
    assert _rules(a) == {"gaps"} and a.weight == pytest.approx(0.85 * POLICY.factor("gaps", 3 / 115))
    # a period missing from a PeriodIndex is a gap too
    assert R.gaps(_series(5).drop(QUARTERS[50]))[0].start == QUARTERS[50]


def test_disagreeing_source_takes_the_larger_penalty() -> None:
    truth = _series(6)
    rng = np.random.default_rng(7)
    fed = truth + rng.normal(0, 0.02, len(truth))
    treasury = truth + rng.normal(0, 0.02, len(truth))
    bad = truth.copy()
    bad.iloc[80:90] += 1.0  # ten quarters off by 100bp
    overlaps = {"treasury_10y": {"fed": fed, "treasury": treasury, "fred_md": bad}}
    out = R.assess_sources({}, overlaps, {"fed": 0.85, "treasury": 0.85, "fred_md": 0.85}, policy=POLICY)
    assert "disagreement" in _rules(out["fred_md"])
    assert out["fred_md"].weight < out["fed"].weight and out["fred_md"].weight < out["treasury"].weight
    d = R.disagreement(overlaps["treasury_10y"], {"fed": 0.85, "treasury": 0.85, "fred_md": 0.85}, tolerance=0.5)
    assert len(d["fred_md"].primary) == 10
    # the honest sources sit ~0.5 from a consensus the bad one drags: secondary findings only
    assert d["fed"].primary == () and d["treasury"].primary == ()
    assert out["fed"].weight >= 0.85 * POLICY.factor("disagreement", 10 * POLICY.disagreement_secondary_share)


def test_two_sources_blame_the_less_reliable() -> None:
    a, b = _series(8), _series(8)
    b.iloc[10:14] += 2.0
    d = R.disagreement({"fed": a, "user": b}, {"fed": 0.85, "user": 0.5}, tolerance=0.25)
    assert len(d["user"].primary) == 4 and d["fed"].primary == () and len(d["fed"].secondary) == 4


def test_weight_floors() -> None:
    x = _series(9)
    for i in (25, 55, 85):
        x.iloc[i] += 20.0  # three spikes (few enough not to set the robust scale themselves)
    x.iloc[2:9] = x.iloc[2]  # a stale run
    x.iloc[100:102] = np.nan  # a gap
    a = R.assess_source("user", "demo", x, 0.5, POLICY)
    assert _rules(a) == {"robust_jumps", "stale_runs", "gaps"}
    jumps = next(p for p in a.penalties if p.rule == "robust_jumps")
    n_changes = len(R.robust_z(x))  # changes across the gap are not taken
    assert jumps.n_findings == 3 and jumps.factor == pytest.approx(POLICY.factor("robust_jumps", 3 / n_changes))
    assert a.weight == pytest.approx(0.5 * np.prod([p.factor for p in a.penalties]))
    harsh = R.AnomalyPolicy(penalty_per_share={r: 100.0 for r in R.RULES}, rule_floor=0.25, floor=0.1)
    b = R.assess_source("user", "demo", x, 0.5, harsh)
    assert next(p for p in b.penalties if p.rule == "robust_jumps").factor == 0.25  # rule floor
    assert b.weight == 0.1  # overall floor


# ------------------------------------------------------------------ crisis jumps


def _crisis_sources() -> dict[str, pd.Series]:
    base = _series(10, scale=0.1)
    rng = np.random.default_rng(11)
    out = {}
    for s in ("fed", "treasury", "fred_md"):
        x = base + rng.normal(0, 0.01, len(base))
        x.iloc[72:] -= 2.5  # 2008Q1: every source sees the same collapse
        out[s] = x.rename("treasury_10y")
    return out


def test_confirmed_crisis_jump_is_excused() -> None:
    by_source = _crisis_sources()
    assert R.robust_jumps(by_source["fed"], z_limit=8.0)  # it is a jump ...
    frames = {s: x.to_frame() for s, x in by_source.items()}
    out = R.assess_sources(frames, {"treasury_10y": by_source}, {s: 0.85 for s in by_source}, policy=POLICY)
    for s, a in out.items():
        assert a.weight == 0.85, (s, a.reasons)  # ... but all three sources confirm it
        assert any("confirmed by" in n for n in a.notes)


def test_unconfirmed_jump_is_penalised_far_more() -> None:
    by_source = _crisis_sources()
    lone = by_source["fed"].copy()
    lone.iloc[40:] -= 2.5  # only one source shows this one
    confirmed = R.assess_source("fed", "demo", by_source["fed"].to_frame(), 0.85, POLICY,
                                peers={"treasury_10y": {k: v for k, v in by_source.items() if k != "fed"}})
    alone = R.assess_source("fed", "demo", lone.to_frame(), 0.85, POLICY,
                            peers={"treasury_10y": {k: v for k, v in by_source.items() if k != "fed"}})
    assert confirmed.weight == 0.85
    assert "robust_jumps" in _rules(alone) and alone.weight < confirmed.weight


def test_comoving_columns_excuse_a_jump() -> None:
    gdp, unemployment, calm = _series(12), _series(13), _series(14)
    gdp.iloc[80:] -= 5.0
    unemployment.iloc[80:] += 5.0  # 2020Q2: several variables move at once
    frame = pd.DataFrame({"gdp": gdp, "unemployment": unemployment, "calm": calm})
    a = R.assess_source("fed", "demo", frame, 0.85, POLICY)
    assert a.weight == 0.85 and len([n for n in a.notes if "other column" in n]) == 2


# ------------------------------------------------------------------ blending and table


def test_blend_sources_exact_with_missing_values() -> None:
    a = pd.Series([1.0, 2.0, np.nan, 4.0], index=QUARTERS[:4])
    b = pd.Series([3.0, np.nan, np.nan, 8.0, 10.0], index=QUARTERS[:5])
    c = pd.Series([5.0], index=QUARTERS[:1])
    blended = R.blend_sources({"a": a, "b": b, "c": c}, {"a": 0.85, "b": 0.5, "c": 0.15})
    expected = [
        (0.85 * 1 + 0.5 * 3 + 0.15 * 5) / 1.5,
        2.0,  # only a
        np.nan,  # nobody
        (0.85 * 4 + 0.5 * 8) / 1.35,
        10.0,  # only b
    ]
    assert list(blended.index) == list(QUARTERS[:5])
    np.testing.assert_allclose(blended.to_numpy(), expected, rtol=0, atol=1e-15)
    assert R.blend_sources({"a": a}, {"a": 0.0}).isna().all()  # zero weight: no information
    with pytest.raises(KeyError):
        R.blend_sources({"a": a, "b": b}, {"a": 1.0})
    with pytest.raises(ValueError):
        R.blend_sources({"a": a}, {"a": -1.0})


def test_reliability_table() -> None:
    x = _series(15)
    x.iloc[30:33] = np.nan
    out = R.assess_sources({"fed": _series(1), "user": x}, {}, None, policy=POLICY)
    table = R.reliability_table(out)
    assert list(table.columns)[:5] == ["source", "dataset", "prior", "weight", "reasons"]
    assert table.set_index("source").loc["fed", "weight"] == 0.85
    assert table.set_index("source").loc["user", "prior"] == 0.5
    assert "gaps" in table.set_index("source").loc["user", "reasons"]


def test_failed_contract_lowers_the_weight_of_its_source():
    import numpy as np
    import pandas as pd

    from risk_dagster.quality.reliability import assess_sources

    index = pd.period_range("1990Q1", periods=120, freq="Q")
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"x": np.cumsum(rng.normal(size=120))}, index=index)
    clean = assess_sources({"treasury": frame}, {}, priors={"treasury": 0.85})["treasury"]
    hit = assess_sources(
        {"treasury": frame},
        {},
        priors={"treasury": 0.85},
        contract_failures={"treasury": [("contract_treasury_par_curve", 2, 20)]},
    )["treasury"]
    assert clean.weight == 0.85
    assert hit.weight < clean.weight
    assert any(p.rule == "contract" and "2 of 20" in p.detail for p in hit.penalties)
