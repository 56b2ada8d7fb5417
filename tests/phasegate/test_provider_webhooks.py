"""POST /v1/provider/openai: OpenAI's webhooks verified by the SDK, taken once, emitted."""

import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from phasegate.signing import signed_headers
from phasegate.webhooks import create_app
from state.domain import BatchWait
from state.settings import Settings
from state.store_api import Store
from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import OTHER_SECRET, SECRET, Emitted

PATH = "/v1/provider/openai"
BATCH = "batch_0123456789abcdef01234567"


def event(kind: str = "batch.completed", object_id: str = BATCH) -> bytes:
    """An OpenAI webhook body."""
    body = {"id": "evt_1", "object": "event", "created_at": int(time.time()), "type": kind}
    return json.dumps(body | {"data": {"id": object_id}}).encode()


def send(
    client: TestClient, body: bytes, secret: str = SECRET, **signing: object
) -> httpx.Response:
    """POST a provider webhook signed with `secret`."""
    headers = signed_headers(secret, body, **signing) | {"Content-Type": "application/json"}
    return client.post(PATH, content=body, headers=headers)


@pytest.fixture(name="provider_settings")
def provider_settings_fixture(any_store_settings: Settings) -> Settings:
    """Webhook settings on each store backend, with OpenAI's webhook secret."""
    return any_store_settings.model_copy(update={"openai_webhook_secret": SecretStr(SECRET)})


@pytest.fixture(name="provider_client")
def provider_client_fixture(provider_settings: Settings, emitted: Emitted) -> TestClient:
    """The webhook app whose provider events go to the emit double."""
    return TestClient(create_app(provider_settings, emit=Emitted(), provider_emit=emitted))


def _flag(settings: Settings, object_id: str = BATCH) -> bool:
    return Store(settings.store_url).provider_event_received(f"openai:{object_id}")


def test_batch_event_is_emitted_and_flagged(
    provider_client: TestClient, provider_settings: Settings, emitted: Emitted
) -> None:
    response = send(provider_client, event())
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "batch.completed" and not response.json()["ignored"]
    assert emitted.events == [
        (
            "openai.batch.completed",
            f"batch.{BATCH}",
            {"type": "batch.completed", "id": BATCH, "event_id": "evt_1"},
        )
    ]
    assert _flag(provider_settings)


def test_fine_tuning_event_is_emitted(provider_client: TestClient, emitted: Emitted) -> None:
    response = send(provider_client, event("fine_tuning.job.failed", "ftjob-abc"))
    assert response.status_code == 200
    assert emitted.events[0][:2] == ("openai.fine_tuning.job.failed", "fine_tuning.job.ftjob-abc")


def test_forged_webhook_is_401_and_changes_nothing(
    provider_client: TestClient, provider_settings: Settings, emitted: Emitted
) -> None:
    before = webhook_client.snapshot(provider_settings)
    response = send(provider_client, event(), secret=OTHER_SECRET)
    assert webhook_client.error(response) == (401, "invalid_signature")
    assert webhook_client.snapshot(provider_settings) == before
    assert emitted.events == [] and not _flag(provider_settings)


def test_replayed_webhook_is_401_and_changes_nothing(
    provider_client: TestClient, provider_settings: Settings, emitted: Emitted
) -> None:
    body = event()
    headers = signed_headers(SECRET, body, webhook_id="wh_replayed")
    assert provider_client.post(PATH, content=body, headers=headers).status_code == 200
    before = webhook_client.snapshot(provider_settings)
    again = provider_client.post(PATH, content=body, headers=headers)
    assert webhook_client.error(again) == (401, "replayed")
    assert webhook_client.snapshot(provider_settings) == before and len(emitted.events) == 1


def test_stale_webhook_is_401(provider_client: TestClient, emitted: Emitted) -> None:
    response = send(provider_client, event(), now=time.time() - 600)
    assert webhook_client.error(response) == (401, "invalid_signature")
    assert emitted.events == []


def test_other_event_types_are_ignored(
    provider_client: TestClient, provider_settings: Settings, emitted: Emitted
) -> None:
    before = webhook_client.snapshot(provider_settings)
    response = send(provider_client, event("response.completed", "resp_1"))
    assert response.status_code == 200 and response.json()["ignored"]
    assert webhook_client.snapshot(provider_settings) == before and emitted.events == []


def test_failed_emit_is_503_and_releases_the_id(
    provider_client: TestClient, provider_settings: Settings, emitted: Emitted
) -> None:
    body = event()
    headers = signed_headers(SECRET, body, webhook_id="wh_retried")
    emitted.failure = RuntimeError("Prefect is down")
    failed = provider_client.post(PATH, content=body, headers=headers)
    assert webhook_client.error(failed) == (503, "emit_failed") and not _flag(provider_settings)
    emitted.failure = None
    assert provider_client.post(PATH, content=body, headers=headers).status_code == 200
    assert _flag(provider_settings)


def test_without_a_secret_the_route_is_503(webhook_settings: Settings, emitted: Emitted) -> None:
    client = TestClient(create_app(webhook_settings, emit=emitted, provider_emit=emitted))
    assert webhook_client.error(send(client, event())) == (503, "not_configured")


def test_batch_event_ends_the_store_wait_and_forgets_a_run_prefect_does_not_know(
    prefect_api: None, provider_client: TestClient, provider_settings: Settings
) -> None:
    store = Store(provider_settings.store_url)
    run_id = str(uuid.uuid4())  # no such flow run on the Prefect API
    wait = BatchWait(
        flow_run_id=run_id,
        batch_id=BATCH,
        input_sha256="a" * 64,
        poll_seconds=60,
        next_poll_at=datetime.now(UTC) + timedelta(minutes=1),
    )
    store.record_batch_wait(wait)
    assert store.runs_to_resume() == []

    assert send(provider_client, event("batch.expired")).status_code == 200

    # Ended: the poller will not poll it; nothing left to resume: no run waits for it.
    assert store.due_batch_waits(datetime.now(UTC) + timedelta(hours=1)) == []
    assert store.runs_to_resume() == []
