"""The translators' backtest is computed once per training data, settings and code; a warm run reuses it."""

import json

import dagster as dg
import pytest

import risk_dagster.assets.translate as translate_assets
from risk_dagster.market.inputs import load_history_inputs
from risk_dagster.resources import OutputDir, TranslationSettings


class _Result:
    def __init__(self, n: int) -> None:
        self.n = n

    def to_json(self) -> dict:
        return {"comparison": {"es_ratio": 0.9 + self.n, "es_ratio_interval_90": [0.8, 1.0], "goal_met": True}}

    def to_markdown(self) -> str:
        return f"| run | {self.n} |"


@pytest.fixture(scope="module")
def inputs():
    return load_history_inputs()


def test_a_second_run_on_the_same_data_reuses_the_scores_and_other_settings_do_not(tmp_path, inputs, monkeypatch) -> None:
    calls: list[int] = []

    def fake_backtest(*args, **kwargs):
        calls.append(kwargs["n_samples"])
        return _Result(len(calls))

    monkeypatch.setattr(translate_assets, "run_backtest", fake_backtest)
    out = OutputDir(path=str(tmp_path))

    def run(settings: TranslationSettings) -> dg.MaterializeResult:
        return translate_assets.translator_backtest(
            output_dir=out, translation_settings=settings, factor_history=inputs.factor_history,
            fed_history=inputs.fed_history, source_reliability=inputs.assessments,
        )  # fmt: skip

    small = TranslationSettings(transformer_preset="small", backtest_samples=40, backtest_seed_sets=1)
    first, second = run(small), run(small)
    assert calls == [40]
    assert first.metadata["cached"] is False and second.metadata["cached"] is True
    assert second.metadata["scores"].value == "| run | 1 |"
    assert json.loads((tmp_path / "translate" / "backtest.json").read_text())["comparison"]["es_ratio"] == 1.9
    run(TranslationSettings(transformer_preset="small", backtest_samples=80, backtest_seed_sets=1))
    assert calls == [40, 80]  # another sample count: computed again
