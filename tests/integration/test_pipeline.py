"""Real in-process Dagster materializations of the whole graph, on the shipped data.

One run of the pipeline (history job + one scenario partition + one user file) is shared by
the tests of this module; the bad-file test then proves a refused file leaves the previous
good materialization, and its parquet output, untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from risk_dagster.errors import InputFileError
from risk_dagster.resources import TranslationSettings
from risk_dagster.runner import RunFailed, run_pipeline
from risk_dagster.translate.shockset import ShockSet

# Small sizes keep the suite fast; the main job runs the defaults.
SMALL = TranslationSettings(
    n_samples=200,
    transformer_preset="small",
    synthetic_paths=2,
    synthetic_samples_per_path=60,
    backtest_samples=60,
    backtest_seed_sets=1,
    calibration_first_origin="2020Q1",  # three origins (2020, 2022, 2024) instead of ten
    calibration_samples=100,
)

FED = Path(__file__).resolve().parents[2] / "risk_dagster" / "data" / "fed_scenarios"
SA_2025_DOMESTIC = FED / "2025" / "2025-Table_3A_Supervisory_Severely_Adverse_Domestic.csv"
SA_2025_INTERNATIONAL = FED / "2025" / "2025-Table_3B_Supervisory_Severely_Adverse_International.csv"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: pytest.MonkeyPatch):
    root = tmp_path_factory.mktemp("pipeline")
    monkeypatch_module.setenv("DAGSTER_HOME", str(root / "home"))
    (root / "home").mkdir()
    # A user's own copy of a Fed table under a name that says nothing about what it is.
    user_file = root / "my_bank_scenario.csv"
    shutil.copy(SA_2025_DOMESTIC, user_file)
    lines: list[str] = []
    summary = run_pipeline(
        root / "out",
        scenarios=["fed-2026-severely-adverse", "fed-2026-baseline", "eba-2025-adverse"],
        scenario_files=[user_file],
        progress=lines.append,
        translation=SMALL,
    )
    return {"root": root, "summary": summary, "progress": lines, "user_file": user_file}


@pytest.fixture(scope="module")
def monkeypatch_module():
    patcher = pytest.MonkeyPatch()
    yield patcher
    patcher.undo()


def _instance(pipeline) -> dg.DagsterInstance:
    return dg.DagsterInstance.local_temp(tempdir=str(pipeline["root"] / "home"))


def test_run_summary_lists_scenarios_and_checks(pipeline):
    out = pipeline["root"] / "out"
    doc = json.loads((out / "run_summary.json").read_text())
    assert doc["run_id"] == pipeline["summary"].run_id
    assert "fed-2026-severely-adverse" in doc["scenarios"]
    user_ids = [s for s in doc["scenarios"] if not s.startswith(("fed-2026-", "eba-"))]
    assert user_ids, "the user's scenario file became a partition"
    assert doc["scenarios"]["fed-2026-severely-adverse"]["scenario"]["jump_off"] == "2025Q4"
    names = {c["name"] for c in doc["checks"]}
    assert "macro_scenarios:contract_fed_scenario_domestic" in names
    assert "factor_history:contract_factor_history" in names
    # every check passes but the statistics' own (a small run's calibration has 14 stress quarters and
    # 100 draws: some statistics may miss their bound, which makes the scenario a draft, not a failure)
    failed = [c for c in doc["checks"] if not c["passed"] and not c["check"].startswith("stat_") and c["severity"] == "ERROR"]
    assert not failed, failed
    # ... but the non-blocking contracts of the damaged euribor.it scrape, which fail on purpose (WARN):
    # they lower its reliability weight instead of stopping the run
    warned = {c["name"] for c in doc["checks"] if not c["passed"] and c["severity"] == "WARN"}
    assert warned == {"euribor:contract_euribor", "eurirs:contract_eurirs"}, warned
    assert doc["scenarios"]["eba-2025-adverse"]["scenario"]["jump_off"] == "2024Q4"
    assert any("history" in line for line in pipeline["progress"])
    for entry in doc["scenarios"].values():
        assert entry["verdict"] in ("submission", "draft")
        assert (entry["verdict"] == "submission") == (entry["conservativeness"]["passed"] == 25)


def test_every_asset_materialized_in_the_instance(pipeline):
    from risk_dagster.definitions import build_definitions

    defs = build_definitions([str(pipeline["user_file"])], translation=SMALL)
    instance = _instance(pipeline)
    keys = [key for key in defs.resolve_asset_graph().get_all_asset_keys()]
    missing = [k.to_user_string() for k in keys if instance.get_latest_materialization_event(k) is None]
    # the intraday loop's assets run on a market snapshot, not in the main job (their test is below)
    assert sorted(missing) == ["intraday_stress", "market_snapshot"]


def test_scenario_partition_holds_the_real_path(pipeline):
    out = pipeline["root"] / "out"
    data = pd.read_parquet(out / "scenarios" / "fed-2026-severely-adverse.parquet")
    unemployment = data[data["variable"] == "unemployment_rate"]["value"]
    assert unemployment.max() == pytest.approx(10.0)
    vix = data[data["variable"] == "vix"]["value"]
    assert vix.max() == pytest.approx(72.0)
    assert data["quarter"].nunique() == 13


def test_factor_history_and_weights(pipeline):
    out = pipeline["root"] / "out"
    levels = pd.read_parquet(out / "market" / "factor_levels.parquet")
    assert levels.shape[1] >= 40
    coverage = pd.read_parquet(out / "market" / "factor_coverage.parquet")
    assert (coverage["n_quarters"] > 0).sum() >= 40
    weights = pd.read_parquet(out / "quality" / "source_reliability.parquet")
    assert {"source", "prior", "weight"} <= set(weights.columns)
    assert ((weights["weight"] > 0) & (weights["weight"] <= weights["prior"] + 1e-12)).all()
    html = (out / "quality" / "quality_report.html").read_text()
    assert "Source reliability weights" in html and "contract_factor_history" in html


def test_reliability_weights_are_asset_metadata(pipeline):
    instance = _instance(pipeline)
    event = instance.get_latest_materialization_event(dg.AssetKey("source_reliability"))
    metadata = event.asset_materialization.metadata
    assert "weights" in metadata
    assert any(key.startswith("weight/") for key in metadata)


def test_bad_file_leaves_previous_good_materialization(pipeline):
    root = pipeline["root"]
    user_file = pipeline["user_file"]
    out = root / "out"
    summary = pipeline["summary"]
    user_id = next(s for s in summary.scenarios if s != "fed-2026-severely-adverse" and not s.startswith("eba-"))
    parquet = out / "scenarios" / f"{user_id}.parquet"
    before = parquet.read_bytes()
    instance = _instance(pipeline)
    before_event = instance.get_latest_materialization_event(dg.AssetKey("macro_scenarios"))

    good = user_file.read_text()
    # Same scenario, but the unemployment rate of the third projected quarter is 250.
    lines = good.splitlines()
    cells = lines[3].split(",")
    cells[6] = "250"
    lines[3] = ",".join(cells)
    from risk_dagster.definitions import SCENARIO_JOB, build_definitions

    # The code location was loaded while the file was good (as in a running `dagster dev`).
    defs = build_definitions([str(user_file)], output_dir=str(out), translation=SMALL)
    user_file.write_text("\n".join(lines) + "\n")
    try:
        result = defs.resolve_job_def(SCENARIO_JOB).execute_in_process(
            instance=instance, partition_key=user_id, raise_on_error=False
        )
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        assert "my_bank_scenario.csv" in str(failure.step_failure_data.error.to_string())
        # A fresh command-line run refuses the file up front, naming it.
        with pytest.raises((RunFailed, InputFileError)) as refused:
            run_pipeline(out, scenarios=[user_id], scenario_files=[user_file])
        assert "my_bank_scenario.csv" in str(refused.value) and "250" in str(refused.value)
    finally:
        user_file.write_text(good)
    assert parquet.read_bytes() == before
    after_event = instance.get_latest_materialization_event(dg.AssetKey("macro_scenarios"))
    assert (after_event.run_id, after_event.timestamp) == (before_event.run_id, before_event.timestamp)
    # The value downstream assets load is still the good one.
    scenario = defs.load_asset_value("macro_scenarios", partition_key=user_id, instance=instance)
    assert scenario.series("unemployment_rate").max() == pytest.approx(10.0)


def test_cli_run_refuses_a_bad_scenario_file_in_one_line(tmp_path):
    bad = tmp_path / "broken.csv"
    bad.write_text("Scenario Name,Date,Unemployment rate\nSupervisory Baseline,2026 Q1,abc\n")
    proc = subprocess.run(
        [sys.executable, "-m", "risk_dagster.cli", "run", "--scenario-file", str(bad), "--output", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"},
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    error_lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "broken.csv" in error_lines[0]


def test_translation_outputs_and_summary(pipeline):
    from risk_dagster.translate.shockset import ShockSet

    out = pipeline["root"] / "out"
    doc = json.loads((out / "run_summary.json").read_text())
    entry = doc["scenarios"]["fed-2026-severely-adverse"]
    assert entry["translator_used"]["model_id"] == "transformer"
    assert entry["translator_used"]["registry_ref"].startswith("transformer/")
    assert 0.0 <= entry["plausibility_rejection_rate"] < 1.0
    assert set(entry["translators"]) >= {"experimental"}
    dist = entry["loss_distribution"]
    assert dist["es_99"] >= dist["var_99"] >= dist["median"]
    assert set(entry["losses"]) == {
        "loan_losses", "trading_and_counterparty", "securities_afs", "securities_htm", "other_losses", "total",
    }  # fmt: skip
    # A severely adverse path costs this bank money, on either scenario set.
    assert entry["losses"]["total"] > 0 and entry["traditional"]["losses"]["total"] > 0
    assert entry["losses"]["loan_losses"] > 0 and entry["losses"]["trading_and_counterparty"] > 0
    ai = ShockSet.load_npz(out / "shocks" / "fed-2026-severely-adverse" / "ai.npz")
    traditional = ShockSet.load_npz(out / "shocks" / "fed-2026-severely-adverse" / "traditional.npz")
    assert ai.n_samples > 0 and traditional.n_samples > 0
    assert ai.quarters[0] == "2026Q1" and len(ai.quarters) == 13
    vix = ai.levels[:, :, ai.factor_index("vol.vix")]
    # The supervisor fixes the VIX: every sample peaks at the scenario's 72.
    assert vix.max(axis=1) == pytest.approx([72.0] * ai.n_samples)
    for chart in ("fan_chart_fixed.png", "fan_chart_open.png"):
        assert (out / "shocks" / "fed-2026-severely-adverse" / chart).stat().st_size > 10_000
    backtest = json.loads((out / "translate" / "backtest.json").read_text())
    assert {"satellite", "transformer"} <= set(backtest)
    names = {c["name"] for c in doc["checks"]}
    assert "granular_shocks:fixed_factors_reproduce_scenario" in names
    assert "traditional_shocks:no_sample_breaks_a_hard_rule" in names


def test_backtest_metadata_carries_the_es_ratio(pipeline):
    backtest = json.loads((pipeline["root"] / "out" / "translate" / "backtest.json").read_text())
    event = _instance(pipeline).get_latest_materialization_event(dg.AssetKey("translator_backtest"))
    metadata = event.asset_materialization.metadata
    shown = metadata["transformer_vs_satellite_es_ratio"].value
    assert shown == pytest.approx(backtest["comparison"]["es_ratio"], rel=1e-12)
    assert 0.2 < shown < 5.0  # a finite energy-score ratio, not NaN
    low, high = (float(x) for x in metadata["es_ratio_interval_90"].value.split("-"))
    assert low <= round(shown, 3) + 1e-3 and round(shown, 3) - 1e-3 <= high


def test_capital_in_the_summary_and_the_output_folder(pipeline):
    out = pipeline["root"] / "out"
    doc = json.loads((out / "run_summary.json").read_text())
    entry = doc["scenarios"]["fed-2026-severely-adverse"]
    cet1 = entry["cet1"]
    # The sample bank's 13.7% at jump-off falls under the severely adverse path; the buffer is floored at 2.5%.
    assert cet1["start"] == pytest.approx(100 * 240 / 1750)
    assert cet1["trough"] < cet1["start"] and cet1["scb"] >= 2.5 and len(cet1["path"]) == 9
    assert set(entry["loss_rates"]) == {
        "first_lien_mortgage", "junior_lien_heloc", "c_and_i", "cre", "credit_card", "other_consumer", "other_loans",
        "total",
    }  # fmt: skip
    assert entry["loss_rates"]["credit_card"] > entry["loss_rates"]["first_lien_mortgage"] > 0
    assert entry["loss_rates"]["other_loans"] is None  # the sample book has no such loans
    folder = out / "capital" / "fed-2026-severely-adverse"
    summary = json.loads((folder / "capital_summary.json").read_text())
    assert summary["ai"]["cet1_trough"] == pytest.approx(cet1["trough"])
    assert (folder / "cet1_path.png").stat().st_size > 10_000
    lines = pd.read_parquet(out / "stress" / "fed-2026-severely-adverse" / "loss_lines_ai.parquet")
    assert lines["total"].to_numpy() == pytest.approx(lines.drop(columns="total").sum(axis=1).to_numpy())


def test_severely_adverse_minimum_lies_below_the_baseline(pipeline):
    doc = json.loads((pipeline["root"] / "out" / "run_summary.json").read_text())
    adverse, baseline = doc["scenarios"]["fed-2026-severely-adverse"], doc["scenarios"]["fed-2026-baseline"]
    assert adverse["cet1"]["trough"] < baseline["cet1"]["trough"]
    assert adverse["traditional"]["cet1"]["trough"] < baseline["traditional"]["cet1"]["trough"]
    assert adverse["losses"]["loan_losses"] > baseline["losses"]["loan_losses"]
    assert adverse["loss_rates"]["total"] > baseline["loss_rates"]["total"]


def test_capital_command_reads_the_run(pipeline):
    from typer.testing import CliRunner

    from risk_dagster.cli import app

    out = pipeline["root"] / "out"
    runner = CliRunner()
    result = runner.invoke(app, ["capital", "--scenario", "fed-2026-severely-adverse", "--output", str(out), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {"cet1_start", "cet1_trough", "trough_quarter", "scb", "path", "loss_rates", "losses"} <= set(doc)
    summary = json.loads((out / "run_summary.json").read_text())["scenarios"]["fed-2026-severely-adverse"]
    assert doc["cet1_trough"] == pytest.approx(summary["cet1"]["trough"])
    text = runner.invoke(app, ["capital", "--scenario", "fed-2026-severely-adverse", "--output", str(out)])
    assert text.exit_code == 0 and "stress capital buffer" in text.stdout and "PQ" in text.stdout
    bad = runner.invoke(app, ["capital", "--scenario", "fed-2026-severely-adverse", "--output", str(out), "--set", "x"])
    assert bad.exit_code == 2 and "--set must be ai or traditional" in bad.output


def test_conservativeness_table_recomputes_from_the_saved_outcomes(pipeline):
    from risk_dagster.conservativeness.saved import retest

    folder = pipeline["root"] / "out" / "conservativeness" / "fed-2026-severely-adverse"
    table = pd.read_csv(folder / "statistics.csv").set_index("id")
    assert len(table) == 25 and list(table["number"]) == list(range(1, 26))
    again = {t.id: t for t in retest(folder)}
    for sid, row in table.iterrows():
        assert again[sid].lower_bound == pytest.approx(row["bound"], rel=1e-9, abs=1e-12)
        assert again[sid].passed == row["passed"]
    # by hand, from the files: a loss statistic, a capital one, a calibration one
    ai = pd.read_parquet(folder / "outcomes_ai.parquet")
    trad = pd.read_parquet(folder / "outcomes_traditional.parquet")
    assert table.loc["loss_mean", "ai"] == pytest.approx(ai["total_loss"].mean())
    assert table.loc["loss_var_99", "traditional"] == pytest.approx(np.quantile(trad["total_loss"], 0.99))
    assert table.loc["cet1_min_p05", "ai"] == pytest.approx(np.quantile(ai["min_ratio"], 0.05))
    cal = pd.read_parquet(folder / "calibration_ai.parquet")
    assert table.loc["crisis_coverage_90", "ai"] == pytest.approx(cal["in_90"].sum() / cal["cells"].sum())
    assert table.loc["crisis_book_loss_pit", "ai"] == pytest.approx(cal["pit"].mean())
    assert set(cal.index) <= {"2020Q1", "2020Q2", "2020Q3", "2020Q4", "2021Q1", "2021Q4", "2022Q1", "2022Q2",
                              "2022Q3", "2022Q4", "2024Q3", "2025Q2"}  # the stress quarters of the three origins
    # the saved outcomes are the capital paths': the median minimum ratio is the summary's trough
    summary = json.loads((pipeline["root"] / "out" / "capital" / "fed-2026-severely-adverse" / "capital_summary.json").read_text())
    doc = json.loads((folder / "statistics.json").read_text())
    if doc["overlay_multiplier"] == 1.0:
        assert 100 * float(ai["min_ratio"].median()) == pytest.approx(summary["ai"]["cet1_trough"])


def test_conservativeness_in_the_summary_the_checks_and_the_command_line(pipeline):
    from typer.testing import CliRunner

    from risk_dagster.cli import app

    out = pipeline["root"] / "out"
    doc = json.loads((out / "run_summary.json").read_text())
    entry = doc["scenarios"]["fed-2026-severely-adverse"]["conservativeness"]
    assert entry["total"] == 25 and len(entry["statistics"]) == 25
    assert entry["passed"] == sum(s["passed"] for s in entry["statistics"])
    assert entry["most_conservative_lane"] in entry["lanes"] and entry["overlay_multiplier"] >= 1.0
    assert {"id", "direction", "ai", "traditional", "bound", "tolerance", "passed"} <= set(entry["statistics"][0])
    checks = {c["check"]: c for c in doc["checks"] if c["asset"] == "conservativeness"
              and c["partition"] == "fed-2026-severely-adverse"}  # fmt: skip
    assert len(checks) == 26 and checks["supervisor_fixed_factors_reproduced"]["passed"]
    assert sum(c["passed"] for name, c in checks.items() if name.startswith("stat_")) == entry["passed"]
    result = CliRunner().invoke(app, ["conservativeness", "--scenario", "fed-2026-severely-adverse", "--output", str(out), "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert [s["id"] for s in listed] == [s["id"] for s in entry["statistics"]]
    text = CliRunner().invoke(app, ["conservativeness", "--scenario", "fed-2026-severely-adverse", "--output", str(out)])
    assert text.exit_code == 0 and "crisis_book_loss_exceed_95" in text.output and "/25 statistics pass" in text.output


def _scenario_inputs(pipeline, scenario: str) -> dict:
    from risk_dagster.definitions import build_definitions

    # the values live with the run's outputs (the IO manager's store), so the definitions name that folder
    defs = build_definitions([str(pipeline["user_file"])], output_dir=str(pipeline["root"] / "out"), translation=SMALL)
    instance = _instance(pipeline)
    partitioned = {"traditional_shocks", "capital_projection", "stress_results", "macro_scenarios"}
    names = ["traditional_shocks", "capital_projection", "stress_results", "macro_scenarios", "sensitivities",
             "calibration_backtest", "portfolio", "balance_sheet", "nim_satellite", "fed_history", "factor_history",
             "plausibility_filter"]  # fmt: skip
    return {n: defs.load_asset_value(n, partition_key=scenario if n in partitioned else None, instance=instance) for n in names}


def test_overlay_lifts_a_milder_generator_and_leaves_a_harsher_one(pipeline):
    """The generator under test is the traditional one with its open-factor changes shrunk (milder) or its
    adverse ones enlarged (harsher), in the scenario samples and in the calibration draws alike."""
    from risk_dagster.assets.capital import scenario_evaluator
    from risk_dagster.assets.stress import engine_revaluer
    from risk_dagster.conservativeness.assessment import assess_scenario, traditional_basis
    from risk_dagster.conservativeness.calibration import AI_MODEL, TRADITIONAL_MODEL, CalibrationDraws
    from risk_dagster.conservativeness.overlay import scale_open_factors
    from risk_dagster.engine.sensitivities import delta_vector
    from risk_dagster.resources import CapitalSettings, EngineSettings
    from risk_dagster.translate.plausibility import PlausibilityFilter
    from risk_dagster.translate.shockset import ShockSet

    key = "fed-2026-severely-adverse"
    x = _scenario_inputs(pipeline, key)
    trad, sens, draws = x["traditional_shocks"], x["sensitivities"], x["calibration_backtest"]
    evaluator = scenario_evaluator(key, x["portfolio"], x["balance_sheet"], x["stress_results"], trad, x["nim_satellite"],
                                   x["macro_scenarios"], x["fed_history"], CapitalSettings(),
                                   revaluer=engine_revaluer(EngineSettings()))  # fmt: skip
    basis = traditional_basis(x["capital_projection"]["traditional"], trad, sens, draws)
    rules = PlausibilityFilter.load(Path(x["plausibility_filter"])).rules

    def generator(shocks: ShockSet, ai_draws: np.ndarray) -> tuple[ShockSet, CalibrationDraws]:
        d = CalibrationDraws(draws.quarters, draws.factor_ids, draws.realized,
                             {AI_MODEL: ai_draws, TRADITIONAL_MODEL: draws.draws[TRADITIONAL_MODEL]})  # fmt: skip
        return shocks, d

    def assess(shocks: ShockSet, d: CalibrationDraws):
        capital = evaluator.evaluate("generator", shocks)
        return assess_scenario(key, {"generator": shocks}, "generator", capital, basis, sens, d, evaluator.evaluate,
                               rules=rules, history_levels=x["factor_history"].levels, seed=20260101)  # fmt: skip

    mild = assess(*generator(scale_open_factors(trad, 0.6), 0.6 * draws.draws[TRADITIONAL_MODEL]))
    assert not mild.raw.all_passed
    assert mild.overlay_status == "applied", mild.overlay_reason
    # the overlay undoes the shrinking: m > 1 and at most the 1 / 0.6 that gives the traditional set back
    assert 1.0 < mild.multiplier <= 1.67
    assert mild.submitted.all_passed and mild.verdict == "submission"
    assert mild.submitted.shocks.metadata["overlay_multiplier"] == mild.multiplier

    # harsher: every open move that costs the book money enlarged by 30% (a move that earns it money is
    # not: uniform scaling enlarges the gains too, and moves the draws' mean off the realized changes)
    delta = delta_vector(sens, trad.factor_ids)
    opened = np.array([f not in set(trad.metadata["fixed_factors"]) for f in trad.factor_ids])
    hurts = (trad.shocks * delta[None, None, :] > 0) & opened[None, None, :]
    harsh_set = ShockSet(**{**trad.__dict__, "shocks": np.where(hurts, 1.3 * trad.shocks, trad.shocks)})
    base = draws.draws[TRADITIONAL_MODEL]
    harsh_draws = np.where(base * delta_vector(sens, list(draws.factor_ids))[None, None, :] > 0, 1.3 * base, base)
    harsh = assess(*generator(harsh_set, harsh_draws))
    assert harsh.raw.all_passed, [t.id for t in harsh.raw.tests if not t.passed]
    assert harsh.overlay_status == "not_needed" and harsh.multiplier == 1.0


# ----------------------------------------------------------------------------- the documentation pack
def _pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _leaves(obj, keys: tuple[str, ...]):
    """Numbers under the given keys of a pack.json subtree."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k in keys and isinstance(v, (int, float)) and not isinstance(v, bool):
                yield v
            else:
                yield from _leaves(v, keys)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v, keys)


