"""The provider layer against the real sandbox over HTTP: batches, retries, timeouts, cache."""

import asyncio
import signal
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from state.settings import ProviderOptions
from tasks.llm import (
    BatchResult,
    ChatRequest,
    ResponseCache,
    build_client,
    complete_batch,
    run_sync,
)
from tasks.llm_retries import retry_after
from tasks.response_cache import StoreResponseCache
from tests.plugins.sandbox_server import SandboxServer, dead_url

CONTEXT = "Context:\n[kb-1] Refunds are processed within five business days.\n\n"


def _options(url: str, **overrides: object) -> ProviderOptions:
    values = {"base_url": url, "api_key": SecretStr("sk-test"), "timeout": 5.0} | overrides
    return ProviderOptions(**values)


def _requests(count: int, model: str = "sandbox-base") -> list[ChatRequest]:
    return [
        ChatRequest(model, [{"role": "user", "content": f"{CONTEXT}Question: refunds {i}?"}])
        for i in range(count)
    ]


def run_batch(
    options: ProviderOptions,
    requests: list[ChatRequest],
    *,
    cache: ResponseCache | None = None,
    on_done: Callable[[int], None] | None = None,
    max_error_rate: float | None = None,
) -> BatchResult:
    """A batch from sync code on a client of its own, as the scoring runs one."""

    async def batch() -> BatchResult:
        async with build_client(options) as client:
            return await complete_batch(
                client,
                requests,
                concurrency=options.concurrency,
                max_retries=options.max_retries,
                cache=cache,
                on_done=on_done,
                max_error_rate=max_error_rate,
            )

    return run_sync(batch)


def _faults(url: str, **faults: float) -> None:
    httpx.post(url.removesuffix("/v1") + "/sandbox/faults", json=faults).raise_for_status()


def _stats(url: str) -> dict[str, int]:
    return httpx.get(url.removesuffix("/v1") + "/sandbox/stats").json()


