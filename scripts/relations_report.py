"""Reproduce the numbers quoted in ``translate/relations.py`` and the issue notes.

Prints (1) each open-fixed relation's fit on the shipped history (coefficients, HAC t-stats,
R^2, residual AR(1) and quarters) and the rate spreads' innovation caps, (2) for every shipped
Fed scenario and both translators (the registry's current transformer), the share of draws
passing the hard rules (also without the window yardstick of ``severity_scale``) and the whole
filter, and each open-fixed pair's median range beside its historical range.

Run from the repository root: ``python scripts/relations_report.py [--samples N] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from risk_dagster.market.inputs import load_history_inputs
    from risk_dagster.scenarios.registry import load_scenario, scenario_partition_ids
    from risk_dagster.translate.base import build_training_set
    from risk_dagster.translate.pair_envelope import pair_summary, pair_table
    from risk_dagster.translate.plausibility import PlausibilityFilter, hard_rule_violations
    from risk_dagster.translate.registry import ModelRegistry, shipped_registry_dir
    from risk_dagster.translate.satellite import SatelliteTranslator

    inputs = load_history_inputs()
    training = build_training_set(inputs.factor_history, inputs.fed_history, inputs.weights)
    satellite = SatelliteTranslator().fit(training)
    registry = ModelRegistry(shipped_registry_dir())
    transformer = registry.load(registry.lane("current").ref)
    filt = PlausibilityFilter().fit(inputs.factor_history, seed=0)

    report: dict[str, object] = {
        "relations": {
            target: {
                "over": r.spec.base,
                "intercept": round(r.intercept, 3),
                "coef": {k: round(v, 3) for k, v in r.coef.items()},
                "t_hac": {k: round(v, 1) for k, v in r.t_hac.items()},
                "r2": round(r.r2, 3),
                "phi": round(r.phi, 3),
                "diff_sd_bp": round(r.diff_sd, 1),
                "quarters": f"{r.first}-{r.last} ({r.n_quarters})",
            }
            for target, r in satellite.coherence_.relations.items()
        },
        "rate_spread_diff_sd_bp": {k: round(v, 1) for k, v in sorted(satellite.coherence_.spread_diff_sd.items())},
        "scenarios": {},
    }
    # The same rules without the window yardstick (every factor scaled by its class only, as
    # before it was added): what the generator changes alone achieve.
    import dataclasses

    class_only = dataclasses.replace(filt.rules, window_moves={})
    for scenario_id in scenario_partition_ids():
        scenario = load_scenario(scenario_id)
        for name, model in (("satellite", satellite), ("transformer", transformer)):
            drawn = model.sample(scenario, args.samples, args.seed, history=inputs.fed_history)
            bad = hard_rule_violations(drawn, filt.rules)
            hard_ok = ~np.any(np.stack(list(bad.values())), axis=0)
            bad_class = hard_rule_violations(drawn, class_only)
            class_ok = ~np.any(np.stack(list(bad_class.values())), axis=0)
            filtered = filt.apply(drawn)
            summary = pair_summary(pair_table(drawn, inputs.factor_history.levels))
            report["scenarios"][f"{scenario_id} / {name}"] = {
                "hard_rule_acceptance": round(float(hard_ok.mean()), 4),
                "hard_rule_acceptance_class_scale_only": round(float(class_ok.mean()), 4),
                "filter_acceptance": round(filtered.acceptance_rate, 4),
                "rejections": dict(filtered.rejections),
                "pairs": summary.round(2).to_dict(orient="records"),
            }
    if args.json:
        print(json.dumps(report, indent=2, default=str))
        return 0
    print("Relations (fitted on the shipped history):")
    for target, r in report["relations"].items():
        print(f"  {target}: {r}")
    print(f"Rate spreads' historical one-quarter change sd (innovation caps, bp): {report['rate_spread_diff_sd_bp']}")
    for key, row in report["scenarios"].items():
        print(f"\n{key}: hard rules pass {row['hard_rule_acceptance']:.1%} "
              f"({row['hard_rule_acceptance_class_scale_only']:.1%} with the class scale only), "
              f"filter accepts {row['filter_acceptance']:.1%}")
        print(f"  rejections {row['rejections']}")
        for p in row["pairs"]:
            print(f"  {p['pair']}: median {p['median_min']}..{p['median_max']}, 5-95% {p['p05_min']}..{p['p95_max']}, "
                  f"history {p['history']}, inside {p['inside']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
