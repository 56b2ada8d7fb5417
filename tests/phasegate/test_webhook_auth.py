"""Webhook authentication over HTTP: signatures, timestamps and secrets per use case."""

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from phasegate.signing import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    new_secret,
    signed_headers,
    signed_request,
)
from state.settings import Settings
from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import (
    ACTIVE,
    CHECKS,
    INTERACTIONS,
    JSON,
    NAME,
    ONE_COUNT,
    OTHER_SECRET,
    SECRET,
    USAGE,
    Emitted,
)

GOOD = webhook_client.body(ONE_COUNT, USAGE)


def _signed_at(offset: float, body: bytes = GOOD, secret: str = SECRET) -> dict[str, str]:
    return {**JSON, **signed_headers(secret, body, now=time.time() + offset)}


REFUSED: dict[str, tuple[bytes, Callable[[], dict[str, str]], str]] = {
    # case: (body sent, headers made at request time, expected error code)
    "missing signature": (GOOD, lambda: JSON, "missing_signature"),
    "old X-Phasegate headers only": (
        GOOD,
        lambda: (
            JSON | {"X-Phasegate-Timestamp": str(int(time.time())), "X-Phasegate-Signature": "x"}
        ),
        "missing_signature",
    ),
    "wrong secret": (GOOD, lambda: _signed_at(0, secret=OTHER_SECRET), "bad_signature"),
    "body changed after signing": (
        GOOD.replace(b"1200", b"9999"),
        lambda: _signed_at(0),
        "bad_signature",
    ),
    "stale timestamp": (GOOD, lambda: _signed_at(-301), "stale_timestamp"),
    "future timestamp": (GOOD, lambda: _signed_at(400), "stale_timestamp"),
    "malformed timestamp": (
        GOOD,
        lambda: _signed_at(0) | {TIMESTAMP_HEADER: "soon"},
        "bad_timestamp",
    ),
    "malformed id": (GOOD, lambda: _signed_at(0) | {ID_HEADER: "../x"}, "bad_webhook_id"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_unauthenticated_request_is_401_and_changes_nothing(
    client: TestClient, webhook_settings: Settings, emitted: Emitted, case: str
) -> None:
    body, headers, code = REFUSED[case]
    before = webhook_client.snapshot(webhook_settings)
    assert webhook_client.error(client.post(USAGE, content=body, headers=headers())) == (401, code)
    assert webhook_client.snapshot(webhook_settings) == before
    assert emitted.events == []


def test_refused_signature_is_logged_without_the_signature(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    headers = _signed_at(0, secret=OTHER_SECRET)
    client.post(USAGE, content=GOOD, headers=headers)
    [record] = [r for r in caplog.records if r.name == "phasegate.webhooks"]
    assert record.levelno == logging.WARNING
    assert record.args == ("POST", USAGE, 401, "bad_signature")
    assert headers[SIGNATURE_HEADER] not in record.getMessage()


def test_active_read_twice_with_the_same_signature_answers_both(client: TestClient) -> None:
    _, headers = signed_request(SECRET, "GET", ACTIVE)
    assert client.get(ACTIVE, headers=headers).status_code == 200
    assert client.get(ACTIVE, headers=headers).status_code == 200


def test_active_signed_with_an_empty_payload_is_refused(client: TestClient) -> None:
    assert webhook_client.error(client.get(ACTIVE, headers=signed_headers(SECRET, b""))) == (
        401,
        "bad_signature",
    )


SIGNED_ENDPOINTS = [("POST", CHECKS), ("POST", USAGE), ("POST", INTERACTIONS), ("GET", ACTIVE)]


@pytest.mark.parametrize(("method", "path"), SIGNED_ENDPOINTS)
def test_signed_endpoint_without_signature_is_401(
    client: TestClient, emitted: Emitted, method: str, path: str
) -> None:
    response = client.request(method, path, content=b"{}", headers=JSON)
    assert webhook_client.error(response) == (401, "missing_signature")
    assert emitted.events == []


@pytest.mark.parametrize(("method", "path"), SIGNED_ENDPOINTS)
def test_server_without_secret_refuses_signed_endpoints_with_503(
    settings: Settings, template_store: Path, emitted: Emitted, method: str, path: str
) -> None:
    webhook_client.with_demo_store(settings, template_store)
    client = webhook_client.app_client(settings, emitted)
    before = webhook_client.snapshot(settings)
    body, headers = signed_request(SECRET, method, path, None if method == "GET" else ONE_COUNT)
    response = client.request(method, path, content=body, headers=headers)
    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": "secret_not_configured",
        "message": "webhook secret not configured",
    }
    assert webhook_client.snapshot(settings) == before
    assert emitted.events == []


def _with_secrets(settings: Settings, shared: list[str], **own: list[str]) -> Settings:
    return settings.model_copy(
        update={
            "webhook_secret": [SecretStr(s) for s in shared],
            "webhook_secrets": {n: [SecretStr(s) for s in v] for n, v in own.items()},
        }
    )


def test_use_case_with_its_own_secret_refuses_the_shared_secret(
    webhook_settings: Settings, emitted: Emitted
) -> None:
    own = new_secret()
    settings = _with_secrets(webhook_settings, [SECRET], **{NAME: [own]})
    client = webhook_client.app_client(settings, emitted)
    assert webhook_client.error(webhook_client.post(client, CHECKS, {"reason": "a"})) == (
        401,
        "bad_signature",
    )
    assert webhook_client.post(client, CHECKS, {"reason": "b"}, secret=own).status_code == 202
    assert len(emitted.events) == 1


@pytest.mark.parametrize("where", ["shared", "own"])
def test_rotation_accepts_old_and_new_secret_and_refuses_an_unknown_one(
    webhook_settings: Settings, emitted: Emitted, where: str
) -> None:
    old, new = SECRET, new_secret()
    lists = {"shared": ([old, new], {}), "own": ([], {NAME: [old, new]})}[where]
    client = webhook_client.app_client(
        _with_secrets(webhook_settings, lists[0], **lists[1]), emitted
    )
    assert webhook_client.post(client, USAGE, ONE_COUNT, secret=old).status_code == 200
    assert webhook_client.post(client, USAGE, ONE_COUNT, secret=new).status_code == 200
    before = webhook_client.snapshot(webhook_settings)
    refused = webhook_client.post(client, USAGE, ONE_COUNT, secret=new_secret())
    assert webhook_client.error(refused) == (401, "bad_signature")
    assert webhook_client.snapshot(webhook_settings) == before


def test_sender_signing_with_old_and_new_secret_passes_before_and_after_the_rotation(
    webhook_settings: Settings, emitted: Emitted
) -> None:
    new = new_secret()
    before_rotation = webhook_client.app_client(webhook_settings, emitted)
    after_rotation = webhook_client.app_client(_with_secrets(webhook_settings, [new]), emitted)
    for client in (before_rotation, after_rotation):
        body = webhook_client.body(ONE_COUNT, USAGE)
        headers = JSON | signed_headers([SECRET, new], body)
        assert client.post(USAGE, content=body, headers=headers).status_code == 200
