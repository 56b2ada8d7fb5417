"""Webhook request bodies: size limits, content types and schema errors, refused intact."""

import pytest
from fastapi.testclient import TestClient

from phasegate.signing import signed_request
from state.settings import Settings
from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import (
    CHECKS,
    DAY,
    INTERACTIONS,
    JSON,
    ONE_COUNT,
    SECRET,
    USAGE,
    Emitted,
)

BAD_BODIES: dict[str, tuple[object, str | None, tuple[int, str], str]] = {
    # case: (payload, content type, expected (status, code), text the message must hold)
    "wrong content type": (ONE_COUNT, "text/plain", (415, "unsupported_media_type"), "Content"),
    "no content type": (ONE_COUNT, None, (415, "unsupported_media_type"), "application/json"),
    "malformed json": (b'{"counts": [', "application/json", (422, "invalid_json"), "JSON"),
    "not utf-8": (b'{"counts": "\xff"}', "application/json", (422, "invalid_json"), "JSON"),
    "negative count": (
        {"counts": [{"day": DAY, "count": -1}]},
        "application/json",
        (422, "invalid_body"),
        "counts.0.count: must be ≥ 0",
    ),
    "count as string": (
        {"counts": [{"day": DAY, "count": "12"}]},
        "application/json",
        (422, "invalid_body"),
        "counts.0.count:",
    ),
    "bad day": (
        {"counts": [{"day": "2026-13-01", "count": 1}]},
        "application/json",
        (422, "invalid_body"),
        "counts.0.day:",
    ),
    "bad source": (
        {"counts": [{"day": DAY, "count": 1, "source": "A B"}]},
        "application/json",
        (422, "invalid_body"),
        "counts.0.source: must match",
    ),
    "unknown field": (
        {"counts": [{"day": DAY, "count": 1, "cnt": 2}]},
        "application/json",
        (422, "invalid_body"),
        "counts.0.cnt: unknown field",
    ),
    "no counts": ({"counts": []}, "application/json", (422, "invalid_body"), "counts: must"),
    "too many counts": (
        {"counts": [{"day": DAY, "count": 1, "source": f"s{i}"} for i in range(1001)]},
        "application/json",
        (422, "invalid_body"),
        "counts: must have at most 1000",
    ),
    "same day and source twice": (
        {"counts": [{"day": DAY, "count": 1}, {"day": DAY, "count": 2}]},
        "application/json",
        (422, "invalid_body"),
        "counts.1: same day and source as counts.0",
    ),
    "array body": ([ONE_COUNT], "application/json", (422, "invalid_body"), "must be a JSON object"),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
def test_bad_usage_body_is_refused_naming_the_problem_and_changes_nothing(
    client: TestClient, webhook_settings: Settings, case: str
) -> None:
    payload, content_type, expected, message = BAD_BODIES[case]
    before = webhook_client.snapshot(webhook_settings)
    response = webhook_client.post(client, USAGE, payload, content_type=content_type)
    assert webhook_client.error(response) == expected
    assert message in response.json()["error"]["message"]
    assert webhook_client.snapshot(webhook_settings) == before


def test_bad_interaction_is_refused_naming_the_field(
    client: TestClient, webhook_settings: Settings
) -> None:
    before = webhook_client.snapshot(webhook_settings)
    response = webhook_client.post(
        client, INTERACTIONS, {"interactions": [{"id": "a", "input": ""}]}
    )
    assert webhook_client.error(response) == (422, "invalid_body")
    assert response.json()["error"]["message"] == "interactions.0.input: must not be empty"
    assert webhook_client.snapshot(webhook_settings) == before


def test_oversized_body_is_413_before_authentication(
    webhook_settings: Settings, emitted: Emitted
) -> None:
    client = webhook_client.app_client(webhook_settings, emitted, max_body_bytes=100)
    before = webhook_client.snapshot(webhook_settings)
    body = b"{" + b" " * 200 + b"}"
    response = client.post(CHECKS, content=body, headers=JSON)
    assert webhook_client.error(response) == (413, "body_too_large")
    assert webhook_client.snapshot(webhook_settings) == before
    assert emitted.events == []


def test_oversized_chunked_body_without_length_is_413(
    webhook_settings: Settings, emitted: Emitted
) -> None:
    client = webhook_client.app_client(webhook_settings, emitted, max_body_bytes=100)
    body, headers = signed_request(SECRET, "POST", CHECKS, {"reason": "x" * 300})
    chunks = iter([body[:60], body[60:]])
    response = client.post(CHECKS, content=chunks, headers=headers)
    assert "content-length" not in response.request.headers
    assert webhook_client.error(response) == (413, "body_too_large")
    assert emitted.events == []


def test_body_at_the_limit_is_accepted(webhook_settings: Settings, emitted: Emitted) -> None:
    body = webhook_client.body({"reason": "r"}, CHECKS)
    client = webhook_client.app_client(webhook_settings, emitted, max_body_bytes=len(body))
    assert webhook_client.post(client, CHECKS, body).status_code == 202
