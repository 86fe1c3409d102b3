"""Executors: the multi-process one runs project steps in separate processes through the IO manager's
files; the Kubernetes and Celery configurations the README documents are valid for the project's jobs."""

import os
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from risk_dagster.executors import EXECUTORS, executor_def, project_job, reconstructable_job

K8S_RUN_CONFIG = {
    "execution": {"config": {
        "job_namespace": "risk-dagster",
        "max_concurrent": 4,
        "env_config_maps": ["risk-dagster-env"],
        "volume_mounts": [{"name": "risk-output", "mount_path": "/data/risk_output"}],
        "volumes": [{"name": "risk-output", "persistent_volume_claim": {"claim_name": "risk-output"}}],
        "step_k8s_config": {"container_config": {"resources": {"limits": {"nvidia.com/gpu": "1"}}}},
    }}
}  # fmt: skip
CELERY_RUN_CONFIG = {"execution": {"config": {"broker": "pyamqp://guest@rabbitmq:5672//", "backend": "rpc://"}}}


def test_every_named_executor_resolves_and_an_unknown_one_is_refused() -> None:
    for name in ("in_process", "multiprocess"):
        assert executor_def(name).name == name
    with pytest.raises(ValueError, match="expected one of in_process, multiprocess, k8s, celery"):
        executor_def("slurm")
    assert set(EXECUTORS) == {"in_process", "multiprocess", "k8s", "celery"}


@pytest.mark.parametrize(("name", "run_config"), [("k8s", K8S_RUN_CONFIG), ("celery", CELERY_RUN_CONFIG)])
def test_the_documented_cluster_configuration_is_valid_for_the_scenario_job(tmp_path, name, run_config) -> None:
    job = project_job("scenario_job", str(tmp_path), executor=name)
    assert job.executor_def.name == executor_def(name).name
    dg.validate_run_config(job, run_config)
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(job, {"execution": {"config": {"no_such_option": 1}}})


def test_the_multiprocess_executor_runs_steps_in_their_own_processes_through_files(tmp_path) -> None:
    out = tmp_path / "out"
    # a value handed from one process to the next (portfolio -> sensitivities) and one beside them;
    # each child imports the package (torch, GX: seconds of CPU), so the selection stays small
    selection = [dg.AssetKey(n) for n in ("fed_history", "portfolio", "sensitivities")]
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        result = dg.execute_job(
            reconstructable_job("history_job", str(out), "multiprocess"), instance,
            run_config={"execution": {"config": {"max_concurrent": 2}}}, asset_selection=selection,
        )  # fmt: skip
        assert result.success
        starts = [e.dagster_event for e in instance.all_logs(result.run_id) if e.dagster_event and e.dagster_event.is_step_start]
    pids = {e.pid for e in starts}
    assert {e.step_key for e in starts} >= {"fed_history", "portfolio", "sensitivities"}
    assert len(pids) == len(starts) and os.getpid() not in pids  # a process per step, not this one
    book = pd.read_parquet(out / "store" / "portfolio.parquet")  # what the sensitivities' process read
    sensitivities = pd.read_parquet(out / "stress" / "sensitivities.parquet")
    assert len(book) > 0 and sensitivities["factor_id"].nunique() > 10
    assert Path(out, "store", "fed_history.pkl").is_file()
