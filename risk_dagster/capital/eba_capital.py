"""The EBA leg's credit and capital chain for a euro-area bank, from an EBA scenario to its CET1 depletion.

:func:`eba_capital_run` chains the plain modules:

1. the area's credit drivers and the annual PD multipliers they give on the loss-rate satellites'
   elasticities (:mod:`risk_dagster.capital.eba_credit`);
2. the IFRS 9 stage projection of the bank's stage table on a static balance sheet
   (:mod:`risk_dagster.capital.ifrs9`);
3. the CET1 path under the EBA's method (:mod:`risk_dagster.capital.eba_projection`).

This is the run of the scenario's own macro path: its credit losses are every scenario sample's
(:mod:`risk_dagster.capital.eba_set_capital` takes them, and adds each sample's market-risk and FVOCI
losses from the engine and its NII from :mod:`risk_dagster.capital.euro_nii`). Called alone it books
the market-risk loss and the NII it is given (none, and the starting run-rate, by default) and says
so in :attr:`EbaCapitalRun.not_modelled`.

:data:`EBA_2025_PUBLISHED` holds the EBA's own aggregate result of the 2025 exercise, to set a
bank's depletion beside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from risk_dagster.capital.balance_sheet import BalanceSheet, load_balance_sheet
from risk_dagster.capital.eba_credit import SEGMENT_SATELLITES, euro_pd_multipliers
from risk_dagster.capital.eba_projection import EbaCapitalProjection, project_eba_capital
from risk_dagster.capital.ifrs9 import Ifrs9Projection, StageExposure, project_ifrs9
from risk_dagster.capital.loss_rates import LossRateSatellite
from risk_dagster.errors import InputFileError
from risk_dagster.paths import data_dir
from risk_dagster.scenarios.model import MacroScenario
from risk_dagster.translate.features import jump_off_quarter, projection_quarters

__all__ = [
    "EBA_2025_PUBLISHED",
    "EbaCapitalRun",
    "eba_capital_run",
    "euro_balance_sheet_path",
    "euro_stage_table_path",
    "load_stage_table",
]

EBA_2025_PUBLISHED: dict[str, Any] = {
    "cet1_depletion_bp": 370,
    "cet1_ratio_end_2027": 0.12,
    "losses_eur_bn": 547,
    "banks": 64,
    "source": "EBA, 'The EBA publishes the results of its 2025 EU-wide stress test', press release of 1 August 2025: "
    "capital depletion of 370 bp under the adverse scenario to a CET1 ratio of 12 % at the end of 2027 "
    "(aggregate of 64 banks, fully loaded), losses of EUR 547bn",
}
"""The EBA's published aggregate result of the 2025 exercise (not a shipped file: the figures of the press release)."""


def euro_balance_sheet_path() -> Path:
    """The shipped synthetic euro-area bank's starting point (EUR, static balance sheet)."""
    return data_dir() / "portfolio" / "euro_bank_balance_sheet.yaml"


def euro_stage_table_path() -> Path:
    """The shipped synthetic euro-area bank's IFRS 9 stage table."""
    return data_dir() / "portfolio" / "euro_bank_loan_stages.yaml"


def load_stage_table(path: str | Path | None = None) -> list[StageExposure]:
    """Read a stage table (``segments:`` list of :class:`StageExposure` fields); the shipped one by default.

    Raises
    ------
    InputFileError
        Naming the file, the entry and the rule (``invalid_yaml``, ``not_a_mapping``,
        ``missing_field``, ``invalid_value``, ``unknown_segment``).
    """
    file = Path(path) if path is not None else euro_stage_table_path()
    try:
        doc = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputFileError(file, "invalid_yaml", str(exc)) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("segments"), list):
        raise InputFileError(file, "not_a_mapping", "expected a mapping with a 'segments' list")
    out: list[StageExposure] = []
    fields = ("segment", "ead", "pd_1", "pd_2", "lgd", "lgd_default", "residual_life", "sicr", "cure")
    for i, entry in enumerate(doc["segments"], start=1):
        where = f"segment #{i}"
        if not isinstance(entry, dict):
            raise InputFileError(file, "not_a_mapping", f"{where} is not a mapping")
        missing = [f for f in fields if f not in entry]
        if missing:
            raise InputFileError(file, "missing_field", f"{where}: missing {missing}", column=missing[0])
        if entry["segment"] not in SEGMENT_SATELLITES:
            raise InputFileError(file, "unknown_segment", f"{where}: {entry['segment']!r} is not one of "
                                 f"{sorted(SEGMENT_SATELLITES)}", column="segment")  # fmt: skip
        try:
            out.append(StageExposure(**{**{f: entry[f] for f in fields}, "ead": tuple(float(x) for x in entry["ead"])}))
        except (TypeError, ValueError) as exc:
            raise InputFileError(file, "invalid_value", f"{where}: {exc}") from exc
    return out


