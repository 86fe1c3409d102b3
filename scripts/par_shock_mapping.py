"""Par shocks re-bootstrapped vs the old rule (par move added to the zero knot): P&L of three trades.

Prints, for a parallel +200bp and a twist (1m +150bp, 5y 0, 30y -90bp par, linear in log tenor), the
zero-rate moves at the knots and the P&L of a short 30y Treasury (4.5% semiannual), a 10y receiver
(4.2%) and a 5y payer (4.1%), 100m notional each, spot-starting (the floating leg of a spot-starting
swap is worth ``N (1 - DF(T))``), under both rules. Usage: ``python scripts/par_shock_mapping.py``.
"""

from __future__ import annotations

import numpy as np

from risk_dagster.engine.curves import ParBootstrap, ZeroCurve, add_months, treasury_zero_curve

N = 1e8


def _annuity(curve: ZeroCurve, years: int) -> tuple[float, float]:
    v = curve.valuation_days
    months = 12 * years
    pay = add_months(np.full(2 * years, v), months - 6 * np.arange(2 * years)) - v
    t = np.sort(pay) / 365.0
    return float(0.5 * curve.discount(t).sum()), float(curve.discount(t[-1]))


def trade_values(curve: ZeroCurve) -> np.ndarray:
    a30, d30 = _annuity(curve, 30)
    a10, d10 = _annuity(curve, 10)
    a5, d5 = _annuity(curve, 5)
    bond = -N * (0.045 * a30 + d30)
    receiver = N * (0.042 * a10 - (1.0 - d10))
    payer = -N * (0.041 * a5 - (1.0 - d5))
    return np.array([bond, receiver, payer])


def main() -> None:
    c = treasury_zero_curve()
    pb = ParBootstrap(c)
    months = np.array([1, 3, 6, 12, 24, 36, 60, 84, 120, 240, 360])
    shocks = {"parallel +200bp": np.full(11, 200.0),
              "twist 1m +150 / 5y 0 / 30y -90": np.interp(np.log(months), np.log([1, 60, 360]), [150.0, 0.0, -90.0])}
    base = trade_values(c)
    for name, s in shocks.items():
        dz = pb.zero_moves_bp(s)[0]
        par_rule = trade_values(ZeroCurve(c.valuation_date, c.knot_days, c.zero_rates + dz / 1e4)) - base
        old_rule = trade_values(ZeroCurve(c.valuation_date, c.knot_days, c.zero_rates + s / 1e4)) - base
        print(f"\n{name}: zero moves (bp) " + " ".join(f"{m}m {x:+.1f}" for m, x in zip(months, dz, strict=True)))
        print(f"{'trade':<18}{'re-bootstrapped':>18}{'old rule':>16}{'old error':>12}")
        for label, a, b in zip(("short 30y bond", "10y receiver", "5y payer"), par_rule, old_rule, strict=True):
            print(f"{label:<18}{a:>18,.0f}{b:>16,.0f}{(b - a) / abs(a):>12.1%}")


if __name__ == "__main__":
    main()
