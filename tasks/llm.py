"""The provider client: chat completions in batches, with bounded concurrency and retries."""

import asyncio
import hashlib
import json
import random
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

import openai

from state.settings import ProviderOptions
from tasks.llm_retries import with_retries

T = TypeVar("T")
CACHED_FIELDS = ("text", "latency_ms", "prompt_tokens", "completion_tokens")


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat completion to make."""

    model: str
    messages: list[dict[str, str]]
    temperature: float = 0.0
    max_tokens: int | None = None
    stop: tuple[str, ...] = ()

    def cache_key(self) -> str:
        """sha256 over the canonical JSON of model, messages and parameters.

        Parameters added later (`stop`) join the key only when set: older keys stay valid.
        """
        later = [list(self.stop)] if self.stop else []
        canonical = json.dumps(
            [self.model, self.messages, self.temperature, self.max_tokens, *later],
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
    if request.stop:
        params["stop"] = list(request.stop)

    async def call() -> CallResult:
        """One attempt."""
        return _parse(await client.chat.completions.create(**params))

    # A slot stays taken while backing off, so a rate-limited provider sees less pressure.
    async with limit:
        outcome = await with_retries(call, max_retries, rng)
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
