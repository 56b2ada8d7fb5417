"""The provider client: chat completions in batches, with bounded concurrency and retries.

A batch fails fast: its first call goes alone (the probe) until it comes back, or for a quarter
of a second if it is still being answered then, and gives up on an unreachable endpoint after
one retry; a fatal failure (unreachable endpoint, 401/403, unknown model) stops the batch's calls
not yet sent, which come back as errors without a request; so does a batch whose failures
already exceed `max_error_rate` of it (a 429 storm), since it can no longer make a measurement.
Successful responses reach the cache as they arrive, so a batch stopped midway (Ctrl-C, a crash)
is paid for only once.
"""

import asyncio
import random
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, cast

import openai

from state.canonical import content_hash
from state.settings import ProviderOptions
from tasks.llm_retries import with_retries

T = TypeVar("T")
# `client.chat.completions.create` walks the body through the SDK's type transform on every
# call (a third of a call's CPU); `chat_params` builds a plain JSON body, posted as it is, and
# the reply is read as the JSON it is (`cast_to=object`), not built into a `ChatCompletion`
# model field by field (another sixth of the SDK's CPU per call).
CHAT_PATH = "/chat/completions"
# Responses kept per cache write, and the longest a fresh response waits for its write.
FLUSH_EVERY = 64
FLUSH_SECONDS = 1.0
# Retries of a probe that cannot reach the endpoint: one, in case of a blip.
PROBE_FATAL_RETRIES = 1
# How long the probe goes alone while its first attempt is unanswered. An endpoint refuses the
# connection, the key or the model within it; a probe still unanswered is being completed, so
# the other calls need not wait a whole completion (seconds, for a real model). A probe that
# came back failed is waited for, with its retries, as before. If a slow refusal comes after
# the grace, the calls already sent (at most the concurrency) fail alike; the rest are not sent.
PROBE_GRACE_SECONDS = 0.25
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
        parts = [self.model, self.messages, self.temperature, self.max_tokens, *later]
        return content_hash(parts, ensure_ascii=False)


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
    sent: bool = False

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


def build_client(options: ProviderOptions, sdk_retries: int = 0) -> openai.AsyncOpenAI:
    """An async client with an explicit timeout and `sdk_retries` SDK retries.

    Batches of calls retry per call (0 here); single calls such as the Batch API's take the
    SDK's own retries, which honour Retry-After.
    """
    return openai.AsyncOpenAI(
        base_url=options.base_url,
        api_key=options.api_key.get_secret_value(),
        timeout=options.timeout,
        max_retries=sdk_retries,
    )


def webhook_verifier(secret: str) -> Callable[[bytes, Mapping[str, str]], Any]:
    """`verify(payload, headers)`: a provider webhook's event, checked by `client.webhooks.unwrap`.

    It raises `openai.InvalidWebhookSignatureError` for a wrong or stale signature and
    ValueError for a missing header. The client makes no request; it is built once, since
    building one (its TLS context) takes a while.
    """
    client = openai.OpenAI(api_key="unused-for-webhooks", webhook_secret=secret, max_retries=0)
    return client.webhooks.unwrap


def chat_params(request: ChatRequest) -> dict[str, Any]:
    """The body of a chat completion request (online, or one line of a batch file)."""
    params: dict[str, Any] = {
        "model": request.model,
        "messages": request.messages,
        "temperature": request.temperature,
    }
    if request.max_tokens is not None:
        params["max_tokens"] = request.max_tokens
    if request.stop:
        params["stop"] = list(request.stop)
    return params


def _parse(completion: Any) -> CallResult:
    """Text and usage of a completion's JSON; a body without the expected shape is a ValueError."""
    try:
        message = completion["choices"][0]["message"]
        usage = completion.get("usage") or {}
        return CallResult(
            text=message.get("content") or "",
            prompt_tokens=usage.get("prompt_tokens") or 0,
            completion_tokens=usage.get("completion_tokens") or 0,
        )
    except (AttributeError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"no choices[0].message in the response ({exc})") from exc


