"""Webhooks the sandbox sends: signed as OpenAI signs them, verified by the SDK's unwrap."""

from __future__ import annotations

import base64
import json
import time

import openai
import pytest

from tests.sandbox.helpers import admin, client_for, row, upload
from tests.sandbox.receiver import Received, receiver
from tests.sandbox.test_batches import jsonl, line, start, wait

SECRET = "whsec_" + base64.b64encode(b"sandbox webhook test key 32 byte").decode()
OTHER = "whsec_" + base64.b64encode(b"another key entirely, 32 bytes!!").decode()


def _by_object(hooks: Received, *ids: str) -> dict[str, tuple[dict[str, str], bytes]]:
    """The webhook about each of `ids`, once all have come (the shared sandbox may also send
    webhooks of earlier tests' batches still finishing: they are left out)."""
    deadline = time.monotonic() + 10
    while True:
        found = {json.loads(body)["data"]["id"]: (headers, body) for headers, body in hooks.calls}
        if set(ids) <= found.keys():
            return {i: found[i] for i in ids}
        assert time.monotonic() < deadline, f"webhooks of {set(ids) - found.keys()} never came"
        time.sleep(0.02)


def test_batch_completed_webhook_verifies_with_the_sdk(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    with receiver() as hooks:
        admin(
            sandbox_url,
            "POST",
            "/sandbox/faults",
            {"webhook_url": hooks.url, "webhook_secret": SECRET},
        )
        batch = start(client, jsonl([line("a", "How long do refunds take?")]))
        headers, body = _by_object(hooks, batch.id)[batch.id]
    event = client.webhooks.unwrap(body, headers, secret=SECRET)
    assert (event.type, event.data.id) == ("batch.completed", batch.id)
    with pytest.raises(openai.InvalidWebhookSignatureError):
        client.webhooks.unwrap(body, headers, secret=OTHER)
    assert wait(client, batch.id).status == "completed"


def test_failed_and_cancelled_batches_send_their_webhooks(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    with receiver() as hooks:
        update = {"webhook_url": hooks.url, "webhook_secret": SECRET, "batch_seconds": 3}
        admin(sandbox_url, "POST", "/sandbox/faults", update)
        cancelled = start(client, jsonl([line("a", "q")]))
        client.batches.cancel(cancelled.id)
        admin(sandbox_url, "POST", "/sandbox/faults", {"batch_seconds": 0.2})
        failed = start(client, b"{broken\n")
        calls = _by_object(hooks, cancelled.id, failed.id)
    events = {
        object_id: client.webhooks.unwrap(b, h, secret=SECRET).type
        for object_id, (h, b) in calls.items()
    }
    assert events == {cancelled.id: "batch.cancelled", failed.id: "batch.failed"}


def test_fine_tuning_job_sends_succeeded_webhook(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    with receiver() as hooks:
        admin(
            sandbox_url,
            "POST",
            "/sandbox/faults",
            {"webhook_url": hooks.url, "webhook_secret": SECRET},
        )
        training = upload(client, [row(f"question {i}", f"answer {i}") for i in range(12)])
        job = client.fine_tuning.jobs.create(model="sandbox-base", training_file=training)
        headers, body = _by_object(hooks, job.id)[job.id]
    event = client.webhooks.unwrap(body, headers, secret=SECRET)
    assert (event.type, event.data.id) == ("fine_tuning.job.succeeded", job.id)


def test_no_webhook_without_a_url(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    wait(client, start(client, jsonl([line("a", "q")])).id)
    assert admin(sandbox_url, "GET", "/sandbox/webhooks").json()["data"] == []


def test_webhook_secret_must_be_whsec(sandbox_url: str) -> None:
    response = admin(sandbox_url, "POST", "/sandbox/faults", {"webhook_secret": "plain"})
    assert response.status_code == 400
