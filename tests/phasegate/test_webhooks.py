"""The webhook API through TestClient: answers, store effects, refusals that change nothing."""

import hashlib
import json
import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
import uvicorn
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import inspect, text
from typer.testing import CliRunner

from phasegate.cli_webhook import webhook_command
from phasegate.signing import signed_headers
from phasegate.webhooks import CHECK_REQUESTED, EmitError, create_app, prefect_emitter
from state import store
from state.db import make_engine, session_scope, store_session, upgrade
from state.domain import ConfigurationDraft, DecisionDraft
from state.model_versions import record_model_version
from state.phases import DecisionKind, Phase
from state.prompt_library import save_prompt_version
from state.settings import Settings
from state.spec import PromptVariant, load_spec
from state.usage import volume
from tests.specs import write_spec

SECRET = "test-secret"
NAME = "demo-qa"
USAGE = f"/v1/usecases/{NAME}/usage"
CHECKS = f"/v1/usecases/{NAME}/checks"
INTERACTIONS = f"/v1/usecases/{NAME}/interactions"
ACTIVE = f"/v1/usecases/{NAME}/active"
DAY = "2026-11-24"
ONE_COUNT = {"counts": [{"day": DAY, "count": 1200, "source": "app"}]}


class Emitted:
    """The emit double: records each event, or fails with `failure` when it is set."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict]] = []
        self.failure: Exception | None = None

    def __call__(self, event: str, use_case: str, payload: dict) -> str:
        if self.failure is not None:
            raise self.failure
        self.events.append((event, use_case, payload))
        return f"event-{len(self.events)}"


def _register(settings: Settings, directory: Path, *names: str) -> None:
    with store_session(settings.store_url) as session:
        for name in names:
            store.apply_spec(load_spec(write_spec(directory / name, name=name)), session=session)


def _client(settings: Settings, emitted: Emitted, **options: Any) -> TestClient:
    return TestClient(create_app(settings, emit=emitted, **options))


@pytest.fixture(name="emitted")
def emitted_fixture() -> Emitted:
    """A fresh emit double."""
    return Emitted()


@pytest.fixture(name="template_store", scope="module")
def template_store_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite store holding `demo-qa`, copied by each test instead of migrating."""
    directory = tmp_path_factory.mktemp("template")
    path = directory / "phasegate.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with session_scope(engine) as session:
        store.apply_spec(load_spec(write_spec(directory / "specs", name=NAME)), session=session)
    with engine.connect() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return path


def _with_demo_store(settings: Settings, template: Path) -> Settings:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, settings.data_dir / "phasegate.db")
    return settings


@pytest.fixture(name="webhook_settings")
def webhook_settings_fixture(settings: Settings, template_store: Path) -> Settings:
    """Settings with a webhook secret, on a SQLite store holding the use case `demo-qa`."""
    configured = settings.model_copy(update={"webhook_secret": SecretStr(SECRET)})
    return _with_demo_store(configured, template_store)


@pytest.fixture(name="client")
def client_fixture(webhook_settings: Settings, emitted: Emitted) -> TestClient:
    """The webhook app on SQLite with the emit double."""
    return _client(webhook_settings, emitted)


@pytest.fixture(name="any_store_settings")
def any_store_settings_fixture(store_url: str, settings: Settings, tmp_path: Path) -> Settings:
    """Like `webhook_settings`, once on SQLite and once on PostgreSQL."""
    configured = settings.model_copy(
        update={"webhook_secret": SecretStr(SECRET), "database_url": store_url}
    )
    _register(configured, tmp_path / "specs", NAME)
    return configured


@pytest.fixture(name="any_store_client")
def any_store_client_fixture(any_store_settings: Settings, emitted: Emitted) -> TestClient:
    """The webhook app on each store backend."""
    return _client(any_store_settings, emitted)


def _body(payload: object) -> bytes:
    return payload if isinstance(payload, bytes) else json.dumps(payload).encode()


