"""Webhook routing: unknown use cases and paths, wrong methods, health, unexpected errors."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from phasegate.webhooks import create_app
from state.db import make_engine
from state.settings import Settings
from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import ONE_COUNT, USAGE, Emitted


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("..%2F..%2Fetc", "not_found"),
        ("a/b", "not_found"),
        ("..", "not_found"),
        ("Demo-QA", "unknown_use_case"),
        ("-demo", "unknown_use_case"),
        ("a" * 64, "unknown_use_case"),
        ("demo_qa", "unknown_use_case"),
        ("unregistered", "unknown_use_case"),
    ],
)
def test_bad_or_unknown_use_case_name_is_404_and_changes_nothing(
    client: TestClient, webhook_settings: Settings, emitted: Emitted, name: str, code: str
) -> None:
    before = webhook_client.snapshot(webhook_settings)
    interactions = {"interactions": [{"id": "1", "input": "q"}]}
    for suffix, payload in [("usage", ONE_COUNT), ("checks", {}), ("interactions", interactions)]:
        response = webhook_client.post(client, f"/v1/usecases/{name}/{suffix}", payload)
        assert webhook_client.error(response) == (404, code), suffix
    assert webhook_client.error(webhook_client.get(client, f"/v1/usecases/{name}/active")) == (
        404,
        code,
    )
    assert webhook_client.snapshot(webhook_settings) == before
    assert emitted.events == []


def test_unexpected_store_failure_is_a_json_500_without_details(
    webhook_settings: Settings, emitted: Emitted
) -> None:
    engine = make_engine(webhook_settings.store_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE usage"))
    engine.dispose()
    client = TestClient(create_app(webhook_settings, emit=emitted), raise_server_exceptions=False)
    response = webhook_client.post(client, USAGE, ONE_COUNT)
    assert response.json() == {
        "error": {"code": "internal_error", "message": "unexpected error; see the server log"}
    }
    assert response.status_code == 500


def test_healthz_needs_no_signature(client: TestClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_unknown_path_is_a_json_404(client: TestClient) -> None:
    assert webhook_client.error(client.get("/v1/nowhere")) == (404, "not_found")


def test_wrong_method_is_a_json_405(client: TestClient) -> None:
    assert webhook_client.error(client.get(USAGE)) == (405, "method_not_allowed")
