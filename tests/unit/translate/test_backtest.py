"""The leave-crisis-out backtest: exclusion of the windows, the scoring rules' use, the
reaction of the scores to a deliberately over-dispersed model, and the JSON layout."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scoringrules as sr

from risk_dagster.market.history import FactorHistory
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate import backtest as bt
from risk_dagster.translate.backtest import (
    CRISIS_WINDOWS,
    BacktestResult,
    crps,
    energy_score,
    interval_coverage,
    run_backtest,
    window_training_set,
)
from risk_dagster.translate.base import TrainingSet
from risk_dagster.translate.satellite import SatelliteTranslator

N_SAMPLES = 200


class RecordingSatellite(SatelliteTranslator):
    """The satellite without its (report-only) quantile regressions, recording what it is fit on."""

    fitted_on: list[pd.PeriodIndex] = []

    def __init__(self) -> None:
        super().__init__(quantiles=())

    def fit(self, training: TrainingSet) -> RecordingSatellite:
        RecordingSatellite.fitted_on.append(training.quarters)
        return super().fit(training)


class WideSatellite(SatelliteTranslator):
    """The satellite with its draws spread x3 around their predictive mean (over-dispersed)."""

    def __init__(self) -> None:
        super().__init__(quantiles=())

    def predictive_changes(
        self, X: pd.DataFrame, n_samples: int, seed: int, *, context: pd.DataFrame | None = None
    ) -> np.ndarray:
        draws = super().predictive_changes(X, n_samples, seed, context=context)
        mean = self.predictive_mean(X, context=context)
        return mean[None] + 3.0 * (draws - mean[None])


@pytest.fixture(scope="module")
def result(factor_history: FactorHistory, fed_history_2026: MacroScenario) -> BacktestResult:
    RecordingSatellite.fitted_on = []
    return run_backtest(
        factor_history,
        fed_history_2026,
        models={"satellite": RecordingSatellite, "wide": WideSatellite},
        n_samples=N_SAMPLES,
        seeds=(0, 1),
        challenger="wide",
        n_boot=300,
    )


# ----------------------------------------------------------------------------- scoring rules
def test_energy_score_known_answer() -> None:
    # Two members in 2-D: ES = mean ||x_m - y|| - 1/(2 M^2) sum ||x_m - x_j||.
    y = np.array([0.0, 0.0])
    x = np.array([[3.0, 4.0], [0.0, 1.0]])
    hand = (5.0 + 1.0) / 2 - (2 * np.hypot(3.0, 3.0)) / (2 * 4)
    assert energy_score(y, x) == pytest.approx(hand, abs=1e-12)
    assert float(sr.energy_score(y, x)) == pytest.approx(hand, abs=1e-12)


def test_energy_score_matches_scoringrules_on_random_ensemble() -> None:
    rng = np.random.default_rng(3)
    x, y = rng.standard_t(4, size=(150, 7)), rng.normal(size=7)
    assert energy_score(y, x, chunk=16) == pytest.approx(float(sr.energy_score(y, x)), rel=1e-10)


def test_crps_known_answer() -> None:
    # Members {0, 1, 3}, y = 2: mean |x - y| = 4/3; sum over ordered pairs |x - x'| = 12, / (2 M^2) = 2/3.
    x = np.array([[0.0], [1.0], [3.0]])
    hand = (2 + 1 + 1) / 3 - (2 * (1 + 3 + 2)) / (2 * 9)
    assert crps(np.array([2.0]), x)[0] == pytest.approx(hand, abs=1e-12)


def test_interval_coverage_bounds() -> None:
    x = np.arange(101, dtype=float)[:, None]  # quantiles: 5% -> 5, 95% -> 95
    inside = interval_coverage(np.array([5.0, 95.0, 4.9, 95.1, 50.0]), np.repeat(x, 5, axis=1), 0.90)
    assert inside.tolist() == [True, True, False, False, True]


# ----------------------------------------------------------------------------- leave-crisis-out
@pytest.mark.parametrize("window", list(CRISIS_WINDOWS))
def test_window_quarters_excluded_from_training(
    factor_history: FactorHistory, fed_history_2026: MacroScenario, window: str
) -> None:
    quarters = pd.PeriodIndex(CRISIS_WINDOWS[window], freq="Q-DEC")
    training = window_training_set(factor_history, fed_history_2026, quarters)
    assert not training.quarters.isin(quarters).any()
    assert not training.Y.index.isin(quarters).any()
    # Everything else stays: the quarter before and after the window are trained on.
    assert quarters[0] - 1 in training.quarters and quarters[-1] + 1 in training.quarters
    buffered = window_training_set(factor_history, fed_history_2026, quarters, buffer_after=2)
    assert quarters[-1] + 1 not in buffered.quarters and quarters[-1] + 2 not in buffered.quarters


def test_models_are_fit_without_their_window(result: BacktestResult) -> None:
    fitted = RecordingSatellite.fitted_on
    assert len(fitted) == len(CRISIS_WINDOWS) * 2  # one fit per window and seed set
    for k, quarters in enumerate(CRISIS_WINDOWS.values()):
        held_out = pd.PeriodIndex(quarters, freq="Q-DEC")
        for trained in fitted[2 * k : 2 * k + 2]:
            assert not trained.isin(held_out).any()


# ----------------------------------------------------------------------------- scores
def test_scores_finite_and_open_factors_only(result: BacktestResult) -> None:
    q, c = result.quarter_scores, result.cell_scores
    assert np.isfinite(q["energy_score"]).all() and (q["energy_score"] > 0).all()
    assert np.isfinite(c["crps"]).all()
    scored = set(result.settings["factors_scored"])
    assert set(c["factor_id"]) <= scored
    for fixed in ("rates.ust.10y", "credit.bbb", "equity.total_market", "vol.vix", "fx.eurusd"):
        assert fixed not in scored and fixed in result.settings["factors_fixed_excluded"]
    assert result.settings["n_quarters"] == 14
    assert set(q.loc[q["group"] == "all", "quarter"]) == {p for qs in CRISIS_WINDOWS.values() for p in qs}


def test_overdispersed_model_covers_more_and_scores_worse(result: BacktestResult) -> None:
    plain, wide = result.model_summary("satellite"), result.model_summary("wide")
    assert wide["coverage_90"] > plain["coverage_90"]
    assert wide["coverage_99"] >= plain["coverage_99"]
    assert wide["crps"] > plain["crps"]
    assert wide["energy_score"] > plain["energy_score"]
    comp = result.comparison()
    assert comp is not None and comp["es_ratio"] > 1.0
    lo, hi = comp["es_ratio_interval_90"]
    assert lo <= comp["es_ratio"] <= hi
    assert comp["goal_met"] is False


def test_json_has_the_issue_keys(result: BacktestResult) -> None:
    out: dict[str, Any] = json.loads(json.dumps(result.to_json(), allow_nan=False))
    for model in ("satellite", "wide"):
        block = out[model]
        for key in ("energy_score", "crps", "coverage_90", "coverage_99"):
            assert isinstance(block[key], float)
            for window in CRISIS_WINDOWS:
                assert isinstance(block["windows"][window][key], float)
        assert set(block["by_class"]) <= set(bt.CLASSES) and "rates" in block["by_class"]
        assert len(block["seed_spread"]["energy_score"]["per_seed_set"]) == 2
    assert {"es_ratio", "es_ratio_interval_90", "goal_met"} <= set(out["comparison"])
    settings = out["settings"]
    assert settings["n_samples"] == N_SAMPLES and settings["seed_sets"] == [[0, 0], [1, 1]]
    assert set(settings["windows"]) == set(CRISIS_WINDOWS) and len(settings["factors_scored"]) > 30
    md = result.to_markdown()
    assert "| satellite | pooled |" in md and "wide / satellite energy score" in md


def test_backtest_command_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bt, "default_models", lambda quick=False: ({"satellite": RecordingSatellite}, ["note"]))
    monkeypatch.setattr(bt, "CRISIS_WINDOWS", {"2020": CRISIS_WINDOWS["2020"]})
    out = json.loads(bt.backtest_command(json=True, quick=True))
    assert out["transformer"] is None and out["comparison"] is None
    assert {"energy_score", "crps", "coverage_90", "coverage_99", "windows"} <= set(out["satellite"])
    assert out["notes"] == ["note"]
    assert "| satellite | pooled |" in bt.backtest_command(json=False, quick=True)


def test_small_transformer_runs_side_by_side(factor_history: FactorHistory, fed_history_2026: MacroScenario) -> None:
    import risk_dagster.translate.transformer as transformer
    config = transformer.TransformerConfig.small(n_seeds=1, max_epochs=30)
    res = run_backtest(
        factor_history,
        fed_history_2026,
        models={
            "satellite": RecordingSatellite,
            "transformer": lambda seed: transformer.TransformerTranslator(config, base_seed=seed),
        },
        windows={"2020": CRISIS_WINDOWS["2020"]},
        n_samples=100,
        seeds=(0,),
        n_boot=100,
    )
    out = res.to_json()
    assert np.isfinite(out["transformer"]["energy_score"]) and np.isfinite(out["comparison"]["es_ratio"])
    assert isinstance(out["comparison"]["goal_met"], bool)
