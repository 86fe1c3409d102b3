"""Engine benchmark CLI: ``python bench/bench_engine.py [--positions N] [--scenarios M] [--json] [--memory-check]``
(``--fixed-cost-positions N --fixed-cost-scenarios M``: size of the fixed-cost breakdown, 0 to skip).

A thin wrapper over :mod:`risk_dagster.engine.benchmark` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import sys

from risk_dagster.engine.benchmark import bench_command, memory_check


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Engine throughput vs the QuantLib loop, GFLOP/s reference, memory, parity.")
    p.add_argument("--positions", type=int, default=20_000, help="market positions (default 20,000)")
    p.add_argument("--scenarios", type=int, default=500, help="scenarios for the engine (default 500)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--book", choices=("random", "sample"), default="random", help="random_book or the sample book's market positions")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads of the engine (default 1)")
    p.add_argument("--quantlib-scenarios", type=int, default=10, help="scenarios also priced by QuantLib (default 10)")
    p.add_argument("--repeats", type=int, default=5, help="timed engine passes per dtype (median; default 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fixed-cost-positions", type=int, default=2_000,
                   help="size of the fixed-cost breakdown, run first (default 2,000 positions; 0: skip it)")
    p.add_argument("--fixed-cost-scenarios", type=int, default=200,
                   help="scenarios of the fixed-cost breakdown (default 200)")
    p.add_argument("--memory-check", action="store_true",
                   help="instead: the sample book of --positions (default here 1,000,000) x --scenarios (1,000), one quarter")
    args = p.parse_args(argv)
    if args.memory_check:
        n = args.positions if "--positions" in (argv if argv is not None else sys.argv[1:]) else 1_000_000
        s = args.scenarios if "--scenarios" in (argv if argv is not None else sys.argv[1:]) else 1_000
        print(json.dumps(memory_check(n, s, seed=args.seed), indent=None if args.json else 2, default=float))
        return 0
    print(bench_command(args.positions, args.scenarios, args.json, book=args.book, threads=args.threads,
                        quantlib_scenarios=args.quantlib_scenarios, repeats=args.repeats, seed=args.seed,
                        fixed_cost_positions=args.fixed_cost_positions or None,
                        fixed_cost_scenarios=args.fixed_cost_scenarios))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
