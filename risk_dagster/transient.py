"""Which failures are worth retrying: transient ones, told apart from bad input and bugs.

A step that fails on bad input or a bug fails the same way every time: retrying only delays the
clear error. A step that fails because the machine was briefly short of something succeeds on a
later attempt. The steps that meet the second kind here are the ones that use a shared device or
another process:

* the GPU is shared (the ``accelerator`` pool limits our own steps, not other users): CUDA out of
  memory, or a CUDA launch that times out;
* the QuantLib oracle runs in a subprocess, which the OS may kill under memory pressure
  (negative return code) or which may exceed its timeout on a loaded machine;
* the dask backend's workers can be lost or time out;
* file systems shared over the network answer ``EAGAIN``/``EBUSY``/``ESTALE``/``ETIMEDOUT``
  and similar for a while.

Everything else (:class:`~risk_dagster.errors.InputFileError`, ``ValueError``, ``KeyError``, a
non-zero exit of the oracle with an error message) is permanent.
"""

from __future__ import annotations

import errno
import subprocess

TRANSIENT_ERRNOS = frozenset(
    {errno.EAGAIN, errno.EBUSY, errno.ESTALE, errno.ETIMEDOUT, errno.EINTR, errno.ECONNRESET,
     errno.ECONNREFUSED, errno.ECONNABORTED, errno.EPIPE, errno.EHOSTUNREACH, errno.ENETUNREACH}
)  # fmt: skip
"""OS error numbers a later attempt can get past (a busy or briefly unreachable resource)."""

TRANSIENT_TYPE_NAMES = frozenset(
    {
        "OutOfMemoryError",  # torch.cuda.OutOfMemoryError: another process holds the GPU
        "KilledWorker",  # distributed: a dask worker died while holding the task
        "CommClosedError",  # distributed: a worker's connection dropped
        "TimeoutError",  # asyncio / distributed / builtin timeouts
        "AcceleratorError",  # torch: CUDA launch failure or timeout
    }
)
"""Exception class names (matched on the class and its bases) that mean a transient shortage.
Matched by name so that torch and distributed need not be imported to classify."""

_CUDA_TRANSIENT_TEXT = ("cuda out of memory", "launch timed out")
MAX_TRANSIENT_RETRIES = 3
"""Attempts after the first for a transient failure; then the step fails with the last error."""


def is_transient(error: BaseException) -> bool:
    """True when ``error`` (or an error it was raised from) is worth a later attempt.

    Parameters
    ----------
    error
        The exception a step raised.

    Returns
    -------
    bool
        ``True`` for the transient kinds in this module's docstring, ``False`` otherwise.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _transient_alone(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _transient_alone(error: BaseException) -> bool:
    if isinstance(error, subprocess.TimeoutExpired):
        return True
    if isinstance(error, subprocess.CalledProcessError):
        return error.returncode < 0  # killed by a signal (the OOM killer), not an error it reported
    if isinstance(error, OSError) and error.errno in TRANSIENT_ERRNOS:
        return True
    names = {cls.__name__ for cls in type(error).__mro__}
    if names & TRANSIENT_TYPE_NAMES:
        return True
    return isinstance(error, RuntimeError) and any(text in str(error).lower() for text in _CUDA_TRANSIENT_TEXT)


def backoff_seconds(retry_number: int, base_s: float = 5.0, cap_s: float = 120.0) -> float:
    """Wait before attempt ``retry_number + 1``: ``base_s * 2**retry_number``, at most ``cap_s``.

    Deterministic (no jitter): the steps that retry are few and do not share one resource in lock
    step, and a run's log should read the same on a rerun.
    """
    if retry_number < 0:
        raise ValueError(f"retry_number must be >= 0, got {retry_number}")
    return float(min(cap_s, base_s * 2.0**retry_number))