def test_every_scenario_has_its_pack_in_the_summary(pipeline):
    doc = json.loads((pipeline["root"] / "out" / "run_summary.json").read_text())
    for sid, entry in doc["scenarios"].items():
        pack = entry["pack"]
        assert Path(pack["pdf"]).is_file() and pack["pages"] >= 12, (sid, pack)
        assert pack["verdict"] == entry["verdict"], sid  # a draft's pack says draft
        data = json.loads((Path(pack["pdf"]).parent / "pack.json").read_text())
        assert data["scenario_id"] == sid and data["pages"] == pack["pages"]
    run_level = doc["run_pack"]
    assert Path(run_level["pdf"]).is_file() and run_level["pages"] >= 2
    verdicts = {e["verdict"] for e in doc["scenarios"].values()}
    assert run_level["verdict"] == ("submission" if verdicts == {"submission"} else "draft")
    assert any("pack" in line and ".pdf" in line for line in pipeline["progress"])


def test_the_pack_shows_the_numbers_of_pack_json_on_rendered_pages(pipeline, tmp_path):
    from risk_dagster.report.render import number_text

    folder = pipeline["root"] / "out" / "pack" / "fed-2026-severely-adverse"
    data = json.loads((folder / "pack.json").read_text())
    text = _pdf_text(folder / "pack.pdf")
    flat = " ".join(text.split())
    # the headline, the losses by line, the 25 statistics' values and bounds: each printed as pack.json holds it
    numbers = [*_leaves(data["executive"]["headline"], ("ai", "traditional")),
               *_leaves(data["executive"]["losses"], ("ai_usd_bn", "traditional_usd_bn")),
               *_leaves(data["conservativeness"]["rows"], ("ai", "traditional", "lower_bound"))]  # fmt: skip
    assert len(numbers) >= 80
    missing = [x for x in numbers if number_text(x) not in flat]
    assert not missing, f"numbers of pack.json not in the PDF's text: {missing[:10]}"
    assert data["subtitle"] in flat and data["verdict"] in flat
    # every section has its title and content: the HTML section holds more than its heading
    html = (folder / "pack.html").read_text()
    import re

    sections = re.findall(r'<section class="pack-section" id="([^"]+)">(.*?)</section>', html, flags=re.S)
    assert len(sections) == 11
    for sid, body in sections:
        content = re.sub(r"<h2>.*?</h2>", "", body, flags=re.S)
        assert re.search(r"<(table|figure|p)\b", content), f"section {sid} is empty"
    for title in ("Executive summary", "Scenario design", "Conservativeness", "Sensitivity analysis", "Lineage appendix"):
        assert title in flat
    # the charts are inline SVG, the long tables CSV attachments beside the PDF
    assert html.count("<svg") >= 7
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:|file:|//)", html), "the page references something outside"
    assert (folder / "attachments" / "statistics.csv").is_file()
    # pages render: first, a middle and the last page to PNG, none blank
    pages = data["pages"]
    for page in (1, pages // 2, pages):
        png = tmp_path / f"page-{page}"
        subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", str(page), "-l", str(page), "-singlefile",
                        str(folder / "pack.pdf"), str(png)], check=True)  # fmt: skip
        from PIL import Image

        image = np.asarray(Image.open(f"{png}.png").convert("L"), dtype=float)
        assert image.std() > 5.0, f"page {page} renders blank"


