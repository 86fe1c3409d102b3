"""Print effective durations of 30y agency MBS pools by coupon (``risk_dagster.engine.mbs``).

For net coupons 3% to 7% (WAC = coupon + 75bp: 25bp servicing + ~50bp g-fee), remaining term
``360 - age`` months, OAS 50bp, two markets:

- ``flat 4.5%``: a flat 4.5% continuously compounded Treasury zero curve and a 6.25% mortgage
  rate (4.5% + 1.75%, the 1990-2024 average spread of the 30y mortgage rate to the 10y Treasury
  in the shipped FRED-QD, ``MORTGAGE30US - GS10``); the unit tests' market;
- ``UST 2024-12-31``: the shipped Treasury zero curve (``treasury_zero_curve()``) and the 2024Q4
  30y mortgage rate of the shipped FRED-QD (``MORTGAGE30US``, quarterly average, 6.65%).

Columns: the incentive ``WAC - mortgage rate``; the seasoned CPR at the base mortgage rate
(``pool_cpr(30, incentive)``); the WAL (years) of the default model; then for two spreads over
Treasuries, (a) an OAS of 50bp and (b) the static spread at which the current-coupon pool
(WAC = mortgage rate) is worth par (``implied_spread``): the price per 100 face and the
effective duration (years) and convexity (``C / 100``, the quote-system unit) shifting the
Treasury curve and the mortgage rate together by +-25bp, first with the pure single-path
projection (the default model), then ("vol") with the S-curve averaged over a 90bp/sqrt(year)
normal uncertainty of the mortgage rate (``PrepaymentModel(rate_vol=0.009)``; 90bp is the
standard deviation of four-quarter changes of ``MORTGAGE30US``, 1990-2024).

Run from the repository root: ``python scripts/mbs_durations.py [--age 12] [--timing]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

import numpy as np
import torch

from risk_dagster.engine.mbs import (
    DEFAULT_PREPAYMENT,
    PrepaymentModel,
    effective_duration_convexity,
    implied_spread,
    mbs_cash_flows,
    mbs_values,
    payment_times,
    pool_cpr,
)

COUPONS = np.arange(3.0, 7.001, 0.5) / 100.0
GROSS_UP = 0.0075
OAS = 0.005
MONTHS = 360
VOL_MODEL = PrepaymentModel(rate_vol=0.009)


def _markets() -> list[tuple[str, np.ndarray, float]]:
    t = payment_times(MONTHS)
    out = [("flat 4.5%, mortgage 6.25%", np.exp(-0.045 * t), 0.0625)]
    try:
        from risk_dagster.engine.curves import treasury_zero_curve

        curve = treasury_zero_curve()
        out.append((f"UST {curve.valuation_date}, mortgage 6.65% (2024Q4)", curve.discount(t), 0.0665))
    except Exception as exc:  # noqa: BLE001 - the flat panel still prints
        print(f"(shipped Treasury curve not available: {exc})", file=sys.stderr)
    return out


def table(age: int) -> None:
    t = payment_times(MONTHS)
    p = COUPONS.shape[0]
    wac = COUPONS + GROSS_UP
    pools = (np.full(p, 100.0), COUPONS, wac, np.full(p, MONTHS - age), np.full(p, age), np.ones(p))
    for name, df, mortgage in _markets():
        # static spread at which the current-coupon pool (WAC = mortgage rate) is worth par
        cc = (mortgage - GROSS_UP, mortgage, MONTHS - age, age)
        par = float(implied_spread([100.0], *([x] for x in cc), mortgage, df, t)[0])
        print(f"\n{name}; pools aged {age} months, {MONTHS - age} left; WAC = coupon + {GROSS_UP * 1e4:.0f}bp")
        print(f"spread over Treasuries: (a) OAS {OAS * 1e4:.0f}bp, (b) {par * 1e4:.0f}bp = static spread pricing "
              f"the current-coupon pool (coupon {cc[0] * 100:.2f}%) at par")  # fmt: skip
        print(
            " coupon  incent  CPR(seas)  WAL | price(a) D     C/100 | D vol C/100 | price(b) D     C/100 | D vol C/100"
        )
        wal = mbs_cash_flows(*pools[:5], mortgage, DEFAULT_PREPAYMENT).wal_years()
        cols = []
        for spread in (OAS, par):
            args = (*pools, np.array([mortgage]), df[None, :], t, np.full(p, spread))
            price = mbs_values(*args).numpy()[0]
            d0, c0 = (x.numpy()[0] for x in effective_duration_convexity(*args))
            d1, c1 = (x.numpy()[0] for x in effective_duration_convexity(*args, model=VOL_MODEL))
            cols.append((price, d0, c0 / 100, d1, c1 / 100))
        for i in range(p):
            inc = wac[i] - mortgage
            row = f"{COUPONS[i] * 100:6.2f}  {inc * 1e4:+5.0f}bp  {pool_cpr(30, inc) * 100:7.1f}%  {wal[i]:5.2f}"
            for price, d0, c0, d1, c1 in cols:
                row += f" | {price[i]:7.2f} {d0[i]:5.2f} {c0[i]:6.2f} | {d1[i]:5.2f} {c1[i]:5.2f}"
            print(row)


def timing(pools: int = 300, scenarios: int = 1000, months: int = 360) -> None:
    rng = np.random.default_rng(0)
    wac = rng.uniform(0.03, 0.08, pools)
    terms = (
        rng.uniform(1e5, 1e7, pools), wac - 0.0075, wac, rng.integers(months - 120, months + 1, pools),
        rng.integers(0, 61, pools), rng.choice([-1.0, 1.0], pools),
    )  # fmt: skip
    t = payment_times(months)
    df = torch.as_tensor(np.exp(-rng.uniform(0.03, 0.05, (scenarios, 1)) * t))
    mortgage = torch.as_tensor(rng.uniform(0.04, 0.08, scenarios))
    oas = np.full(pools, OAS)
    for model, label in ((DEFAULT_PREPAYMENT, "static"), (VOL_MODEL, "rate_vol=0.9%")):
        mbs_values(*terms, mortgage, df, t, oas, model=model)  # warm-up
        best = min(_timed(lambda m=model: mbs_values(*terms, mortgage, df, t, oas, model=m)) for _ in range(3))
        print(f"{pools} pools x {scenarios} scenarios x {months} months, float64, "
              f"{torch.get_num_threads()} thread(s), {label}: {best:.3f} s")  # fmt: skip


def _timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--age", type=int, default=12, help="loan age of the pools in months (default 12)")
    parser.add_argument("--timing", action="store_true", help="also time 300 pools x 1,000 scenarios x 360 months")
    parser.add_argument("--threads", type=int, default=None, help="torch threads for the timing")
    ns = parser.parse_args()
    table(ns.age)
    if ns.timing:
        if ns.threads:
            torch.set_num_threads(ns.threads)
        print()
        timing()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
