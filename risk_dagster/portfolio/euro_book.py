"""A deterministic, synthetic large euro-area bank's book in EUR (the EBA leg's shipped portfolio).

The bank of ``risk_dagster/data/portfolio/euro_bank_balance_sheet.yaml`` (CET1 EUR 79.3bn, RWA EUR
500bn, about EUR 1.2 trillion of assets) as positions meeting the portfolio contract:

==========================  =========  ==========================================================
segment                     EUR bn     what
==========================  =========  ==========================================================
sovereign                   180        government bonds: Italy 30%, France 25%, Germany 25%, Spain 20%
                                       (a home-biased euro bank's mix, illustrative); 40% FVOCI (``afs``),
                                       60% amortised cost (``htm``); each on its sovereign-over-swap spread
                                       ``credit.sovereign.<cc>.10y``
corporate_ig                40         euro corporate and bank senior bonds (A and BBB), FVOCI, on the
                                       iTraxx Main and Senior Financials 5y indices
rates_derivatives           300 gross  EUR interest-rate swaps (trading; pay-fixed hedges of the bond book
                                       and client flow, net payer about a third of gross)
equity                      6 gross    euro equities on the Euro Stoxx 50 (trading, long about 60%)
loans                       700        residential mortgages, corporates, SMEs, consumer, commercial real
                                       estate: the EADs of ``euro_bank_loan_stages.yaml`` by segment and
                                       IFRS 9 stage, each loan's one-year PD its stage's (1.0 in stage 3)
==========================  =========  ==========================================================

Coupons are placed near the EBA 2025 scenario's 2024 starting-point EUR swap curve plus the
issuer's spread (the engine prices against its own curves; a coupon only sets how far from par a
bond is). As of 2024-12-31, the EBA exercise's starting point. The numbers are illustrative, not
any bank's. Regenerate the shipped book with
``python -c "from risk_dagster.portfolio.euro_book import main; main()"``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from risk_dagster.paths import data_dir
from risk_dagster.portfolio.positions import POSITION_DTYPES, coerce_positions, validate_positions

__all__ = [
    "EURO_BOOK_AS_OF",
    "EURO_BOOK_PATH",
    "EURO_BOOK_SEED",
    "SOVEREIGN_MIX",
    "generate_euro_book",
    "load_euro_book",
]

EURO_BOOK_SEED = 20241231
EURO_BOOK_AS_OF = "2024-12-31"
EURO_BOOK_PATH: Path = data_dir() / "portfolio" / "euro_sample_book.parquet"

SOVEREIGN_MIX: dict[str, tuple[float, str, float]] = {
    "it": (0.30, "BBB", 2.0),
    "fr": (0.25, "AA-", 1.0),
    "de": (0.25, "AAA", 1.0),
    "es": (0.20, "A", 1.0),
}
"""Issuer -> (share of the sovereign book, rating, coupons per year: BTPs semiannual, the others annual)."""

_SOVEREIGN_BN, _CORPORATE_BN, _SWAP_GROSS_BN, _EQUITY_GROSS_BN = 180.0, 40.0, 300.0, 6.0
_COUNTS = {"sovereign": 400, "corporate_ig": 200, "rates_derivatives": 200, "equity": 100, "loan": 1100}
_EUROSTOXX_SPOT = 4895.98  # Euro Stoxx 50 close on 2024-12-31 (STOXX Ltd.), only sets option-free equity units


def _stage_table() -> list:
    from risk_dagster.capital.eba_capital import load_stage_table

    return load_stage_table()


def _swap_par(maturity: np.ndarray) -> np.ndarray:
    """EUR swap par rate (decimal) at each maturity, from the EBA 2024 starting point (linear in tenor)."""
    from risk_dagster.engine.curves import tenor_months
    from risk_dagster.engine.foreign_curves import swap_par_yields

    par = swap_par_yields("EUR")
    pts = sorted((tenor_months(f) / 12.0, v) for f, v in par.items() if np.isfinite(v))
    return np.interp(maturity, [p[0] for p in pts], [p[1] for p in pts]) / 100.0


def _empty(n: int) -> dict[str, np.ndarray]:
    cols: dict[str, np.ndarray] = {}
    for col, dtype in POSITION_DTYPES.items():
        if dtype == "float64":
            cols[col] = np.full(n, np.nan)
        elif dtype == "int8":
            cols[col] = np.ones(n, dtype=np.int8)
        elif dtype.startswith("datetime64"):
            cols[col] = np.full(n, np.datetime64("NaT", "ms"))
        else:
            cols[col] = np.full(n, None, dtype=object)
    return cols


def _sizes(rng: np.random.Generator, n: int, total_bn: float, sigma: float = 0.8) -> np.ndarray:
    w = rng.lognormal(0.0, sigma, n)
    return np.maximum(np.round(total_bn * 1e9 * w / w.sum(), 0), 1.0)


def _sovereigns(rng: np.random.Generator, n: int) -> pd.DataFrame:
    from risk_dagster.translate.sovereign import sovereign_base_spread_bp, sovereign_spread_factor

    c = _empty(n)
    issuers = np.array(list(SOVEREIGN_MIX))
    shares = np.array([v[0] for v in SOVEREIGN_MIX.values()])
    who = np.repeat(issuers, np.round(shares * n).astype(int))[:n]
    who = np.concatenate([who, np.full(n - len(who), issuers[0])])
    notional = np.zeros(n)
    for cc in issuers:  # each issuer's share of the EUR 180bn, however many positions it has
        m = who == cc
        notional[m] = _sizes(rng, int(m.sum()), _SOVEREIGN_BN * SOVEREIGN_MIX[cc][0])
    mat = np.round(np.exp(rng.uniform(np.log(0.5), np.log(30.0), n)), 2)
    spread = np.array([sovereign_base_spread_bp(sovereign_spread_factor(cc)) for cc in who]) / 1e4
    coupon = np.clip(np.round((_swap_par(mat) + spread + rng.normal(0.0, 0.006, n)) / 0.00125) * 0.00125, 0.0, 0.09)
    c.update(instrument_type=np.full(n, "fixed_bond", object), segment=np.full(n, "sovereign", object), notional=notional,
             maturity_years=mat, coupon_rate=coupon, coupon_frequency=np.array([SOVEREIGN_MIX[cc][2] for cc in who]),
             rating=np.array([SOVEREIGN_MIX[cc][1] for cc in who], object),
             credit_curve=np.array([sovereign_spread_factor(cc) for cc in who], object),
             accounting_book=np.where(rng.random(n) < 0.40, "afs", "htm").astype(object))  # fmt: skip
    return pd.DataFrame(c)


def _corporates(rng: np.random.Generator, n: int) -> pd.DataFrame:
    c = _empty(n)
    financial = rng.random(n) < 0.4
    rating = np.where(rng.random(n) < 0.5, "A", "BBB").astype(object)
    mat = np.round(rng.uniform(1.0, 10.0, n), 2)
    spread = np.where(rating == "A", 0.0080, 0.0120)
    coupon = np.clip(np.round((_swap_par(mat) + spread + rng.normal(0.0, 0.005, n)) / 0.00125) * 0.00125, 0.00125, 0.09)
    c.update(instrument_type=np.full(n, "fixed_bond", object), segment=np.full(n, "corporate_ig", object),
             notional=_sizes(rng, n, _CORPORATE_BN), maturity_years=mat, coupon_rate=coupon, coupon_frequency=np.ones(n),
             rating=rating, credit_curve=np.where(financial, "credit.itraxx.senior_financials_5y", "credit.itraxx.main_5y").astype(object),
             accounting_book=np.full(n, "afs", object))  # fmt: skip
    return pd.DataFrame(c)


def _swaps(rng: np.random.Generator, n: int) -> pd.DataFrame:
    c = _empty(n)
    mat = np.round(np.exp(rng.uniform(np.log(1.0), np.log(30.0), n)), 2)
    payer = rng.random(n) < 0.67  # hedges of the fixed-rate bond book and client flow: net payer
    rate = np.clip(np.round(_swap_par(mat) + rng.normal(0.0, 0.006, n), 5), 0.0, 0.06)
    c.update(instrument_type=np.full(n, "irs", object), segment=np.full(n, "rates_derivatives", object),
             notional=_sizes(rng, n, _SWAP_GROSS_BN), direction=np.where(payer, -1, 1).astype(np.int8), maturity_years=mat,
             coupon_rate=rate, coupon_frequency=np.ones(n), accounting_book=np.full(n, "trading", object))  # fmt: skip
    return pd.DataFrame(c)


def _equities(rng: np.random.Generator, n: int) -> pd.DataFrame:
    c = _empty(n)
    c.update(instrument_type=np.full(n, "equity", object), segment=np.full(n, "equity", object),
             notional=_sizes(rng, n, _EQUITY_GROSS_BN), direction=np.where(rng.random(n) < 0.8, 1, -1).astype(np.int8),
             equity_factor=np.full(n, "equity.eurostoxx50", object), accounting_book=np.full(n, "trading", object))  # fmt: skip
    return pd.DataFrame(c)


def _loans(rng: np.random.Generator, n: int) -> pd.DataFrame:
    table = _stage_table()
    total = sum(sum(s.ead) for s in table)
    frames = []
    left = n
    for k, seg in enumerate(table):
        m = left if k == len(table) - 1 else max(3, int(round(n * sum(seg.ead) / total)))
        left -= m
        # positions per stage in proportion to EAD (at least one each), sized to the stage's EAD exactly
        per = np.maximum(1, np.round(m * np.array(seg.ead) / sum(seg.ead)).astype(int))
        per[0] += m - per.sum()
        for stage, (count, ead) in enumerate(zip(per, seg.ead, strict=True), start=1):
            c = _empty(int(count))
            size = _sizes(rng, int(count), ead / 1e9, sigma=0.5)
            size[-1] += ead - size.sum()  # the stage table's EAD to the euro
            life = np.round(np.clip(rng.gamma(4.0, seg.residual_life / 4.0, count), 0.5, 30.0), 2)
            pd_ = {1: seg.pd_1, 2: seg.pd_2, 3: 1.0}[stage]
            c.update(instrument_type=np.full(count, "loan", object), segment=np.full(count, seg.segment, object),
                     notional=size, ead=size, pd=np.full(count, pd_), lgd=np.full(count, seg.lgd_default if stage == 3 else seg.lgd),
                     maturity_years=life, coupon_frequency=np.full(count, 12.0),
                     loan_rate=np.round(_swap_par(np.minimum(life, 10.0)) + 0.015 + 0.01 * rng.random(count), 5),
                     accounting_book=np.full(count, "loan", object))  # fmt: skip
            frames.append(pd.DataFrame(c))
    return pd.concat(frames, ignore_index=True)


def generate_euro_book(seed: int = EURO_BOOK_SEED, counts: dict[str, int] | None = None) -> pd.DataFrame:
    """The euro-area bank's positions (module docstring), deterministic in ``seed``; meets the portfolio contract."""
    n = {**_COUNTS, **(counts or {})}
    parts = [
        _sovereigns(np.random.default_rng([seed, 1]), n["sovereign"]),
        _corporates(np.random.default_rng([seed, 2]), n["corporate_ig"]),
        _swaps(np.random.default_rng([seed, 3]), n["rates_derivatives"]),
        _equities(np.random.default_rng([seed, 4]), n["equity"]),
        _loans(np.random.default_rng([seed, 5]), n["loan"]),
    ]
    frame = pd.concat(parts, ignore_index=True)
    frame["currency"] = "EUR"
    frame["position_id"] = ["E" + str(i).zfill(6) for i in range(1, len(frame) + 1)]
    frame = coerce_positions(frame[list(POSITION_DTYPES)])
    frame.attrs["as_of"] = EURO_BOOK_AS_OF
    return frame


def load_euro_book(*, validate: bool = True) -> pd.DataFrame:
    """The shipped euro-area bank's book (``risk_dagster/data/portfolio/euro_sample_book.parquet``)."""
    if not EURO_BOOK_PATH.is_file():
        raise FileNotFoundError(f"shipped euro book missing: {EURO_BOOK_PATH} (regenerate: risk_dagster.portfolio.euro_book.main())")
    frame = pd.read_parquet(EURO_BOOK_PATH)
    out = validate_positions(frame, path=EURO_BOOK_PATH) if validate else coerce_positions(frame, path=EURO_BOOK_PATH)
    out.attrs["as_of"] = EURO_BOOK_AS_OF
    return out


def main() -> None:
    """Regenerate the shipped euro book (validated first) and print its composition."""
    from risk_dagster.portfolio.sample_book import composition, write_book

    book = generate_euro_book()
    validate_positions(book)
    print(write_book(book, EURO_BOOK_PATH))
    print(composition(book).to_string(float_format=lambda x: f"{x:,.3f}"))


if __name__ == "__main__":
    main()