def _settle(url: str) -> None:
    """Wait until requests abandoned by earlier tests (hangs) have left the server."""
    deadline = time.monotonic() + 10
    while _stats(url)["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.05)
    httpx.post(url.removesuffix("/v1") + "/sandbox/reset", json={}).raise_for_status()


def test_chat_request_cache_key_changes_with_parameters() -> None:
    base = ChatRequest("m", [{"role": "user", "content": "hi"}])
    assert base.cache_key() == ChatRequest("m", [{"content": "hi", "role": "user"}]).cache_key()
    assert base.cache_key() != ChatRequest("m", base.messages, max_tokens=5).cache_key()
    assert base.cache_key() != ChatRequest("m2", base.messages).cache_key()


def test_run_batch_returns_answers_in_request_order(sandbox_url: str) -> None:
    requests = _requests(3) + [ChatRequest("sandbox-base", [{"role": "user", "content": "hi"}])]
    batch = run_batch(_options(sandbox_url), requests)
    texts = [r.text for r in batch.results]
    assert texts[:3] == ["Refunds are processed within five business days."] * 3
    assert texts[3] == "I don't have enough information to answer that."
    assert all(r.prompt_tokens > 0 and r.completion_tokens > 0 for r in batch.results)
    assert (batch.provider_calls, batch.retries) == (4, 0)


def test_run_batch_retries_rate_limits_and_server_errors(sandbox_url: str) -> None:
    _faults(sandbox_url, fault_429=0.3, fault_500=0.1, seed=3)
    # One call at a time: the faults of attempt n are seeded by n, so every run sees the same
    # sequence (concurrent calls would share the attempts out in a different order each time).
    batch = run_batch(_options(sandbox_url, concurrency=1), _requests(20))
    assert [r.error for r in batch.results] == [None] * 20
    assert batch.retries > 0
    assert batch.provider_calls == 20 + batch.retries == _stats(sandbox_url)["chat_completions"]


def test_run_batch_retries_malformed_bodies(sandbox_url: str) -> None:
    # Seeded and one call at a time, so the run is the same every time: with seed 4 no request
    # meets five malformed bodies in a row.
    _faults(sandbox_url, malformed_share=0.3, seed=4)
    batch = run_batch(_options(sandbox_url, concurrency=1), _requests(20))
    assert all(r.error is None and r.text for r in batch.results)
    assert _stats(sandbox_url)["faults_malformed"] == batch.retries > 0


def test_run_batch_marks_calls_failed_when_retries_run_out(sandbox_url: str) -> None:
    _faults(sandbox_url, fault_500=1.0)
    batch = run_batch(_options(sandbox_url, max_retries=1), _requests(3))
    assert [r.retries for r in batch.results] == [1, 1, 1]
    assert all(r.error and r.error.startswith("HTTP 500") for r in batch.results)
    assert batch.provider_calls == 6


def test_run_batch_times_out_a_hanging_provider(sandbox_url: str) -> None:
    _faults(sandbox_url, hang_share=1.0, hang_seconds=1.0)
    options = _options(sandbox_url, timeout=0.5, max_retries=1)
    batch = run_batch(options, _requests(4))
    assert all(r.error and r.error.startswith("timeout") for r in batch.results)
    assert (batch.provider_calls, batch.retries) == (8, 4)


def test_a_probe_still_being_answered_lets_the_other_calls_go_after_its_grace(
    sandbox_url: str, sandbox_server: SandboxServer
) -> None:
    # Every answer takes 1 s, four times the grace: the probe is still unanswered when the
    # other three go, so all four are in flight at once (three, if they waited for it).
    _settle(sandbox_url)
    sandbox_server.reset()  # the most in flight, counted from here
    _faults(sandbox_url, hang_share=1.0, hang_seconds=1.0)
    batch = run_batch(_options(sandbox_url, concurrency=4), _requests(4))
    assert all(r.error is None and r.text for r in batch.results)
    assert _stats(sandbox_url)["max_in_flight"] == 4


def test_run_batch_stops_at_the_first_call_for_a_missing_model(sandbox_url: str) -> None:
    batch = run_batch(_options(sandbox_url), _requests(30, model="no-such-model"))
    first, *rest = batch.results
    assert first.error.startswith("HTTP 404") and first.error.endswith("(1 attempt)")
    assert all(r.error == f"not sent: {first.error}" and not r.sent for r in rest)
    assert (batch.provider_calls, batch.retries) == (1, 0)
    assert _stats(sandbox_url)["chat_completions"] == 1


def test_run_batch_missing_model_stops_only_the_calls_to_that_model(sandbox_url: str) -> None:
    requests = _requests(4, model="no-such-model") + _requests(4)
    batch = run_batch(_options(sandbox_url), requests)
    assert all(r.error for r in batch.results[:4])
    assert all(r.error is None and r.text for r in batch.results[4:])
    assert batch.provider_calls == 5


def test_run_batch_stops_at_once_when_the_endpoint_refuses_connections() -> None:
    batch = run_batch(_options(dead_url()), _requests(50))
    first, *rest = batch.results
    # The probe retries once in case of a blip; the other 49 calls are never sent.
    assert first.error.startswith("connection error") and first.error.endswith("(2 attempts)")
    assert all(r.error == f"not sent: {first.error}" for r in rest)
    assert (batch.provider_calls, batch.retries) == (2, 1)


def test_run_batch_stops_a_429_storm_once_the_error_rate_cannot_end_within_the_limit(
    sandbox_url: str,
) -> None:
    _faults(sandbox_url, fault_429=1.0, retry_after_seconds=0.01)
    # One call at a time: the fifth failure of 40 calls is more than 10% of them.
    options = _options(sandbox_url, concurrency=1, max_retries=4)
    batch = run_batch(options, _requests(40), max_error_rate=0.1)
    failed, stopped = batch.results[:5], batch.results[5:]
    assert all(r.sent and r.error.startswith("HTTP 429") for r in failed)
    assert all(not r.sent for r in stopped)
    assert stopped[0].error == (
        "not sent: 5 of 40 calls failed, so the error rate can no longer end within "
        f"max_error_rate 0.1; last error: {failed[-1].error}"
    )
    assert batch.provider_calls == 5 * 5 == _stats(sandbox_url)["chat_completions"]


def test_run_batch_within_its_error_budget_sends_every_call(sandbox_url: str) -> None:
    _faults(sandbox_url, fault_429=1.0, retry_after_seconds=0.01)
    batch = run_batch(_options(sandbox_url, max_retries=0), _requests(10), max_error_rate=1.0)
    assert all(r.sent and r.error.startswith("HTTP 429") for r in batch.results)


def test_run_batch_sends_no_more_calls_to_a_model_found_missing_midway(sandbox_url: str) -> None:
    # One call at a time, in order: the probe succeeds, the first 404 stops the calls after it.
    requests = _requests(3) + _requests(10, model="no-such-model")
    batch = run_batch(_options(sandbox_url, concurrency=1), requests)
    assert [r.sent for r in batch.results] == [True] * 4 + [False] * 9
    assert _stats(sandbox_url)["chat_completions"] == 4


def test_complete_batch_keeps_to_its_concurrency(sandbox_url: str) -> None:
    _settle(sandbox_url)
    _faults(sandbox_url, latency_ms=30)

    async def main() -> None:
        async with build_client(_options(sandbox_url)) as client:
            await complete_batch(client, _requests(24), concurrency=4)

    asyncio.run(main())
    assert _stats(sandbox_url)["max_in_flight"] == 4


def test_complete_batch_reports_each_finished_request(sandbox_url: str) -> None:
    finished: list[int] = []
    run_batch(_options(sandbox_url), _requests(5), on_done=finished.append)
    assert sorted(finished) == [0, 1, 2, 3, 4]


def test_run_batch_serves_a_repeated_batch_from_the_cache(sandbox_url: str, tmp_path: Path) -> None:
    cache = StoreResponseCache(f"sqlite:///{tmp_path / 'store.db'}")
    first = run_batch(_options(sandbox_url), _requests(5), cache=cache)
    second = run_batch(_options(sandbox_url), _requests(5), cache=cache)
    assert second.provider_calls == 0 and all(r.cached for r in second.results)
    assert [r.text for r in second.results] == [r.text for r in first.results]
    assert [r.latency_ms for r in second.results] == [r.latency_ms for r in first.results]
    assert _stats(sandbox_url)["chat_completions"] == 5


def test_run_batch_does_not_cache_failures(sandbox_url: str, tmp_path: Path) -> None:
    cache = StoreResponseCache(f"sqlite:///{tmp_path / 'store.db'}")
    _faults(sandbox_url, fault_500=1.0)
    run_batch(_options(sandbox_url, max_retries=0), _requests(2), cache=cache)
    _faults(sandbox_url, fault_500=0.0)
    again = run_batch(_options(sandbox_url), _requests(2), cache=cache)
    assert again.provider_calls == 2 and all(r.error is None for r in again.results)


def test_run_batch_works_inside_a_running_event_loop(sandbox_url: str) -> None:
    async def caller() -> str:
        return run_batch(_options(sandbox_url), _requests(1)).results[0].text

    assert asyncio.run(caller()) == "Refunds are processed within five business days."


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "2"}, 2.0),
        ({"retry-after": "86400"}, 60.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_reads_milliseconds_then_seconds_capped(
    headers: dict[str, str], expected: float | None
) -> None:
    assert retry_after(headers) == expected


def test_interrupted_batch_keeps_the_answers_it_got_and_a_rerun_pays_only_for_the_rest(
    sandbox_url: str, tmp_path: Path
) -> None:
    cache = StoreResponseCache(f"sqlite:///{tmp_path / 'store.db'}")
    requests = _requests(40)
    finished: list[int] = []

    def interrupt(index: int) -> None:
        finished.append(index)
        if len(finished) == 20:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C in the middle of the batch

    # Ctrl-C as a command line process gets it, whatever handler an earlier test left behind.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_batch(
                _options(sandbox_url, concurrency=2), requests, cache=cache, on_done=interrupt
            )
    finally:
        signal.signal(signal.SIGINT, previous)
    first_calls = _stats(sandbox_url)["chat_completions"]
    kept = len(cache.get_many([r.cache_key() for r in requests]))
    # Stopped at once: at most the calls in flight beyond the 20 answered; all 20 kept.
    assert 20 <= kept <= first_calls <= 22

    again = run_batch(_options(sandbox_url), requests, cache=cache)
    assert all(r.error is None for r in again.results)
    assert again.provider_calls == 40 - kept
    assert _stats(sandbox_url)["chat_completions"] == first_calls + 40 - kept


