"""Retries with backoff for the steps that can fail transiently, and only for those failures.

:func:`retry_transient` wraps an asset's function: a failure that
:func:`risk_dagster.transient.is_transient` calls transient (GPU out of memory, the QuantLib
subprocess killed or timed out, a lost dask worker, a busy network file system) is retried up to
:data:`~risk_dagster.transient.MAX_TRANSIENT_RETRIES` times with exponential backoff; any other
failure (bad input, a bug) fails the step at once with its own message, instead of being tried
again and reported late. A Dagster ``RetryPolicy`` would retry both kinds, so none is set.
"""

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import dagster as dg

from risk_dagster.transient import MAX_TRANSIENT_RETRIES, backoff_seconds, is_transient

F = TypeVar("F", bound=Callable[..., Any])


def retry_transient(fn: F) -> F:
    """Decorate an asset function (plain or generator) so transient failures are retried.

    Placed under ``@dg.asset``: the signature is kept (``functools.wraps``), so Dagster sees the
    function's own parameters.
    """

    def _retry(error: Exception) -> None:
        if isinstance(error, (dg.RetryRequested, dg.Failure)) or not is_transient(error):
            return
        context = dg.OpExecutionContext.get()
        attempt = context.retry_number if context is not None else 0
        wait = backoff_seconds(attempt)
        message = f"transient failure ({type(error).__name__}: {error}); attempt {attempt + 1} of {MAX_TRANSIENT_RETRIES + 1}"
        if context is not None:
            context.log.warning(f"{message}, retrying in {wait:.0f} s")
        raise dg.RetryRequested(max_retries=MAX_TRANSIENT_RETRIES, seconds_to_wait=wait) from error

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def generator(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except Exception as error:
                _retry(error)
                raise

        generator.retries_transient = True  # type: ignore[attr-defined]
        return generator  # type: ignore[return-value]

    @functools.wraps(fn)
    def plain(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            _retry(error)
            raise

    plain.retries_transient = True  # type: ignore[attr-defined]
    return plain  # type: ignore[return-value]
