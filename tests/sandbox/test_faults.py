"""Fault injection: 429, 500, malformed bodies, hangs, latency and runtime settings."""

from __future__ import annotations

import asyncio
import time

import httpx
import openai
import pytest

from tests.plugins.sandbox_server import SandboxServer
from tests.sandbox.helpers import admin, ask, client_for

MESSAGES = [{"role": "user", "content": "Hi"}]


def test_faults_429_header_gives_rate_limit_with_retry_after(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    with pytest.raises(openai.RateLimitError) as info:
        ask(client, "Hi", extra_headers={"X-Sandbox-Fault-429": "1"})
    assert info.value.code == "rate_limit_exceeded"
    assert float(info.value.response.headers["retry-after"]) == pytest.approx(0.05)


def test_faults_500_header_gives_server_error(sandbox_url: str) -> None:
    with pytest.raises(openai.InternalServerError):
        ask(client_for(sandbox_url), "Hi", extra_headers={"X-Sandbox-Fault-500": "1"})


def test_faults_malformed_header_gives_unparseable_body(sandbox_url: str) -> None:
    response = httpx.post(
        f"{sandbox_url}/chat/completions",
        json={"model": "sandbox-base", "messages": MESSAGES},
        headers={"X-Sandbox-Malformed": "1"},
    )
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


def test_faults_hang_outlasts_client_timeout(sandbox_url: str) -> None:
    client = client_for(sandbox_url, timeout=0.2)
    headers = {"X-Sandbox-Hang": "1", "X-Sandbox-Hang-Seconds": "1"}
    with pytest.raises(openai.APITimeoutError):
        ask(client, "Hi", extra_headers=headers)


def test_faults_latency_header_delays_answer(sandbox_url: str) -> None:
    started = time.perf_counter()
    ask(client_for(sandbox_url), "Hi", extra_headers={"X-Sandbox-Latency-Ms": "200"})
    assert time.perf_counter() - started >= 0.2


def test_faults_bad_header_value_is_400(sandbox_url: str) -> None:
    with pytest.raises(openai.BadRequestError):
        ask(client_for(sandbox_url), "Hi", extra_headers={"X-Sandbox-Fault-429": "2"})


def test_faults_runtime_share_applies_to_embeddings(sandbox_url: str) -> None:
    assert admin(sandbox_url, "POST", "/sandbox/faults", {"fault_500": 1.0}).status_code == 200
    with pytest.raises(openai.InternalServerError):
        client_for(sandbox_url).embeddings.create(model="sandbox-base", input="x")


def test_faults_partial_share_faults_some_requests(sandbox_url: str) -> None:
    admin(sandbox_url, "POST", "/sandbox/faults", {"fault_429": 0.5, "seed": 7})
    client = client_for(sandbox_url)
    outcomes = []
    for _ in range(40):
        try:
            ask(client, "Hi")
            outcomes.append("ok")
        except openai.RateLimitError:
            outcomes.append("429")
    assert 5 < outcomes.count("429") < 35


def test_faults_reset_clears_runtime_faults(sandbox_url: str) -> None:
    admin(sandbox_url, "POST", "/sandbox/faults", {"fault_500": 1.0})
    admin(sandbox_url, "POST", "/sandbox/reset")
    assert ask(client_for(sandbox_url), "Hi").startswith("I don't")


def test_faults_unknown_setting_is_400(sandbox_url: str) -> None:
    response = admin(sandbox_url, "POST", "/sandbox/faults", {"fault_999": 1})
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_faults_latency_does_not_serialise_requests(
    sandbox_url: str, sandbox_server: SandboxServer
) -> None:
    async def burst() -> float:
        client = openai.AsyncOpenAI(base_url=sandbox_url, api_key="sk-test", max_retries=0)
        headers = {"X-Sandbox-Latency-Ms": "500"}
        started = time.perf_counter()
        await asyncio.gather(
            *[
                client.chat.completions.create(
                    model="sandbox-base", messages=MESSAGES, extra_headers=headers
                )
                for _ in range(64)
            ]
        )
        await client.close()
        return time.perf_counter() - started

    elapsed = asyncio.run(burst())
    assert elapsed < 3.0  # serialised would take 32 s
    assert sandbox_server.stats()["max_in_flight"] >= 32
