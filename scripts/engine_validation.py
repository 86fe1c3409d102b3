"""The validator's Engine II cases, priced by the engine and by QuantLib (in its own process), one table.

- rate P&L of a short 30y Treasury, a 10y receiver and a 5y payer (100m each) under a parallel
  +200bp and a 1m +150 / 5y 0 / 30y -90bp par twist: the engine re-bootstraps each par curve,
  QuantLib bootstraps the same par quotes itself;
- a one-year EUR forward (100m, struck at spot): its value at base (the forward points) and its
  moves for +200bp on USD and on EUR rates;
- a one-year at-the-money S&P 500 call with a 1.3% dividend yield, with and without it, and the vol
  of a 2-year option after a VIX move from 26 to 72;
- effective durations of 30y agency pools by coupon on the shipped book's market.

Usage: ``python scripts/engine_validation.py`` (about a minute).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from risk_dagster.engine.curves import treasury_zero_curve
from risk_dagster.engine.foreign_curves import foreign_factor_ids
from risk_dagster.engine.kernels import TorchBook, prepare_book, random_book, vol_shock_beta
from risk_dagster.engine.revalue import engine_values, oracle_request, run_oracle
from risk_dagster.market.catalog import load_risk_factor_catalog

TENORS = ("1m", "3m", "6m", "1y", "2y", "3y", "5y", "7y", "10y", "20y", "30y")
MONTHS = np.array([1, 3, 6, 12, 24, 36, 60, 84, 120, 240, 360])


def _both(book: pd.DataFrame, path: np.ndarray, ids: list[str]) -> tuple[np.ndarray, np.ndarray]:
    curve = treasury_zero_curve()
    eng = engine_values(book, curve, path, ids, pairs=False)
    ql = run_oracle(oracle_request(book, curve, path, ids, mode="cross"), timeout=300)["npv"]
    return eng, ql


def rates(ids: list[str]) -> None:
    book = pd.concat([random_book(1, seed=1, types=("fixed_bond",)), random_book(2, seed=2, types=("irs",))],
                     ignore_index=True)
    book.loc[0, ["segment", "rating", "credit_curve", "maturity_years", "coupon_rate", "coupon_frequency", "direction"]] = [
        "ust", "AA+", None, 30.0, 0.045, 2.0, -1]
    book.loc[1, ["maturity_years", "coupon_rate", "coupon_frequency", "direction", "spread_bp"]] = [10.0, 0.042, 2.0, 1, np.nan]
    book.loc[2, ["maturity_years", "coupon_rate", "coupon_frequency", "direction", "spread_bp"]] = [5.0, 0.041, 2.0, -1, np.nan]
    book["notional"] = 1e8
    cols = [ids.index(f"rates.ust.{t}") for t in TENORS]
    path = np.zeros((3, 1, len(ids)))
    path[1, 0, cols] = 200.0
    path[2, 0, cols] = np.interp(np.log(MONTHS), np.log([1, 60, 360]), [150.0, 0.0, -90.0])
    eng, ql = _both(book, path, ids)
    print("rate P&L (USD), engine vs QuantLib bootstrapped from the shocked par quotes")
    for j, name in ((1, "parallel +200bp"), (2, "twist +150/0/-90")):
        for i, trade in enumerate(("short 30y Treasury", "10y receiver", "5y payer")):
            e, q = eng[j, i] - eng[0, i], ql[j, i] - ql[0, i]
            print(f"  {name:<18}{trade:<20}{e:>16,.0f}{q:>16,.0f}   rel diff {abs(e - q) / abs(q):.1e}")


def fx(ids: list[str]) -> None:
    ids = ids + [f for f in foreign_factor_ids("EUR") if f not in ids]  # the EUR knots are catalog factors
    book = random_book(1, seed=7, types=("fx_forward",))
    book.loc[0, ["fx_factor", "currency", "spot", "forward_rate", "maturity_years", "direction"]] = [
        "fx.eurusd", "EUR", 1.04, 1.04, 1.0, 1]
    book["notional"] = 1e8
    path = np.zeros((3, 1, len(ids)))
    path[1, 0, [ids.index(f"rates.ust.{t}") for t in TENORS]] = 200.0
    path[2, 0, [ids.index(f) for f in foreign_factor_ids("EUR")]] = 200.0
    eng, ql = _both(book, path, ids)
    print("1y EUR forward, 100m, struck at spot (USD)")
    print(f"  value at base (forward points)   engine {eng[0, 0]:>14,.0f}   QuantLib {ql[0, 0]:>14,.0f}")
    print(f"  +200bp USD                       engine {eng[1, 0] - eng[0, 0]:>14,.0f}   QuantLib {ql[1, 0] - ql[0, 0]:>14,.0f}")
    print(f"  +200bp EUR                       engine {eng[2, 0] - eng[0, 0]:>14,.0f}   QuantLib {ql[2, 0] - ql[0, 0]:>14,.0f}")


def options(ids: list[str]) -> None:
    book = random_book(1, seed=3, types=("equity_option",))
    book[["spot", "strike", "expiry_years", "implied_vol", "option_type", "direction", "equity_factor"]] = [
        6000.0, 6000.0, 1.0, 0.17, "call", 1, "equity.sp500"]
    book["notional"] = 1e8
    path = np.zeros((1, 1, len(ids)))
    with_q = book.assign(dividend_yield=0.013)
    e0, q0 = _both(book.assign(dividend_yield=np.nan), path, ids)
    e1, q1 = _both(with_q, path, ids)
    print("1y ATM S&P 500 call, 100m of underlying (USD)")
    print(f"  no dividends {e0[0, 0]:>14,.0f} (QuantLib {q0[0, 0]:,.0f});  1.3% yield {e1[0, 0]:>14,.0f} (QuantLib "
          f"{q1[0, 0]:,.0f}): ignoring it overvalues by {e0[0, 0] / e1[0, 0] - 1:.1%}")
    beta = vol_shock_beta([30 / 365, 1.0, 2.0], ["equity.sp500"] * 3)
    print(f"  VIX 26 -> 72: a 2-year 17% vol goes to {0.17 + beta[2] * 0.46:.1%} (beta {beta[2]:.2f}; 1y beta {beta[1]:.2f})")


def mbs() -> None:
    from risk_dagster.portfolio.sample_book import load_sample_book

    book = load_sample_book(validate=False)
    pools = book[book["instrument_type"] == "agency_mbs"].copy()
    pools["direction"] = 1
    pb = prepare_book(pools, treasury_zero_curve())
    tb = TorchBook(pb)
    x = torch.zeros((3, len(pb.factor_ids)), dtype=torch.float64)
    cols = [i for i, f in enumerate(pb.factor_ids) if f.startswith("rates.ust.") or f == "rates.mortgage30"]
    x[1, cols], x[2, cols] = 25.0, -25.0
    (_, v, _), = [r for r in tb.values(x) if len(r[0])]
    d = ((v[:, 2] - v[:, 1]) / (0.005 * v[:, 0])).numpy()
    frame = pd.DataFrame({"coupon": pools["coupon_rate"].to_numpy() * 100, "duration": d,
                          "price": v[:, 0].numpy() / pools["notional"].to_numpy() * 100})
    print(f"agency MBS pools of the sample book, effective duration (curve and mortgage rate +-25bp), "
          f"mortgage rate {pb.mbs['mortgage_rate'] * 100:.2f}%")
    print(frame.groupby("coupon").mean().round(2).to_string())


def main() -> None:
    ids = [f.id for f in load_risk_factor_catalog()]
    rates(ids)
    fx(ids)
    options(ids)
    mbs()


if __name__ == "__main__":
    main()