def test_latency_of_a_call_is_its_whole_wait_with_timeouts_and_retries(sandbox_url: str) -> None:
    _faults(sandbox_url, hang_share=0.3, hang_seconds=1.0, seed=11)
    options = _options(sandbox_url, timeout=0.3, max_retries=4, concurrency=8)
    batch = run_batch(options, _requests(40))
    retried = [r for r in batch.results if r.retries]
    assert retried, "the seeded hangs should time some calls out"
    assert all(r.latency_ms >= 300 * r.retries for r in retried)


class _JsonClient:
    """A client double that answers each chat call with the JSON body given for its content."""

    def __init__(self, bodies: dict[str, object]) -> None:
        self.bodies = bodies

    async def post(self, path: str, *, body: dict, cast_to: type) -> object:
        assert (path, cast_to) == ("/chat/completions", object)  # the JSON, no SDK model
        return self.bodies[body["messages"][0]["content"]]


def test_complete_batch_reads_the_reply_json_and_refuses_a_body_without_choices() -> None:
    bodies = {
        "ok": {"choices": [{"message": {"content": "hi"}}], "usage": {"prompt_tokens": 3}},
        "empty": {"choices": [{"message": {"content": None}}], "usage": None},
        "odd": {"id": "chatcmpl-1", "object": "chat.completion"},
    }
    requests = [ChatRequest("m", [{"role": "user", "content": key}]) for key in bodies]
    batch = asyncio.run(complete_batch(_JsonClient(bodies), requests, max_retries=0))
    ok, empty, odd = batch.results
    assert (ok.text, ok.prompt_tokens, ok.completion_tokens, ok.error) == ("hi", 3, 0, None)
    assert (empty.text, empty.prompt_tokens, empty.error) == ("", 0, None)
    assert odd.error is not None and "no choices[0].message in the response" in odd.error