def test_the_running_header_names_scenario_run_and_page_x_of_y(pipeline):
    folder = pipeline["root"] / "out" / "pack" / "fed-2026-severely-adverse"
    data = json.loads((folder / "pack.json").read_text())
    text = _pdf_text(folder / "pack.pdf")
    pages = text.split("\f")
    assert f"page 2 of {data['pages']}" in " ".join(pages[1].split()).lower()
    assert data["running"]["run_id"][:8] in " ".join(text.split())


def test_the_pack_carries_sensitivity_parity_and_the_satellites_out_of_sample(pipeline):
    out = pipeline["root"] / "out"
    data = json.loads((out / "pack" / "fed-2026-severely-adverse" / "pack.json").read_text())
    rows = data["sensitivity"]["assumptions"]
    by = {}
    for row in rows:
        by.setdefault(row["assumption"], []).append(row)
    assert set(by) == {"run as configured", "deposit beta", "allowance horizon", "trading shock window"}
    base = by["run as configured"][0]
    for row in by["deposit beta"] + by["allowance horizon"]:
        assert row["loss_9q_median"] == base["loss_9q_median"]  # these assumptions move no loss line
    for row in by["deposit beta"]:
        assert row["ppnr_9q_median"] != base["ppnr_9q_median"]
    windows = {row["value"]: row["cet1_min_median"] for row in by["trading shock window"]}
    assert windows[9] <= base["cet1_min_median"] <= windows[1]
    assert data["outcomes"]["parity"] and all(r["within_tolerance"] for r in data["outcomes"]["parity"])
    assert data["outcomes"]["loss_rate_outcomes"] and data["models"]["loss_rate_coefficients"]
    assert data["models"]["nim_coefficients"] and data["outcomes"]["nim_outcomes"]
    assert any(c["check"] == "trading_window_ordered" and c["passed"] for c in data["checks"])
    assert data["lineage"]["assets"] and all(a["run"] != "not materialized" for a in data["lineage"]["assets"])


