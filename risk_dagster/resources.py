"""Typed Dagster resources: where outputs go and which scenarios exist."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from pydantic import PrivateAttr

from risk_dagster.scenarios.model import MacroScenario

OUTPUT_DIR_ENV = "RISK_DAGSTER_OUTPUT"
SCENARIO_INBOX_ENV = "RISK_DAGSTER_SCENARIO_INBOX"
MARKET_INBOX_ENV = "RISK_DAGSTER_MARKET_INBOX"
"""The scenario inbox folder the sensor watches (default ``OUTPUT/inbox``)."""


ACCELERATOR_POOL = "accelerator"
"""Dagster concurrency pool of every step that runs torch (translators, engine, capital re-runs): with a
pool limit of 1 (``concurrency: pools`` in ``dagster.yaml``, or ``dagster instance concurrency set
accelerator 1``) one GPU is never shared by two steps, across runs."""


class RunSettings(dg.ConfigurableResource):
    """Run-wide settings: the as-of date for freshness SLAs and the random seed.

    An empty ``as_of`` skips the contracts' freshness SLAs, so re-running on the same files gives
    the same results whatever the calendar says; a scheduled production run sets it to today.
    """

    as_of: str = ""
    seed: int = 20260101

    def as_of_date(self) -> date | None:
        return date.fromisoformat(self.as_of) if self.as_of else None


class TranslationSettings(dg.ConfigurableResource):
    """Sizes of the translation step (the test suite uses small ones)."""

    n_samples: int = 2000
    transformer_preset: str = "default"  # "default" or "small"
    synthetic_paths: int = 8
    synthetic_samples_per_path: int = 250
    backtest_samples: int = 500
    backtest_seed_sets: int = 1
    # the calibration statistics (21-25): rolling origins from this quarter, draws per quarter
    calibration_first_origin: str = "2000Q1"
    calibration_samples: int = 500


class EngineSettings(dg.ConfigurableResource):
    """The revaluation engine: book, device, precision, backend (local or dask) and memory budget."""

    portfolio_path: str = ""  # a user's book (CSV/parquet); empty = the shipped sample book
    euro_portfolio_path: str = ""  # the euro-area bank's book for EBA scenarios; empty = the shipped euro sample book
    # the date a user's book states its remaining terms at (ISO); empty = the scenario's jump-off
    # (the shipped sample book states its own: 2025-12-31)
    portfolio_as_of: str = ""
    device: str = "auto"  # "auto" takes CUDA when present
    precision: str = "fp64"  # "fp64" or "fp32" pricing; aggregates are always fp64
    backend: str = "local"  # "local" or "dask"
    dask_address: str = ""  # scheduler address; empty = a LocalCluster
    memory_budget_mb: float = 1024.0


class CapitalSettings(dg.ConfigurableResource):
    """The capital projection's inputs and key assumptions (DESIGN.md "Capital")."""

    balance_sheet_path: str = ""  # a bank's balance-sheet file (YAML/JSON); empty = the shipped sample bank's
    euro_balance_sheet_path: str = ""  # the euro-area bank's for EBA scenarios; empty = the shipped euro sample bank's
    euro_stage_table_path: str = ""  # its IFRS 9 stage table (YAML); empty = the shipped one
    eba_payout_ratio: float = 0.5  # share of a positive net profit paid out under the EBA method
    # net interest income: the book's repricing (default) or the run-rate moved by the NIM satellite
    nii_method: Literal["repricing", "nim_satellite"] = "repricing"
    trading_shock_quarters: int = 4  # the trading shock is the worst instantaneous loss of these first quarters
    allowance_coverage_quarters: int = 4  # the allowance covers this many quarters of future net charge-offs
    dividends_in_path: bool = False  # the Fed's SCB rule: no planned dividends in the path
    tax_benefit_on_losses: bool = True  # a loss gives a tax benefit at the same rate (the Fed's simplification)


class OutputDir(dg.ConfigurableResource):
    """The folder the run writes its human-facing outputs to (parquet, HTML, JSON)."""

    path: str = "risk_output"

    def subdir(self, *parts: str) -> Path:
        folder = Path(self.path).joinpath(*parts)
        folder.mkdir(parents=True, exist_ok=True)
        return folder


class MarketInbox(dg.ConfigurableResource):
    """The folder the desk drops intraday market snapshots into (:mod:`risk_dagster.market.snapshot`)."""

    path: str = "risk_output/market_inbox"

    def latest(self) -> Any:
        """The newest valid snapshot (new files validated and moved first), or ``None``."""
        from risk_dagster.market.snapshot import latest_snapshot

        return latest_snapshot(self.path)


class ScenarioLibrary(dg.ConfigurableResource):
    """The shipped regulatory scenarios, the files accepted through the scenario inbox, and the
    user's own files of this run (``extra_files``, which win over an accepted file of the same id).

    Each scenario is one partition of the dynamic ``scenarios`` partitions; files are re-read at
    materialization time, so a file edited after the definitions loaded is validated again (and
    refused if now bad).
    """

    extra_files: list[str] = []
    inbox_dir: str = ""
    """The scenario inbox (:mod:`risk_dagster.scenarios.inbox`); its ``accepted/`` files are scenarios here."""
    _user_ids: dict[str, str] | None = PrivateAttr(default=None)
    _accepted_seen: tuple[str, ...] = PrivateAttr(default=())

    def partition_ids(self) -> list[str]:
        from risk_dagster.scenarios.registry import scenario_partition_ids

        return sorted(set(scenario_partition_ids()) | set(self.user_scenario_ids()))

    def user_scenario_ids(self) -> list[str]:
        return sorted(self._user_file_map())

    def run_scenario_ids(self) -> list[str]:
        """The scenarios of this run's own files (``extra_files``)."""
        from risk_dagster.scenarios.registry import read_scenario_files

        return sorted({s.scenario_id for s in read_scenario_files(self.extra_files)}) if self.extra_files else []

    def load(self, scenario_id: str) -> MacroScenario:
        """Read and validate the files of one scenario."""
        from risk_dagster.scenarios.registry import load_scenario, read_scenario_files

        files = self._user_file_map()
        if scenario_id in files:
            for scenario in read_scenario_files(_group(files, scenario_id)):
                if scenario.scenario_id == scenario_id:
                    return scenario
            raise KeyError(f"scenario {scenario_id!r} is no longer in {files[scenario_id]}")
        return load_scenario(scenario_id)

    def _user_file_map(self) -> dict[str, str]:
        from risk_dagster.scenarios.inbox import accepted_files

        accepted = tuple(accepted_files(self.inbox_dir)) if self.inbox_dir else ()
        if self._user_ids is None or accepted != self._accepted_seen:
            from risk_dagster.scenarios.registry import read_scenario_files

            mapping: dict[str, str] = {}
            if accepted:
                for scenario in read_scenario_files(list(accepted)):
                    mapping[scenario.scenario_id] = os.pathsep.join(scenario.files)
            if self.extra_files:
                for scenario in read_scenario_files(self.extra_files):
                    mapping[scenario.scenario_id] = os.pathsep.join(scenario.files)
            self._user_ids = mapping
            self._accepted_seen = accepted
        return self._user_ids


def _group(files: dict[str, str], scenario_id: str) -> list[str]:
    return [p for p in files[scenario_id].split(os.pathsep) if p]