def _post(
    client: TestClient,
    path: str,
    payload: object,
    *,
    secret: str = SECRET,
    now: float | None = None,
    content_type: str | None = "application/json",
) -> httpx.Response:
    body = _body(payload)
    headers = signed_headers(secret, body, now=now)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return client.post(path, content=body, headers=headers)


def _get(client: TestClient, path: str, **headers: str) -> httpx.Response:
    return client.get(path, headers={**signed_headers(SECRET, b""), **headers})


def _error(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def _snapshot(settings: Settings) -> dict[str, Any]:
    """Row counts of every table and the version of every use case."""
    engine = make_engine(settings.store_url)
    with engine.connect() as connection:
        counts = {
            table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            for table in inspect(connection).get_table_names()
        }
        versions = connection.execute(text("SELECT name, version FROM use_case")).all()
    engine.dispose()
    return {"rows": counts, "versions": sorted(versions)}


def _volume(settings: Settings, day: str = DAY) -> int:
    with store_session(settings.store_url) as session:
        return volume(NAME, today=date.fromisoformat(day), session=session)


GOOD = _body(ONE_COUNT)
JSON = {"Content-Type": "application/json"}


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
    before = _snapshot(webhook_settings)
    assert _error(client.post(USAGE, content=body, headers=headers())) == (401, code)
    assert _snapshot(webhook_settings) == before
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
    before = _snapshot(webhook_settings)
    response = _post(client, USAGE, payload, content_type=content_type)
    assert _error(response) == expected
    assert message in response.json()["error"]["message"]
    assert _snapshot(webhook_settings) == before


def test_bad_interaction_is_refused_naming_the_field(
    client: TestClient, webhook_settings: Settings
) -> None:
    before = _snapshot(webhook_settings)
    response = _post(client, INTERACTIONS, {"interactions": [{"id": "a", "input": ""}]})
    assert _error(response) == (422, "invalid_body")
    assert response.json()["error"]["message"] == "interactions.0.input: must not be empty"
    assert _snapshot(webhook_settings) == before


def test_oversized_body_is_413_before_authentication(
    webhook_settings: Settings, emitted: Emitted
) -> None:
    client = _client(webhook_settings, emitted, max_body_bytes=100)
    before = _snapshot(webhook_settings)
    body = b"{" + b" " * 200 + b"}"
    response = client.post(CHECKS, content=body, headers=JSON)
    assert _error(response) == (413, "body_too_large")
    assert _snapshot(webhook_settings) == before
    assert emitted.events == []


def test_oversized_chunked_body_without_length_is_413(
    webhook_settings: Settings, emitted: Emitted
) -> None:
    client = _client(webhook_settings, emitted, max_body_bytes=100)
    body = _body({"reason": "x" * 300})
    chunks = iter([body[:60], body[60:]])
    response = client.post(CHECKS, content=chunks, headers={**JSON, **signed_headers(SECRET, body)})
    assert "content-length" not in response.request.headers
    assert _error(response) == (413, "body_too_large")
    assert emitted.events == []


def test_body_at_the_limit_is_accepted(webhook_settings: Settings, emitted: Emitted) -> None:
    body = _body({"reason": "r"})
    client = _client(webhook_settings, emitted, max_body_bytes=len(body))
    assert _post(client, CHECKS, body).status_code == 202


def test_replayed_request_is_401_and_changes_nothing(
    client: TestClient, webhook_settings: Settings
) -> None:
    headers = {**JSON, **signed_headers(SECRET, GOOD)}
    assert client.post(USAGE, content=GOOD, headers=headers).status_code == 200
    before = _snapshot(webhook_settings)
    assert _error(client.post(USAGE, content=GOOD, headers=headers)) == (401, "replayed")
    assert _snapshot(webhook_settings) == before


def test_replayed_check_request_emits_nothing(client: TestClient, emitted: Emitted) -> None:
    body = _body({})
    headers = {**JSON, **signed_headers(SECRET, body)}
    client.post(CHECKS, content=body, headers=headers)
    assert _error(client.post(CHECKS, content=body, headers=headers)) == (401, "replayed")
    assert len(emitted.events) == 1


SIGNED_ENDPOINTS = [("POST", CHECKS), ("POST", USAGE), ("POST", INTERACTIONS), ("GET", ACTIVE)]


@pytest.mark.parametrize(("method", "path"), SIGNED_ENDPOINTS)
def test_signed_endpoint_without_signature_is_401(
    client: TestClient, emitted: Emitted, method: str, path: str
) -> None:
    response = client.request(method, path, content=b"{}", headers=JSON)
    assert _error(response) == (401, "missing_signature")
    assert emitted.events == []


@pytest.mark.parametrize(("method", "path"), SIGNED_ENDPOINTS)
def test_server_without_secret_refuses_signed_endpoints_with_503(
    settings: Settings, template_store: Path, emitted: Emitted, method: str, path: str
) -> None:
    _with_demo_store(settings, template_store)
    client = _client(settings, emitted)
    before = _snapshot(settings)
    body = b"" if method == "GET" else _body(ONE_COUNT)
    response = client.request(
        method, path, content=body, headers={**JSON, **signed_headers(SECRET, body)}
    )
    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": "secret_not_configured",
        "message": "webhook secret not configured",
    }
    assert _snapshot(settings) == before
    assert emitted.events == []


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
    before = _snapshot(webhook_settings)
    interactions = {"interactions": [{"id": "1", "input": "q"}]}
    for suffix, payload in [("usage", ONE_COUNT), ("checks", {}), ("interactions", interactions)]:
        response = _post(client, f"/v1/usecases/{name}/{suffix}", payload)
        assert _error(response) == (404, code), suffix
    assert _error(_get(client, f"/v1/usecases/{name}/active")) == (404, code)
    assert _snapshot(webhook_settings) == before
    assert emitted.events == []


