"""The engine benchmark's report on a tiny size: keys, finite positive values, parity (not speed)."""

from __future__ import annotations

import json
import math

import pytest

from risk_dagster.engine.benchmark import (
    FIXED_COST_ITEMS,
    REPORT_KEYS,
    bench_command,
    benchmark_book,
    benchmark_shocks,
    format_table,
    run_engine_benchmark,
)

# QuantLib is in the [test] extras: the parity oracle must run, never be skipped.


@pytest.fixture(scope="module")
def report() -> dict:
    return run_engine_benchmark(200, 20, quantlib_scenarios=2, repeats=2, matmul_n=128,
                                fixed_cost_positions=120, fixed_cost_scenarios=12)


def test_report_keys_are_finite_and_positive(report) -> None:  # noqa: ANN001
    for key in (*REPORT_KEYS, "speedup_vs_quantlib_fp32", "matmul_gflops_fp64", "matmul_gflops_fp32"):
        assert isinstance(report[key], float) and math.isfinite(report[key]), key
        assert report[key] > 0 or key.startswith("max_rel_err"), key
    assert report["speedup_vs_quantlib"] == pytest.approx(report["engine_per_s_fp64"] / report["quantlib_per_s"])
    assert report["n_positions"] == 200 and report["n_scenarios"] == 20 and report["quantlib_scenarios"] == 2
    assert report["threads"] == 1 and set(report["instrument_counts"]) <= {
        "fixed_bond", "frn", "irs", "equity", "fx_forward", "equity_option"}
    t = report["timings"]
    assert t["engine_fp64"]["warmup_s"] > 0 and len(t["engine_fp64"]["repeats_s"]) == 2 and t["quantlib_loop_s"] > 0
    assert t["engine_per_position_fp32"]["warmup_s"] > 0 and len(t["engine_per_position_fp32"]["repeats_s"]) == 2


def test_per_position_and_segment_throughput_against_one_quantlib_measurement(report) -> None:  # noqa: ANN001
    q = report["quantlib_per_s"]
    for name in ("fp64", "fp32"):
        suffix = "" if name == "fp64" else "_fp32"
        assert report[f"speedup_per_position_vs_quantlib{suffix}"] == pytest.approx(
            report[f"engine_per_position_per_s_{name}"] / q)
        assert report[f"speedup_segment_vs_quantlib{suffix}"] == pytest.approx(report[f"engine_segment_per_s_{name}"] / q)
        # the old keys are the segment path's
        assert report[f"engine_segment_per_s_{name}"] == report[f"engine_per_s_{name}"]
    assert report["speedup_segment_vs_quantlib"] == report["speedup_vs_quantlib"]
    assert report["per_position_scenarios"] == 20
    # both paths compute the same P&L: per-position values summed = fused segment totals
    assert report["per_position_vs_segment_max_rel_diff"] < 1e-9
    text = format_table(report)
    assert "engine per position" in text and "engine segment P&L" in text and "like for like" in text


def test_fixed_cost_breakdown(report) -> None:  # noqa: ANN001
    fc = report["fixed_costs"]
    assert fc["n_positions"] == 120 and fc["n_scenarios"] == 12
    assert fc["prepare_s"] > 0 and fc["curve_s"] >= 0
    for name in ("fp64", "fp32"):
        d = fc["dtypes"][name]
        assert d["torchbook_s"] > 0 and d["aggregates_s"] > 0 and d["base_s"] > 0 and d["first_pass_extra_s"] >= 0
        for path in ("segment", "per_position"):
            p = d[path]
            assert p["chunk_1_s"] > 0 and p["chunk_overhead_s"] >= 0 and p["steady_pass_s"] > 0
            assert math.isfinite(p["marginal_per_scenario_s"]) and p["marginal_per_scenario_s"] >= 0
            assert p["n_chunks"] * p["chunk_size"] >= 12
    assert fc["dominant"] in dict(FIXED_COST_ITEMS)
    assert sum(fc["shares"].values()) == pytest.approx(1.0)
    text = format_table(report)
    assert "fixed costs at 120 positions x 12 scenarios" in text and "dominant fixed cost:" in text
    for _, label in FIXED_COST_ITEMS:
        assert label in text
    assert "chunk overhead" in text and "per scenario" in text


def test_parity_with_quantlib_in_the_benchmark(report) -> None:  # noqa: ANN001
    assert 0.0 <= report["max_rel_err_vs_quantlib"] < 1e-8
    assert report["fp32_max_rel_err_total"] < 1e-3  # fp32 is reported, not held to 1e-8


def test_sample_book_inputs_and_json_command() -> None:
    book = benchmark_book(120, book="sample")
    assert len(book) == 120 and "loan" not in set(book["instrument_type"])
    assert {"fixed_bond", "irs", "equity"} <= set(book["instrument_type"])
    ids = ["rates.ust.1m", "rates.ust.3m", "rates.ust.6m", "rates.ust.1y", "rates.ust.2y", "rates.ust.3y", "rates.ust.5y",
           "rates.ust.7y", "rates.ust.10y", "rates.ust.20y", "rates.ust.30y", "equity.sp500", "equity.sector.hlth",
           "credit.spread.baa_10y"]
    path = benchmark_shocks(ids, 4)
    assert path.shape == (4, 1, len(ids)) and (path[:, 0, :11] != 0).all()
    assert (path[:, 0, 11] == path[:, 0, 12]).all() and (path[:, 0, 13] == 0).all()  # common equity, no spread
    out = json.loads(bench_command(60, 8, True, book="sample", quantlib_scenarios=1, repeats=1, matmul_n=64,
                                   fixed_cost_positions=40, fixed_cost_scenarios=4))
    assert all(k in out for k in REPORT_KEYS) and out["book"] == "sample"
    assert out["fixed_costs"]["book"] == "sample" and out["fixed_costs"]["dominant"]
    assert out["max_rel_err_vs_quantlib"] < 1e-8
    with pytest.raises(ValueError, match="book"):
        benchmark_book(10, book="nope")