@dataclass(slots=True)
class _Breaker:
    """The batch's fatal failures: one for every model (unreachable), or per model (404)."""

    everything: str | None = None
    models: dict[str, str] = field(default_factory=dict)

    def reason(self, model: str) -> str | None:
        """Why a call to `model` should not be sent, or None."""
        return self.everything or self.models.get(model)

    def trip(self, model: str, error: str) -> None:
        """Remember a fatal failure: a missing model stops its calls, anything else all."""
        if error.startswith("HTTP 404"):
            self.models.setdefault(model, error)
        elif self.everything is None:
            self.everything = error


@dataclass(slots=True)
class _ErrorBudget:
    """The failures a batch may have and still be a measurement (None: no limit)."""

    total: int
    max_error_rate: float | None
    failed: int = 0

    def spend(self, error: str | None, breaker: _Breaker) -> None:
        """Count a failed call; once the error rate cannot end within the limit, stop all."""
        if error is None or self.max_error_rate is None:
            return
        self.failed += 1
        if self.failed > self.max_error_rate * self.total and breaker.everything is None:
            breaker.everything = (
                f"{self.failed} of {self.total} calls failed, so the error rate can no longer "
                f"end within max_error_rate {self.max_error_rate:g}; last error: {error}"
            )


@dataclass(slots=True)
class _CacheWriter:
    """Writes successful responses to the cache in small groups as they arrive."""

    cache: ResponseCache | None
    pending: dict[str, CallResult] = field(default_factory=dict)
    flushed_at: float = field(default_factory=time.monotonic)

    def add(self, key: str, result: CallResult) -> None:
        """Queue a fresh result; write the queue when it is big or old enough."""
        if self.cache is None or result.error or result.cached:
            return
        self.pending[key] = result
        if len(self.pending) >= FLUSH_EVERY or time.monotonic() - self.flushed_at > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write what is queued."""
        if self.cache is not None and self.pending:
            self.cache.put_many(self.pending)
        self.pending, self.flushed_at = {}, time.monotonic()


async def _complete(
    client: openai.AsyncOpenAI,
    request: ChatRequest,
    limit: asyncio.Semaphore,
    max_retries: int,
    rng: random.Random,
    breaker: _Breaker,
    *,
    probe: bool = False,
    answered: asyncio.Event | None = None,
) -> CallResult:
    """One chat completion with retries; failures come back as a result with `error`.

    `answered` is set when the first attempt comes back, whatever it brought.
    """
    params = chat_params(request)

    async def call() -> CallResult:
        """One attempt: the body as built and the reply as parsed, without the SDK's models."""
        try:
            return _parse(await client.post(CHAT_PATH, body=params, cast_to=object))
        finally:
            if answered is not None:
                answered.set()

    # A slot stays taken while backing off, so a rate-limited provider sees less pressure.
    async with limit:
        if reason := breaker.reason(request.model):
            return CallResult(error=f"not sent: {reason}")
        outcome = await with_retries(
            call, max_retries, rng, fatal_retries=PROBE_FATAL_RETRIES if probe else None
        )
    if outcome.value is None:
        if outcome.fatal:
            breaker.trip(request.model, outcome.error or "")
        result = CallResult(error=outcome.error)
    else:
        result = outcome.value
    result.latency_ms, result.retries, result.sent = outcome.latency_ms, outcome.retries, True
    return result


def _report(
    index: int,
    result: CallResult,
    on_done: Callable[[int], None] | None,
    on_result: Callable[[int, CallResult], None] | None,
) -> None:
    """Tell the callers of `complete_batch` that request `index` has its result."""
    if on_done:
        on_done(index)
    if on_result:
        on_result(index, result)


