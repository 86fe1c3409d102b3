"""Every asset check of the definitions is made to fail by a test.

A check is a check only if it can fail: each one recomputes what it asserts from the data it
guards. The contract checks are run here on the real frame each asset validates, with one
required cell blanked; the other checks have failing tests of their own, named in
:data:`FAILING_TESTS`. :func:`test_every_check_has_a_failing_test` fails when a check is added
to the definitions without one.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from risk_dagster.assets.conservativeness import statistic_check_name
from risk_dagster.assets.contract_checks import contract_check_name, validate_and_check
from risk_dagster.conservativeness.registry import STATISTICS
from risk_dagster.assets.scenarios import NGFS_FILE, SCENARIO_CONTRACTS, not_applicable_checks
from risk_dagster.quality.contracts import load_contract
from risk_dagster.scenarios import eba
from risk_dagster.scenarios.frames import contract_frames, merge_contract_frames
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.scenarios.ngfs import read as read_ngfs
from risk_dagster.scenarios.registry import load_fed_history, load_scenario

EBA_FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "eba" / "eba_2025_scenario_sample.csv"

# Checks that are not contract checks, and the tests that make each fail.
FAILING_TESTS: dict[str, str] = {
    "granular_shocks:fixed_factors_reproduce_scenario": "tests.unit.translate.test_shock_checks::test_a_moved_fixed_factor_fails",
    "traditional_shocks:fixed_factors_reproduce_scenario": "tests.unit.translate.test_shock_checks::test_a_moved_fixed_factor_fails",
    "granular_shocks:no_sample_breaks_a_hard_rule": "tests.unit.translate.test_shock_checks::test_a_sample_breaking_a_hard_rule_fails",
    "traditional_shocks:no_sample_breaks_a_hard_rule": "tests.unit.translate.test_shock_checks::test_a_sample_breaking_a_hard_rule_fails",
    "granular_shocks:open_factors_follow_fixed_siblings": "tests.unit.translate.test_shock_checks::test_an_open_spread_drifting_from_its_fixed_sibling_fails",
    "traditional_shocks:open_factors_follow_fixed_siblings": "tests.unit.translate.test_shock_checks::test_an_open_spread_drifting_from_its_fixed_sibling_fails",
    "granular_shocks:rating_spreads_ordered_above_floor": "tests.unit.translate.test_shock_checks::test_rating_spreads_out_of_order_or_below_floor_fail",
    "traditional_shocks:rating_spreads_ordered_above_floor": "tests.unit.translate.test_shock_checks::test_rating_spreads_out_of_order_or_below_floor_fail",
    "portfolio:contract_portfolio_positions": "tests.unit.assets.test_every_check_can_fail::test_portfolio_check_fails_on_a_broken_book",
    "balance_sheet:contract_balance_sheet": "tests.unit.assets.test_every_check_can_fail::test_balance_sheet_check_fails_on_a_broken_file",
    "capital_sensitivity:trading_window_ordered": "tests.unit.assets.test_report_checks::test_the_trading_window_check_fails_on_a_tampered_file",
    "pricing_parity:engine_matches_quantlib": "tests.unit.assets.test_report_checks::test_the_parity_check_fails_on_a_tampered_file",
    "sensitivities:sensitivities_consistent": "tests.unit.assets.test_sensitivities_asset::test_sensitivities_check_fails_on_a_tampered_file",
    "intraday_stress:intraday_on_snapshot": "tests.unit.assets.test_intraday_check::test_the_intraday_check_fails_on_a_tampered_file",
    "conservativeness:supervisor_fixed_factors_reproduced": "tests.unit.assets.test_conservativeness_checks::test_the_fixed_factor_check_fails_on_any_moved_or_missing_fixed_factor",
    "euro_portfolio:contract_portfolio_positions": "tests.unit.assets.test_eba_assets::test_euro_portfolio_check_fails_on_a_broken_book",
    "euro_balance_sheet:contract_balance_sheet": "tests.unit.assets.test_eba_assets::test_euro_balance_sheet_check_fails_on_a_broken_file",
    "euro_sensitivities:sensitivities_consistent": "tests.unit.assets.test_eba_assets::test_the_euro_sensitivities_check_fails_on_a_tampered_file",
    "euro_pricing_parity:engine_matches_quantlib": "tests.unit.assets.test_eba_assets::test_the_euro_parity_check_fails_on_a_tampered_file",
    "eba_capital_sensitivity:eba_sensitivity_reruns_the_run": "tests.unit.assets.test_eba_assets::test_the_sensitivity_check_recomputes_the_run_and_the_orderings",
    "eba_capital_projection:eba_cet1_path_reconciles": "tests.unit.assets.test_eba_assets::test_the_cet1_path_check_recomputes_the_arithmetic",
    "eba_capital_projection:book_loans_match_stage_table": "tests.unit.assets.test_eba_assets::test_the_stage_table_check_fails_when_the_book_and_the_table_disagree",
    "eba_conservativeness:supervisor_fixed_factors_reproduced": "tests.unit.assets.test_conservativeness_checks::test_the_eba_asset_runs_the_same_checks_on_its_own_key",
    **{f"eba_conservativeness:{statistic_check_name(spec)}": "tests.unit.assets.test_conservativeness_checks::test_the_eba_asset_runs_the_same_checks_on_its_own_key"
       for spec in STATISTICS},
    # every one of the 25 statistic checks fails for a milder AI set (one test, all 25 asserted)
    **{f"conservativeness:{statistic_check_name(spec)}": "tests.unit.assets.test_conservativeness_checks::test_every_statistic_check_fails_for_a_milder_ai_set"
       for spec in STATISTICS},
}


@cache
def _check_keys() -> tuple[str, ...]:
    from risk_dagster.definitions import build_definitions

    graph = build_definitions().resolve_asset_graph()
    return tuple(sorted(k.to_user_string() for k in graph.asset_check_keys))


def _contract_cases() -> list[tuple[str, str]]:
    cases = []
    for key in _check_keys():
        asset, check = key.split(":", 1)
        if check.startswith("contract_") and key not in FAILING_TESTS:
            cases.append((asset, check.removeprefix("contract_")))
    return cases


def test_every_check_has_a_failing_test():
    contract = {f"{a}:{contract_check_name(d)}" for a, d in _contract_cases()}
    uncovered = [k for k in _check_keys() if k not in contract and k not in FAILING_TESTS]
    assert not uncovered, f"asset checks with no test that makes them fail: {uncovered}"
    for key, node in FAILING_TESTS.items():
        assert key in _check_keys(), f"{key} is no longer a check of the definitions"
        module, function = node.split("::")
        path = Path(__file__).resolve().parents[3] / (module.replace(".", "/") + ".py")
        assert f"def {function}(" in path.read_text(), f"{node} (failing test of {key}) does not exist"


# History datasets whose contract fails on the shipped file by design, and the dates of the rows
# whose damage the repair does not touch (the eurirs 25-year typo: the jump detector's finding).
DAMAGED_AS_PUBLISHED: dict[str, list[str]] = {"euribor": [], "eurirs": ["2020-06-19"]}


@cache
def _valid_frame(asset: str, dataset_id: str) -> pd.DataFrame:
    """The frame the asset validates against ``dataset_id``, built from the shipped data as it does."""
    from risk_dagster.market.loaders import HISTORY_SOURCES

    if asset in HISTORY_SOURCES:
        return HISTORY_SOURCES[asset].loader()
    if asset == "factor_history":
        from risk_dagster.market.history import build_factor_history, load_history_sources

        history = build_factor_history(load_fed_history("2026").wide(), sources=load_history_sources())
        return history.contract_frame()
    if asset == "fed_history":
        return contract_frames(load_fed_history("2026"))[dataset_id]
    if asset == "macro_scenarios" and dataset_id == "eba_adverse":
        return contract_frames(eba.read(EBA_FIXTURE)[1])[dataset_id]
    if asset == "macro_scenarios":
        return contract_frames(load_scenario("fed-2026-severely-adverse"))[dataset_id]
    if asset == "synthetic_tail_bases":
        from risk_dagster.assets.scenarios import SYNTHETIC_BASE_SCENARIOS

        return contract_frames(load_scenario(SYNTHETIC_BASE_SCENARIOS[0]))[dataset_id]
    if asset == "market_snapshot":
        return pd.DataFrame({"as_of": ["2026-12-03T10:30-05:00"] * 2, "factor_id": ["rates.ust.10y", "equity.sp500"],
                             "level": [4.12, 6841.5]})  # fmt: skip
    if asset == "ngfs_scenarios":
        return merge_contract_frames(read_ngfs(NGFS_FILE))[dataset_id]
    raise KeyError(f"no valid frame known for {asset}:{dataset_id}: add one here")


def _first_required_column(dataset_id: str) -> str:
    schema = load_contract(dataset_id).odcs.schema_[0]
    return next(p.name for p in schema.properties or [] if p.required and p.name)


@pytest.mark.parametrize(("asset", "dataset_id"), _contract_cases(), ids=[f"{a}:{d}" for a, d in _contract_cases()])
def test_contract_check_passes_on_the_real_frame_and_fails_on_a_blanked_cell(asset: str, dataset_id: str):
    frame = _valid_frame(asset, dataset_id)
    if dataset_id in DAMAGED_AS_PUBLISHED:
        # a source loaded as published, damage included: its contract fails on purpose
        # (tests/unit/quality/test_euro_contracts.py); the repaired rows are the valid frame here
        from risk_dagster.market.loaders import HISTORY_SOURCES

        frame = HISTORY_SOURCES[asset].usable(frame)
        frame = frame[~frame["date"].isin(pd.to_datetime(DAMAGED_AS_PUBLISHED[dataset_id]))].reset_index(drop=True)
    (good,) = list(validate_and_check({dataset_id: frame}))
    assert good.passed, good.description

    column = _first_required_column(dataset_id)
    broken = frame.copy()
    broken[column] = broken[column].astype(object)
    broken.loc[broken.index[len(broken) // 2], column] = None
    blocking = load_contract(dataset_id).blocking
    results = []
    if blocking:
        with pytest.raises(dg.Failure) as failure:
            for result in validate_and_check({dataset_id: broken}):
                results.append(result)
        assert column in failure.value.description
    else:
        results = list(validate_and_check({dataset_id: broken}))
    (bad,) = results
    assert bad.check_name == contract_check_name(dataset_id)
    assert not bad.passed
    failed = bad.metadata["details"].value["failures"]
    assert any(f.get("column") == column and f.get("rule") == "required" for f in failed), failed


def _scenario_with(variables: list[str], source: str) -> MacroScenario:
    quarters = pd.period_range("2026Q1", periods=9, freq="Q-DEC")
    data = pd.DataFrame(
        [(s, q, v, 1.0) for v in variables for q in quarters for s in ["probe"]],
        columns=["scenario_id", "quarter", "variable", "value"],
    )
    return MacroScenario("probe", data, source=source, kind="custom", name="probe")


def test_not_applicable_scenario_contracts_pass_only_without_their_variables():
    scenario = load_scenario("fed-2026-severely-adverse")
    frames = contract_frames(scenario)
    assert "eba_adverse" not in frames
    results = {r.check_name: r for r in not_applicable_checks(scenario, frames, scenario.scenario_id)}
    assert set(results) == {"contract_eba_adverse"} and results["contract_eba_adverse"].passed


def test_not_applicable_scenario_contract_fails_when_its_variables_bypass_it():
    # Fed variables in a scenario whose frames hold no Fed table (a layout-detection slip):
    # the check recomputes which variables each contract governs and refuses to pass.
    scenario = _scenario_with(["unemployment_rate", "treasury_10y"], source="eba")
    results = []
    with pytest.raises(dg.Failure, match="unemployment_rate"):
        for result in not_applicable_checks(scenario, {}, "probe"):
            results.append(result)
    by_name = {r.check_name: r for r in results}
    assert set(by_name) == {f"contract_{d}" for d in SCENARIO_CONTRACTS}
    assert not by_name["contract_fed_scenario_domestic"].passed
    assert by_name["contract_fed_scenario_domestic"].metadata["unvalidated_variables"].value == [
        "unemployment_rate",
        "treasury_10y",
    ]
    assert by_name["contract_fed_scenario_international"].passed and by_name["contract_eba_adverse"].passed


def test_portfolio_check_fails_on_a_broken_book(tmp_path: Path):
    from risk_dagster.assets.stress import portfolio
    from risk_dagster.portfolio.sample_book import load_sample_book
    from risk_dagster.resources import EngineSettings

    book = load_sample_book(validate=False).head(50).copy()
    book.loc[book.index[7], "notional"] = -1.0
    path = tmp_path / "book.csv"
    book.to_csv(path, index=False)
    result = dg.materialize(
        [portfolio], resources={"engine_settings": EngineSettings(portfolio_path=str(path))}, raise_on_error=False
    )
    assert not result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "contract_portfolio_positions" and not evaluation.passed
    assert str(book.loc[book.index[7], "position_id"]) in str(evaluation.metadata["violations"].value)

    good = tmp_path / "good.csv"
    load_sample_book(validate=False).head(50).to_csv(good, index=False)
    ok = dg.materialize([portfolio], resources={"engine_settings": EngineSettings(portfolio_path=str(good))})
    (passed,) = ok.get_asset_check_evaluations()
    assert passed.passed



def test_balance_sheet_check_fails_on_a_broken_file(tmp_path: Path):
    import yaml

    from risk_dagster.assets.capital import balance_sheet
    from risk_dagster.capital.balance_sheet import sample_balance_sheet_path
    from risk_dagster.resources import CapitalSettings

    raw = yaml.safe_load(sample_balance_sheet_path().read_text())
    raw["deposit_beta"] = 1.7
    path = tmp_path / "bank.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = dg.materialize(
        [balance_sheet], resources={"capital_settings": CapitalSettings(balance_sheet_path=str(path))}, raise_on_error=False
    )
    assert not result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "contract_balance_sheet" and not evaluation.passed
    assert "bank.yaml" in evaluation.description and "deposit_beta" in evaluation.description

    ok = dg.materialize([balance_sheet], resources={"capital_settings": CapitalSettings()})
    (passed,) = ok.get_asset_check_evaluations()
    assert passed.passed and passed.metadata["rows"].value == 1

    # The GX suite compiled from the contract refuses the frame itself, not only the loader's rules.
    from risk_dagster.capital.balance_sheet import load_sample_balance_sheet

    frame = load_sample_balance_sheet().to_frame()
    frame["deposit_beta"] = 1.7
    results = []
    with pytest.raises(dg.Failure, match="deposit_beta"):
        for result in validate_and_check({"balance_sheet": frame}):
            results.append(result)
    (bad,) = results
    assert not bad.passed and any(f.get("column") == "deposit_beta" for f in bad.metadata["details"].value["failures"])