def test_check_request_emits_the_event_and_answers_202(
    client: TestClient, emitted: Emitted
) -> None:
    response = _post(client, CHECKS, {"reason": "new docs", "requested_by": "ci"})
    assert response.status_code == 202
    assert response.json() == {"event_id": "event-1", "use_case": NAME}
    payload = {"use_case": NAME, "reason": "new docs", "requested_by": "ci"}
    assert emitted.events == [(CHECK_REQUESTED, NAME, payload)]


def test_check_request_with_empty_object_emits_nulls(client: TestClient, emitted: Emitted) -> None:
    assert _post(client, CHECKS, {}).status_code == 202
    assert emitted.events[0][2] == {"use_case": NAME, "reason": None, "requested_by": None}


def test_check_request_whose_emit_fails_is_503_and_may_be_sent_again(
    client: TestClient, emitted: Emitted
) -> None:
    emitted.failure = ConnectionError("events API down")
    body = _body({"reason": "retry me"})
    headers = {**JSON, **signed_headers(SECRET, body)}
    response = client.post(CHECKS, content=body, headers=headers)
    assert _error(response) == (503, "emit_failed")
    assert "events API down" in response.json()["error"]["message"]
    emitted.failure = None
    assert client.post(CHECKS, content=body, headers=headers).status_code == 202


def test_usage_is_recorded(any_store_client: TestClient, any_store_settings: Settings) -> None:
    payload = {"counts": [{"day": DAY, "count": 1200, "source": "app"}, {"day": DAY, "count": 5}]}
    response = _post(any_store_client, USAGE, payload)
    assert response.status_code == 200
    assert response.json() == {"recorded": 2}
    assert _volume(any_store_settings) == 1205


def test_usage_reported_again_replaces_the_count(
    any_store_client: TestClient, any_store_settings: Settings
) -> None:
    _post(any_store_client, USAGE, ONE_COUNT, now=time.time() - 2)
    rows = _snapshot(any_store_settings)["rows"]["usage"]
    _post(any_store_client, USAGE, ONE_COUNT)
    _post(any_store_client, USAGE, {"counts": [{"day": DAY, "count": 800, "source": "app"}]})
    assert _volume(any_store_settings) == 800
    assert _snapshot(any_store_settings)["rows"]["usage"] == rows


