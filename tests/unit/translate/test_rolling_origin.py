"""Rolling-origin evaluation: the past only, every quarter once, stress split, comparison interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from risk_dagster.market.history import FactorHistory
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.rolling_origin import (
    origins,
    recession_indicator,
    rolling_origin,
    rolling_origin_markdown,
    stress_quarters,
)

from .test_backtest import RecordingSatellite, WideSatellite

FIRST = "2018Q1"


def test_origins_tile_the_quarters_once():
    blocks = origins(pd.Period("2025Q2", freq="Q-DEC"), first="2000Q1", step=8)
    quarters = [q for b in blocks.values() for q in b]
    assert len(quarters) == len(set(quarters)) == (pd.Period("2025Q2", freq="Q-DEC") - pd.Period("2000Q1", freq="Q-DEC")).n + 1
    assert list(blocks)[0] == "origin 2000Q1" and blocks["origin 2024Q1"][-1] == pd.Period("2025Q2", freq="Q-DEC")


def test_stress_quarters_are_vix_above_30_or_recession(fed_history_2026: MacroScenario):
    stress = stress_quarters(fed_history_2026, recession_indicator())
    q = lambda s: pd.Period(s, freq="Q-DEC")  # noqa: E731
    assert {q("2008Q4"), q("2020Q1"), q("2001Q2")} <= stress  # VIX spikes and recessions
    assert q("2001Q2") in stress and q("2005Q2") not in stress and q("2017Q2") not in stress


@pytest.fixture(scope="module")
def evaluation(factor_history: FactorHistory, fed_history_2026: MacroScenario):
    RecordingSatellite.fitted_on.clear()
    doc = rolling_origin(
        factor_history,
        fed_history_2026,
        models={"satellite": RecordingSatellite, "transformer": WideSatellite},
        recession=recession_indicator(),
        first_origin=FIRST,
        n_samples=100,
        seeds=(0, 1),
        n_boot=300,
    )
    return doc, list(RecordingSatellite.fitted_on)


def test_each_origin_is_fitted_on_the_past_only(evaluation):
    doc, fitted_on = evaluation
    starts = [pd.Period(o, freq="Q-DEC") for o in doc["settings"]["origins"]]
    assert len(fitted_on) == len(starts) * 2  # one fit per origin and seed set
    for quarters, origin in zip(fitted_on[::2], starts, strict=True):
        assert max(quarters) < origin, (max(quarters), origin)


def test_scores_pooled_stress_and_calm(evaluation):
    doc, _ = evaluation
    for model in ("satellite", "transformer"):
        row = doc[model]
        assert {"energy_score", "crps", "coverage_90", "coverage_99", "stress", "calm"} <= set(row)
        assert row["stress"]["n_quarters"] + row["calm"]["n_quarters"] == row["n_quarters"] == doc["settings"]["scored_quarters"]
        assert len(row["by_seed_set"]["energy_score"]) == 2
    # The over-dispersed copy covers more and scores worse than the plain satellite.
    assert doc["transformer"]["coverage_90"] > doc["satellite"]["coverage_90"]
    comp = doc["comparison"]
    assert comp["ratio"] > 1.0
    low, high = comp["interval"]
    assert low <= comp["ratio"] <= high
    assert comp["stress"]["n_quarters"] == doc["satellite"]["stress"]["n_quarters"]
    assert "Rolling-origin evaluation" in rolling_origin_markdown(doc)
    assert np.isfinite(doc["satellite"]["outside_design_windows"]["energy_score"])


def test_masked_conditioning_withholds_variables_from_every_model(factor_history: FactorHistory, fed_history_2026: MacroScenario):
    from risk_dagster.translate.features import ACTIVITY_VARIABLES, CONDITIONING_VARIABLES
    from risk_dagster.translate.rolling_origin import masked_variables
    from risk_dagster.translate.satellite import SatelliteTranslator

    blocks = origins(pd.Period("2025Q2", freq="Q-DEC"), first="2000Q1", step=8)
    for fraction, k in ((0.3, 3), (0.6, 5)):
        masks = masked_variables(blocks, fraction, 7)
        assert set(masks) == set(blocks) and all(len(v) == k for v in masks.values())
        assert all(set(v) <= set(CONDITIONING_VARIABLES) and not set(ACTIVITY_VARIABLES) <= set(v) for v in masks.values())
        assert masks == masked_variables(blocks, fraction, 7) and masks != masked_variables(blocks, fraction, 8)
    assert masked_variables(blocks, 0.0, 7) == {}

    fitted: list[SatelliteTranslator] = []

    class Recording(SatelliteTranslator):
        def fit(self, training):  # type: ignore[no-untyped-def]
            fitted.append(self)
            return super().fit(training)

    doc = rolling_origin(
        factor_history, fed_history_2026, models={"satellite": Recording, "transformer": SatelliteTranslator},
        first_origin="2022Q1", n_samples=60, seeds=(0,), n_boot=50, mask_fraction=0.6, mask_seed=3,
    )  # fmt: skip
    masks = doc["settings"]["masked_variables"]
    assert doc["settings"]["mask_fraction"] == 0.6 and len(masks) == 2 and "paths" not in doc
    # Each origin's satellite was fitted without the regressors of its withheld variables.
    from risk_dagster.translate.conditioning import hidden_features

    for model, (label, withheld) in zip(fitted, masks.items(), strict=True):
        assert not set(model.regressors) & set(hidden_features(withheld)), label
        assert len(model.regressors) < 9
    assert np.isfinite(doc["satellite"]["energy_score"])
