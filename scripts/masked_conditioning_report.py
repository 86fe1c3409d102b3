"""Rolling-origin scores with 0%, 30% and 60% of the conditioning variables withheld, per model.

At each origin (every 8 quarters from 2000Q1) a seeded draw withholds 3 (30%) or 5 (60%) of
the nine Fed conditioning variables from BOTH models, which are then fitted and sampled without
the features computed from them -- what production does for a scenario that does not give them
(``risk_dagster.translate.conditioning``). Prints, per mask share, each model's pooled and
stress-quarter energy score and 90% coverage and the transformer / satellite energy-score ratio
with its 90% block-bootstrap interval; ``--json FILE`` writes everything.

Run from the repository root: ``python scripts/masked_conditioning_report.py [--samples N] [--json FILE]``
(about 12-15 minutes per mask share on two cores with the defaults; the data, models and
settings of ``risk-dagster backtest``, so the 0% row is its ``rolling_origin`` one-quarter part).
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.0, 0.3, 0.6])
    parser.add_argument("--mask-seed", type=int, default=2024)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    from risk_dagster.market.history import build_factor_history
    from risk_dagster.scenarios.registry import load_fed_history
    from risk_dagster.translate.backtest import default_models
    from risk_dagster.translate.rolling_origin import recession_indicator, rolling_origin

    # The data and models of `risk-dagster backtest` (its rolling_origin key is the 0% row).
    fed = load_fed_history("2026")
    history = build_factor_history(fed.wide())
    models, notes = default_models(quick=False)
    out: dict[str, object] = {"notes": notes}
    for fraction in args.fractions:
        doc = rolling_origin(
            history, fed, models=models, recession=recession_indicator(),
            n_samples=args.samples, seeds=(0, 1), n_boot=1000, paths=False,
            mask_fraction=fraction, mask_seed=args.mask_seed, progress=lambda s: print(s, file=sys.stderr),
        )  # fmt: skip
        out[f"mask_{fraction:g}"] = doc
        print(f"\n## {fraction:.0%} of the conditioning variables withheld")
        for m in models:
            r = doc[m]
            print(f"{m}: ES {r['energy_score']:.3f} cov90 {r['coverage_90']:.3f} cov99 {r['coverage_99']:.3f} | "
                  f"stress ES {r['stress']['energy_score']:.3f} cov90 {r['stress']['coverage_90']:.3f}")
        c = doc["comparison"]
        if c.get("ratio") is not None:
            print(f"ratio {c['challenger']}/{c['benchmark']}: {c['ratio']:.3f} [{c['interval'][0]:.3f}, {c['interval'][1]:.3f}];"
                  f" stress {c['stress']['ratio']:.3f} [{c['stress']['interval'][0]:.3f}, {c['stress']['interval'][1]:.3f}]")
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(out, handle, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