async def complete_batch(
    client: openai.AsyncOpenAI,
    requests: list[ChatRequest],
    *,
    concurrency: int = 16,
    max_retries: int = 4,
    cache: ResponseCache | None = None,
    on_done: Callable[[int], None] | None = None,
    max_error_rate: float | None = None,
    on_result: Callable[[int, CallResult], None] | None = None,
) -> BatchResult:
    """Run chat completions concurrently; each call's failure is a result, never an exception.

    `on_done(i)` is called when request `i` has its result (cached ones first), and
    `on_result(i, result)` with that result. Cached responses are read in one batch; fresh
    ones are written as they arrive (see `_CacheWriter`).
    The first call not served by the cache is the probe: it runs alone until it ends, or for
    PROBE_GRACE_SECONDS while its first attempt is unanswered.
    With `max_error_rate`, calls not yet sent are not sent once more than that share failed.
    """
    results: list[CallResult | None] = [None] * len(requests)
    keys = [request.cache_key() for request in requests] if cache else []
    if cache:
        hits = cache.get_many(keys)
        for index, key in enumerate(keys):
            if key in hits:
                results[index] = hits[key]
                _report(index, hits[key], on_done, on_result)
    limit = asyncio.Semaphore(concurrency)
    rng = random.Random()
    breaker = _Breaker()
    budget = _ErrorBudget(len(requests), max_error_rate)
    writer = _CacheWriter(cache)

    async def run(index: int, answered: asyncio.Event | None = None) -> None:
        """Complete request `index` (the probe when `answered` is given), cache and report it."""
        probe = answered is not None
        result = await _complete(
            client,
            requests[index],
            limit,
            max_retries,
            rng,
            breaker,
            probe=probe,
            answered=answered,
        )
        results[index] = result
        budget.spend(result.error, breaker)
        if cache:
            writer.add(keys[index], result)
        _report(index, result, on_done, on_result)

    pending = [i for i, r in enumerate(results) if r is None]
    try:
        if pending:
            answered = asyncio.Event()
            probe = asyncio.ensure_future(run(pending[0], answered))
            # The probe goes alone until it ends, or for PROBE_GRACE_SECONDS while its first
            # attempt is unanswered; one that came back failed is waited for (its retries).
            try:
                done, _ = await asyncio.wait({probe}, timeout=PROBE_GRACE_SECONDS)
            except asyncio.CancelledError:
                probe.cancel()  # a stopped batch leaves no call running
                raise
            if not done and answered.is_set():
                await probe
            await asyncio.gather(probe, *(run(i) for i in pending[1:]))
    finally:
        # Also on Ctrl-C or a cancelled caller: the answers already paid for are kept.
        writer.flush()
    done = cast(list[CallResult], results)  # every slot is filled now
    sent = [r for r in done if r.sent]
    retries = sum(r.retries for r in sent)
    return BatchResult(results=done, provider_calls=len(sent) + retries, retries=retries)


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, also when a loop already runs here.

    Ctrl-C stops it at once: `asyncio.run` cancels it, and so does the worker-thread path.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    # A running loop (a notebook, an async caller) cannot be re-entered: use a worker thread.
    started: list[tuple[asyncio.AbstractEventLoop, asyncio.Task]] = []

    async def main() -> T:
        """The coroutine, with a handle to cancel it from the calling thread."""
        started.append((asyncio.get_running_loop(), cast(asyncio.Task, asyncio.current_task())))
        return await make()

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(asyncio.run, main())
        try:
            return future.result()
        except BaseException:
            # Interrupted here while the batch still runs there: cancel it, then wait for it.
            for loop, task in started:
                with suppress(RuntimeError):  # the loop closed meanwhile: nothing to cancel
                    loop.call_soon_threadsafe(task.cancel)
            raise


def model_shutdowns(options: ProviderOptions) -> dict[str, str | None]:
    """Every model the provider lists, with its announced `shutdown_date` (None: none).

    The one reading of `GET /v1/models`; the SDK's own retries cover a passing failure.
    """
    client = openai.OpenAI(
        base_url=options.base_url,
        api_key=options.api_key.get_secret_value(),
        timeout=options.timeout,
        max_retries=options.max_retries,
    )
    with client:
        return {model.id: getattr(model, "shutdown_date", None) for model in client.models.list()}
