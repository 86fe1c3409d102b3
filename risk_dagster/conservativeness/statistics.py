"""Statistics 1-20 of the conservativeness test, per scenario set (DESIGN.md; ids in :mod:`.registry`).

Every statistic is a function of per-sample outcomes of one set (:class:`SetOutcomes`), so the
bootstrap (:mod:`.bootstrap`) recomputes it on resampled samples. Formulas (``L`` the sample's
nine-quarter total loss, losses positive, ratios decimal):

1. ``loss_mean`` = mean(L); 2. ``loss_median`` = median(L); 3./4. ``loss_var_95``/``loss_var_99`` =
   the 95%/99% quantile of L (linear interpolation); 5./6. ``loss_es_97_5``/``loss_es_99`` = the
   mean of L at or beyond its 97.5%/99% quantile;
7. ``cet1_min_median`` = median of the per-path minimum CET1 ratio over PQ1-PQ9; 8. ``cet1_min_p05``
   = its 5% quantile; 9. ``cet1_end_median`` = median ratio at PQ9; 10. ``scb_median`` = median of
   ``start - min + 4 x planned dividends / RWA at the minimum`` (unfloored); 11.
   ``pretax_income_median`` = median nine-quarter pre-tax net income;
12. ``trading_loss_median`` = median trading and counterparty loss; 13. ``trading_loss_es_97_5``
   its ES 97.5%; 14. ``securities_loss_median`` = median of (largest AFS fair-value loss over
   PQ1-PQ9, floored at 0) + nine quarters of HTM credit losses; 15. ``ppnr_median`` = median
   nine-quarter PPNR;
16.-19. ``open_<class>_stress_median`` = median over samples of ``max_q sum_{f open, class} delta_f
   Delta_f,q`` (the book's linearised loss from the open factors of the class, its largest quarter
   PQ1-PQ9; ``delta`` from the ``sensitivities`` asset, market scope, book total); classes: rates,
   credit, equity, and other = FX, commodity, volatility and real estate; 20.
   ``open_total_stress_es_97_5`` = ES 97.5% of the same over all open factors.

A factor is *open* when the ShockSet's ``metadata["fixed_factors"]`` does not list it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol
from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from risk_dagster.capital.projection import HORIZON
from risk_dagster.engine.sensitivities import linearised_loss
from risk_dagster.translate.shockset import ShockSet

OPEN_CLASSES: dict[str, tuple[str, ...]] = {
    "rates": ("rates",),
    "credit": ("credit",),
    "equity": ("equity",),
    "other": ("fx", "commodity", "vol", "realestate"),
}
"""Statistic 16-19 class -> factor-id prefixes (the part before the first dot)."""


@dataclass(frozen=True)
class SetOutcomes:
    """Per-sample outcomes of one set (``[S]`` float64 each); the statistics are functions of them."""

    total_loss: np.ndarray
    min_ratio: np.ndarray
    end_ratio: np.ndarray
    scb_unfloored: np.ndarray
    pretax_income: np.ndarray
    trading_loss: np.ndarray
    securities_loss: np.ndarray
    ppnr: np.ndarray
    open_rates: np.ndarray
    open_credit: np.ndarray
    open_equity: np.ndarray
    open_other: np.ndarray
    open_total: np.ndarray

    @property
    def samples(self) -> int:
        return int(self.total_loss.shape[0])

    def take(self, index: np.ndarray) -> SetOutcomes:
        """The outcomes of the samples ``index`` (``[..., n]`` integer array: a batch of resamples)."""
        return SetOutcomes(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({f.name: getattr(self, f.name) for f in fields(self)})


def open_factors(shocks: ShockSet) -> list[str]:
    """The factors the supervisor does not fix (``metadata["fixed_factors"]`` lists the fixed ones)."""
    fixed = set(shocks.metadata.get("fixed_factors", []))
    return [f for f in shocks.factor_ids if f not in fixed]


def open_linearised_losses(
    shocks: ShockSet, sensitivities: pd.DataFrame, horizon: int = HORIZON
) -> dict[str, np.ndarray]:
    """Per class of :data:`OPEN_CLASSES` and ``total``: ``[S]`` largest linearised loss over PQ1..PQ``horizon``."""
    opened = open_factors(shocks)
    x = shocks.shocks[:, :horizon, :]
    out = {}
    for name, prefixes in OPEN_CLASSES.items():
        subset = [f for f in opened if f.split(".", 1)[0] in prefixes]
        out[name] = linearised_loss(sensitivities, x, shocks.factor_ids, factors=subset).max(axis=1)
    out["total"] = linearised_loss(sensitivities, x, shocks.factor_ids, factors=opened).max(axis=1)
    return out


class CapitalOutcomes(Protocol):
    """What the statistics read from a set's capital projection: the Fed's
    :class:`~risk_dagster.capital.scenario_capital.SetCapital` or the EBA's
    :class:`~risk_dagster.capital.eba_set_capital.EbaSetCapital`."""

    label: str

    @property
    def samples(self) -> int: ...

    @property
    def horizon_quarters(self) -> int: ...

    @property
    def start_cet1_capital(self) -> float: ...

    def per_sample_outcomes(self) -> dict[str, np.ndarray]: ...

    def summary(self) -> dict: ...


def set_outcomes(capital: CapitalOutcomes, shocks: ShockSet, sensitivities: pd.DataFrame) -> SetOutcomes:
    """The per-sample outcomes of one set from its capital projection, ShockSet and the book's sensitivities.

    Statistics 1-15 come from the projection (:meth:`CapitalOutcomes.per_sample_outcomes`), 16-20
    from the open factors' linearised losses over the projection's horizon (nine quarters for the
    Fed, twelve for the EBA's three years).
    """
    if shocks.n_samples != capital.samples:
        raise ValueError(f"{capital.label}: {shocks.n_samples} ShockSet samples, {capital.samples} capital paths")
    lin = open_linearised_losses(shocks, sensitivities, capital.horizon_quarters)
    return SetOutcomes(
        **capital.per_sample_outcomes(),
        open_rates=lin["rates"],
        open_credit=lin["credit"],
        open_equity=lin["equity"],
        open_other=lin["other"],
        open_total=lin["total"],
    )


# --------------------------------------------------------------------------- the functions
def quantile(x: np.ndarray, level: float) -> np.ndarray:
    """The ``level`` quantile along the last axis (linear interpolation)."""
    return np.quantile(x, level, axis=-1)


def expected_shortfall(x: np.ndarray, level: float) -> np.ndarray:
    """Mean of the values at or beyond the ``level`` quantile, along the last axis."""
    q = np.quantile(x, level, axis=-1, keepdims=True)
    tail = x >= q
    return (x * tail).sum(axis=-1) / tail.sum(axis=-1)


def median(x: np.ndarray) -> np.ndarray:
    return np.median(x, axis=-1)


STATISTIC_FUNCTIONS: dict[str, Callable[[SetOutcomes], np.ndarray]] = {
    "loss_mean": lambda o: o.total_loss.mean(axis=-1),
    "loss_median": lambda o: median(o.total_loss),
    "loss_var_95": lambda o: quantile(o.total_loss, 0.95),
    "loss_var_99": lambda o: quantile(o.total_loss, 0.99),
    "loss_es_97_5": lambda o: expected_shortfall(o.total_loss, 0.975),
    "loss_es_99": lambda o: expected_shortfall(o.total_loss, 0.99),
    "cet1_min_median": lambda o: median(o.min_ratio),
    "cet1_min_p05": lambda o: quantile(o.min_ratio, 0.05),
    "cet1_end_median": lambda o: median(o.end_ratio),
    "scb_median": lambda o: median(o.scb_unfloored),
    "pretax_income_median": lambda o: median(o.pretax_income),
    "trading_loss_median": lambda o: median(o.trading_loss),
    "trading_loss_es_97_5": lambda o: expected_shortfall(o.trading_loss, 0.975),
    "securities_loss_median": lambda o: median(o.securities_loss),
    "ppnr_median": lambda o: median(o.ppnr),
    "open_rates_stress_median": lambda o: median(o.open_rates),
    "open_credit_stress_median": lambda o: median(o.open_credit),
    "open_equity_stress_median": lambda o: median(o.open_equity),
    "open_other_stress_median": lambda o: median(o.open_other),
    "open_total_stress_es_97_5": lambda o: expected_shortfall(o.open_total, 0.975),
}
"""Statistic id -> function of a set's outcomes (a batch ``[B, n]`` gives ``[B]``). Statistics 21-25
come from the translator backtest, not from a set's samples."""


def statistic_values(outcomes: SetOutcomes, ids: Sequence[str] | None = None) -> dict[str, float]:
    """Point values of the sample statistics (1-20) of one set."""
    ids = list(ids) if ids is not None else list(STATISTIC_FUNCTIONS)
    return {i: float(STATISTIC_FUNCTIONS[i](outcomes)) for i in ids}


__all__ = [
    "OPEN_CLASSES",
    "STATISTIC_FUNCTIONS",
    "SetOutcomes",
    "expected_shortfall",
    "open_factors",
    "open_linearised_losses",
    "quantile",
    "set_outcomes",
    "statistic_values",
]
