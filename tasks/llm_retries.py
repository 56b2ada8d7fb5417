"""Retries of provider calls: which failures to retry, how long to wait, and the loop.

A failure is *fatal* when retrying the batch's other calls cannot help: the endpoint cannot be
reached (refused, unknown host, connect timeout) or it refuses the request as such (401, 403,
404: bad key, unknown model). `tasks.llm` stops a batch on a fatal failure.
"""

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Generic, TypeVar

import openai

T = TypeVar("T")
RETRYABLE_STATUSES = frozenset({408, 409, 429})
FATAL_STATUSES = frozenset({401, 403, 404})
CONNECTION_ERROR = "connection error"
MAX_RETRY_AFTER = 60.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds a 429 asks to wait (`retry-after-ms`, `Retry-After` seconds or date), capped."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            wait = float(raw) / divisor
        except ValueError:
            try:
                wait = parsedate_to_datetime(raw).timestamp() - time.time()
            except (TypeError, ValueError):
                continue
        return min(max(wait, 0.0), MAX_RETRY_AFTER)
    return None


def _backoff(attempt: int, rng: random.Random) -> float:
    """Exponential backoff with full jitter."""
    return rng.uniform(0.0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))


@dataclass(frozen=True, slots=True)
class Failure:
    """What went wrong, how long to wait before retrying (negative: never), whether it is fatal."""

    message: str
    wait: float
    fatal: bool = False


def _connect_timeout(exc: Exception) -> bool:
    """Whether a timeout happened while connecting (the SDK keeps the transport's error)."""
    return type(exc.__cause__).__name__ == "ConnectTimeout"


def _failure(exc: Exception, attempt: int, rng: random.Random) -> Failure:
    """Classify one failed attempt."""
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        message = f"HTTP {status}: {exc.message}"
        if status == 429:
            wait = retry_after(exc.response.headers)
            if wait is not None:
                # A little jitter so that calls told to wait alike do not return in a herd.
                return Failure(message, wait * rng.uniform(1.0, 1.2))
        if status in RETRYABLE_STATUSES or status >= 500:
            return Failure(message, _backoff(attempt, rng))
        return Failure(message, -1.0, fatal=status in FATAL_STATUSES)
    if isinstance(exc, openai.APITimeoutError):
        if _connect_timeout(exc):
            return Failure(f"{CONNECTION_ERROR}: connect timeout", _backoff(attempt, rng), True)
        return Failure("timeout: the provider did not answer in time", _backoff(attempt, rng))
    if isinstance(exc, openai.APIConnectionError):
        return Failure(f"{CONNECTION_ERROR}: {exc.message}", _backoff(attempt, rng), fatal=True)
    return Failure(f"malformed response: {type(exc).__name__}: {exc}", _backoff(attempt, rng))


@dataclass(slots=True)
class Attempts(Generic[T]):
    """What a call with retries came to: a value or an error, retries, the whole wait.

    `latency_ms` runs from the first attempt to the last answer or give-up: timeouts, failed
    attempts and backoff between them included, as a caller waiting for the call sees it.
    """

    value: T | None = None
    error: str | None = None
    retries: int = 0
    latency_ms: float = 0.0
    fatal: bool = False


async def with_retries(
    call: Callable[[], Awaitable[T]],
    max_retries: int,
    rng: random.Random,
    *,
    fatal_retries: int | None = None,
) -> Attempts[T]:
    """Await `call()` until it succeeds, fails for good or runs out of retries; never raises.

    A fatal failure is retried at most `fatal_retries` times when that is given (a probe gives
    up on an unreachable endpoint at once instead of backing off through every retry).
    """
    start = time.perf_counter()
    attempt = 0
    while True:
        try:
            value = await call()
            latency_ms = (time.perf_counter() - start) * 1000
            return Attempts(value=value, retries=attempt, latency_ms=latency_ms)
        # ValueError: a body that is not JSON or not of the expected shape.
        except (openai.APIError, ValueError) as exc:
            failure = _failure(exc, attempt, rng)
        limit = max_retries
        if failure.fatal and fatal_retries is not None:
            limit = min(limit, fatal_retries)
        if failure.wait < 0 or attempt >= limit:
            latency_ms = (time.perf_counter() - start) * 1000
            tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
            return Attempts(
                error=f"{failure.message} ({tries})",
                retries=attempt,
                latency_ms=latency_ms,
                fatal=failure.fatal,
            )
        attempt += 1
        await asyncio.sleep(failure.wait)