def test_a_hostile_scenario_name_is_text_and_nothing_is_fetched(pipeline, tmp_path, listener):
    import dataclasses

    from risk_dagster.report.pack_data import PackContext, scenario_pack
    from risk_dagster.report.render import render_pack
    from risk_dagster.scenarios.registry import load_scenario

    port, seen = listener
    hostile = f'<img src="http://127.0.0.1:{port}/x.png"><script>alert(1)</script>'
    scenario = dataclasses.replace(load_scenario("fed-2026-severely-adverse"), name=hostile)
    ctx = PackContext(scenario=scenario, run_id="hostile-run", generated_at="2026-12-03T00:00:00+00:00")
    rendered = render_pack(scenario_pack(pipeline["root"] / "out", ctx), tmp_path / "pack")
    assert not seen, "the renderer connected to the network"
    assert not rendered.refused_urls  # the name never became a reference to fetch
    html = rendered.html.read_text()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "".join(hostile.split()) in "".join(_pdf_text(rendered.pdf).split())


# ----------------------------------------------------------------------------- determinism (last: it re-runs a partition)
_NOT_RESULTS = ("run_id", "outputs", "engine", "success", "pack", "verdict")  # ids, paths, timings; the runner adds the verdict


def _intraday(pipeline, snapshot_rows: list[tuple[str, float]], as_of: str, name: str) -> tuple[dg.ExecuteInProcessResult, dict]:
    """Drop a snapshot in the run's market inbox, take it and refresh the severely adverse scenario."""
    from risk_dagster.definitions import INTRADAY_JOB, MARKET_SNAPSHOT_JOB, build_definitions

    out = pipeline["root"] / "out"
    inbox = out / "market_inbox"
    inbox.mkdir(exist_ok=True)
    (inbox / name).write_text("as_of,factor_id,level\n" + "".join(f"{as_of},{f},{v!r}\n" for f, v in snapshot_rows))
    defs = build_definitions([str(pipeline["user_file"])], output_dir=str(out), translation=SMALL)
    taken = defs.resolve_job_def(MARKET_SNAPSHOT_JOB).execute_in_process(instance=_instance(pipeline))
    assert taken.success
    result = defs.resolve_job_def(INTRADAY_JOB).execute_in_process(
        instance=_instance(pipeline), partition_key="fed-2026-severely-adverse", raise_on_error=False)  # fmt: skip
    summary = json.loads((out / "stress" / "fed-2026-severely-adverse" / "intraday.json").read_text())
    return result, summary


