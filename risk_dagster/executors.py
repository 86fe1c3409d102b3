"""How the jobs' steps are executed: in one process, in several, or beyond one machine.

=================  =====================================================================
``executor``       what runs each step
=================  =====================================================================
``in_process``     the run's own process (``risk-dagster run`` always does this)
``multiprocess``   one child process per step on this machine, ``max_concurrent`` at once
                   (Dagster's default for runs launched from the UI)
``k8s``            one Kubernetes job per step (``dagster-k8s``, extra ``[k8s]``)
``celery``         a Celery worker per step (``dagster-celery``, extra ``[celery]``)
=================  =====================================================================

Whatever the executor, steps hand values to each other through the IO manager's files under the
output folder (:mod:`risk_dagster.io_manager`), never through memory: beyond one machine that
folder must be one shared volume (a ReadWriteMany PVC, NFS), mounted at the same path in every
step's pod or worker, and the Dagster instance must use shared storage (Postgres), not the
default SQLite under ``DAGSTER_HOME``. The torch steps share the ``accelerator`` pool, so one GPU
is not oversubscribed; on Kubernetes, where each step is a pod, the GPU itself is requested in
the executor's ``step_k8s_config`` (README, "Scale-out").
"""

from __future__ import annotations

from typing import Literal, get_args

import dagster as dg

ExecutorName = Literal["in_process", "multiprocess", "k8s", "celery"]
EXECUTORS: tuple[str, ...] = get_args(ExecutorName)

_EXTRAS = {"k8s": ("dagster_k8s", "k8s_job_executor", "k8s"), "celery": ("dagster_celery", "celery_executor", "celery")}


def executor_def(name: str) -> dg.ExecutorDefinition:
    """The Dagster executor called ``name`` (one of :data:`EXECUTORS`).

    Raises
    ------
    ValueError
        For an unknown name, or when the integration package of ``k8s`` / ``celery`` is not
        installed (the message says which extra to install).
    """
    if name == "in_process":
        return dg.in_process_executor
    if name == "multiprocess":
        return dg.multiprocess_executor
    if name not in _EXTRAS:
        raise ValueError(f"unknown executor {name!r}; expected one of {', '.join(EXECUTORS)}")
    module, attribute, extra = _EXTRAS[name]
    try:
        imported = __import__(module)
    except ImportError:
        raise ValueError(f"the {name} executor needs {module.replace('_', '-')}: pip install 'risk-dagster[{extra}]'") from None
    return getattr(imported, attribute)


def project_job(job_name: str, output_dir: str, executor: str = "multiprocess") -> dg.JobDefinition:
    """One of the project's jobs with the given executor: what a child process rebuilds from
    :func:`reconstructable_job` (out-of-process executors rebuild the job in each step)."""
    from risk_dagster.definitions import build_definitions

    return build_definitions(output_dir=output_dir, executor=executor).resolve_job_def(job_name)


def reconstructable_job(job_name: str, output_dir: str, executor: str = "multiprocess") -> dg.ReconstructableJob:
    """The job, rebuildable by name in another process, for :func:`dagster.execute_job`."""
    return dg.build_reconstructable_job(
        "risk_dagster.executors", "project_job", reconstructable_args=(job_name, output_dir, executor)
    )
