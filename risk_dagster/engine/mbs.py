"""Agency MBS pass-through pricing: level-payment amortisation, PSA turnover + refinancing S-curve.

Plain functions, no Dagster. :func:`mbs_values` is the torch kernel (scenarios x pools, float64
by default, dtype and device follow the inputs); :func:`mbs_values_reference` and
:func:`mbs_cash_flows` are the numpy reference (explicit month-by-month cash flows) that the
tests hold the kernel to; :func:`effective_duration` / :func:`effective_convexity` bump the
Treasury curve and the mortgage rate together; :func:`agency_spread_shock` is the scenario rule
for the MBS spread; :func:`implied_spread` calibrates a pool's spread to a price.
``scripts/mbs_durations.py`` prints the durations quoted below.

Pool terms (arrays ``[P]``, one entry per pool)
-----------------------------------------------
``notional``
    Current face (outstanding pool balance), USD.
``coupon_rate``
    Pass-through (net) coupon paid to the investor, decimal (``0.055`` for a UMBS 5.5).
``wac``
    Gross weighted-average note rate of the loans, decimal. ``wac - coupon_rate`` is the
    servicing + guarantee-fee strip; it is paid to the servicer and the agency, not to the
    investor. Typical 30y UMBS: 25bp minimum servicing plus the ongoing g-fee (FHFA, *Single-Family
    Guarantee Fees* reports: ongoing fee 43bp on average in 2020, 44bp in 2022; 58bp all-in on
    30y fixed loans in 2019-2020 including the upfront part), i.e. roughly 70-80bp;
    ``scripts/mbs_durations.py`` uses 75bp.
``wam_months``
    Remaining term in months (integer, >= 1): the loans amortise to zero after ``wam_months``
    payments.
``age_months``
    Loan age in months (integer, >= 0): payments already made. Drives the PSA seasoning ramp.
``direction``
    +1 long, -1 short.

Conventions
-----------
- Monthly payments. Month ``j = 1..M`` is paid at time ``t[j-1]`` (years); the caller supplies the
  grid ``t [M]`` and the Treasury discount factors on it, ``df [C, M]``, so the day count is the
  caller's (``t_j = j / 12`` is :func:`payment_times`' default; ACT/365F dates work the same way).
  **Payment delay**: none is modelled by the kernel (0-day delay: month ``j``'s cash flow is paid
  at ``t[j-1]``, the end of its accrual month). A stated delay (UMBS: 55 days stated, paid on
  the 25th of the month after the accrual month, 24 days after the no-delay date, the 1st) is
  modelled by placing the grid at the payment dates, ``payment_times(M, delay_days=24)``, and
  passing the discount factors at those times; the value is then for settlement at ``t = 0``.
- **Scheduled amortisation**: a level-payment annuity at the WAC over the remaining term,
  recomputed each month on the surviving balance. With ``r = wac / 12`` and ``n`` months left at
  the start of the month, the borrower pays ``A = B r / (1 - (1+r)^-n)``, of which
  ``B r`` is gross interest and ``A - B r = B r / ((1+r)^n - 1)`` scheduled principal
  (``B / n`` when ``r = 0``). The balance left after the scheduled payment is ``B f(n)``,
  ``f(n) = (1 - (1+r)^-(n-1)) / (1 - (1+r)^-n)``.
- **Prepayment** (the month's SMM applies to the balance after scheduled principal, the PSA
  convention)::

      CPR_j = clip(turnover_multiplier * PSA(age + j) + refi_j(wac - mortgage_rate), 0, 1)
      PSA(a) = 6% * min(1, a / 30)                    (100 PSA, a = loan age in months)
      refi(I) = refi_max / (1 + exp(-(I - refi_midpoint) / refi_width))
      SMM_j = 1 - (1 - CPR_j)^(1/12)

  ``PSA`` is the PSA (Public Securities Association, now SIFMA) Standard Prepayment Model:
  100 PSA is a CPR of 0.2% in the loan's first month, rising by 0.2% a month to 6% in month 30
  and flat at 6% after; ``x`` PSA scales it by ``x / 100`` (SIFMA, *Uniform Practices for the
  Clearance and Settlement of Mortgage-Backed Securities*, chapter SF, "Standard Formulas"; also
  Fabozzi (ed.), *The Handbook of Mortgage-Backed Securities*). The month ``j`` of the
  projection is month ``age + j`` of the loans' life. Here it is the *turnover* (housing
  turnover, defaults bought out, curtailments) component, scaled by ``turnover_multiplier``
  (1.0 = 100 PSA, 6% CPR seasoned).

  ``refi`` is the refinancing S-curve on the incentive ``I = wac - mortgage_rate`` (the gross
  note rate the borrower pays less the primary rate he could refinance at), a logistic. The
  OTS Net Portfolio Value model used an arctangent of the coupon / market-rate ratio instead
  (``CPR = k1 - k2 atan(k3 (k4 - C/M))``, the form documented e.g. in Oracle OFSAA's
  "Arctangent Calculation Method"); the logistic was preferred because its tails are thin: an
  out-of-the-money pool gets no phantom refinancing (the arctangent decays like ``1/I``). The
  parameters are **chosen, not estimated**, to put the curve where the brief and the 2020-2024
  speeds of agency cohorts put it: :data:`DEFAULT_PREPAYMENT` has ``refi_max = 55%``,
  ``refi_midpoint = 135bp``, ``refi_width = 42bp``. Seasoned (age >= 30) total CPR, 100 PSA
  turnover, by incentive::

      incentive  -100bp  -50bp    0bp   +50bp  +100bp  +150bp  +200bp  +300bp
      CPR         6.2%   6.7%    8.1%   12.4%   22.7%   38.4%   51.4%   59.9%

  (``python -c "from risk_dagster.engine.mbs import *; print(pool_cpr(40, 0.015))"`` -> 0.384).
  A current-coupon pool (WAC = mortgage rate) prepays at ~8% CPR and a pool 150bp in the money
  at ~38%. Not modelled: burnout, seasonality, the lock-in of deep discount pools, the refi
  seasoning of new production, loan-level heterogeneity, refinancing lags.
- **Mortgage-rate projection**: the scenario gives one level of the primary 30y mortgage rate
  per scenario, ``mortgage_rate [C]`` (decimal; e.g. the base Freddie Mac PMMS rate plus the
  scenario's ``rates.mortgage30`` shock). It is **held flat over the pool's whole remaining
  life** (no rate paths, no mean reversion): the incentive, and hence the refinancing CPR, is
  constant per (scenario, pool); only the PSA ramp varies with the month. This is a
  deterministic ("static") valuation: it prices the prepayment option along one path, so it
  misses the option's time value, and the effective duration sees the local slope of the
  S-curve at one incentive: pools 50-150bp in the money (where the S-curve is steepest) get
  effective durations near zero or negative (a Monte Carlo OAS model gives them ~1-3).

  Option ``PrepaymentModel(rate_vol=...)`` (default 0, off): the refinancing CPR of month ``j``
  is the S-curve averaged over a normal uncertainty of the mortgage rate around its flat
  projection, ``refi_j(I) = E refi(I + rate_vol sqrt(tau_j) Z)``, ``tau_j`` the midpoint of
  the month's ``vol_bucket_months`` bucket (7-node Gauss-Hermite). A certainty-equivalent
  stand-in for the rate-path averaging of an OAS model (not a substitute: the value is not
  averaged over paths): it smooths the refinancing cliff and speeds up out-of-the-money pools
  a little (Jensen). 0.009 (90bp/sqrt(year)) is the standard deviation of four-quarter changes
  of the 30y mortgage rate, 1990-2024 (shipped FRED-QD ``MORTGAGE30US``).
- **Discounting**: month ``j``'s cash flow is discounted by
  ``df[c, j-1] * exp(-(oas[p] + spread_shock[c]) * t[j-1])``: the Treasury curve (caller) times
  the agency spread. ``oas [P]`` is the pool's base spread over Treasuries (decimal).
  Reference levels of the market's option-adjusted spread: the Bloomberg US MBS Index OAS was
  about 43bp in May 2022 (about 10bp a year earlier) and 69bp at the end of 2022Q3 (second-hand
  quotes of Pensions & Investments and of a manager's quarterly commentary); 30-60bp is the
  usual range outside stress. In this single-path model the spread that reprices a pool at its
  market price is its *static* (zero-volatility) spread, the OAS plus the option cost: with
  a true OAS, premium pools come out too rich. :func:`implied_spread` calibrates it (the
  current-coupon pool at par: 99bp over a flat 4.5% curve with a 6.25% mortgage rate, 133bp
  over the 2024-12-31 Treasury curve with the 2024Q4 6.65% mortgage rate).
  ``spread_shock [C]`` (decimal) moves every pool's spread in a scenario; see
  :func:`agency_spread_shock` for the rule linking it to the mortgage rate.
- **Value**: ``direction * sum_j D_j (interest_j + scheduled_j + prepaid_j)`` with the investor's
  net interest ``interest_j = B_{j-1} coupon_rate / 12``; no accrued interest, i.e. the value is
  the dirty PV of the future flows for settlement at ``t = 0`` on a payment date.
- **Effective duration and convexity** (:func:`effective_duration`, :func:`effective_convexity`):
  the Treasury curve (every ``df`` multiplied by ``exp(-+h t)``: a parallel shift of the
  continuously compounded zero rates) and the mortgage rate are shifted together by ``+-h``
  (mortgage rates move with Treasuries: the standard effective-duration convention), the OAS held
  fixed; ``D = (V- - V+) / (2 h V0)``, ``C = (V- + V+ - 2 V0) / (h^2 V0)`` in years and years^2
  (quote systems often show ``C / 100``). Default ``h = 25bp``.

Measured (``scripts/mbs_durations.py``; pools aged 12 months, WAC = coupon + 75bp, flat 4.5%
Treasury zero curve, 6.25% mortgage rate, spread 50bp; D in years, C / 100)::

      coupon          3.0    4.0    4.5    5.0    5.5*   6.0    6.5    7.0
      CPR seasoned    6.0%   6.1%   6.2%   6.7%   8.1%  12.4%  22.7%  38.4%
      D static        7.30   7.40   7.40   7.06   5.45   1.67  -1.52  -1.40
      C static        0.93   0.96   0.72  -0.63  -4.88  -8.99  -2.94   2.29
      D rate_vol=0.9% 7.77   6.70   5.77   4.69   3.52   2.10   0.58  -0.10
      C rate_vol=0.9% 0.47  -0.97  -1.54  -1.89  -2.31  -3.11  -2.59  -0.24

  (* current coupon: WAC = mortgage rate). With the spread at which the current coupon is at
  par (99bp), the static D of the 5.5 is 6.24 (C -3.09); over the 2024-12-31 Treasury curve
  (6.65% mortgage rate, par spread 133bp) the rate_vol=0.9% durations run 7.9 (3.0), 7.7
  (4.0), 6.1 (5.0), 5.0 (5.5), 3.8 (6.0), 2.4 (6.5), 1.0 (7.0).

Algorithm
---------
With ``S_m`` the scheduled balance fraction after ``m`` months (closed form, per pool),
``Q_m = prod_{j<=m} (1 - SMM_j)`` the survival to prepayment and ``B_m = N S_m Q_m``, the month's
investor cash flow is ``B_{j-1} (1 + c/12) - B_j`` and the value telescopes into

    ``V = N sum_m Q_m S_m (D_{m+1} (1 + c/12) - D_m)``.

``D`` is separable (``df[c, :] exp(-spread_shock[c] t)`` times ``exp(-oas[p] t)``), so each term
is a rank-2 ``[C, P]`` matrix ``G_m``, and the sum over ``m`` is evaluated backwards by Horner's
rule, ``H <- (1 - SMM_{m+1}) * H + G_m``: two ``[C, P]`` operations per month (one multiply, one
``addmm`` with inner dimension 2), plus, in the PSA ramp months only, the month's survival
for the pools still on the ramp (pools are sorted by age so they are a prefix of the columns);
scenario chunks of ``chunk_size``, memory ``O(C P + C M + P M)``. 300 pools x 1,000
scenarios x 360 months in float64, half the pools on the ramp (``scripts/mbs_durations.py
--timing``, a shared 2-core machine): 0.15-0.19 s on one thread, 0.11 s on two; 0.3-0.8 s with
``rate_vol > 0``, which re-evaluates the averaged S-curve once per bucket.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import torch
from scipy.special import expit

__all__ = [
    "DEFAULT_PREPAYMENT",
    "NO_PREPAYMENT",
    "PSA_RAMP_MONTHS",
    "PSA_SEASONED_CPR",
    "MBSCashFlows",
    "PrepaymentModel",
    "agency_spread_shock",
    "cpr_to_smm",
    "effective_convexity",
    "effective_duration",
    "effective_duration_convexity",
    "implied_spread",
    "mbs_cash_flows",
    "mbs_values",
    "mbs_values_reference",
    "payment_times",
    "pool_cpr",
    "psa_cpr",
    "refi_cpr",
    "smm_to_cpr",
]

FloatArray = npt.NDArray[np.float64]
ArrayOrTensor = npt.ArrayLike | torch.Tensor

#: 100 PSA: CPR rises linearly over the first 30 months of loan age ...
PSA_RAMP_MONTHS = 30
#: ... to 6% a year, and stays there.
PSA_SEASONED_CPR = 0.06


@dataclass(frozen=True)
class PrepaymentModel:
    """Parameters of the CPR model (see the module docstring).

    Attributes
    ----------
    turnover_multiplier
        Multiple of the PSA ramp for turnover (1.0 = 100 PSA: 6% CPR once seasoned).
    refi_max
        Asymptotic refinancing CPR deep in the money (decimal, annual).
    refi_midpoint
        Incentive ``wac - mortgage_rate`` (decimal) at which refinancing is half of ``refi_max``.
    refi_width
        Logistic scale (decimal): the refinancing CPR goes from 27% to 73% of ``refi_max`` over
        ``midpoint +- width``.
    rate_vol
        Normal volatility of the mortgage rate (decimal per sqrt(year)) around its flat
        projection, for the rate-uncertainty average of the S-curve; 0 (default) is the pure
        single-path projection.
    vol_bucket_months
        Months per horizon bucket of that average (the horizon of month ``j`` is the midpoint of
        its bucket, ``(floor((j-1) / b) + 1/2) * b / 12`` years).
    """

    turnover_multiplier: float = 1.0
    refi_max: float = 0.55
    refi_midpoint: float = 0.0135
    refi_width: float = 0.0042
    rate_vol: float = 0.0
    vol_bucket_months: int = 12

    def __post_init__(self) -> None:
        if self.refi_width <= 0:
            raise ValueError(f"refi_width must be positive, got {self.refi_width}")
        if self.refi_max < 0 or self.turnover_multiplier < 0 or self.rate_vol < 0:
            raise ValueError("refi_max, turnover_multiplier and rate_vol must be non-negative")
        if self.vol_bucket_months < 1:
            raise ValueError("vol_bucket_months must be >= 1")

    def horizon_years(self, month_index: npt.ArrayLike) -> FloatArray:
        """Horizon (years) of the rate-uncertainty average for 0-based projection month ``month_index``."""
        b = self.vol_bucket_months
        return (np.floor_divide(np.asarray(month_index), b) + 0.5) * b / 12.0


#: Gauss-Hermite (probabilists') nodes and weights of the rate-uncertainty average: E f(I + sd Z).
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(7)
_GH_WEIGHTS = _GH_WEIGHTS / _GH_WEIGHTS.sum()

DEFAULT_PREPAYMENT = PrepaymentModel()
#: Scheduled amortisation only (used by the tests and for "no prepayment" what-ifs).
NO_PREPAYMENT = PrepaymentModel(turnover_multiplier=0.0, refi_max=0.0)


# --------------------------------------------------------------------------------------------
# CPR / SMM / PSA (numpy)
# --------------------------------------------------------------------------------------------


def psa_cpr(age_months: npt.ArrayLike, psa_speed: float = 100.0) -> FloatArray:
    """CPR of the PSA Standard Prepayment Model at loan age ``age_months`` (month of the loan's life).

    100 PSA: ``0.2%`` in month 1, ``+0.2%`` a month, ``6%`` from month 30 on; ``psa_speed``
    scales it (150 PSA: 0.3% ... 9%). Ages <= 0 give 0.

    Parameters
    ----------
    age_months
        Loan age in months; month 1 is the first month after origination.
    psa_speed
        PSA speed in percent of the benchmark.
    """
    a = np.clip(np.asarray(age_months, dtype=np.float64), 0.0, PSA_RAMP_MONTHS)
    return psa_speed / 100.0 * PSA_SEASONED_CPR * a / PSA_RAMP_MONTHS


def cpr_to_smm(cpr: npt.ArrayLike) -> FloatArray:
    """Single monthly mortality ``1 - (1 - CPR)^(1/12)`` from an annual CPR (decimals)."""
    with np.errstate(divide="ignore"):  # CPR = 1: log1p(-1) = -inf, SMM = 1
        return -np.expm1(np.log1p(-np.asarray(cpr, dtype=np.float64)) / 12.0)


def smm_to_cpr(smm: npt.ArrayLike) -> FloatArray:
    """Annual CPR ``1 - (1 - SMM)^12`` from a single monthly mortality (decimals)."""
    with np.errstate(divide="ignore"):
        return -np.expm1(12.0 * np.log1p(-np.asarray(smm, dtype=np.float64)))


def refi_cpr(
    incentive: npt.ArrayLike, model: PrepaymentModel = DEFAULT_PREPAYMENT, horizon_years: npt.ArrayLike = 0.0
) -> FloatArray:
    """Refinancing CPR at incentive ``I = wac - mortgage_rate`` (decimals).

    ``refi_max / (1 + exp(-(I - midpoint) / width))``; with ``model.rate_vol > 0`` its average
    over ``I + rate_vol * sqrt(horizon_years) * Z``, ``Z ~ N(0, 1)`` (7-node Gauss-Hermite).
    """
    inc = np.asarray(incentive, dtype=np.float64)
    sd = model.rate_vol * np.sqrt(np.asarray(horizon_years, dtype=np.float64))
    if model.rate_vol == 0.0:
        return model.refi_max * expit((inc - model.refi_midpoint) / model.refi_width)
    x = inc[..., None] + np.asarray(sd)[..., None] * _GH_NODES
    return model.refi_max * (expit((x - model.refi_midpoint) / model.refi_width) * _GH_WEIGHTS).sum(axis=-1)


def pool_cpr(
    loan_age: npt.ArrayLike,
    incentive: npt.ArrayLike,
    model: PrepaymentModel = DEFAULT_PREPAYMENT,
    horizon_years: npt.ArrayLike = 0.0,
) -> FloatArray:
    """Total CPR ``clip(turnover_multiplier * PSA(loan_age) + refi(incentive), 0, 1)``.

    Parameters
    ----------
    loan_age
        Month of the loans' life (``age_months + j`` in projection month ``j``).
    incentive
        ``wac - mortgage_rate``, decimal.
    model
        Prepayment model.
    horizon_years
        Horizon of the rate-uncertainty average (only with ``model.rate_vol > 0``).
    """
    turnover = model.turnover_multiplier * psa_cpr(loan_age)
    return np.clip(turnover + refi_cpr(incentive, model, horizon_years), 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# Spread rule and grid helpers
# --------------------------------------------------------------------------------------------


def agency_spread_shock(
    mortgage_rate_change: ArrayOrTensor, treasury_10y_change: ArrayOrTensor, pass_through: float = 1.0
) -> ArrayOrTensor:
    """Agency MBS spread shock linked to the scenario's mortgage rate: ``pass_through * (dmtg - d10y)``.

    The rule: the change of the primary 30y mortgage rate's spread to the 10y Treasury passes
    one for one (``pass_through = 1``) to the agency MBS spread (every pool, every coupon).
    Why: the current-coupon MBS yield tracks the primary mortgage rate less the
    primary-secondary spread (originator margin, servicing and g-fee), which is roughly stable
    compared with the mortgage-Treasury spread itself, so a widening of mortgage rates against
    Treasuries in a scenario (the Fed's scenarios give both the mortgage rate and the 10y yield)
    is a widening of MBS spreads. Caveats: the primary-secondary spread itself widened in 2020
    (origination capacity), the 10y is a proxy for the duration-matched (5-7y) Treasury, and the
    shock is parallel across coupons.

    Parameters
    ----------
    mortgage_rate_change, treasury_10y_change
        ``[C]`` changes of the primary mortgage rate and of the 10y Treasury yield, **decimals**
        (a +50bp shock is ``0.005``: divide ``absolute_bp`` factor shocks by 1e4). numpy or torch.
    pass_through
        Fraction of the spread change passed to the MBS spread.

    Returns
    -------
    ``[C]`` spread shock (decimal), same array type as the inputs; feed it to ``spread_shock``.
    """
    return pass_through * (mortgage_rate_change - treasury_10y_change)


def payment_times(n_months: int, delay_days: float = 0.0) -> FloatArray:
    """Payment grid ``t_j = j / 12 + delay_days / 365`` (years), ``j = 1..n_months``.

    ``j / 12`` is a 30/360 month; pass ACT/365F times of actual payment dates instead where the
    day count matters (the kernel takes any increasing grid).
    """
    return (np.arange(1, n_months + 1, dtype=np.float64) / 12.0) + delay_days / 365.0


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pools:
    notional: FloatArray
    coupon_rate: FloatArray
    wac: FloatArray
    wam_months: npt.NDArray[np.int64]
    age_months: npt.NDArray[np.int64]
    direction: FloatArray

    @property
    def n(self) -> int:
        return int(self.notional.shape[0])


def _np(x: ArrayOrTensor, dtype: type = np.float64) -> npt.NDArray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def _int_months(x: ArrayOrTensor, name: str) -> npt.NDArray[np.int64]:
    a = _np(x)
    r = np.rint(a)
    if np.any(np.abs(a - r) > 1e-9):
        raise ValueError(f"{name} must be whole months")
    return r.astype(np.int64)


def _pools(
    notional: ArrayOrTensor, coupon_rate: ArrayOrTensor, wac: ArrayOrTensor,
    wam_months: ArrayOrTensor, age_months: ArrayOrTensor, direction: ArrayOrTensor | None,
) -> _Pools:  # fmt: skip
    n = np.atleast_1d(_np(notional))
    if n.ndim != 1:
        raise ValueError("notional must be a vector [P]")
    p = n.shape[0]

    def vec(x: ArrayOrTensor, name: str) -> FloatArray:
        try:
            return np.broadcast_to(np.atleast_1d(_np(x)), (p,)).astype(np.float64)
        except ValueError:
            raise ValueError(f"{name} must have one entry per pool ({p})") from None

    pools = _Pools(
        n,
        vec(coupon_rate, "coupon_rate"),
        vec(wac, "wac"),
        np.broadcast_to(np.atleast_1d(_int_months(wam_months, "wam_months")), (p,)).copy(),
        np.broadcast_to(np.atleast_1d(_int_months(age_months, "age_months")), (p,)).copy(),
        vec(1.0 if direction is None else direction, "direction"),
    )
    if np.any(pools.wam_months < 1):
        raise ValueError("wam_months must be >= 1 (drop matured pools)")
    if np.any(pools.age_months < 0):
        raise ValueError("age_months must be >= 0")
    if np.any(pools.wac < 0):
        raise ValueError("wac must be non-negative")
    if not np.all(np.isin(pools.direction, (-1.0, 1.0))):
        raise ValueError("direction must be +1 or -1")
    return pools


# --------------------------------------------------------------------------------------------
# numpy reference: explicit cash flows
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MBSCashFlows:
    """Monthly pool cash flows for one scenario, arrays ``[P, M]`` (month ``j`` in column ``j-1``).

    Amounts are the pool's (per its current face ``notional``), not signed by ``direction``.

    Attributes
    ----------
    balance
        Opening balance of the month.
    interest
        Investor's net interest ``balance * coupon_rate / 12``.
    scheduled_principal
        Scheduled principal of the level-payment annuity at the WAC.
    prepaid_principal
        Prepayment ``(balance - scheduled) * SMM``.
    servicing
        Servicing and guarantee-fee strip ``balance * (wac - coupon_rate) / 12`` (not the investor's).
    cpr, smm
        The month's annual prepayment rate and single monthly mortality.
    """

    balance: FloatArray
    interest: FloatArray
    scheduled_principal: FloatArray
    prepaid_principal: FloatArray
    servicing: FloatArray
    cpr: FloatArray
    smm: FloatArray

    @property
    def principal(self) -> FloatArray:
        return self.scheduled_principal + self.prepaid_principal

    @property
    def total(self) -> FloatArray:
        """Investor's cash flow: net interest + scheduled + prepaid principal."""
        return self.interest + self.principal

    @property
    def ending_balance(self) -> FloatArray:
        return self.balance - self.principal

    def wal_years(self, t: npt.ArrayLike | None = None) -> FloatArray:
        """Weighted-average life ``sum t_j principal_j / sum principal_j`` (``t_j = j / 12`` unless given)."""
        m = self.balance.shape[1]
        tt = payment_times(m) if t is None else np.asarray(t, dtype=np.float64)[:m]
        p = self.principal
        return (p * tt).sum(axis=1) / p.sum(axis=1)


def mbs_cash_flows(
    notional: ArrayOrTensor,
    coupon_rate: ArrayOrTensor,
    wac: ArrayOrTensor,
    wam_months: ArrayOrTensor,
    age_months: ArrayOrTensor,
    mortgage_rate: float,
    model: PrepaymentModel = DEFAULT_PREPAYMENT,
    n_months: int | None = None,
) -> MBSCashFlows:
    """Month-by-month cash flows of pools in one scenario (numpy reference, for reports and tests).

    Parameters
    ----------
    notional, coupon_rate, wac, wam_months, age_months
        Pool terms ``[P]`` (see the module docstring).
    mortgage_rate
        The scenario's primary 30y mortgage rate (decimal), held flat over the projection.
    model
        Prepayment model.
    n_months
        Columns of the result (default: the longest ``wam_months``); months after a pool's
        maturity are zero.
    """
    pools = _pools(notional, coupon_rate, wac, wam_months, age_months, None)
    m_max = int(pools.wam_months.max())
    m_out = m_max if n_months is None else int(n_months)
    shape = (pools.n, m_out)
    out = {k: np.zeros(shape) for k in ("balance", "interest", "sched", "prepaid", "servicing", "cpr", "smm")}
    r = pools.wac / 12.0
    b = pools.notional.copy()
    incentive = pools.wac - float(mortgage_rate)
    for j in range(1, min(m_out, m_max) + 1):
        n_left = pools.wam_months - j + 1
        alive = n_left >= 1
        nn = np.maximum(n_left, 1).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            annuity = np.where(r > 0, b * r / (1.0 - (1.0 + r) ** (-nn)), b / nn)
        sched = np.where(n_left == 1, b, np.where(alive, annuity - b * r, 0.0))  # the last payment clears b
        cpr = np.where(alive, pool_cpr(pools.age_months + j, incentive, model, model.horizon_years(j - 1)), 0.0)
        smm = cpr_to_smm(cpr)
        prepaid = (b - sched) * smm
        out["balance"][:, j - 1] = b
        out["interest"][:, j - 1] = b * pools.coupon_rate / 12.0
        out["servicing"][:, j - 1] = b * (pools.wac - pools.coupon_rate) / 12.0
        out["sched"][:, j - 1] = sched
        out["prepaid"][:, j - 1] = prepaid
        out["cpr"][:, j - 1] = cpr
        out["smm"][:, j - 1] = smm
        b = np.where(alive, b - sched - prepaid, 0.0)
        b[n_left <= 1] = 0.0  # exact zero after the last payment
    return MBSCashFlows(
        out["balance"], out["interest"], out["sched"], out["prepaid"], out["servicing"], out["cpr"], out["smm"]
    )


def mbs_values_reference(
    notional: ArrayOrTensor,
    coupon_rate: ArrayOrTensor,
    wac: ArrayOrTensor,
    wam_months: ArrayOrTensor,
    age_months: ArrayOrTensor,
    direction: ArrayOrTensor,
    mortgage_rate: ArrayOrTensor,
    df: ArrayOrTensor,
    t: ArrayOrTensor,
    oas: ArrayOrTensor,
    spread_shock: ArrayOrTensor | None = None,
    model: PrepaymentModel = DEFAULT_PREPAYMENT,
) -> FloatArray:
    """numpy reference of :func:`mbs_values`: explicit cash flows per scenario, discounted. ``[C, P]``."""
    pools = _pools(notional, coupon_rate, wac, wam_months, age_months, direction)
    mr, dfa, ta, oa, ss = _scenario_inputs(pools, mortgage_rate, df, t, oas, spread_shock)
    m = int(pools.wam_months.max())
    values = np.zeros((mr.shape[0], pools.n))
    pool_disc = np.exp(-oa[:, None] * ta[None, :m])  # [P, m]
    for c in range(mr.shape[0]):
        cf = mbs_cash_flows(pools.notional, pools.coupon_rate, pools.wac, pools.wam_months, pools.age_months,
                            float(mr[c]), model, n_months=m)  # fmt: skip
        disc = dfa[c, :m] * np.exp(-ss[c] * ta[:m])  # [m]
        values[c] = pools.direction * (cf.total * pool_disc * disc[None, :]).sum(axis=1)
    return values


def _scenario_inputs(
    pools: _Pools, mortgage_rate: ArrayOrTensor, df: ArrayOrTensor, t: ArrayOrTensor,
    oas: ArrayOrTensor, spread_shock: ArrayOrTensor | None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:  # fmt: skip
    dfa = np.atleast_2d(_np(df))
    c, m = dfa.shape
    mr = np.broadcast_to(np.atleast_1d(_np(mortgage_rate)), (c,))
    ta = np.atleast_1d(_np(t))
    oa = np.broadcast_to(np.atleast_1d(_np(oas)), (pools.n,))
    ss = np.zeros(c) if spread_shock is None else np.broadcast_to(np.atleast_1d(_np(spread_shock)), (c,))
    _check_grid(pools, m, ta.shape[0])
    return mr, dfa, ta, oa, ss


def _check_grid(pools: _Pools, m_df: int, m_t: int) -> None:
    if m_t != m_df:
        raise ValueError(f"t has {m_t} months but df has {m_df}")
    need = int(pools.wam_months.max())
    if m_df < need:
        raise ValueError(f"the payment grid has {m_df} months; the longest pool needs {need}")


# --------------------------------------------------------------------------------------------
# torch kernel
# --------------------------------------------------------------------------------------------


def _reference_tensor(*xs: object) -> tuple[torch.dtype, torch.device]:
    for x in xs:
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            return x.dtype, x.device
    return torch.float64, torch.device("cpu")


def _t(x: ArrayOrTensor, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x.to(dtype=dtype, device=device)
    return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype, device=device)


def mbs_values(
    notional: ArrayOrTensor,
    coupon_rate: ArrayOrTensor,
    wac: ArrayOrTensor,
    wam_months: ArrayOrTensor,
    age_months: ArrayOrTensor,
    direction: ArrayOrTensor,
    mortgage_rate: ArrayOrTensor,
    df: ArrayOrTensor,
    t: ArrayOrTensor,
    oas: ArrayOrTensor,
    spread_shock: ArrayOrTensor | None = None,
    model: PrepaymentModel = DEFAULT_PREPAYMENT,
    chunk_size: int = 2048,
) -> torch.Tensor:
    """Values of agency MBS pass-throughs in every scenario, ``[C, P]`` (torch).

    ``direction * PV`` of the investor's cash flows (net interest + scheduled + prepaid principal)
    under the conventions of the module docstring.

    Parameters
    ----------
    notional, coupon_rate, wac, wam_months, age_months, direction
        Pool terms ``[P]``: current face (USD), net coupon, gross WAC (decimals), remaining term
        and loan age (whole months), +1/-1.
    mortgage_rate
        ``[C]`` primary 30y mortgage rate per scenario (decimal; base rate plus the scenario's
        shock), held flat over the pools' lives for the refinancing incentive ``wac - mortgage_rate``.
    df
        ``[C, M]`` Treasury discount factors at the payment times; ``M >= max(wam_months)``.
    t
        ``[M]`` payment times in years (month ``j`` at ``t[j-1]``).
    oas
        ``[P]`` base option-adjusted spread over Treasuries (decimal).
    spread_shock
        ``[C]`` agency spread shock (decimal), added to every pool's OAS; ``None`` = 0.
    model
        Prepayment model parameters.
    chunk_size
        Scenarios evaluated together (bounds memory at ``~ chunk_size * (P + 2 M)`` numbers).

    Returns
    -------
    ``[C, P]`` tensor in the dtype and on the device of ``df`` (or the first floating tensor
    among ``mortgage_rate``, ``t``; float64 on the CPU when all are numpy).
    """
    dtype, device = _reference_tensor(df, mortgage_rate, t, spread_shock, oas, notional)
    pools = _pools(notional, coupon_rate, wac, wam_months, age_months, direction)
    df_t = _t(df, dtype, device)
    if df_t.ndim == 1:
        df_t = df_t.unsqueeze(0)
    c_count, m_count = df_t.shape
    t_t = _t(t, dtype, device).reshape(-1)
    _check_grid(pools, m_count, int(t_t.shape[0]))
    mr = _t(mortgage_rate, dtype, device).reshape(-1).expand(c_count)
    ss = (torch.zeros(c_count, dtype=dtype, device=device) if spread_shock is None
          else _t(spread_shock, dtype, device).reshape(-1).expand(c_count))  # fmt: skip
    oas_t = _t(oas, dtype, device).reshape(-1).expand(pools.n)

    mw = int(pools.wam_months.max())
    t_t = t_t[:mw]
    df_t = df_t[:, :mw]
    # pools sorted by age: in a month of the PSA ramp the unseasoned pools are a prefix of columns
    order = np.argsort(pools.age_months, kind="stable")
    order_t = torch.as_tensor(order, device=device)
    sorted_pools = _Pools(*(getattr(pools, f)[order] for f in _Pools.__dataclass_fields__))
    pool_side = _pool_side(sorted_pools, oas_t[order_t], t_t, dtype, device, model)

    out = torch.empty((c_count, pools.n), dtype=dtype, device=device)
    step = max(1, int(chunk_size))
    for c0 in range(0, c_count, step):
        c1 = min(c_count, c0 + step)
        out[c0:c1, order_t] = _horner(pool_side, df_t[c0:c1], ss[c0:c1], mr[c0:c1], t_t, model)
    return out


@dataclass(frozen=True)
class _PoolSide:
    """Scenario-independent tensors of the kernel (``m = 0..mw-1``)."""

    coef: torch.Tensor  # [mw, 2, P]: rows a_{m+1} = w_{m+1} k S_m and -b_m = -w_m S_m
    turnover: torch.Tensor  # [mw, P]: turnover CPR of month m+1
    wac: torch.Tensor  # [P]
    scale: torch.Tensor  # [P]: direction * notional
    unseasoned: tuple[int, ...]  # [m]: pools (a prefix: sorted by age) still on the PSA ramp in month m+1


def _pool_side(
    pools: _Pools, oas: torch.Tensor, t: torch.Tensor, dtype: torch.dtype, device: torch.device,
    model: PrepaymentModel,
) -> _PoolSide:  # fmt: skip
    mw = int(t.shape[0])
    wam = torch.as_tensor(pools.wam_months, dtype=dtype, device=device)
    age = torch.as_tensor(pools.age_months, dtype=dtype, device=device)
    wac = torch.as_tensor(pools.wac, dtype=dtype, device=device)
    k = 1.0 + torch.as_tensor(pools.coupon_rate, dtype=dtype, device=device) / 12.0
    r = wac / 12.0
    m = torch.arange(mw, dtype=dtype, device=device).unsqueeze(1)  # [mw, 1]
    left = torch.clamp(wam - m, min=0.0)  # months left after m payments
    log_v = -torch.log1p(r)  # log of the monthly discount 1/(1+r) at the WAC
    pos = r > 0
    denom = torch.where(pos, torch.expm1(log_v * wam), -torch.ones_like(r))
    sched = torch.where(pos, torch.expm1(log_v * left) / denom, left / wam)  # S_m [mw, P]
    w_next = torch.exp(-oas.unsqueeze(0) * t.unsqueeze(1))  # w_{m+1} = exp(-oas t[m])
    w_cur = torch.cat([torch.zeros_like(w_next[:1]), w_next[:-1]])  # w_m (w_0 := 0)
    coef = torch.stack([w_next * k * sched, -w_cur * sched], dim=1)  # [mw, 2, P]
    loan_age = age + m + 1.0  # loan month of projection month m+1
    turnover = model.turnover_multiplier * PSA_SEASONED_CPR * torch.clamp(loan_age / PSA_RAMP_MONTHS, max=1.0)
    # month m+1 is on the ramp for a pool iff age + m + 1 < 30 (pools sorted by age)
    ramp_months = max(0, PSA_RAMP_MONTHS - 1 - int(pools.age_months.min()))
    unseasoned = tuple(int(np.searchsorted(pools.age_months, PSA_RAMP_MONTHS - 1 - m)) for m in range(ramp_months))
    scale = torch.as_tensor(pools.direction * pools.notional, dtype=dtype, device=device)
    return _PoolSide(coef.contiguous(), turnover, wac, scale, unseasoned)


def _survival(cpr: torch.Tensor) -> torch.Tensor:
    """``1 - SMM = (1 - CPR)^(1/12) = exp(log1p(-CPR) / 12)`` (``CPR`` clipped to [0, 1])."""
    return torch.log1p(-torch.clamp(cpr, 0.0, 1.0)).mul_(1.0 / 12.0).exp_()


def _refi_torch(
    incentive: torch.Tensor, model: PrepaymentModel, horizon_years: float, exp_neg_z: torch.Tensor | None = None
) -> torch.Tensor:
    """torch twin of :func:`refi_cpr` at one horizon.

    With ``rate_vol > 0``, ``exp_neg_z = exp(-(I - midpoint) / width)`` (computed once) turns each
    node's logistic into ``1 / (1 + exp_neg_z * exp(-sd x_k / width))``: no transcendental per node.
    """
    if model.rate_vol == 0.0:
        return model.refi_max * torch.sigmoid((incentive - model.refi_midpoint) / model.refi_width)
    if exp_neg_z is None:
        exp_neg_z = torch.exp(-(incentive - model.refi_midpoint) / model.refi_width)
    sd = model.rate_vol * horizon_years**0.5
    out = torch.zeros_like(incentive)
    for x, w in zip(_GH_NODES.tolist(), _GH_WEIGHTS.tolist(), strict=True):
        out.add_(torch.mul(exp_neg_z, math.exp(-sd * x / model.refi_width)).add_(1.0).reciprocal_(), alpha=w)
    return out.mul_(model.refi_max)


def _horner(
    ps: _PoolSide, df: torch.Tensor, ss: torch.Tensor, mr: torch.Tensor, t: torch.Tensor,
    model: PrepaymentModel,
) -> torch.Tensor:  # fmt: skip
    mw = int(t.shape[0])
    # u_{m+1} = df[:, m] exp(-ss t[m]); u_m (u_0 := 0): [mw, C, 2]
    u_next = df * torch.exp(-ss.unsqueeze(1) * t.unsqueeze(0))  # [C, mw]
    u_cur = torch.cat([torch.zeros_like(u_next[:, :1]), u_next[:, :-1]], dim=1)
    u = torch.stack([u_next, u_cur], dim=2).transpose(0, 1).contiguous()  # [mw, C, 2]
    incentive = ps.wac.unsqueeze(0) - mr.unsqueeze(1)  # [C, P]
    flat = model.turnover_multiplier * PSA_SEASONED_CPR
    bucket, refi, seasoned = -1, incentive, incentive
    exp_neg_z = torch.exp(-(incentive - model.refi_midpoint) / model.refi_width) if model.rate_vol > 0 else None
    h = torch.zeros_like(incentive)
    # H_m = G_m + (1 - SMM_{m+1}) H_{m+1};  V = H_0.  Month m+1 is 0-based month m of the grid.
    for m in range(mw - 1, -1, -1):
        if m + 1 < mw:
            b = m // model.vol_bucket_months if model.rate_vol > 0 else 0
            if b != bucket:  # the refinancing CPR changes only with the horizon bucket
                bucket = b
                refi = _refi_torch(incentive, model, float(model.horizon_years(m)), exp_neg_z)
                seasoned = _survival(refi + flat)
            k = ps.unseasoned[m] if m < len(ps.unseasoned) else 0
            if k:
                h[:, :k].mul_(_survival(refi[:, :k] + ps.turnover[m, :k]))
                h[:, k:].mul_(seasoned[:, k:])
            else:
                h.mul_(seasoned)
        h.addmm_(u[m], ps.coef[m])
    return h * ps.scale.unsqueeze(0)


# --------------------------------------------------------------------------------------------
# Effective duration and convexity
# --------------------------------------------------------------------------------------------


def effective_duration_convexity(
    notional: ArrayOrTensor,
    coupon_rate: ArrayOrTensor,
    wac: ArrayOrTensor,
    wam_months: ArrayOrTensor,
    age_months: ArrayOrTensor,
    direction: ArrayOrTensor,
    mortgage_rate: ArrayOrTensor,
    df: ArrayOrTensor,
    t: ArrayOrTensor,
    oas: ArrayOrTensor,
    spread_shock: ArrayOrTensor | None = None,
    model: PrepaymentModel = DEFAULT_PREPAYMENT,
    h: float = 0.0025,
    chunk_size: int = 2048,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Effective duration (years) and convexity (years^2), ``[C, P]`` each.

    The Treasury curve and the mortgage rate are shifted together by ``+-h`` (``df * exp(-+h t)``,
    ``mortgage_rate +- h``), OAS and ``spread_shock`` held: ``D = (V- - V+) / (2 h V0)``,
    ``C = (V- + V+ - 2 V0) / (h^2 V0)``. Arguments as :func:`mbs_values`; ``h`` decimal (25bp).
    A pool valued at 0 gives NaN.
    """
    dtype, device = _reference_tensor(df, mortgage_rate, t, spread_shock, oas, notional)
    df_t = _t(df, dtype, device)
    t_t = _t(t, dtype, device).reshape(-1)
    mr = _t(mortgage_rate, dtype, device).reshape(-1)
    bump = torch.exp(-h * t_t)
    args = (notional, coupon_rate, wac, wam_months, age_months, direction)
    kw = {"spread_shock": spread_shock, "model": model, "chunk_size": chunk_size}
    v0 = mbs_values(*args, mr, df_t, t_t, oas, **kw)
    v_up = mbs_values(*args, mr + h, df_t * bump, t_t, oas, **kw)
    v_dn = mbs_values(*args, mr - h, df_t / bump, t_t, oas, **kw)
    duration = (v_dn - v_up) / (2.0 * h * v0)
    convexity = (v_dn + v_up - 2.0 * v0) / (h * h * v0)
    return duration, convexity


def effective_duration(*args: ArrayOrTensor, **kwargs: object) -> torch.Tensor:
    """Effective duration (years) ``[C, P]``; arguments as :func:`effective_duration_convexity`."""
    return effective_duration_convexity(*args, **kwargs)[0]  # type: ignore[arg-type]


def effective_convexity(*args: ArrayOrTensor, **kwargs: object) -> torch.Tensor:
    """Effective convexity (years^2) ``[C, P]``; arguments as :func:`effective_duration_convexity`."""
    return effective_duration_convexity(*args, **kwargs)[1]  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Spread implied by a price
# --------------------------------------------------------------------------------------------


def implied_spread(
    price: ArrayOrTensor,
    coupon_rate: ArrayOrTensor,
    wac: ArrayOrTensor,
    wam_months: ArrayOrTensor,
    age_months: ArrayOrTensor,
    mortgage_rate: float,
    df: ArrayOrTensor,
    t: ArrayOrTensor,
    model: PrepaymentModel = DEFAULT_PREPAYMENT,
    bounds: tuple[float, float] = (-0.05, 0.25),
    iterations: int = 60,
) -> torch.Tensor:
    """Spread over the Treasury curve at which each pool is worth ``price`` per 100 face, ``[P]``.

    In this single-path model that is the pool's *static* (zero-volatility) spread: feed it as
    ``oas`` to reprice the pool at its market price in the base scenario. It exceeds the market's
    option-adjusted spread by roughly the option cost that a Monte Carlo OAS model charges.
    Bisection on ``bounds`` (the value falls with the spread), vectorised over pools; one
    scenario (``df [M]`` or ``[1, M]``, ``mortgage_rate`` a number).
    """
    dtype, device = _reference_tensor(df, t, price)
    p = np.atleast_1d(_np(price))
    n = p.shape[0]
    target = torch.as_tensor(p, dtype=dtype, device=device)
    lo = torch.full((n,), bounds[0], dtype=dtype, device=device)
    hi = torch.full((n,), bounds[1], dtype=dtype, device=device)
    df_t = _t(df, dtype, device).reshape(1, -1)
    args = (np.full(n, 100.0), coupon_rate, wac, wam_months, age_months, np.ones(n), [float(mortgage_rate)], df_t, t)
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        above = mbs_values(*args, mid, model=model)[0] > target
        lo = torch.where(above, mid, lo)
        hi = torch.where(above, hi, mid)
    return 0.5 * (lo + hi)