def test_the_intraday_refresh_revalues_the_trading_book_at_the_snapshot(pipeline):
    from risk_dagster.translate.shockset import ShockSet

    out = pipeline["root"] / "out"
    ai = ShockSet.load_npz(out / "shocks" / "fed-2026-severely-adverse" / "ai.npz")
    basis = ai.metadata.get("jump_off_basis") or {}
    fixed = [f for f in ai.factor_ids if basis.get(f) == "fed" and f.startswith(("rates.ust.", "equity.", "credit.spread."))]
    level = dict(zip(ai.factor_ids, ai.jump_off.tolist(), strict=True))
    # the scenario's own jump-off market, observed on the jump-off day: the refresh must give back its losses
    same, summary = _intraday(pipeline, [(f, level[f]) for f in fixed], "2025-12-31T16:00", "snap_same.csv")
    assert same.success, [e.description for e in same.get_asset_check_evaluations() if not e.passed]
    for label in ("ai", "traditional"):
        np.testing.assert_allclose(summary["sets"][label]["today"]["var_99"], summary["sets"][label]["jump_off"]["var_99"], rtol=1e-9)
    # equities 10% up, the 10y 50 bp up, on the day: a different trading loss, the check recomputed and passed
    moved = [(f, level[f] * 1.1 if f.startswith("equity.") else level[f] + 0.5 if f == "rates.ust.10y" else level[f])
             for f in fixed] + [("equity.sp500", level.get("equity.sp500", 6000.0) * 1.1)]  # fmt: skip
    moved = list(dict(moved).items())
    result, summary = _intraday(pipeline, moved, "2026-12-03T10:30", "snap_1030.csv")
    assert result.success
    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == "intraday_on_snapshot" and check.passed, check.description
    assert summary["file"].endswith("accepted/snap_1030.csv") and summary["as_of"].startswith("2026-12-03T10:30")
    ai_sets = summary["sets"]["ai"]
    assert ai_sets["today"]["var_99"] != pytest.approx(ai_sets["jump_off"]["var_99"], rel=1e-6)
    jump = pd.read_csv(out / "stress" / "fed-2026-severely-adverse" / "intraday_jump_off.csv")
    row = jump[(jump["set"] == "ai") & (jump["factor_id"] == "equity.sp500")].iloc[0]
    assert row["used"] == pytest.approx(level.get("equity.sp500", 6000.0) * 1.1) and bool(row["observed"])
    (materialization,) = result.asset_materializations_for_node("intraday_stress")
    assert "99% VaR today" in materialization.metadata["trading_loss"].value


