"""The provider client: chat completions and embeddings in batches, bounded concurrency, retries."""

import asyncio
import base64
import hashlib
import json
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Generic, Protocol, TypeVar, cast

import numpy as np
import openai

from state.errors import ProviderError
from state.settings import ProviderOptions

T = TypeVar("T")
RETRYABLE_STATUSES = frozenset({408, 409, 429})
MAX_RETRY_AFTER = 60.0
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
CACHED_FIELDS = ("text", "latency_ms", "prompt_tokens", "completion_tokens")
# Inputs per embeddings request, and a character budget that keeps a request of long chunks
# well under the provider's tokens-per-request limit (300k for OpenAI).
EMBEDDING_BATCH = 128
EMBEDDING_BATCH_CHARS = 400_000
FLOAT32 = np.dtype("<f4")


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


@dataclass(slots=True)
class _Attempts(Generic[T]):
    """What a call with retries came to: a value or an error, retries, the last one's latency."""

    value: T | None = None
    error: str | None = None
    retries: int = 0
    latency_ms: float = 0.0


async def _with_retries(
    call: Callable[[], Awaitable[T]], max_retries: int, rng: random.Random
) -> _Attempts[T]:
    """Await `call()` until it succeeds, fails for good or runs out of retries; never raises."""
    attempt = 0
    while True:
        start = time.perf_counter()
        try:
            value = await call()
            latency_ms = (time.perf_counter() - start) * 1000
            return _Attempts(value=value, retries=attempt, latency_ms=latency_ms)
        # ValueError: a body that is not JSON or not of the expected shape.
        except (openai.APIError, ValueError) as exc:
            error, wait = _failure(exc, attempt, rng)
        latency_ms = (time.perf_counter() - start) * 1000
        if wait < 0 or attempt >= max_retries:
            tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
            return _Attempts(error=f"{error} ({tries})", retries=attempt, latency_ms=latency_ms)
        attempt += 1
        await asyncio.sleep(wait)


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

    async def call() -> CallResult:
        """One attempt."""
        return _parse(await client.chat.completions.create(**params))

    # A slot stays taken while backing off, so a rate-limited provider sees less pressure.
    async with limit:
        outcome = await _with_retries(call, max_retries, rng)
    result = outcome.value if outcome.value is not None else CallResult(error=outcome.error)
    result.latency_ms, result.retries = outcome.latency_ms, outcome.retries
    return result


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


@dataclass(slots=True)
class EmbeddingResult:
    """Vectors in input order (float32, one row per text), with HTTP requests sent and retries."""

    vectors: np.ndarray
    provider_calls: int = 0
    retries: int = 0


def embedding_batches(
    texts: Sequence[str], size: int = EMBEDDING_BATCH, max_chars: int = EMBEDDING_BATCH_CHARS
) -> list[tuple[int, int]]:
    """(start, stop) of consecutive batches of at most `size` texts and about `max_chars`."""
    bounds: list[tuple[int, int]] = []
    start = chars = 0
    for index, text in enumerate(texts):
        if index > start and (index - start == size or chars + len(text) > max_chars):
            bounds.append((start, index))
            start, chars = index, 0
        chars += len(text)
    if start < len(texts):
        bounds.append((start, len(texts)))
    return bounds


def _vectors(response: Any, count: int) -> np.ndarray:
    """A response's vectors by input index; a body of another shape is a ValueError."""
    try:
        data = sorted(response.data, key=lambda item: item.index)
        rows = [
            np.frombuffer(base64.b64decode(item.embedding), dtype=FLOAT32)
            if isinstance(item.embedding, str)
            else np.asarray(item.embedding, dtype=FLOAT32)
            for item in data
        ]
    except (AttributeError, TypeError) as exc:
        raise ValueError(f"no data[].embedding in the response ({exc})") from exc
    if [item.index for item in data] != list(range(count)):
        raise ValueError(f"{len(data)} embeddings for {count} inputs")
    if len({row.shape for row in rows}) != 1 or rows[0].ndim != 1 or not rows[0].size:
        raise ValueError("embeddings of different or no length")
    return np.stack(rows)


async def embed_all(
    client: openai.AsyncOpenAI,
    model: str,
    texts: Sequence[str],
    *,
    concurrency: int = 16,
    max_retries: int = 4,
) -> EmbeddingResult:
    """Embed texts in concurrent batches; raises ProviderError naming the model on a failure.

    Once a batch has failed for good, batches still waiting for a slot are not sent.
    """
    bounds = embedding_batches(texts)
    outcomes: list[_Attempts[np.ndarray] | None] = [None] * len(bounds)
    limit = asyncio.Semaphore(concurrency)
    rng = random.Random()

    async def run(index: int) -> None:
        """Embed batch `index` unless another batch has failed already."""
        batch = list(texts[slice(*bounds[index])])

        async def call() -> np.ndarray:
            """One attempt; base64 halves the body and skips parsing floats."""
            reply = await client.embeddings.create(
                model=model, input=batch, encoding_format="base64"
            )
            return _vectors(reply, len(batch))

        async with limit:
            if not any(o is not None and o.error for o in outcomes):
                outcomes[index] = await _with_retries(call, max_retries, rng)

    await asyncio.gather(*(run(i) for i in range(len(bounds))))
    sent = [o for o in outcomes if o is not None]
    retries = sum(o.retries for o in sent)
    failed = next((o.error for o in sent if o.error), None)
    if failed:
        raise ProviderError(f"embeddings with model {model!r} failed: {failed}")
    vectors = [cast(np.ndarray, o.value) for o in sent]
    if len({v.shape[1] for v in vectors}) > 1:
        raise ProviderError(f"embeddings with model {model!r}: batches of different lengths")
    return EmbeddingResult(
        vectors=np.concatenate(vectors) if vectors else np.zeros((0, 0), FLOAT32),
        provider_calls=len(sent) + retries,
        retries=retries,
    )


def embed_texts(options: ProviderOptions, model: str, texts: Sequence[str]) -> EmbeddingResult:
    """Embed texts from sync code with a client of its own; nothing to embed sends nothing."""
    if not texts:
        return EmbeddingResult(vectors=np.zeros((0, 0), FLOAT32))

    async def embed() -> EmbeddingResult:
        """The batches on a client that lives and dies in this loop."""
        async with build_client(options) as client:
            return await embed_all(
                client,
                model,
                texts,
                concurrency=options.concurrency,
                max_retries=options.max_retries,
            )

    return run_sync(embed)
