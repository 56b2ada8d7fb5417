"""Timing two configurations interleaved: both see the same load, whatever the load does."""

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from state.settings import ProviderOptions
from tasks.evaluation import PreparedRequest
from tasks.latency_probe import interleave, time_pairs
from tasks.latency_stats import paired_difference
from tasks.llm import ChatRequest, build_client, complete_batch, run_sync
from tests.plugins.sandbox_server import SandboxServer

ITEMS = 40
SLOW_MS = 400.0
CONTEXT = "Context:\n[kb-1] Refunds are processed within five business days.\n\n"


def _requests(model: str) -> list[PreparedRequest]:
    """One request per item, a question with its passage, to one model."""
    return [
        PreparedRequest(
            item_id=f"q{i:03d}",
            model=model,
            messages=[{"role": "user", "content": f"{CONTEXT}Question: refunds {i}?"}],
        )
        for i in range(ITEMS)
    ]


def _time_alone(provider: ProviderOptions, requests: list[PreparedRequest]) -> list[float]:
    """One configuration's waits, timed in a batch of its own."""
    calls = [ChatRequest(r.model, r.messages) for r in requests]

    async def batch():
        async with build_client(provider) as client:
            return await complete_batch(client, calls, concurrency=provider.concurrency)

    return [result.latency_ms for result in run_sync(batch).results]


@pytest.fixture(name="provider")
def provider_fixture(sandbox_server: SandboxServer) -> Iterator[ProviderOptions]:
    """Options for the shared sandbox, whose latency is restored afterwards."""
    yield ProviderOptions(
        base_url=sandbox_server.url, api_key=SecretStr("sk-test"), timeout=5.0, concurrency=4
    )
    sandbox_server.app_state.set_faults({"latency_ms": 0.0})


def test_interleave_alternates_which_configuration_goes_first() -> None:
    ids, calls, slots = interleave(_requests("sandbox-base"), _requests("sandbox-small")[:3])
    assert ids == ["q000", "q001", "q002"]
    assert slots == [(0, 1), (3, 2), (4, 5)]
    assert [call.model.removeprefix("sandbox-") for call in calls] == [
        "base",
        "small",
        "small",
        "base",
        "base",
        "small",
    ]


def test_interleaved_timing_gives_both_configurations_the_same_load(
    sandbox_server: SandboxServer, provider: ProviderOptions
) -> None:
    # Timed one after the other, with the load rising in between (the sandbox's added latency
    # going from 0 to 400 ms), the second configuration is charged the whole rise.
    # Two configurations that cost the sandbox the same: only the load can tell them apart.
    active, candidate = _requests("sandbox-base"), _requests("sandbox-small")
    alone = _time_alone(provider, active)
    sandbox_server.app_state.set_faults({"latency_ms": SLOW_MS})
    apart = paired_difference(alone, _time_alone(provider, candidate))
    assert apart.low > SLOW_MS / 2
    # Interleaved, with the same rise halfway through the batch: both take half of it.
    sandbox_server.app_state.set_faults({"latency_ms": 0.0})
    done = []

    def rise(_: int) -> None:
        done.append(1)
        if len(done) == ITEMS:
            sandbox_server.app_state.set_faults({"latency_ms": SLOW_MS})

    pairs = time_pairs(active, candidate, provider, on_done=rise)
    together = paired_difference(pairs.baseline_ms, pairs.subject_ms)
    assert len(pairs.item_ids) == ITEMS and pairs.errors == 0
    assert max(pairs.baseline_ms) >= SLOW_MS and max(pairs.subject_ms) >= SLOW_MS
    assert min(pairs.baseline_ms) < SLOW_MS and min(pairs.subject_ms) < SLOW_MS
    assert abs(together.value) < SLOW_MS / 5
