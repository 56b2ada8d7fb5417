"""Webhooks the sandbox sends: signed as OpenAI signs them, verified by the SDK's unwrap."""

from __future__ import annotations

import base64

import openai
import pytest

from tests.sandbox.helpers import admin, client_for, row, upload
from tests.sandbox.receiver import receiver
from tests.sandbox.test_batches import jsonl, line, start, wait

SECRET = "whsec_" + base64.b64encode(b"sandbox webhook test key 32 byte").decode()
OTHER = "whsec_" + base64.b64encode(b"another key entirely, 32 bytes!!").decode()


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
        ((headers, body),) = hooks.wait(1)
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
        calls = hooks.wait(2)
    events = {
        client.webhooks.unwrap(b, h, secret=SECRET).data.id: client.webhooks.unwrap(
            b, h, secret=SECRET
        ).type
        for h, b in calls
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
        ((headers, body),) = hooks.wait(1)
    event = client.webhooks.unwrap(body, headers, secret=SECRET)
    assert (event.type, event.data.id) == ("fine_tuning.job.succeeded", job.id)


def test_no_webhook_without_a_url(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    wait(client, start(client, jsonl([line("a", "q")])).id)
    assert admin(sandbox_url, "GET", "/sandbox/webhooks").json()["data"] == []


def test_webhook_secret_must_be_whsec(sandbox_url: str) -> None:
    response = admin(sandbox_url, "POST", "/sandbox/faults", {"webhook_secret": "plain"})
    assert response.status_code == 400
