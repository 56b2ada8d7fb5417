"""The provider client: batches of chat completions with bounded concurrency, retries, a cache."""

import asyncio
import hashlib
import json
import random
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar, cast

import openai

from state.settings import ProviderOptions

T = TypeVar("T")
RETRYABLE_STATUSES = frozenset({408, 409, 429})
MAX_RETRY_AFTER = 60.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
CACHED_FIELDS = ("text", "latency_ms", "prompt_tokens", "completion_tokens")


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat completion to make."""

    model: str
    messages: list[dict[str, str]]
    temperature: float = 0.0
    max_tokens: int | None = None

    def cache_key(self) -> str:
        """sha256 over the canonical JSON of model, messages and parameters."""
        canonical = json.dumps(
            [self.model, self.messages, self.temperature, self.max_tokens],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(slots=True)
class CallResult:
    """The outcome of one chat completion; `error` is set instead of raising.

    A cached result keeps the latency measured when it was first fetched, so that latency
    aggregates stay meaningful when a run is served from the cache.
    """

    text: str = ""
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = None
    retries: int = 0
    cached: bool = False

    def to_cache(self) -> dict[str, Any]:
        """The JSON kept in the response cache."""
        return {name: getattr(self, name) for name in CACHED_FIELDS}

    @classmethod
    def from_cache(cls, data: Mapping[str, Any]) -> "CallResult":
        """A result rebuilt from the response cache."""
        return cls(**{name: data[name] for name in CACHED_FIELDS}, cached=True)


@dataclass(slots=True)
class BatchResult:
    """Results in request order, with HTTP requests actually sent and retries among them."""

    results: list[CallResult] = field(default_factory=list)
    provider_calls: int = 0
    retries: int = 0


class ResponseCache(Protocol):
    """Where successful responses are kept, by `ChatRequest.cache_key()`."""

    def get_many(self, keys: Sequence[str]) -> dict[str, CallResult]:
        """The cached results among `keys`."""
        ...

    def put_many(self, results: Mapping[str, CallResult]) -> None:
        """Keep these results."""
        ...


def build_client(options: ProviderOptions) -> openai.AsyncOpenAI:
    """An async client with an explicit timeout and no SDK retries (batches retry per call)."""
    return openai.AsyncOpenAI(
        base_url=options.base_url,
        api_key=options.api_key.get_secret_value(),
        timeout=options.timeout,
        max_retries=0,
    )


def _retry_after(headers: Mapping[str, str]) -> float | None:
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
            wait = _retry_after(exc.response.headers)
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


def _parse(completion: Any) -> CallResult:
    """Text and usage of a completion; a body without the expected shape is a ValueError."""
    try:
        usage = completion.usage
        return CallResult(
            text=completion.choices[0].message.content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )
    except (AttributeError, IndexError, TypeError) as exc:
        raise ValueError(f"no choices[0].message in the response ({exc})") from exc


async def _complete(
    client: openai.AsyncOpenAI,
    request: ChatRequest,
    limit: asyncio.Semaphore,
    max_retries: int,
    rng: random.Random,
) -> CallResult:
    """One chat completion with retries; failures come back as a result with `error`."""
    params: dict[str, Any] = {
        "model": request.model,
        "messages": request.messages,
        "temperature": request.temperature,
    }
    if request.max_tokens is not None:
        params["max_tokens"] = request.max_tokens
    create = client.chat.completions.create
    attempt = 0
    # A slot stays taken while backing off, so a rate-limited provider sees less pressure.
    async with limit:
        while True:
            start = time.perf_counter()
            try:
                result = _parse(await create(**params))
                result.latency_ms = (time.perf_counter() - start) * 1000
                result.retries = attempt
                return result
            # ValueError: a body that is not JSON or not a chat completion.
            except (openai.APIError, ValueError) as exc:
                error, wait = _failure(exc, attempt, rng)
            latency_ms = (time.perf_counter() - start) * 1000
            if wait < 0 or attempt >= max_retries:
                tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
                return CallResult(
                    latency_ms=latency_ms, error=f"{error} ({tries})", retries=attempt
                )
            attempt += 1
            await asyncio.sleep(wait)


async def complete_batch(
    client: openai.AsyncOpenAI,
    requests: list[ChatRequest],
    *,
    concurrency: int = 16,
    max_retries: int = 4,
    cache: ResponseCache | None = None,
    on_done: Callable[[int], None] | None = None,
) -> BatchResult:
    """Run chat completions concurrently; each call's failure is a result, never an exception.

    `on_done(i)` is called when request `i` has its result (cached ones first). Successful
    responses are read from and written to `cache` in one batch each.
    """
    results: list[CallResult | None] = [None] * len(requests)
    keys = [request.cache_key() for request in requests] if cache else []
    if cache:
        hits = cache.get_many(keys)
        for index, key in enumerate(keys):
            if key in hits:
                results[index] = hits[key]
                if on_done:
                    on_done(index)
    limit = asyncio.Semaphore(concurrency)
    rng = random.Random()

    async def run(index: int) -> None:
        """Complete request `index` and report it."""
        results[index] = await _complete(client, requests[index], limit, max_retries, rng)
        if on_done:
            on_done(index)

    await asyncio.gather(*(run(i) for i, r in enumerate(results) if r is None))
    done = cast(list[CallResult], results)  # every slot is filled now
    fresh = [r for r in done if not r.cached]
    if cache:
        cache.put_many(
            {key: r for key, r in zip(keys, done, strict=True) if not r.cached and not r.error}
        )
    retries = sum(r.retries for r in fresh)
    return BatchResult(results=done, provider_calls=len(fresh) + retries, retries=retries)


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, also when a loop already runs here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    # A running loop (a notebook, an async caller) cannot be re-entered: use a worker thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def run_batch(
    options: ProviderOptions,
    requests: list[ChatRequest],
    *,
    cache: ResponseCache | None = None,
    on_done: Callable[[int], None] | None = None,
) -> BatchResult:
    """Run a batch from sync code with a client of its own (clients belong to one loop)."""

    async def batch() -> BatchResult:
        """The batch on a client that lives and dies in this loop."""
        async with build_client(options) as client:
            return await complete_batch(
                client,
                requests,
                concurrency=options.concurrency,
                max_retries=options.max_retries,
                cache=cache,
                on_done=on_done,
            )

    return run_sync(batch)
