"""IFRS 9 credit losses by stage under a static balance sheet, in annual steps (the EBA's method).

The EBA's EU-wide stress test projects credit risk on a **static balance sheet** over three annual
steps: the exposure at the start stays, defaults move exposures from the performing stages into
stage 3 and are not replaced, and the impairment charge of a year is the change of the expected
credit loss (ECL) stock plus nothing else (no write-offs inside the horizon). The stocks follow
the IFRS 9 stages:

* **stage 1** (performing, no significant increase in credit risk): 12-month ECL,
  ``EAD_1 x PD_1(next year) x LGD``;
* **stage 2** (significant increase in credit risk, not defaulted): lifetime ECL,
  ``EAD_2 x (1 - survival over T years) x LGD``, ``T`` the segment's residual life in years;
* **stage 3** (defaulted): ``EAD_3 x LGD_default``.

The PDs are forward-looking along the scenario, as IFRS 9 asks: at the end of year ``y`` the
12-month PD is the next year's (``m_{y+1} PD_1``; the last year's multiplier beyond the horizon),
and the lifetime survival of a stage-2 exposure runs through the scenario's remaining years at
their stressed PDs and the rest of its life at the starting PD (reversion to the starting point
after the horizon, the usual "reversion to the long-run" of IFRS 9 models):
``prod_{k>y} (1 - m_k PD_2) x (1 - PD_2)^(T - remaining years)`` (after the last year its
multiplier is held for one more year). Year 0 is the stock at the starting PDs (``m = 1``): the
bank's reported ECL, which does not anticipate the scenario.

Annual transitions of year ``y`` with the stress multiplier ``m_y`` of the segment's PD
(:func:`pd_multipliers`): the starting point's rates, scaled with the scenario as the EBA's
method asks for point-in-time parameters conditional on the scenario (a single multiplier per
segment and year is this module's simplification: the EBA lets banks model each transition):

=============  ==========================================  ====================================
from -> to     rate in year ``y``                           why
=============  ==========================================  ====================================
S1 -> S3       ``min(1, m_y PD_1)``                         default of a stage-1 obligor
S1 -> S2       ``min(1 - S1->S3, m_y SICR)``                significant increases scale like PDs
S2 -> S3       ``min(1, m_y PD_2)``                         default of a stage-2 obligor
S2 -> S1       ``min(1 - S2->S3, CURE / m_y)``              cures slow in a stress
S3 -> any      0                                            no cure of a default inside 3 years
=============  ==========================================  ====================================

At the start (``m = 1``) the stock is the bank's reported ECL when its stage PDs and LGDs are its
own. No exposure
leaves stage 3 and ``LGD_default >= LGD``, so a default never lowers the ECL it joins and the
stage-3 coverage stays at its starting level; with ``m >= 1`` the impairment charge is never a
release.

Parameters are per segment (:class:`StageExposure`) and are the bank's: its stage split, its
12-month PDs by stage and its LGDs are reported in its IFRS 9 disclosures (Pillar 3 templates
CR1 and IFRS 9-FL); :mod:`risk_dagster.capital.loss_rates` supplies the macro sensitivity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["STAGES", "Ifrs9Projection", "StageExposure", "pd_multipliers", "project_ifrs9"]

STAGES: tuple[str, str, str] = ("stage_1", "stage_2", "stage_3")


@dataclass(frozen=True)
class StageExposure:
    """One loan segment at the jump-off, by IFRS 9 stage.

    Attributes
    ----------
    segment
        Segment id (``residential_mortgage``, ``corporate``, ``sme``, ``consumer`` ...).
    ead
        Exposure at default of stages 1, 2 and 3 (currency units, e.g. EUR).
    pd_1, pd_2
        12-month point-in-time PD of stage-1 and stage-2 obligors at the jump-off, fractions.
    lgd
        Loss given default of a performing exposure that defaults, fraction.
    lgd_default
        Coverage (ECL / EAD) of the stage-3 stock, fraction; at least ``lgd``.
    residual_life
        Average residual life of the stage-2 exposures in years (the lifetime of their ECL).
    sicr
        Annual stage 1 -> stage 2 transition rate at the jump-off, fraction.
    cure
        Annual stage 2 -> stage 1 transition rate at the jump-off, fraction.
    """

    segment: str
    ead: tuple[float, float, float]
    pd_1: float
    pd_2: float
    lgd: float
    lgd_default: float
    residual_life: float
    sicr: float
    cure: float

    def __post_init__(self) -> None:
        checks = {
            "ead": all(np.isfinite(e) and e >= 0 for e in self.ead) and len(self.ead) == 3,
            "pd_1": 0.0 <= self.pd_1 <= 1.0,
            "pd_2": self.pd_1 <= self.pd_2 <= 1.0,
            "lgd": 0.0 <= self.lgd <= 1.0,
            "lgd_default": self.lgd <= self.lgd_default <= 1.0,
            "residual_life": self.residual_life > 0,
            "sicr": 0.0 <= self.sicr <= 1.0,
            "cure": 0.0 <= self.cure <= 1.0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(
                f"StageExposure {self.segment!r}: invalid {', '.join(bad)} (EADs >= 0, 0 <= pd_1 <= pd_2 <= 1, "
                "0 <= lgd <= lgd_default <= 1, residual_life > 0, rates in [0, 1])"
            )


@dataclass(frozen=True)
class Ifrs9Projection:
    """Stage stocks, flows, ECL and impairment charges per segment and year.

    Attributes
    ----------
    table
        One row per ``segment`` and ``year`` (0 = the jump-off, then 1..n): EAD of each stage,
        the flows of the year (``s1_to_s2``, ``s1_to_s3``, ``s2_to_s1``, ``s2_to_s3``), the ECL of
        each stage and in total, and ``impairment`` (the change of the total ECL; 0 at year 0).
    """

    table: pd.DataFrame

    def impairments(self) -> pd.DataFrame:
        """Year x segment impairment charges (years 1..n)."""
        rows = self.table[self.table["year"] > 0]
        return rows.pivot(index="year", columns="segment", values="impairment")

    def yearly_impairments(self, years: int) -> np.ndarray:
        """``[years]`` the charge of every segment together in projection years 1..``years`` (0 where none)."""
        return self.impairments().sum(axis=1).reindex(range(1, years + 1)).fillna(0.0).to_numpy(dtype=np.float64)

    def total_impairment(self) -> float:
        """Cumulative impairment charge of every segment over the horizon."""
        return float(self.table["impairment"].sum())

    def coverage(self) -> pd.DataFrame:
        """Year x segment ECL / EAD (the coverage ratio)."""
        t = self.table.assign(coverage=self.table["ecl"] / self.table[["ead_1", "ead_2", "ead_3"]].sum(axis=1))
        return t.pivot(index="year", columns="segment", values="coverage")


def _ecl(e: StageExposure, ead: np.ndarray, ahead: np.ndarray) -> tuple[float, float, float]:
    """ECL by stage at a year end; ``ahead`` the multipliers of the years still to come (at least one)."""
    pd1 = min(1.0, float(ahead[0]) * e.pd_1)
    stressed = np.minimum(1.0, ahead * e.pd_2)
    years = min(len(ahead), int(np.ceil(e.residual_life)))
    survival = float(np.prod(1.0 - stressed[:years])) * (1.0 - e.pd_2) ** max(e.residual_life - years, 0.0)
    return float(ead[0] * pd1 * e.lgd), float(ead[1] * (1.0 - survival) * e.lgd), float(ead[2] * e.lgd_default)


def project_ifrs9(exposures: Sequence[StageExposure], multipliers: Mapping[str, Sequence[float]]) -> Ifrs9Projection:
    """Project stage stocks and ECL over the years of ``multipliers`` (module docstring).

    Parameters
    ----------
    exposures
        The segments at the jump-off.
    multipliers
        Segment -> PD stress multiplier of each projected year (1 = the jump-off's PDs), e.g.
        :func:`pd_multipliers`; every segment must have one path, all of the same length.

    Returns
    -------
    Ifrs9Projection

    Raises
    ------
    ValueError
        A segment without a path, paths of different lengths, or a multiplier that is not a
        positive finite number.
    """
    lengths = set()
    for e in exposures:
        path = multipliers.get(e.segment)
        if path is None:
            raise ValueError(f"project_ifrs9: no PD multiplier path for segment {e.segment!r}")
        values = np.asarray(path, dtype=np.float64)
        if not np.isfinite(values).all() or (values <= 0).any():
            raise ValueError(f"project_ifrs9: multipliers of {e.segment!r} must be positive and finite, got {list(values)}")
        lengths.add(len(values))
    if len(lengths) > 1:
        raise ValueError(f"project_ifrs9: multiplier paths of different lengths {sorted(lengths)}")
    rows: list[dict[str, float | int | str]] = []
    for e in exposures:
        ead = np.asarray(e.ead, dtype=np.float64)
        path = np.asarray(multipliers[e.segment], dtype=np.float64)
        ecl = _ecl(e, ead, np.ones(1))  # the bank's reported stock, at its starting PDs
        rows.append({"segment": e.segment, "year": 0, "ead_1": ead[0], "ead_2": ead[1], "ead_3": ead[2],
                     "s1_to_s2": 0.0, "s1_to_s3": 0.0, "s2_to_s1": 0.0, "s2_to_s3": 0.0,
                     "ecl_1": ecl[0], "ecl_2": ecl[1], "ecl_3": ecl[2], "ecl": sum(ecl), "impairment": 0.0})  # fmt: skip
        previous = sum(ecl)
        for year, m in enumerate(path, start=1):
            to3_from1 = min(1.0, m * e.pd_1)
            to2 = min(1.0 - to3_from1, m * e.sicr)
            to3_from2 = min(1.0, m * e.pd_2)
            to1 = min(1.0 - to3_from2, e.cure / m)
            f12, f13 = ead[0] * to2, ead[0] * to3_from1
            f21, f23 = ead[1] * to1, ead[1] * to3_from2
            ead = np.array([ead[0] - f12 - f13 + f21, ead[1] + f12 - f21 - f23, ead[2] + f13 + f23])
            ecl = _ecl(e, ead, path[year:] if year < len(path) else path[-1:])
            total = sum(ecl)
            rows.append({"segment": e.segment, "year": year, "ead_1": ead[0], "ead_2": ead[1], "ead_3": ead[2],
                         "s1_to_s2": f12, "s1_to_s3": f13, "s2_to_s1": f21, "s2_to_s3": f23,
                         "ecl_1": ecl[0], "ecl_2": ecl[1], "ecl_3": ecl[2], "ecl": total,
                         "impairment": total - previous})  # fmt: skip
            previous = total
    return Ifrs9Projection(pd.DataFrame(rows))


def pd_multipliers(loss_rates: pd.DataFrame, jump_off_rates: Mapping[str, float]) -> dict[str, list[float]]:
    """Annual PD stress multipliers from projected loss rates: each year's mean over its quarters
    relative to the segment's loss rate at the jump-off.

    Loss rate = PD x LGD with the LGD held at its starting value, so the ratio of loss rates is
    the ratio of PDs. The loss rates come from the loss-rate satellites
    (:class:`~risk_dagster.capital.loss_rates.LossRateSatellite`) on the scenario's macro path.

    Parameters
    ----------
    loss_rates
        Quarter (``PeriodIndex``) x segment projected quarterly loss rates (fractions).
    jump_off_rates
        Segment -> its loss rate at the jump-off (same unit), > 0.

    Returns
    -------
    dict
        Segment -> one multiplier per calendar year of the projection, in year order.
    """
    index = pd.PeriodIndex(loss_rates.index, freq="Q-DEC")
    out: dict[str, list[float]] = {}
    for segment in loss_rates.columns:
        base = float(jump_off_rates[segment])
        if not np.isfinite(base) or base <= 0:
            raise ValueError(f"pd_multipliers: the jump-off loss rate of {segment!r} must be positive, got {base}")
        yearly = pd.Series(loss_rates[segment].to_numpy(dtype=np.float64), index=index.year).groupby(level=0).mean()
        out[str(segment)] = [float(v) / base for v in yearly.to_numpy()]
    return out