def _result_leaves(obj, prefix=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k not in _NOT_RESULTS:
                yield from _result_leaves(v, f"{prefix}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _result_leaves(v, f"{prefix}[{i}]")
    else:
        yield prefix, obj


_KILLED_RUN = """
import sys
from risk_dagster.resources import TranslationSettings
from risk_dagster.runner import run_pipeline
run_pipeline(sys.argv[1], scenarios=["fed-2026-baseline"], translation=TranslationSettings(**{settings}))
"""


def _kill_in_the_engine_step(pipeline, out: Path) -> None:
    """Run the pipeline for the baseline in another process and SIGKILL it once its engine step started."""
    import signal
    import time

    from risk_dagster.definitions import SCENARIO_JOB

    settings = {name: getattr(SMALL, name) for name in type(SMALL).model_fields}
    script = pipeline["root"] / "killed_run.py"
    script.write_text(_KILLED_RUN.replace("{settings}", repr(settings)))
    instance = _instance(pipeline)
    before = {r.run_id for r in instance.get_runs()}
    proc = subprocess.Popen([sys.executable, str(script), str(out)], env=os.environ.copy(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and proc.poll() is None:
            runs = [r for r in instance.get_runs() if r.run_id not in before and r.job_name == SCENARIO_JOB]
            started = runs and any(
                e.dagster_event is not None and e.dagster_event.step_key == "stress_results"
                for e in instance.all_logs(runs[0].run_id, of_type=dg.DagsterEventType.STEP_START)
            )
            if started:
                time.sleep(1.0)  # in the middle of the engine's revaluation
                break
            time.sleep(0.5)
        assert proc.poll() is None, "the run ended before its engine step could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


def test_a_killed_run_loses_nothing_and_a_rerun_gives_the_same_numbers(pipeline):
    """SIGKILL in the middle of the engine step leaves the previous materializations and files
    readable; the scenario job re-run on the same instance, models and seed then gives every number
    of the run summary's scenario entry (translation, losses, capital, the 25 statistics) identical (CPU)."""
    from risk_dagster.definitions import SCENARIO_JOB, build_definitions
    from risk_dagster.runner import _scenario_entry

    out = pipeline["root"] / "out"
    first = json.loads((out / "run_summary.json").read_text())["scenarios"]["fed-2026-baseline"]
    lines = out / "stress" / "fed-2026-baseline" / "loss_lines_ai.parquet"
    lines_before = lines.read_bytes()
    _kill_in_the_engine_step(pipeline, out)
    assert lines.read_bytes() == lines_before  # the killed step wrote nothing over the good file
    assert len(pd.read_parquet(lines)) > 0  # readable (a temporary file a kill may leave is never read)
    defs0 = build_definitions(output_dir=str(out), translation=SMALL)
    previous = defs0.load_asset_value("stress_results", partition_key="fed-2026-baseline", instance=_instance(pipeline))
    assert previous.summary("ai")["losses"] == first["losses"]
    defs = build_definitions([str(pipeline["user_file"])], output_dir=str(out), translation=SMALL)
    result = defs.resolve_job_def(SCENARIO_JOB).execute_in_process(
        instance=_instance(pipeline), partition_key="fed-2026-baseline", raise_on_error=False
    )
    from risk_dagster.storage import _json_default

    again = json.loads(json.dumps(_scenario_entry(result), default=_json_default))
    before, after = dict(_result_leaves(first)), dict(_result_leaves(again))
    assert len(before) > 200 and set(before) == set(after)
    def same(a, b) -> bool:
        return a == b or (isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b))

    differ = {k: (before[k], after[k]) for k in before if not same(before[k], after[k])}
    assert not differ, f"numbers moved between two runs with the same seed: {list(differ.items())[:5]}"


def test_the_eba_adverse_scenario_runs_end_to_end_on_the_euro_bank(pipeline):
    """Judged by: the EBA 2025 adverse run on the euro-area bank, fixed variables reproduced, the depletion beside the
    EBA's published figure, the damaged source caught with its weight lowered and the reason shown."""
    out = pipeline["root"] / "out"
    doc = json.loads((out / "run_summary.json").read_text())
    entry = doc["scenarios"]["eba-2025-adverse"]
    assert entry["verdict"] in ("submission", "draft")
    cet1 = entry["cet1"]
    assert cet1["currency"] == "EUR" and cet1["years"] == [2025, 2026, 2027]
    assert cet1["start"] == pytest.approx(15.86) and 0 < cet1["depletion_bp"] == pytest.approx(100 * (cet1["start"] - cet1["trough"]), abs=0.2)
    assert entry["eba"]["eba_2025_published"]["cet1_depletion_bp"] == 370
    assert entry["conservativeness"]["total"] == 25
    by_check = {(c["asset"], c["check"]): c for c in doc["checks"] if c["partition"] == "eba-2025-adverse"}
    for key in [("granular_shocks", "fixed_factors_reproduce_scenario"), ("traditional_shocks", "fixed_factors_reproduce_scenario"),
                ("eba_conservativeness", "supervisor_fixed_factors_reproduced"), ("eba_capital_projection", "eba_cet1_path_reconciles"),
                ("eba_capital_projection", "book_loans_match_stage_table")]:  # fmt: skip
        assert by_check[key]["passed"], key
    # the euro factors the EBA fixes are among the set's fixed factors, reproduced exactly
    ai = ShockSet.load_npz(out / "shocks" / "eba-2025-adverse" / "ai.npz")
    fixed = set(ai.metadata["fixed_factors"])
    assert {"rates.swap.eur.10y", "rates.gov.it.10y", "equity.eurostoxx50", "credit.itraxx.main_5y"} <= fixed
    # the pack, in EUR, with the published figure beside and the damaged source's weight and reason
    pack = json.loads((Path(entry["pack"]["pdf"]).parent / "pack.json").read_text())
    assert pack["currency"] == "EUR" and pack["method"] == "eba"
    head = {row["measure"]: row for row in pack["executive"]["headline"]}
    assert head["CET1 depletion to the minimum, median (bp)"]["eba_2025_published"] == 370
    euribor = next(s for s in pack["data_quality"]["sources"] if s["source"] == "euribor_it")
    assert euribor["weight"] < euribor["prior"] and "jumps" in euribor["reasons"]
    assert not next(c for c in pack["data_quality"]["contract_checks"] if c["asset"] == "euribor")["passed"]
    text = subprocess.run(["pdftotext", entry["pack"]["pdf"], "-"], capture_output=True, text=True, check=True).stdout
    assert "Capital under the EBA method" in text and "EUR bn" in text and "370" in text