def test_interactions_are_stored_and_known_ids_counted_as_duplicates(
    any_store_client: TestClient,
) -> None:
    first = [{"id": "c1", "input": "q1", "output": "a1"}, {"id": "c2", "input": "q2"}]
    second = [*first, {"id": "c3", "input": "q3", "label": "billing", "rating": 0.5}]
    response = _post(any_store_client, INTERACTIONS, {"interactions": first})
    assert response.json() == {"inserted": 2, "duplicates": 0}
    response = _post(any_store_client, INTERACTIONS, {"interactions": second})
    assert response.status_code == 200
    assert response.json() == {"inserted": 1, "duplicates": 2}


def test_interactions_repeated_in_one_request_count_once(client: TestClient) -> None:
    items = [{"id": "same", "input": "q"}, {"id": "same", "input": "q again"}]
    response = _post(client, INTERACTIONS, {"interactions": items})
    assert response.json() == {"inserted": 1, "duplicates": 1}


def test_active_of_a_new_use_case_is_prompting_without_configuration(client: TestClient) -> None:
    response = _get(client, ACTIVE)
    assert response.status_code == 200
    assert response.json() == {
        "use_case": NAME,
        "phase": "prompting",
        "configuration": None,
        "prompt": None,
        "tuned_model": None,
        "version": 1,
    }


def test_active_etag_is_the_sha256_of_the_body(client: TestClient) -> None:
    response = _get(client, ACTIVE)
    assert response.headers["etag"] == f'"{hashlib.sha256(response.content).hexdigest()}"'


def test_active_with_matching_if_none_match_is_304_without_body(client: TestClient) -> None:
    etag = _get(client, ACTIVE).headers["etag"]
    response = client.get(
        ACTIVE, headers={**signed_headers(SECRET, b"", now=time.time() - 1), "If-None-Match": etag}
    )
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag


def test_active_shows_the_configuration_made_active_and_changes_its_etag(
    any_store_client: TestClient, any_store_settings: Settings
) -> None:
    old_etag = _get(any_store_client, ACTIVE, **{"If-None-Match": '"x"'}).headers["etag"]
    with store_session(any_store_settings.store_url) as session:
        configuration = store.save_configuration(
            NAME, ConfigurationDraft(phase=Phase.PROMPTING, model="sandbox-base"), session=session
        )
        store.record_decision(
            NAME,
            DecisionDraft(
                kind=DecisionKind.BASELINED,
                to_phase=Phase.PROMPTING,
                configuration_id=configuration.id,
            ),
            expected_version=1,
            session=session,
        )
    response = _get(any_store_client, ACTIVE, **{"If-None-Match": old_etag})
    assert response.status_code == 200
    assert response.headers["etag"] != old_etag
    assert response.json()["configuration"] == configuration.model_dump(mode="json")
    assert response.json()["version"] == 2


def test_active_resolves_the_prompt_text_and_the_tuned_model(
    client: TestClient, webhook_settings: Settings
) -> None:
    variant = PromptVariant(
        name="support", kind="few_shot", system="Be brief.", template="Q: {input}", k=3
    )
    with store_session(webhook_settings.store_url) as session:
        prompt = save_prompt_version(NAME, variant, session=session)
        tuned = record_model_version(
            NAME,
            model_id="ft:sandbox-base:demo-qa:1",
            base_model="sandbox-base",
            training_file_id="file-1",
            training_file_hash="ab" * 32,
            job_id="ftjob-1",
            hyperparameters={"n_epochs": 3},
            checkpoints=[],
            metrics={},
            session=session,
        )
        draft = ConfigurationDraft(
            phase=Phase.FINE_TUNING,
            model=tuned.model_id,
            prompt_version_id=prompt.id,
            model_version_id=tuned.id,
        )
        configuration = store.save_configuration(NAME, draft, session=session)
        version = store.require_use_case(NAME, session=session).version
        store.record_decision(
            NAME,
            DecisionDraft(
                kind=DecisionKind.BASELINED,
                to_phase=Phase.FINE_TUNING,
                configuration_id=configuration.id,
            ),
            expected_version=version,
            session=session,
        )
    body = _get(client, ACTIVE).json()
    assert body["prompt"] == {
        "label": "support@v1",
        "kind": "few_shot",
        "system": "Be brief.",
        "template": "Q: {input}",
        "k": 3,
        "content_hash": prompt.content_hash,
    }
    assert body["tuned_model"] == {
        "model_id": "ft:sandbox-base:demo-qa:1",
        "base_model": "sandbox-base",
        "training_file_hash": "ab" * 32,
        "job_id": "ftjob-1",
    }
    assert body["configuration"]["model"] == "ft:sandbox-base:demo-qa:1"


