"""Transient failures are retried with backoff; permanent ones fail at once, with their message."""

import subprocess
from collections.abc import Iterator

import dagster as dg
import pytest

from risk_dagster.assets import retries
from risk_dagster.transient import MAX_TRANSIENT_RETRIES


@pytest.fixture(autouse=True)
def no_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retries, "backoff_seconds", lambda attempt: 0.0)


def _attempts(result: dg.ExecuteInProcessResult) -> int:
    return 1 + sum(e.event_type == dg.DagsterEventType.STEP_RESTARTED for e in result.all_events)


def test_a_transient_failure_is_retried_until_it_passes() -> None:
    calls: list[int] = []

    @dg.asset
    @retries.retry_transient
    def flaky(context: dg.AssetExecutionContext) -> int:
        calls.append(context.retry_number)
        if len(calls) < 3:
            raise subprocess.TimeoutExpired(["python", "-m", "risk_dagster.engine.quantlib_oracle"], 600)
        return 42

    result = dg.materialize([flaky])
    assert result.success
    assert calls == [0, 1, 2]
    assert _attempts(result) == 3
    assert result.output_for_node("flaky") == 42


def test_a_generator_asset_is_retried_the_same_way() -> None:
    calls: list[int] = []

    @dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="streamed")])
    @retries.retry_transient
    def streamed() -> Iterator[dg.Output | dg.AssetCheckResult]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        yield dg.Output(1)
        yield dg.AssetCheckResult(check_name="positive", passed=True)

    result = dg.materialize([streamed])
    assert result.success and len(calls) == 2


def test_a_permanent_failure_is_not_retried_and_keeps_its_message() -> None:
    calls: list[int] = []

    @dg.asset
    @retries.retry_transient
    def broken() -> int:
        calls.append(1)
        raise ValueError("book.csv: line 3: column 'notional': non_numeric")

    result = dg.materialize([broken], raise_on_error=False)
    assert not result.success
    assert calls == [1] and _attempts(result) == 1
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "non_numeric" in str(failure.step_failure_data.error)


def test_a_failure_that_stays_transient_stops_after_the_retry_budget() -> None:
    calls: list[int] = []

    @dg.asset
    @retries.retry_transient
    def always_oom() -> int:
        calls.append(1)
        raise RuntimeError("CUDA out of memory")

    result = dg.materialize([always_oom], raise_on_error=False)
    assert not result.success
    assert len(calls) == MAX_TRANSIENT_RETRIES + 1


def test_every_accelerator_step_and_pack_retries_transient_failures() -> None:
    from risk_dagster.definitions import build_definitions
    from risk_dagster.resources import ACCELERATOR_POOL

    graph = build_definitions().resolve_asset_graph()
    expected, wrapped = set(), set()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        name = key.to_user_string()
        if ACCELERATOR_POOL in (node.pools or ()) or name in {"documentation_pack", "run_pack"}:
            expected.add(name)
            fn = node.assets_def.op.compute_fn.decorated_fn
            if getattr(fn, "retries_transient", False):
                wrapped.add(name)
    assert {"stress_results", "granular_shocks", "pricing_parity", "documentation_pack", "run_pack"} <= expected
    assert expected == wrapped, f"no transient retries on: {sorted(expected - wrapped)}"
