"""The model registry: safetensors + JSON versions, lanes and promotion, bootstrap, data hash,
and the choice of the most conservative lane."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.base import TrainingSet
from risk_dagster.translate.persistence import load_translator, save_translator
from risk_dagster.translate.registry import (
    DESCRIBE_COLUMNS,
    ModelRegistry,
    RegistryError,
    bootstrap,
    describe_command,
    factor_severity,
    most_conservative,
    promote_command,
    training_data_hash,
)
from risk_dagster.translate.satellite import SatelliteTranslator
from risk_dagster.translate.shockset import ShockSet


@pytest.fixture(scope="module")
def draw(satellite: SatelliteTranslator, severely_adverse: MacroScenario, fed_history_2026: MacroScenario) -> ShockSet:
    return satellite.sample(severely_adverse, 200, 7, history=fed_history_2026)


GOOD = {"energy_score": 3.50, "coverage_90": 0.88, "evaluation": "rolling origin (test)"}


def _variant(training: TrainingSet, block_length: int) -> SatelliteTranslator:
    """Another satellite (another bootstrap block length): other files, so another version."""
    return SatelliteTranslator(block_length=block_length, quantiles=()).fit(training)


@pytest.fixture(scope="module")
def satellite_b(training_set: TrainingSet) -> SatelliteTranslator:
    return _variant(training_set, 2)


def _registry_with_lanes(root: Path, satellite: SatelliteTranslator, training: TrainingSet) -> ModelRegistry:
    registry = ModelRegistry(root)
    registry.register(satellite, metrics={"energy_score": 4.2}, training=training, seed=0)
    registry.record_backtest("satellite/v0001", GOOD)
    registry.promote("satellite", "v0001", "current")
    registry.promote("satellite", "v0001", "stable")
    registry.register(_variant(training, 2), metrics={"energy_score": 4.0}, training=training)
    return registry


def test_persistence_round_trip_is_bit_for_bit(
    tmp_path: Path, satellite: SatelliteTranslator, severely_adverse: MacroScenario,
    fed_history_2026: MacroScenario, draw: ShockSet,
) -> None:
    save_translator(satellite, tmp_path / "sat")
    assert sorted(p.name for p in (tmp_path / "sat").iterdir()) == ["model.safetensors", "translator.json"]
    loaded = load_translator(tmp_path / "sat")
    again = loaded.sample(severely_adverse, 200, 7, history=fed_history_2026)
    assert again.shocks.tobytes() == draw.shocks.tobytes()
    assert again.jump_off.tobytes() == draw.jump_off.tobytes()


def test_register_and_load_reproduce_samples_bit_for_bit(
    tmp_path: Path, satellite: SatelliteTranslator, training_set: TrainingSet,
    severely_adverse: MacroScenario, fed_history_2026: MacroScenario, draw: ShockSet,
) -> None:
    registry = ModelRegistry(tmp_path / "registry")
    mv = registry.register(satellite, metrics={"energy_score": 4.2}, training=training_set, seed=3)
    assert (mv.model_id, mv.version) == ("satellite", "v0001")
    assert registry.lane("experimental") == mv
    assert registry.lane("current") is None and registry.lane("stable") is None
    for ref in ("experimental", "satellite/v0001", mv):
        model = registry.load(ref)
        again = model.sample(severely_adverse, 200, 7, history=fed_history_2026)
        assert again.shocks.tobytes() == draw.shocks.tobytes()

    meta = json.loads((mv.path / "metadata.json").read_text())
    assert meta["model_id"] == "satellite" and meta["version"] == "v0001"
    assert meta["training_data_hash"] == training_data_hash(training_set)
    assert meta["code_version"]["package"] and meta["code_version"]["git_commit"]
    assert meta["metrics"] == {"energy_score": 4.2} and meta["seed"] == 3
    assert meta["created"].endswith("+00:00")  # UTC ISO
    # versions are monotone per model id
    assert registry.register(_variant(training_set, 2)).version == "v0002"
    assert [v.version for v in registry.list_versions("satellite")] == ["v0001", "v0002"]


def test_version_folder_holds_only_safetensors_and_json(
    tmp_path: Path, satellite: SatelliteTranslator
) -> None:
    registry = ModelRegistry(tmp_path)
    mv = registry.register(satellite)
    files = [p for p in mv.path.rglob("*") if p.is_file()]
    assert files and {p.suffix for p in files} <= {".safetensors", ".json"}
    (mv.path / "extra.pkl").write_bytes(b"\x80\x04N.")
    with pytest.raises(RegistryError, match="extra.pkl"):
        registry.load("experimental")


def test_corrupted_or_missing_file_names_the_path(tmp_path: Path, satellite: SatelliteTranslator) -> None:
    registry = ModelRegistry(tmp_path)
    mv = registry.register(satellite)
    weights = mv.path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(RegistryError, match=str(weights)):
        registry.load("satellite/v0001")
    weights.unlink()
    with pytest.raises(RegistryError, match=str(weights)):
        registry.load("satellite/v0001")
    (mv.path / "metadata.json").write_text("{not json")
    with pytest.raises(RegistryError, match="metadata.json"):
        registry.load("satellite/v0001")
    (tmp_path / "lanes.json").write_text("[")
    with pytest.raises(RegistryError, match="lanes.json"):
        registry.lane("stable")
    with pytest.raises(RegistryError, match="no version"):
        ModelRegistry(tmp_path / "empty").load("satellite/v0009")
    with pytest.raises(RegistryError, match="empty"):
        ModelRegistry(tmp_path / "empty").load("stable")


def test_promotion_order_is_enforced_and_recorded(
    tmp_path: Path, satellite: SatelliteTranslator, satellite_b: SatelliteTranslator
) -> None:
    registry = ModelRegistry(tmp_path)
    registry.register(satellite)
    registry.record_backtest("satellite/v0001", GOOD)
    with pytest.raises(RegistryError, match="one lane at a time"):
        registry.promote("satellite", "v0001", "stable")  # skipping current
    with pytest.raises(RegistryError, match="register"):
        registry.promote("satellite", "v0001", "experimental")
    with pytest.raises(RegistryError, match="unknown lane"):
        registry.promote("satellite", "v0001", "production")
    registry.promote("satellite", "v0001", "current")
    with pytest.raises(RegistryError, match="already"):
        registry.promote("satellite", "v0001", "current")
    registry.register(satellite_b)  # v0002 takes experimental
    with pytest.raises(RegistryError, match="one lane at a time"):
        registry.promote("satellite", "v0002", "stable")
    message = promote_command(tmp_path, "satellite", "v0001", "stable")
    assert "satellite/v0001" in message and "stable" in message
    assert {k: (v.version if v else None) for k, v in registry.lanes().items()} == {
        "stable": "v0001", "current": "v0001", "experimental": "v0002",
    }
    promotions = [e for e in registry.history() if e["event"] == "promote"]
    assert [(e["from_lane"], e["to_lane"], e["version"]) for e in promotions] == [
        ("experimental", "current", "v0001"), ("current", "stable", "v0001"),
    ]
    assert all(e["timestamp"].endswith("+00:00") for e in registry.history())
    # lanes.json is plain JSON naming the occupant of each lane
    lanes = json.loads((tmp_path / "lanes.json").read_text())
    assert lanes["stable"] == {"model_id": "satellite", "version": "v0001"}


def test_bootstrap_seeds_a_fresh_registry_from_a_shipped_one(
    tmp_path: Path, satellite: SatelliteTranslator, training_set: TrainingSet,
    severely_adverse: MacroScenario, fed_history_2026: MacroScenario, draw: ShockSet,
) -> None:
    shipped = _registry_with_lanes(tmp_path / "shipped", satellite, training_set)
    fresh = bootstrap(tmp_path / "fresh", shipped=shipped.root)
    for lane in ("stable", "current", "experimental"):
        assert fresh.lane(lane) is not None
        assert fresh.lane(lane).ref == shipped.lane(lane).ref  # type: ignore[union-attr]
    model = fresh.load("stable")
    assert model.sample(severely_adverse, 200, 7, history=fed_history_2026).shocks.tobytes() == draw.shocks.tobytes()
    assert [e["event"] for e in fresh.history()] == ["bootstrap"]
    # idempotent: a second call changes nothing; local lanes are never overwritten
    fresh.register(_variant(training_set, 3))  # v0003 into experimental
    bootstrap(fresh.root, shipped=shipped.root)
    assert fresh.lane("experimental").version == "v0003"  # type: ignore[union-attr]
    assert [e["event"] for e in fresh.history()] == ["bootstrap", "register"]
    # without a shipped registry the registry just opens, lanes empty
    empty = bootstrap(tmp_path / "other", shipped=tmp_path / "nothing-here")
    assert empty.lane("stable") is None


def test_training_data_hash_is_stable_and_sensitive(training_set: TrainingSet) -> None:
    first = training_data_hash(training_set)
    assert first.startswith("sha256:") and len(first) == len("sha256:") + 64
    copy = dataclasses.replace(
        training_set, X=training_set.X.copy(), Y=training_set.Y.copy(), sample_weight=training_set.sample_weight.copy()
    )
    assert training_data_hash(copy) == first
    weights = training_set.sample_weight.copy()
    weights.iloc[10] += 1e-9
    assert training_data_hash(dataclasses.replace(training_set, sample_weight=weights)) != first
    Y = training_set.Y.copy()
    Y.iloc[0, 0] = Y.iloc[0, 0] + 1e-6 if np.isfinite(Y.iloc[0, 0]) else 0.0
    assert training_data_hash(dataclasses.replace(training_set, Y=Y)) != first
    ids = list(training_set.factor_ids)
    ids[0], ids[1] = ids[1], ids[0]
    assert training_data_hash(dataclasses.replace(training_set, factor_ids=ids)) != first


def test_describe_rows(tmp_path: Path, satellite: SatelliteTranslator, training_set: TrainingSet) -> None:
    registry = _registry_with_lanes(tmp_path, satellite, training_set)
    rows = registry.describe()
    assert [r["lane"] for r in rows] == ["stable", "current", "experimental"]
    assert all(tuple(r) == DESCRIBE_COLUMNS for r in rows)
    assert rows[0]["version"] == "v0001" and rows[2]["version"] == "v0002"
    assert rows[0]["metrics"] == {"energy_score": 4.2, "backtest": GOOD}  # as registered, plus its recorded backtest
    assert rows[0]["training_data_hash"] == training_data_hash(training_set)
    table = describe_command(tmp_path)
    assert all(isinstance(v, str) for row in table for v in row.values())
    assert table[0]["metrics"] == "backtest ES=3.5 cov90=0.88, energy_score=4.2"
    assert describe_command(tmp_path / "none")[0]["version"] == "-"


def test_most_conservative_picks_the_more_severe(draw: ShockSet) -> None:
    milder = dataclasses.replace(draw, shocks=draw.shocks * 0.5)
    assert factor_severity(draw) > factor_severity(milder) > 0
    lane, chosen = most_conservative({"stable": milder, "current": draw, "experimental": milder})
    assert lane == "current"
    assert chosen.shocks is draw.shocks
    assert chosen.metadata["lane"] == "current" and set(chosen.metadata["severity_by_lane"]) == {
        "stable", "current", "experimental",
    }
    assert "lane" not in draw.metadata  # the input is not modified
    # the hook: any severity callable (e.g. the 99% portfolio loss) decides
    lane, _ = most_conservative({"stable": milder, "current": draw}, severity=lambda s: -factor_severity(s))
    assert lane == "stable"
    # ties go to the most trusted lane
    lane, _ = most_conservative({"experimental": draw, "stable": draw, "current": draw})
    assert lane == "stable"
    with pytest.raises(ValueError):
        most_conservative({})


def test_an_identical_retrain_is_not_a_new_version(
    tmp_path: Path, satellite: SatelliteTranslator, satellite_b: SatelliteTranslator, training_set: TrainingSet
) -> None:
    registry = ModelRegistry(tmp_path)
    first = registry.register(satellite, training=training_set)
    refit = SatelliteTranslator().fit(training_set)  # the same data, the same code: the same files
    registry.register(satellite_b)  # v0002 takes experimental
    again = registry.register(refit, training=training_set)
    assert again.ref == first.ref == "satellite/v0001"
    assert [v.version for v in registry.list_versions("satellite")] == ["v0001", "v0002"]
    assert registry.lane("experimental").ref == "satellite/v0001"  # type: ignore[union-attr]
    event = registry.history()[-1]
    assert event["event"] == "register_identical" and event["replaced"] == {"model_id": "satellite", "version": "v0002"}
    assert json.loads((first.path / "metadata.json").read_text())["content_hash"].startswith("sha256:")


def test_promotion_passes_the_backtest_gates_or_is_refused(
    tmp_path: Path, satellite: SatelliteTranslator, satellite_b: SatelliteTranslator
) -> None:
    registry = ModelRegistry(tmp_path)
    registry.register(satellite)
    with pytest.raises(RegistryError, match="backtest recorded"):
        registry.promote("satellite", "v0001", "current")  # no scores: refused
    registry.record_backtest("satellite/v0001", GOOD)
    registry.promote("satellite", "v0001", "current")
    registry.register(satellite_b)
    registry.record_backtest("satellite/v0002", {"energy_score": 3.65, "coverage_90": 0.88})  # 4% worse
    gates = registry.promotion_gates("satellite", "v0002", "current")
    assert not gates.passed and any("not worse than the incumbent" in f for f in gates.failed())
    with pytest.raises(RegistryError, match="not worse than the incumbent"):
        registry.promote("satellite", "v0002", "current")
    registry.record_backtest("satellite/v0002", {"energy_score": 3.40, "coverage_90": 0.75})  # better, under-covers
    with pytest.raises(RegistryError, match="coverage_90 within bounds"):
        registry.promote("satellite", "v0002", "current")
    with pytest.raises(RegistryError, match="needs a note"):
        registry.promote("satellite", "v0002", "current", force=True)
    message = promote_command(tmp_path, "satellite", "v0002", "current", force=True, note="validator sign-off 42")
    assert "FORCED" in message and "[FAIL] coverage_90 within bounds" in message
    event = registry.history()[-1]
    assert event["event"] == "promote" and event["forced"] is True and event["note"] == "validator sign-off 42"
    assert [g["passed"] for g in event["gates"]] == [True, False, True]
    assert registry.lane("current").ref == "satellite/v0002"  # type: ignore[union-attr]
