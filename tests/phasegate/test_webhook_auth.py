"""Webhook authentication: signatures, timestamps, replays and per-use-case secrets."""

import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from phasegate.signing import signed_headers
from state.settings import Settings
from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import (
    ACTIVE,
    CHECKS,
    INTERACTIONS,
    JSON,
    NAME,
    ONE_COUNT,
    SECRET,
    USAGE,
    Emitted,
)

GOOD = webhook_client.body(ONE_COUNT)


def _signed_at(offset: float, body: bytes = GOOD, secret: str = SECRET) -> dict[str, str]:
    return {**JSON, **signed_headers(secret, body, now=time.time() + offset)}


REFUSED: dict[str, tuple[bytes, Callable[[], dict[str, str]], str]] = {
    # case: (body sent, headers made at request time, expected error code)
    "missing signature": (GOOD, lambda: JSON, "missing_signature"),
    "wrong secret": (GOOD, lambda: _signed_at(0, secret="nope"), "bad_signature"),
    "body changed after signing": (
        GOOD.replace(b"1200", b"9999"),
        lambda: _signed_at(0),
        "bad_signature",
    ),
    "stale timestamp": (GOOD, lambda: _signed_at(-301), "stale_timestamp"),
    "future timestamp": (GOOD, lambda: _signed_at(400), "stale_timestamp"),
    "malformed timestamp": (
        GOOD,
        lambda: _signed_at(0) | {"X-Phasegate-Timestamp": "soon"},
        "bad_timestamp",
    ),
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
    headers = _signed_at(0, secret="nope")
    client.post(USAGE, content=GOOD, headers=headers)
    [record] = [r for r in caplog.records if r.name == "phasegate.webhooks"]
    assert record.levelno == logging.WARNING
    assert record.args == ("POST", USAGE, 401, "bad_signature")
    assert headers["X-Phasegate-Signature"] not in record.getMessage()


def test_replayed_request_is_401_and_changes_nothing(
    client: TestClient, webhook_settings: Settings
) -> None:
    headers = {**JSON, **signed_headers(SECRET, GOOD)}
    assert client.post(USAGE, content=GOOD, headers=headers).status_code == 200
    before = webhook_client.snapshot(webhook_settings)
    assert webhook_client.error(client.post(USAGE, content=GOOD, headers=headers)) == (
        401,
        "replayed",
    )
    assert webhook_client.snapshot(webhook_settings) == before


def test_replayed_check_request_emits_nothing(client: TestClient, emitted: Emitted) -> None:
    body = webhook_client.body({})
    headers = {**JSON, **signed_headers(SECRET, body)}
    client.post(CHECKS, content=body, headers=headers)
    assert webhook_client.error(client.post(CHECKS, content=body, headers=headers)) == (
        401,
        "replayed",
    )
    assert len(emitted.events) == 1


def test_active_read_twice_with_the_same_signature_answers_both(client: TestClient) -> None:
    headers = signed_headers(SECRET, b"")
    assert client.get(ACTIVE, headers=headers).status_code == 200
    assert client.get(ACTIVE, headers=headers).status_code == 200


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
    body = b"" if method == "GET" else webhook_client.body(ONE_COUNT)
    response = client.request(
        method, path, content=body, headers={**JSON, **signed_headers(SECRET, body)}
    )
    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": "secret_not_configured",
        "message": "webhook secret not configured",
    }
    assert webhook_client.snapshot(settings) == before
    assert emitted.events == []


def test_use_case_with_its_own_secret_refuses_the_deployment_secret(
    webhook_settings: Settings, emitted: Emitted
) -> None:
    client = webhook_client.app_client(
        webhook_settings, emitted, secrets_by_use_case={NAME: SecretStr("own")}
    )
    assert webhook_client.error(webhook_client.post(client, CHECKS, {"reason": "a"})) == (
        401,
        "bad_signature",
    )
    assert webhook_client.post(client, CHECKS, {"reason": "b"}, secret="own").status_code == 202
    assert len(emitted.events) == 1
