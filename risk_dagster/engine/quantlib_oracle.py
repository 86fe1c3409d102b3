"""QuantLib reference pricer: run ONLY as a subprocess, ``python -m risk_dagster.engine.quantlib_oracle IN.json OUT.npz``.

QuantLib must never share a process with the engine (or ORE), so nothing in the package imports
this module; tests and the benchmark write a JSON request, run this script in a child process
and read back the ``.npz`` it writes.

Request (JSON)::

    {"valuation_date": "2024-12-31",
     "knot_days": [31, 90, ...],            # the engine's curve knots (days after valuation)
     "zero_rates": [...],                   # base continuously compounded zero rates (reports)
     "knot_months": [1, 3, ...],            # tenor of each knot in months
     "par_yields_pct": [...],               # base par yields (percent) of the knots
     "model": {"vix_vol_beta": 1.0, "vol_floor": 0.01, "loan_pd_beta_per_100bp": 0.35,
               "lgd_collateral_elasticity": 1.0, "float_leg_months": 3},
     "mode": "pairs" | "cross",             # instrument i under scenario i, or every pair
     "repeat": 1,                           # cross mode: timing repetitions
     "instruments": [{"type": "fixed_bond", ...terms...}, ...],
     "scenarios": [{"rates_bp": [11 values], "spread_bp": 0.0, "equity": 0.0, "fx": 0.0,
                    "vix": 0.0, "loan_spread_bp": [...], "loan_collateral": [...]}, ...]}

Response (``.npz``): ``npv`` (``[n]`` in pairs mode, ``[scenarios, instruments]`` in cross
mode), ``seconds`` (pricing loop only, curve construction per scenario included, instrument
set-up excluded), ``setup_seconds``.

Conventions are built with QuantLib's own objects (schedules, day counters, coupons, engines).
Each scenario's curve is **bootstrapped by QuantLib from the shocked par quotes** (base par yield
+ the scenario's ``rates_bp`` / 100): ``PiecewiseLinearZero(valuation, helpers, Actual365Fixed())``
with a ``BondHelper`` on a ``ZeroCouponBond`` priced at ``100 (1 + y/2)^(-2t)`` for tenors up to
one year and a ``FixedRateBondHelper`` at par (semiannual coupons ``y/2``, Actual/Actual ISMA on
the backward schedule from the maturity) beyond; its zero rates at the knots then build
``ZeroCurve(dates, rates, Actual365Fixed(), NullCalendar(), Linear(), Continuous)`` with knots
at the valuation date (1m rate) and at valuation + 100 years (30y rate) for flat extrapolation;
``ZeroSpreadedTermStructure`` for credit spreads; ``FixedRateBond``/``FloatingRateBond`` with
``DiscountingBondEngine``; ``VanillaSwap`` with ``DiscountingSwapEngine``; ``FxForward`` with
``DiscountingFxForwardEngine`` (the foreign curve bootstrapped by QuantLib from the currency's base
par yields + its ``foreign_rates_bp``); ``EuropeanOption`` with ``AnalyticEuropeanEngine`` on a
``BlackScholesMertonProcess`` with a flat continuous dividend yield and the vol moved by the
instrument's ``vol_beta`` per VIX point. Equities and loans have no QuantLib instrument: their values are
computed here with plain arithmetic and QuantLib's normal distribution functions.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any

import numpy as np


def _ql():  # noqa: ANN202 - imported here only: this module runs in its own process
    import QuantLib as ql

    return ql


def _date(ql: Any, text: str) -> Any:
    y, m, d = (int(x) for x in text.split("-"))
    return ql.Date(d, m, y)


class Oracle:
    """Builds QuantLib objects for one request."""

    def __init__(self, req: dict[str, Any]) -> None:
        ql = self.ql = _ql()
        self.req = req
        self.val = _date(ql, req["valuation_date"])
        ql.Settings.instance().evaluationDate = self.val
        self.dc = ql.Actual365Fixed()
        self.cal = ql.NullCalendar()
        self.knot_dates = [self.val] + [self.val + ql.Period(int(d), ql.Days) for d in req["knot_days"]]
        self.knot_dates.append(self.val + ql.Period(100, ql.Years))
        self.base = np.asarray(req["zero_rates"], dtype=float)
        self.base_par = np.asarray(req["par_yields_pct"], dtype=float)
        self.knot_months = [int(m) for m in req["knot_months"]]
        self.model = req["model"]
        self.curve_handle = ql.RelinkableYieldTermStructureHandle()

    # ----------------------------------------------------------------------- curves
    def zero_curve(self, rates_bp: list[float], base_par_pct: Any = None) -> Any:
        """The scenario's curve: QuantLib's bootstrap of the shocked par quotes (see the module docstring).

        ``base_par_pct``: another curve's base par yields (a foreign currency's), default the USD one.
        """
        ql = self.ql
        base = self.base_par if base_par_pct is None else np.asarray(base_par_pct, dtype=float)
        par = (base + np.asarray(rates_bp, dtype=float) / 100.0) / 100.0
        helpers = []
        for m, y in zip(self.knot_months, par, strict=True):
            mat = self.val + ql.Period(m, ql.Months)
            if m <= 12:
                bill = ql.ZeroCouponBond(0, self.cal, 100.0, mat, ql.Unadjusted, 100.0, self.val)
                t = self.dc.yearFraction(self.val, mat)
                price = 100.0 * ql.InterestRate(float(y), self.dc, ql.Compounded, ql.Semiannual).discountFactor(t)
                helpers.append(ql.BondHelper(ql.QuoteHandle(ql.SimpleQuote(price)), bill))
            else:
                sched = ql.Schedule(self.val, mat, ql.Period(6, ql.Months), self.cal, ql.Unadjusted, ql.Unadjusted,
                                    ql.DateGeneration.Backward, False)
                helpers.append(ql.FixedRateBondHelper(ql.QuoteHandle(ql.SimpleQuote(100.0)), 0, 100.0, sched, [float(y)],
                                                      ql.ActualActual(ql.ActualActual.ISMA, sched), ql.Unadjusted))
        # accuracy 1e-14 (QuantLib's default 1e-12 leaves ~1e-8 relative error on a near-par swap's small value)
        boot = ql.PiecewiseLinearZero(self.val, helpers, self.dc, ql.IterativeBootstrap(1e-14))
        z = [boot.zeroRate(d, self.dc, ql.Continuous).rate() for d in self.knot_dates[1:-1]]
        rates = [z[0], *z, z[-1]]
        curve = ql.ZeroCurve(self.knot_dates, rates, self.dc, self.cal, ql.Linear(), ql.Continuous)
        curve.enableExtrapolation()
        return curve

    def spreaded(self, handle: Any, spread: float) -> Any:
        ql = self.ql
        ts = ql.ZeroSpreadedTermStructure(handle, ql.QuoteHandle(ql.SimpleQuote(spread)), ql.Continuous,
                                          ql.NoFrequency, self.dc)
        ts.enableExtrapolation()
        return ql.YieldTermStructureHandle(ts)

    def schedule(self, maturity: Any, months: int, ins: dict[str, Any] | None = None) -> Any:
        ql = self.ql
        first = (ins or {}).get("first_coupon_date")
        if first is not None and _date(ql, first) > self.val:
            # an irregular first coupon still to come: accrual from the issue date to firstDate
            return ql.Schedule(_date(ql, ins["issue_date"]), maturity, ql.Period(months, ql.Months), self.cal,  # type: ignore[index]
                               ql.Unadjusted, ql.Unadjusted, ql.DateGeneration.Backward, False, _date(ql, first))
        # any effective date before the current period's start: only future flows are priced
        effective = self.val - ql.Period(months + 1, ql.Months)
        return ql.Schedule(effective, maturity, ql.Period(months, ql.Months), self.cal, ql.Unadjusted,
                           ql.Unadjusted, ql.DateGeneration.Backward, False)

    def maturity(self, years: float) -> Any:
        return self.val + self.ql.Period(int(round(years * 365.0)), self.ql.Days)

    def index(self, name: str, months: int, handle: Any, schedule: Any, fixing: float | None) -> Any:
        ql = self.ql
        idx = ql.IborIndex(name, ql.Period(months, ql.Months), 0, ql.USDCurrency(), self.cal, ql.Unadjusted, False,
                           self.dc, handle)
        if fixing is not None and not math.isnan(fixing):
            # the period running at the valuation date fixed at its start, in the past
            dates = list(schedule)
            past = [d for d in dates if d < self.val]
            if past:
                idx.addFixing(past[-1], fixing, True)
        return idx

    # ----------------------------------------------------------------------- instruments
    def build(self, ins: dict[str, Any], k: int, h: Any) -> tuple[Any, Any]:
        """(instrument, callable(scenario) -> npv) for one instrument priced off the handle ``h``."""
        ql = self.ql
        kind = ins["type"]
        n, w = float(ins["notional"]), float(ins["direction"])
        if kind in ("fixed_bond", "frn"):
            spread_q = ql.SimpleQuote(ins["base_spread_bp"] / 1e4)
            ts = ql.ZeroSpreadedTermStructure(h, ql.QuoteHandle(spread_q), ql.Continuous, ql.NoFrequency, self.dc)
            ts.enableExtrapolation()
            disc = ql.YieldTermStructureHandle(ts)
            months = int(round(12 / ins["coupon_frequency"]))
            sched = self.schedule(self.maturity(ins["maturity_years"]), months, ins)
            if kind == "fixed_bond":
                bond = ql.FixedRateBond(0, n, sched, [ins["coupon_rate"]], self.dc, ql.Unadjusted, 100.0, sched[0])
            else:
                idx = self.index(f"ORC{k}", months, h, sched, ins.get("fixing"))
                bond = ql.FloatingRateBond(0, n, sched, idx, self.dc, ql.Unadjusted, 0, [1.0], [ins["spread_bp"] / 1e4],
                                           [], [], False, 100.0, sched[0])
            bond.setPricingEngine(ql.DiscountingBondEngine(disc))
            base = ins["base_spread_bp"]

            def npv(sc: dict[str, Any]) -> float:
                spread_q.setValue((base + sc.get("spread_bp", 0.0)) / 1e4)
                return w * bond.NPV()

            return bond, npv
        if kind == "irs":
            months = int(round(12 / ins["coupon_frequency"]))
            fm = int(self.model["float_leg_months"])
            mat = self.maturity(ins["maturity_years"])
            fixed_s, float_s = self.schedule(mat, months), self.schedule(mat, fm)
            idx = self.index(f"ORC{k}", fm, h, float_s, ins.get("fixing"))
            kind_ = ql.Swap.Receiver if w > 0 else ql.Swap.Payer
            swap = ql.VanillaSwap(kind_, n, fixed_s, ins["coupon_rate"], self.dc, float_s, idx,
                                  ins.get("spread_bp", 0.0) / 1e4, self.dc)
            swap.setPricingEngine(ql.DiscountingSwapEngine(h))
            return swap, lambda sc: swap.NPV()
        if kind == "fx_forward":
            sign = int(ins["sign"])
            p0 = ins["spot"] ** sign  # USD per foreign unit
            k_usd = ins["forward_rate"] ** sign
            amount = n / p0
            foreign = ql.EURCurrency()  # a label: QuantLib only needs two distinct currencies
            spot_q = ql.SimpleQuote(p0)
            fh = ql.RelinkableYieldTermStructureHandle()
            fwd = ql.FxForward(amount, foreign, amount * k_usd, ql.USDCurrency(), self.maturity(ins["maturity_years"]),
                               w < 0, 0, self.cal)
            fwd.setPricingEngine(ql.DiscountingFxForwardEngine(fh, h, ql.QuoteHandle(spot_q)))
            ccy, fpar = ins["currency"], ins["foreign_par_yields_pct"]

            def npv_fx(sc: dict[str, Any]) -> float:
                cache = sc.setdefault("_foreign_curves", {})  # one bootstrap per scenario and currency
                if ccy not in cache:
                    cache[ccy] = self.zero_curve(sc["foreign_rates_bp"][ccy], fpar)
                fh.linkTo(cache[ccy])  # the foreign curve, its own shock
                spot = p0 * math.exp(sign * sc.get("fx", 0.0))
                spot_q.setValue(spot)
                return fwd.NPV() * spot  # QuantLib reports the NPV in the source (foreign) currency

            return fwd, npv_fx
        if kind == "equity_option":
            days = max(int(round(ins["expiry_years"] * 365.0)), 1)
            expiry = self.val + ql.Period(days, ql.Days)
            payoff = ql.PlainVanillaPayoff(ql.Option.Call if ins["option_type"] == "call" else ql.Option.Put,
                                           ins["strike"])
            opt = ql.EuropeanOption(payoff, ql.EuropeanExercise(expiry))
            spot_q, vol_q = ql.SimpleQuote(ins["spot"]), ql.SimpleQuote(ins["implied_vol"])
            div = ql.YieldTermStructureHandle(ql.FlatForward(self.val, ins.get("dividend_yield", 0.0), self.dc))
            vol = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(self.val, self.cal, ql.QuoteHandle(vol_q), self.dc))
            proc = ql.BlackScholesMertonProcess(ql.QuoteHandle(spot_q), div, h, vol)
            opt.setPricingEngine(ql.AnalyticEuropeanEngine(proc))
            units = w * n / ins["spot"]

            def npv_opt(sc: dict[str, Any]) -> float:
                spot_q.setValue(ins["spot"] * math.exp(sc.get("equity", 0.0)))
                v = ins["implied_vol"] + ins["vol_beta"] * sc.get("vix", 0.0) / 100.0
                vol_q.setValue(max(v, self.model["vol_floor"]))
                return units * opt.NPV()

            return opt, npv_opt
        if kind == "agency_mbs":
            # flows projected by the engine's numpy reference (per scenario), discounted here:
            # the scenario curve + the static spread + the scenario's agency spread shock
            dates = [self.val + ql.Period(int(d), ql.Days) for d in ins["payment_days"]]
            spread_q = ql.SimpleQuote(ins["static_spread"])
            ts = ql.ZeroSpreadedTermStructure(h, ql.QuoteHandle(spread_q), ql.Continuous, ql.NoFrequency, self.dc)
            ts.enableExtrapolation()

            def npv_mbs(sc: dict[str, Any]) -> float:
                f = ins["mbs_flows"][str(sc["_index"])]
                spread_q.setValue(ins["static_spread"] + f["spread_shock"])
                return w * sum(a * ts.discount(dt) for a, dt in zip(f["amounts"], dates, strict=False) if a != 0.0)

            return None, npv_mbs
        if kind == "equity":
            return None, lambda sc: w * n * math.exp(sc.get("equity", 0.0))
        if kind == "loan":
            cnd, icn = ql.CumulativeNormalDistribution(), ql.InverseCumulativeNormal()
            p = min(max(ins["pd"], 0.0), 1.0)
            z = icn(p)
            z -= (cnd(z) - p) / math.exp(-0.5 * z * z) * math.sqrt(2 * math.pi)  # one Newton step: full precision

            def npv_loan(sc: dict[str, Any]) -> float:
                total = 0.0
                for q, (ds, rc) in enumerate(zip(sc["loan_spread_bp"], sc["loan_collateral"], strict=True)):
                    pds = cnd(z + self.model["loan_pd_beta_per_100bp"] * ds / 100.0)
                    pdq = -math.expm1(0.25 * math.log1p(-pds))
                    lgd = ins["lgd"]
                    if ins.get("has_collateral"):
                        lgd = min(lgd * math.exp(-self.model["lgd_collateral_elasticity"] * rc), 1.0)
                    total += pdq * lgd * ins["ead"] * ins["balance"][q]  # outstanding share (engine's schedule)
                return total

            return None, npv_loan
        raise ValueError(f"unknown instrument type {kind!r}")


def run(req: dict[str, Any]) -> dict[str, Any]:
    """Price a request; see the module docstring."""
    o = Oracle(req)
    scen = req["scenarios"]
    for j, sc in enumerate(scen):
        sc["_index"] = j
    t0 = time.perf_counter()
    pairs = req.get("mode", "pairs") == "pairs"
    # pairs: one handle per instrument (relinking a shared one would notify every instrument)
    handles = [o.ql.RelinkableYieldTermStructureHandle() if pairs else o.curve_handle for _ in req["instruments"]]
    built = [o.build(ins, k, handles[k]) for k, ins in enumerate(req["instruments"])]
    setup = time.perf_counter() - t0
    if pairs:
        out = np.empty(len(built))
        t1 = time.perf_counter()
        for i, ((_, f), sc) in enumerate(zip(built, scen, strict=True)):
            handles[i].linkTo(o.zero_curve(sc["rates_bp"]))
            out[i] = f(sc)
        return {"npv": out, "seconds": time.perf_counter() - t1, "setup_seconds": setup}
    reps = int(req.get("repeat", 1))
    out = np.empty((len(scen), len(built)))
    t1 = time.perf_counter()
    for _ in range(reps):
        for j, sc in enumerate(scen):
            o.curve_handle.linkTo(o.zero_curve(sc["rates_bp"]))
            for i, (_, f) in enumerate(built):
                out[j, i] = f(sc)
    return {"npv": out, "seconds": (time.perf_counter() - t1) / reps, "setup_seconds": setup}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m risk_dagster.engine.quantlib_oracle REQUEST.json OUT.npz", file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as handle:
        req = json.load(handle)
    res = run(req)
    np.savez(args[1], npv=res["npv"], seconds=res["seconds"], setup_seconds=res["setup_seconds"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