@dataclass(frozen=True)
class EbaCapitalRun:
    """An EBA scenario's credit losses and CET1 path for one bank.

    Attributes
    ----------
    scenario_id, area
        The scenario and the country or area whose macro path drives the PDs.
    multipliers
        Segment -> annual PD multipliers.
    credit
        The IFRS 9 projection.
    capital
        The CET1 path.
    not_modelled
        What the run took as given rather than computed (words, for the reader).
    """

    scenario_id: str
    area: str
    multipliers: dict[str, list[float]]
    credit: Ifrs9Projection
    capital: EbaCapitalProjection
    not_modelled: list[str] = field(default_factory=list)
    stages: tuple[StageExposure, ...] = ()
    """The stage table the credit projection started from (for re-projections: the sensitivities)."""

    def summary(self) -> dict[str, Any]:
        """Plain-JSON summary beside the EBA's published aggregate."""
        return {
            "scenario_id": self.scenario_id,
            "area": self.area,
            "currency": self.capital.currency,
            "cet1_ratio_start": round(self.capital.start_ratio, 6),
            "cet1_ratio_min": round(self.capital.min_ratio, 6),
            "cet1_ratio_end": round(self.capital.end_ratio, 6),
            "cet1_depletion_bp": round(1e4 * self.capital.depletion, 1),
            "cet1_depletion_to_end_bp": round(1e4 * self.capital.depletion_to_end, 1),
            "impairments_bn": round(self.credit.total_impairment() / 1e9, 3),
            "pd_multipliers": {k: [round(v, 3) for v in path] for k, path in self.multipliers.items()},
            "eba_2025_published": EBA_2025_PUBLISHED,
            "not_modelled": list(self.not_modelled),
        }


def eba_capital_run(
    scenario: MacroScenario,
    satellite: LossRateSatellite,
    *,
    balance_sheet: BalanceSheet | None = None,
    stages: Sequence[StageExposure] | None = None,
    area: str = "ea",
    market_risk_loss: float | None = None,
    net_interest_income: Sequence[float] | None = None,
    payout_ratio: float = 0.5,
) -> EbaCapitalRun:
    """Credit losses and the CET1 path of a euro-area bank under an EBA scenario (module docstring).

    Parameters
    ----------
    scenario
        An EBA scenario (:mod:`risk_dagster.scenarios.eba_long`), annual, jump-off at the end of 2024.
    satellite
        Fitted loss-rate satellites (their elasticities drive the PDs).
    balance_sheet, stages
        The bank; the shipped synthetic euro-area bank by default.
    area
        Country or area code of the bank's exposures in the scenario (``ea``, ``de`` ...).
    market_risk_loss
        Instantaneous trading-book loss in the first year; ``None`` books none and says so.
    net_interest_income
        Annual NII projection; ``None`` holds the starting run-rate and says so.
    payout_ratio
        Dividend payout of a positive net profit.
    """
    sheet = balance_sheet if balance_sheet is not None else load_balance_sheet(euro_balance_sheet_path())
    table = list(stages) if stages is not None else load_stage_table()
    years = sorted({q.year for q in projection_quarters(scenario)})
    if sheet.as_of.year != jump_off_quarter(scenario).year:
        raise ValueError(f"{scenario.scenario_id}: jumps off at {jump_off_quarter(scenario)}, the balance sheet is "
                         f"as of {sheet.as_of}")  # fmt: skip
    multipliers = euro_pd_multipliers(scenario, satellite, key=area, segments={s.segment: SEGMENT_SATELLITES[s.segment] for s in table})
    credit = project_ifrs9(table, multipliers)
    impairments = credit.yearly_impairments(len(years))
    not_modelled: list[str] = []
    if market_risk_loss is None:
        not_modelled.append("market-risk loss: none booked in this run (per sample: capital.eba_set_capital)")
    if net_interest_income is None:
        not_modelled.append("NII: the starting run-rate held flat in this run (per sample: capital.euro_nii)")
    not_modelled.append("FVOCI revaluation: none in this run (per sample: capital.eba_set_capital)")
    not_modelled.append("RWA: static at the starting point (IRB credit RWA would rise with the PDs)")
    nii = list(net_interest_income) if net_interest_income is not None else [4.0 * sheet.net_interest_income] * len(years)
    capital = project_eba_capital(
        sheet, years=years, kind="adverse" if scenario.kind == "adverse" else "baseline", net_interest_income=nii,
        impairments=impairments, market_risk_loss=float(market_risk_loss or 0.0), payout_ratio=payout_ratio,
    )  # fmt: skip
    return EbaCapitalRun(scenario.scenario_id, area, multipliers, credit, capital, not_modelled, tuple(table))
