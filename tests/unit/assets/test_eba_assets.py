"""The EBA leg's assets: the euro bank's contract checks, the CET1 arithmetic and stage-table checks fail when they should."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import numpy as np
import pandas as pd
import pytest
import yaml

from risk_dagster.assets.eba import (
    RECONCILES_CHECK,
    STAGES_CHECK,
    euro_balance_sheet,
    euro_portfolio,
    reconcile_check,
    require_eba,
    stage_table_check,
    write_eba_paths,
)
from risk_dagster.assets.stress import parity_check
from risk_dagster.capital.balance_sheet import load_balance_sheet
from risk_dagster.capital.eba_capital import eba_capital_run, euro_balance_sheet_path, load_stage_table
from risk_dagster.capital.eba_set_capital import eba_set_capital
from risk_dagster.capital.loss_rates import LossRateSatellite, load_charge_off_rates, macro_drivers
from risk_dagster.engine.curves import knot_factor_ids
from risk_dagster.engine.revalue import revalue
from risk_dagster.portfolio.euro_book import EURO_BOOK_PATH, load_euro_book
from risk_dagster.resources import CapitalSettings, EngineSettings
from risk_dagster.scenarios.registry import load_scenario
from risk_dagster.translate.shockset import ShockSet


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    return load_euro_book()


@pytest.fixture(scope="module")
def paths_file(tmp_path_factory, book, fed_history_2026) -> Path:
    satellite = LossRateSatellite().fit(load_charge_off_rates(), macro_drivers(fed_history_2026))
    base = eba_capital_run(load_scenario("eba-2025-adverse"), satellite)
    ids = [*knot_factor_ids("EUR"), *(f"credit.sovereign.{c}.10y" for c in ("de", "fr", "it", "es"))]
    rng = np.random.default_rng(0)
    shocks = ShockSet(shocks=rng.normal(60.0, 30.0, (5, 12, len(ids))), jump_off=np.full(len(ids), np.nan), factor_ids=ids,
                      shock_types=["absolute_bp"] * len(ids), quarters=[str(pd.Period("2025Q1") + i) for i in range(12)],
                      scenario_id="eba-2025-adverse", model_id="t", model_version="0", seed=0, metadata={"jump_off_quarter": "2024Q4"})  # fmt: skip
    market = book[book["segment"].isin(["sovereign", "rates_derivatives"])].copy()
    market.attrs = dict(book.attrs)
    sheet = load_balance_sheet(euro_balance_sheet_path())
    capital = eba_set_capital("ai", base, shocks, market, sheet,
                              lambda p, s, q, a: revalue(p, s, quarter_index=list(q), age_book=a, device="cpu"), kind="adverse")
    return write_eba_paths(tmp_path_factory.mktemp("eba") / "paths.npz", {"ai": capital})


def test_the_cet1_path_check_recomputes_the_arithmetic(tmp_path, paths_file) -> None:
    good = reconcile_check(paths_file)
    assert good.check_name == RECONCILES_CHECK and good.passed, good.description
    with np.load(paths_file) as z:
        arrays = dict(z)
    arrays["ai__cet1_capital"] = arrays["ai__cet1_capital"].copy()
    arrays["ai__cet1_capital"][2, 2] += 1e6  # one sample, one year: EUR 1mn appears from nowhere
    np.savez(tmp_path / "capital.npz", **arrays)
    bad = reconcile_check(tmp_path / "capital.npz")
    assert not bad.passed and "net profit - dividends + OCI" in bad.description
    arrays = {k: v for k, v in np.load(paths_file).items()}
    arrays["ai__segment_ead"] = arrays["ai__segment_ead"] * np.linspace(1.0, 1.1, arrays["ai__segment_ead"].shape[0])[:, None]
    np.savez(tmp_path / "ead.npz", **arrays)
    grown = reconcile_check(tmp_path / "ead.npz")
    assert not grown.passed and "static balance sheet" in grown.description


def test_the_stage_table_check_fails_when_the_book_and_the_table_disagree(book) -> None:
    stages = load_stage_table()
    assert stage_table_check(book, stages).passed
    smaller = book.copy()
    row = smaller.index[(smaller["segment"] == "sme").to_numpy()][0]
    smaller.loc[row, "ead"] = smaller.loc[row, "ead"] * 0.5
    bad = stage_table_check(smaller, stages)
    assert bad.check_name == STAGES_CHECK and not bad.passed and "sme" in bad.description


def test_the_eba_assets_refuse_a_fed_scenario() -> None:
    with pytest.raises(dg.Failure, match="scenario_job"):
        require_eba(load_scenario("fed-2026-baseline"), "eba_capital_projection")
    require_eba(load_scenario("eba-2025-baseline"), "eba_capital_projection")


def test_euro_portfolio_check_fails_on_a_broken_book(tmp_path: Path) -> None:
    book = pd.read_parquet(EURO_BOOK_PATH).head(40).copy()
    book.loc[book.index[5], "currency"] = "USD"
    path = tmp_path / "euro.csv"
    book.to_csv(path, index=False)
    result = dg.materialize([euro_portfolio], resources={"engine_settings": EngineSettings(euro_portfolio_path=str(path))},
                            raise_on_error=False)  # fmt: skip
    assert not result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "contract_portfolio_positions" and not evaluation.passed
    assert str(book.loc[book.index[5], "position_id"]) in str(evaluation.metadata["violations"].value)
    ok = dg.materialize([euro_portfolio], resources={"engine_settings": EngineSettings()})
    (passed,) = ok.get_asset_check_evaluations()
    assert passed.passed


def test_euro_balance_sheet_check_fails_on_a_broken_file(tmp_path: Path) -> None:
    raw = yaml.safe_load(euro_balance_sheet_path().read_text())
    raw["funding_beta"] = -0.2
    path = tmp_path / "bank.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = dg.materialize([euro_balance_sheet], resources={"capital_settings": CapitalSettings(euro_balance_sheet_path=str(path))},
                            raise_on_error=False)  # fmt: skip
    assert not result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed and "funding_beta" in evaluation.description
    ok = dg.materialize([euro_balance_sheet], resources={"capital_settings": CapitalSettings()})
    (passed,) = ok.get_asset_check_evaluations()
    assert passed.passed


def test_the_euro_parity_check_fails_on_a_tampered_file(tmp_path: Path) -> None:
    frame = pd.DataFrame({"instrument_type": ["fixed_bond", "irs", "all"], "positions": [3, 2, 5], "scenarios": [9] * 3,
                          "max_rel_err": [1e-13, 4e-6, 4e-6], "median_rel_err": [1e-14, 1e-12, 1e-13],
                          "within_tolerance": [True, False, False]})  # fmt: skip
    frame.to_csv(tmp_path / "p.csv", index=False)
    bad = parity_check(tmp_path / "p.csv", asset="euro_pricing_parity")
    assert bad.asset_key.to_user_string() == "euro_pricing_parity" and not bad.passed and "irs" in bad.description


def test_the_euro_sensitivities_check_fails_on_a_tampered_file(tmp_path: Path) -> None:
    from risk_dagster.assets.eba import euro_sensitivities, euro_sensitivities_consistent
    from risk_dagster.resources import OutputDir

    book = pd.read_parquet(EURO_BOOK_PATH)
    small = book[book["instrument_type"] != "loan"].groupby("segment", group_keys=False).head(6).reset_index(drop=True)
    path = tmp_path / "euro.csv"
    small.to_csv(path, index=False)
    resources = {"engine_settings": EngineSettings(euro_portfolio_path=str(path), device="cpu"),
                 "output_dir": OutputDir(path=str(tmp_path / "out")),
                 "io_manager": dg.FilesystemIOManager(base_dir=str(tmp_path / "storage"))}  # fmt: skip
    assets = [euro_portfolio, euro_sensitivities, euro_sensitivities_consistent]
    instance = dg.DagsterInstance.ephemeral()
    first = dg.materialize(assets, resources=resources, instance=instance)
    (good,) = [e for e in first.get_asset_check_evaluations() if e.asset_key == dg.AssetKey("euro_sensitivities")]
    assert good.passed, good.description
    parquet = tmp_path / "out" / "stress" / "euro_sensitivities.parquet"
    frame = pd.read_parquet(parquet)
    frame.loc[frame["factor_id"] == "rates.swap.eur.10y", "delta"] *= 1.5
    frame.to_parquet(parquet)
    again = dg.materialize(assets, resources=resources, instance=instance, raise_on_error=False,
                           selection=dg.AssetSelection.checks(euro_sensitivities_consistent))  # fmt: skip
    (bad,) = again.get_asset_check_evaluations()
    assert not bad.passed and "rates.swap.eur.10y" in bad.description


def test_the_sensitivity_check_recomputes_the_run_and_the_orderings(tmp_path: Path, paths_file: Path) -> None:
    from risk_dagster.assets.eba import SENSITIVITY_CHECK, sensitivity_check

    with np.load(paths_file) as z:
        run = 1e4 * float(np.median(z["ai__depletion"]))
    rows = {"as_configured": run, "mortgage_pd_stress_halved": run - 50, "pd_stress_halved": run - 90,
            "pd_stress_doubled": run + 200, "no_payout": run, "aoci_filter": run - 30}  # fmt: skip
    frame = pd.DataFrame({"assumption": list(rows), "setting": "", "depletion_bp_median": list(rows.values())})
    frame["delta_depletion_bp"] = frame["depletion_bp_median"] - run
    frame.to_csv(tmp_path / "s.csv", index=False)
    good = sensitivity_check(tmp_path / "s.csv", paths_file)
    assert good.check_name == SENSITIVITY_CHECK and good.passed, good.description
    frame.loc[frame["assumption"] == "pd_stress_doubled", ["depletion_bp_median", "delta_depletion_bp"]] = [run - 10, -10]
    frame.to_csv(tmp_path / "bad.csv", index=False)
    bad = sensitivity_check(tmp_path / "bad.csv", paths_file)
    assert not bad.passed and "pd_stress_doubled" in bad.description
    frame.loc[0, "depletion_bp_median"] = run + 1
    frame.to_csv(tmp_path / "moved.csv", index=False)
    assert "is not the run's" in sensitivity_check(tmp_path / "moved.csv", paths_file).description
