"""Check requests: the event they emit, emit failures, and the Prefect emitter over HTTP."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from phasegate.signing import signed_request
from phasegate.webhooks import CHECK_REQUESTED, EmitError, create_app, prefect_emitter
from state.settings import Settings
from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import CHECKS, NAME, SECRET, Emitted


def test_check_request_emits_the_event_and_answers_202(
    client: TestClient, emitted: Emitted
) -> None:
    response = webhook_client.post(client, CHECKS, {"reason": "new docs", "requested_by": "ci"})
    assert response.status_code == 202
    assert response.json() == {"event_id": "event-1", "use_case": NAME}
    payload = {"use_case": NAME, "reason": "new docs", "requested_by": "ci"}
    assert emitted.events == [(CHECK_REQUESTED, NAME, payload)]


def test_check_request_with_empty_object_emits_nulls(client: TestClient, emitted: Emitted) -> None:
    assert webhook_client.post(client, CHECKS, {}).status_code == 202
    assert emitted.events[0][2] == {"use_case": NAME, "reason": None, "requested_by": None}


def test_check_request_whose_emit_fails_is_503_and_may_be_sent_again(
    client: TestClient, webhook_settings: Settings, emitted: Emitted
) -> None:
    emitted.failure = ConnectionError("events API down at 10.0.0.7:4200")
    body, headers = signed_request(SECRET, "POST", CHECKS, {"reason": "retry me"})
    before = webhook_client.snapshot(webhook_settings)
    response = client.post(CHECKS, content=body, headers=headers)
    assert webhook_client.error(response) == (503, "emit_failed")
    assert webhook_client.snapshot(webhook_settings) == before
    emitted.failure = None
    assert client.post(CHECKS, content=body, headers=headers).status_code == 202


def test_emit_failure_answer_holds_no_internal_text(
    client: TestClient, emitted: Emitted, caplog: pytest.LogCaptureFixture
) -> None:
    emitted.failure = ConnectionError("events API down at 10.0.0.7:4200")
    response = webhook_client.post(client, CHECKS, {})
    assert response.json()["error"] == {
        "code": "emit_failed",
        "message": "check event not emitted: the Prefect API did not take it; retry",
    }
    assert any("10.0.0.7:4200" in record.getMessage() for record in caplog.records)


def test_check_requests_of_two_use_cases_in_the_same_second_both_answer(
    client: TestClient, webhook_settings: Settings, emitted: Emitted, tmp_path: Path
) -> None:
    webhook_client.register(webhook_settings, tmp_path / "more", "triage")
    now = time.time()
    for path in (CHECKS, "/v1/usecases/triage/checks"):
        body, headers = signed_request(SECRET, "POST", path, {}, now=now)
        assert client.post(path, content=body, headers=headers).status_code == 202
    assert [use_case for _, use_case, _ in emitted.events] == [NAME, "triage"]


class FakePrefectApi(BaseHTTPRequestHandler):
    """Prefect's `POST /api/events` at the HTTP boundary: keeps the events, answers `status`."""

    status = 204
    received: list[tuple[str, list[dict]]] = []

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, json.loads(body)))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        # GET /api/csrf-token: a 404 tells Prefect's client that this server wants no token.
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        """Stay quiet."""


@pytest.fixture(name="prefect_api")
def prefect_api_fixture() -> Iterator[type[FakePrefectApi]]:
    """A fake Prefect API on a free loopback port, set as PREFECT_API_URL."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    handler = type("Api", (FakePrefectApi,), {"received": [], "status": 204})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api"
    with temporary_settings(updates={PREFECT_API_URL: url}):
        yield handler
    server.shutdown()
    server.server_close()


def test_prefect_emitter_posts_the_event_about_the_use_case(
    prefect_api: type[FakePrefectApi],
) -> None:
    event_id = prefect_emitter()(CHECK_REQUESTED, NAME, {"use_case": NAME})
    assert len(prefect_api.received) == 1
    path, [event] = prefect_api.received[0]
    assert path == "/api/events"
    assert event["id"] == event_id
    assert event["event"] == CHECK_REQUESTED
    assert event["resource"] == {
        "prefect.resource.id": f"phasegate.usecase.{NAME}",
        "prefect.resource.name": NAME,
    }
    assert event["payload"] == {"use_case": NAME}


def test_check_request_refused_by_prefect_api_is_503(
    webhook_settings: Settings, prefect_api: type[FakePrefectApi]
) -> None:
    prefect_api.status = 422
    response = webhook_client.post(TestClient(create_app(webhook_settings)), CHECKS, {})
    assert webhook_client.error(response) == (503, "emit_failed")
    assert "422" not in response.json()["error"]["message"]


def test_prefect_emitter_without_api_url_raises() -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        with pytest.raises(EmitError, match="PREFECT_API_URL is not set"):
            prefect_emitter()(CHECK_REQUESTED, NAME, {})


def test_check_request_without_prefect_api_is_503_by_default(webhook_settings: Settings) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        client = TestClient(create_app(webhook_settings))
        response = webhook_client.post(client, CHECKS, {})
    assert webhook_client.error(response) == (503, "emit_failed")
    assert "PREFECT_API_URL is not set" in response.json()["error"]["message"]
