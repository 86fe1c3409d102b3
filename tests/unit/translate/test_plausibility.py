"""Plausibility filter: hard rules, discriminator, report (small n: 2 shared cores)."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from risk_dagster.market.history import FactorHistory
from risk_dagster.translate.plausibility import (
    PathDiscriminator,
    PlausibilityFilter,
    PlausibilityReport,
    corrupt_windows,
    discriminator_file,
    hard_rule_violations,
    history_windows,
    load_plausibility_rules,
    roc_auc,
    severity_scale,
)
from risk_dagster.translate.persistence import ModelFileError
from risk_dagster.translate.shockset import ShockSet

from ._support import N, with_level as _with_level


def test_rules_file_documents_every_rule() -> None:
    rules = load_plausibility_rules()
    assert set(rules["level_floors"]) == {"credit_spread_floor", "rate_floor", "vol_floor", "index_floor"}
    assert 1.5 <= rules["move_multiple"]["multiple"] <= 2.0
    assert rules["discriminator"]["reject_quantile"] == 0.01


def test_history_floor_for_aaa_spread(filt: PlausibilityFilter) -> None:
    # History has Aaa-10y at -0.01: the floor is lowered to that minus 5 bp, not to -inf.
    floor, _ = filt.rules.floors["credit_spread_floor"]["credit.spread.aaa_10y"]
    assert floor == pytest.approx(-0.06, abs=1e-9)
    assert filt.rules.floors["credit_spread_floor"]["credit.spread.baa_10y"][0] == 0.0


def test_report_counts_add_up_and_accepted_break_nothing(filt: PlausibilityFilter, sa_set: ShockSet) -> None:
    report = filt.apply(sa_set)
    assert report.n_accepted + report.n_rejected == N == report.n_samples
    assert report.accepted.n_samples == report.n_accepted
    assert 0.0 <= report.acceptance_rate <= 1.0
    # Every rejected sample is counted by at least one rule; no rule counts more than were rejected.
    assert sum(report.rejections.values()) >= report.n_rejected
    assert max(report.rejections.values()) <= report.n_rejected
    assert sum(report.only_rule.values()) <= report.n_rejected
    scale = severity_scale(sa_set, filt.rules)
    for rule, bad in hard_rule_violations(report.accepted, filt.rules, class_scale=scale).items():
        assert not bad.any(), rule
    meta = report.to_metadata()
    json.dumps(meta)  # JSON-able for Dagster metadata
    assert sum(meta["scores"]["histogram"]["counts"]) == N
    assert "| curve_coherence |" in report.to_markdown()
    assert report.accepted.metadata["plausibility"]["n_accepted"] == report.n_accepted


def test_fed_severely_adverse_path_itself_passes(filt: PlausibilityFilter, sa_set: ShockSet) -> None:
    # The supervisor's fixed paths break no rule (severity is the scenario's, not a violation) ...
    checks = filt.violations(sa_set)
    fixed = set(sa_set.metadata["fixed_factors"])
    assert fixed
    from risk_dagster.translate.plausibility.rules import rule_checks

    for rule, (_, by_factor) in rule_checks(sa_set, filt.rules).items():
        assert not fixed & set(by_factor), (rule, fixed & set(by_factor))
    # ... the central (median) sample, consistent with the Fed's path, breaks no hard rule ...
    central = sa_set.select([0])
    central.shocks[0] = np.median(sa_set.shocks, axis=0)
    assert not any(v.any() for v in hard_rule_violations(central, filt.rules).values())
    # ... and the discriminator, which judges shape not severity, accepts most samples.
    scores = filt.score(sa_set)
    threshold = filt.discriminator(len(sa_set.quarters)).threshold
    assert (scores >= threshold).mean() >= 0.9
    assert checks["finite"].sum() == 0


def test_injected_bad_samples_rejected_by_the_right_rule(filt: PlausibilityFilter, bl_set: ShockSet) -> None:
    first = filt.apply(bl_set)
    assert first.n_accepted >= 1
    good = first.accepted.select(np.zeros(6, dtype=int))  # six copies of one accepted sample
    _with_level(good, 1, "credit.spread.baa_10y", 3, -0.5)
    _with_level(good, 2, "vol.vix", 2, 0.0)
    j10 = good.factor_index("rates.ust.10y")
    _with_level(good, 3, "rates.ust.30y", 4, float(good.levels[3, 4, j10]) - 5.0)
    sigma = float(np.nanstd(filt._changes["equity.sector.hlth"]))  # noqa: SLF001 - the history used
    good.shocks[4, 2:, good.factor_index("equity.sector.hlth")] += 10 * sigma
    good.shocks[5, 6, good.factor_index("commodity.wti")] = np.nan
    bad = hard_rule_violations(good, filt.rules)
    assert not any(v[0] for v in bad.values())  # the untouched copy stays clean
    assert bad["credit_spread_floor"][1]
    assert bad["vol_floor"][2]
    assert bad["curve_coherence"][3]
    assert bad["move_multiple"][4]
    assert bad["finite"][5]
    report = filt.apply(good)
    assert report.n_rejected >= 5
    assert report.rejections["finite"] == 1


def test_everything_rejected_returns_empty_set(filt: PlausibilityFilter, bl_set: ShockSet) -> None:
    broken = bl_set.select(np.arange(3))
    broken.shocks[:] = np.nan
    report = filt.apply(broken)
    assert report.n_accepted == 0 and report.accepted.n_samples == 0
    assert report.accepted.shocks.shape == (0, *bl_set.shocks.shape[1:])
    assert report.rejections["finite"] == 3


def test_discriminator_held_out_auc_and_determinism(factor_history: FactorHistory) -> None:
    params = dict(load_plausibility_rules()["discriminator"], epochs=200, folds=3)
    changes = factor_history.changes
    train = changes.loc[: "2007Q4"]
    test = changes.loc["2008Q1":]
    disc = PathDiscriminator(9, params).fit(train, seed=3)
    real, mask, _ = history_windows(test, 9)
    fake, fmask, _ = corrupt_windows(
        real, mask, np.random.default_rng(99), factor_ids=list(changes.columns), scale=disc._stats.scale  # noqa: SLF001
    )
    s_real, s_fake = disc.score_windows(real, mask), disc.score_windows(fake, fmask)
    assert roc_auc(s_real, s_fake) > 0.8
    again = PathDiscriminator(9, params).fit(train, seed=3)
    np.testing.assert_array_equal(again.score_windows(real, mask), s_real)
    assert again.threshold == disc.threshold


# ---------------------------------------------------------------------------- save / load
@pytest.fixture(scope="module")
def saved(filt: PlausibilityFilter, sa_set: ShockSet, tmp_path_factory: pytest.TempPathFactory) -> Path:
    filt.apply(sa_set)  # trains the discriminator for this path length, unless a test above did
    return filt.save(tmp_path_factory.mktemp("plausibility") / "filter")


def _accepted_index(report: PlausibilityReport, ss: ShockSet) -> list[int]:
    return [int(np.flatnonzero((ss.shocks == row).all(axis=(1, 2)))[0]) for row in report.accepted.shocks]


def test_save_writes_only_json_and_safetensors(saved: Path, sa_set: ShockSet) -> None:
    names = sorted(p.name for p in saved.iterdir())
    assert names == sorted(["filter.json", "filter.safetensors", discriminator_file(len(sa_set.quarters))])
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]  # no temporary folder left behind

    def non_json(constant: str) -> None:
        raise AssertionError(f"filter.json holds {constant}: not strict JSON")

    doc = json.loads((saved / "filter.json").read_text(encoding="utf-8"), parse_constant=non_json)
    assert list(doc["discriminators"]) == [str(len(sa_set.quarters))]


def test_load_round_trip_is_exact_and_does_not_train(
    filt: PlausibilityFilter, saved: Path, sa_set: ShockSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("a loaded filter must not train")

    monkeypatch.setattr(PathDiscriminator, "fit", no_training)
    start = time.perf_counter()
    loaded = PlausibilityFilter.load(saved)
    assert time.perf_counter() - start < 5.0  # training one discriminator takes ~14 s
    assert loaded.params == filt.params and loaded.seed == filt.seed

    # Same limits and same history (what an unsaved path length would be trained on).
    assert loaded.rules.to_dict() == filt.rules.to_dict()
    assert loaded.rules.curve_pairs == filt.rules.curve_pairs and loaded.rules.floors == filt.rules.floors
    assert set(loaded.rules.max_moves) == set(filt.rules.max_moves)
    for f, moves in filt.rules.max_moves.items():
        assert loaded.rules.max_moves[f].tobytes() == moves.tobytes()
    pd.testing.assert_frame_equal(loaded._changes, filt._changes)  # noqa: SLF001

    # Same scores bit for bit, same accepted samples, same counts.
    q = len(sa_set.quarters)
    assert loaded.discriminator(q).threshold == filt.discriminator(q).threshold
    assert loaded.score(sa_set).tobytes() == filt.score(sa_set).tobytes()
    expected, got = filt.apply(sa_set), loaded.apply(sa_set)
    assert _accepted_index(got, sa_set) == _accepted_index(expected, sa_set)
    assert got.accepted.shocks.tobytes() == expected.accepted.shocks.tobytes()
    assert got.rejections == expected.rejections and got.only_rule == expected.only_rule
    assert got.breaches == expected.breaches
    assert json.dumps(got.to_metadata(), sort_keys=True) == json.dumps(expected.to_metadata(), sort_keys=True)
    assert json.dumps(got.parameters, sort_keys=True) == json.dumps(expected.parameters, sort_keys=True)


def test_load_refuses_stray_files_and_names_missing_ones(saved: Path, sa_set: ShockSet, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(saved, tmp_path / "copy"))
    (copy / "model.pkl").write_bytes(b"\x80\x04N.")  # a pickle of None: never to be read
    with pytest.raises(ModelFileError, match=r"model\.pkl"):
        PlausibilityFilter.load(copy)
    (copy / "model.pkl").unlink()
    (copy / "extra.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelFileError, match=r"extra\.json"):
        PlausibilityFilter.load(copy)
    (copy / "extra.json").unlink()
    PlausibilityFilter.load(copy)  # clean again

    disc = copy / discriminator_file(len(sa_set.quarters))
    disc.write_bytes(b"not safetensors")
    with pytest.raises(ModelFileError, match=re.escape(str(disc))):
        PlausibilityFilter.load(copy)
    disc.unlink()
    with pytest.raises(ModelFileError, match=re.escape(str(disc))):
        PlausibilityFilter.load(copy)
    (copy / "filter.json").unlink()
    with pytest.raises(ModelFileError, match=re.escape(str(copy / "filter.json"))):
        PlausibilityFilter.load(copy)
    with pytest.raises(ModelFileError, match="nowhere"):
        PlausibilityFilter.load(tmp_path / "nowhere")


def test_save_replaces_a_saved_filter_never_a_foreign_folder(filt: PlausibilityFilter, saved: Path, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="fit first"):
        PlausibilityFilter(filt.params).save(tmp_path / "unfitted")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(ModelFileError, match=r"notes\.txt"):
        filt.save(foreign)
    assert (foreign / "notes.txt").read_text(encoding="utf-8") == "keep"

    # A previous save is replaced as a whole: a stale discriminator file does not survive.
    again = Path(shutil.copytree(saved, tmp_path / "again"))
    stale = again / discriminator_file(99)
    shutil.copyfile(next(again.glob("discriminator_*.safetensors")), stale)
    filt.save(again)
    assert not stale.exists()
    assert sorted(p.name for p in again.iterdir()) == sorted(p.name for p in saved.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again", "foreign"]
    PlausibilityFilter.load(again)


def test_level_rules_report_factors_without_a_jump_off(filt: PlausibilityFilter, bl_set: ShockSet) -> None:
    holed = bl_set.select(np.arange(5))
    holed.jump_off = holed.jump_off.copy()
    holed.jump_off[holed.factor_index("credit.spread.baa_10y")] = np.nan
    holed.jump_off[holed.factor_index("equity.sector.hlth")] = np.nan
    report = filt.apply(holed)
    assert "credit.spread.baa_10y" in report.unchecked["credit_spread_floor"]
    assert report.unchecked["price_positive"] == ["equity.sector.hlth"]
    assert report.to_metadata()["unchecked"] == report.unchecked
    assert "not checked (no jump-off level)" in report.to_markdown()
    assert not filt.apply(bl_set.select(np.arange(5))).unchecked


def test_short_history_factor_is_scaled_on_its_own_window(filt: PlausibilityFilter, sa_set: ShockSet) -> None:
    # The 3y starts in 1990, the Fed's 5y in 1976: the 5y's yardstick from 1990 on is recorded...
    rules = filt.rules
    assert rules.history_start["rates.ust.3y"] > rules.history_start["rates.ust.5y"]
    window = rules.window_moves["rates.ust.5y"][rules.history_start["rates.ust.3y"]]
    assert (window <= rules.max_moves["rates.ust.5y"] + 1e-12).all() and window[0] < rules.max_moves["rates.ust.5y"][0]
    # ... and a 5y path 2x its largest move since 1990 (within its 1976+ range) scales the 3y's
    # limit by about 2 while the class (and the 5y's own yardstick) stays within history.
    ss = sa_set.select(np.arange(10))
    j5 = ss.factor_index("rates.ust.5y")
    ss.shocks[:, :, j5] = 0.0
    ss.shocks[:, 0, j5] = -2.0 * window[0]
    scale = severity_scale(ss, rules)
    from risk_dagster.translate.plausibility import scale_of

    assert scale_of(scale, rules, "rates.ust.3y") == pytest.approx(2.0, rel=0.02)
    assert scale.get("rates", 1.0) < 2.0
    assert scale_of(scale, rules, "rates.ust.5y") == scale.get("rates", 1.0)  # fixed: its class's


def test_window_yardstick_round_trips_and_old_state_loads(filt: PlausibilityFilter) -> None:
    from risk_dagster.translate.plausibility import HardRules

    doc, arrays = filt.rules.to_state()
    back = HardRules.from_state(doc, arrays)
    assert back.history_start == filt.rules.history_start
    for f, per in filt.rules.window_moves.items():
        for q, m in per.items():
            np.testing.assert_array_equal(back.window_moves[f][q], m)
    old = {k: v for k, v in doc.items() if k not in ("history_start", "window_moves")}
    legacy = HardRules.from_state(old, {k: v for k, v in arrays.items() if not k.startswith("window_moves.")})
    assert legacy.window_moves == {} and legacy.history_start == {}
