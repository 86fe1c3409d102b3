"""Which failures are transient (retried) and which are permanent (fail at once)."""

from __future__ import annotations

import errno
import subprocess

import pytest

from risk_dagster.errors import InputFileError
from risk_dagster.transient import backoff_seconds, is_transient


class OutOfMemoryError(RuntimeError):
    """Stands in for torch.cuda.OutOfMemoryError (matched by name, as the real one is)."""


class KilledWorker(Exception):
    """Stands in for distributed.scheduler.KilledWorker."""


def _chained(outer: Exception, cause: BaseException) -> Exception:
    try:
        raise outer from cause
    except Exception as error:  # noqa: BLE001 - the chained error is the point
        return error


@pytest.mark.parametrize(
    "error",
    [
        subprocess.TimeoutExpired(["python"], 600),
        subprocess.CalledProcessError(-9, ["python"]),  # SIGKILL: the OOM killer
        OSError(errno.ESTALE, "stale file handle"),
        OSError(errno.EAGAIN, "resource temporarily unavailable"),
        OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB"),
        KilledWorker("attempted to run task on 3 workers"),
        TimeoutError("timed out"),
        _chained(RuntimeError("QuantLib oracle failed (-9): "), subprocess.CalledProcessError(-9, ["python"])),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_shortage_of_device_process_or_file_system_is_transient(error: Exception) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        InputFileError("book.csv", "non_numeric", "notional is not a number", row=3, column="notional"),
        ValueError("precision must be one of ['float32', 'float64']"),
        KeyError("ust_10y"),
        subprocess.CalledProcessError(1, ["python"]),  # the oracle reported an error: permanent
        OSError(errno.ENOENT, "no such file"),
        OSError(errno.ENOSPC, "no space left on device"),
        RuntimeError("mat1 and mat2 shapes cannot be multiplied"),
        _chained(RuntimeError("QuantLib oracle failed (1): bad instrument"), subprocess.CalledProcessError(1, ["x"])),
    ],
    ids=lambda e: type(e).__name__,
)
def test_bad_input_and_bugs_are_not_transient(error: Exception) -> None:
    assert not is_transient(error)


def test_backoff_doubles_from_the_base_up_to_the_cap() -> None:
    assert [backoff_seconds(n, base_s=5, cap_s=30) for n in range(5)] == [5, 10, 20, 30, 30]
    with pytest.raises(ValueError, match="retry_number"):
        backoff_seconds(-1)
