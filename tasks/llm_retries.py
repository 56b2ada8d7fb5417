"""Retries of provider calls: which failures to retry, how long to wait, and the loop."""

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


def _failure(exc: Exception, attempt: int, rng: random.Random) -> tuple[str, float]:
    """What went wrong and how long to wait before retrying (a negative wait: do not retry)."""
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        message = f"HTTP {status}: {exc.message}"
        if status == 429:
            wait = retry_after(exc.response.headers)
            if wait is not None:
                # A little jitter so that calls told to wait alike do not return in a herd.
                return message, wait * rng.uniform(1.0, 1.2)
        if status in RETRYABLE_STATUSES or status >= 500:
            return message, _backoff(attempt, rng)
        return message, -1.0
    if isinstance(exc, openai.APITimeoutError):
        return "timeout: the provider did not answer in time", _backoff(attempt, rng)
    if isinstance(exc, openai.APIConnectionError):
        return f"connection error: {exc.message}", _backoff(attempt, rng)
    return f"malformed response: {type(exc).__name__}: {exc}", _backoff(attempt, rng)


@dataclass(slots=True)
class Attempts(Generic[T]):
    """What a call with retries came to: a value or an error, retries, the last one's latency."""

    value: T | None = None
    error: str | None = None
    retries: int = 0
    latency_ms: float = 0.0


async def with_retries(
    call: Callable[[], Awaitable[T]], max_retries: int, rng: random.Random
) -> Attempts[T]:
    """Await `call()` until it succeeds, fails for good or runs out of retries; never raises."""
    attempt = 0
    while True:
        start = time.perf_counter()
        try:
            value = await call()
            latency_ms = (time.perf_counter() - start) * 1000
            return Attempts(value=value, retries=attempt, latency_ms=latency_ms)
        # ValueError: a body that is not JSON or not of the expected shape.
        except (openai.APIError, ValueError) as exc:
            error, wait = _failure(exc, attempt, rng)
        latency_ms = (time.perf_counter() - start) * 1000
        if wait < 0 or attempt >= max_retries:
            tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
            return Attempts(error=f"{error} ({tries})", retries=attempt, latency_ms=latency_ms)
        attempt += 1
        await asyncio.sleep(wait)