def test_active_read_twice_with_the_same_signature_answers_both(client: TestClient) -> None:
    headers = signed_headers(SECRET, b"")
    assert client.get(ACTIVE, headers=headers).status_code == 200
    assert client.get(ACTIVE, headers=headers).status_code == 200


def test_check_requests_of_two_use_cases_in_the_same_second_both_answer(
    client: TestClient, webhook_settings: Settings, emitted: Emitted, tmp_path: Path
) -> None:
    _register(webhook_settings, tmp_path / "more", "triage")
    headers = {**JSON, **signed_headers(SECRET, b"{}")}
    assert client.post(CHECKS, content=b"{}", headers=headers).status_code == 202
    response = client.post("/v1/usecases/triage/checks", content=b"{}", headers=headers)
    assert response.status_code == 202
    assert [use_case for _, use_case, _ in emitted.events] == [NAME, "triage"]


def test_unexpected_store_failure_is_a_json_500_without_details(
    webhook_settings: Settings, emitted: Emitted
) -> None:
    engine = make_engine(webhook_settings.store_url)
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE usage"))
    engine.dispose()
    client = TestClient(create_app(webhook_settings, emit=emitted), raise_server_exceptions=False)
    response = _post(client, USAGE, ONE_COUNT)
    assert response.json() == {
        "error": {"code": "internal_error", "message": "unexpected error; see the server log"}
    }
    assert response.status_code == 500


def test_healthz_needs_no_signature(client: TestClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_unknown_path_is_a_json_404(client: TestClient) -> None:
    assert _error(client.get("/v1/nowhere")) == (404, "not_found")


def test_wrong_method_is_a_json_405(client: TestClient) -> None:
    assert _error(client.get(USAGE)) == (405, "method_not_allowed")


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
    response = _post(TestClient(create_app(webhook_settings)), CHECKS, {})
    assert _error(response) == (503, "emit_failed")
    assert "422" in response.json()["error"]["message"]


def test_prefect_emitter_without_api_url_raises() -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        with pytest.raises(EmitError, match="PREFECT_API_URL is not set"):
            prefect_emitter()(CHECK_REQUESTED, NAME, {})


def test_use_case_with_its_own_secret_refuses_the_deployment_secret(
    webhook_settings: Settings, emitted: Emitted
) -> None:
    client = _client(webhook_settings, emitted, secrets_by_use_case={NAME: SecretStr("own")})
    assert _error(_post(client, CHECKS, {"reason": "a"})) == (401, "bad_signature")
    assert _post(client, CHECKS, {"reason": "b"}, secret="own").status_code == 202
    assert len(emitted.events) == 1


def test_check_request_without_prefect_api_is_503_by_default(webhook_settings: Settings) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        client = TestClient(create_app(webhook_settings))
        response = _post(client, CHECKS, {})
    assert _error(response) == (503, "emit_failed")
    assert "PREFECT_API_URL is not set" in response.json()["error"]["message"]


def test_webhook_command_offers_host_and_port_options() -> None:
    app = typer.Typer()
    app.command()(webhook_command)
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "--host" in result.output
    assert "--port" in result.output


def test_webhook_command_serves_the_app_and_warns_without_secret(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.update(app=app, **options))
    webhook_command(host="127.0.0.1", port=9999)
    assert "PHASEGATE_WEBHOOK_SECRET is not set" in capsys.readouterr().err
    assert (served["host"], served["port"], served["access_log"]) == ("127.0.0.1", 9999, False)
    client = TestClient(served["app"])
    assert client.get("/healthz").status_code == 200
    assert _error(_get(client, ACTIVE)) == (503, "secret_not_configured")
