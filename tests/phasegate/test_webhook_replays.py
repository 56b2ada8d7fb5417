"""Replays: a signed request acts once, on its own target, whichever process gets it again."""

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from phasegate.signing import signed_request
from state.settings import Settings
from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import (
    ACTIVE,
    CHECKS,
    INTERACTIONS,
    NAME,
    ONE_COUNT,
    SECRET,
    USAGE,
    Emitted,
)

OTHER = "billing-qa"
PAYLOADS = {
    CHECKS: {"reason": "nightly"},
    USAGE: ONE_COUNT,
    INTERACTIONS: {"interactions": [{"id": "t-1", "input": "q", "label": "a"}]},
}
OK = {CHECKS: 202, USAGE: 200, INTERACTIONS: 200}


def _send(client: TestClient, path: str, signed: tuple[bytes, dict[str, str]]) -> httpx.Response:
    body, headers = signed
    return client.request("GET" if not body else "POST", path, content=body, headers=headers)


@pytest.fixture(name="two_use_cases")
def two_use_cases_fixture(any_store_settings: Settings, tmp_path: Path) -> Settings:
    """`demo-qa` and `billing-qa` on each store backend."""
    webhook_client.register(any_store_settings, tmp_path / "more", OTHER)
    return any_store_settings


@pytest.mark.parametrize("path", sorted(PAYLOADS))
def test_request_replayed_to_the_same_path_is_401_and_changes_nothing(
    any_store_client: TestClient, any_store_settings: Settings, emitted: Emitted, path: str
) -> None:
    signed = signed_request(SECRET, "POST", path, PAYLOADS[path])
    assert _send(any_store_client, path, signed).status_code == OK[path]
    before = webhook_client.snapshot(any_store_settings)
    assert webhook_client.error(_send(any_store_client, path, signed)) == (401, "replayed")
    assert webhook_client.snapshot(any_store_settings) == before
    assert len(emitted.events) == (path == CHECKS)


@pytest.mark.parametrize("path", sorted(PAYLOADS))
def test_body_replayed_to_another_use_case_is_401_and_changes_nothing(
    two_use_cases: Settings, emitted: Emitted, path: str
) -> None:
    client = webhook_client.app_client(two_use_cases, emitted)
    signed = signed_request(SECRET, "POST", path, PAYLOADS[path])
    assert _send(client, path, signed).status_code == OK[path]
    before = webhook_client.snapshot(two_use_cases)
    elsewhere = path.replace(f"/{NAME}/", f"/{OTHER}/")
    assert webhook_client.error(_send(client, elsewhere, signed)) == (401, "wrong_target")
    assert webhook_client.snapshot(two_use_cases) == before
    assert [use_case for _, use_case, _ in emitted.events] == [NAME] * (path == CHECKS)


@pytest.mark.parametrize(("signed_for", "sent_to"), [(USAGE, INTERACTIONS), (CHECKS, USAGE)])
def test_body_replayed_to_another_route_is_401(
    any_store_client: TestClient, any_store_settings: Settings, signed_for: str, sent_to: str
) -> None:
    signed = signed_request(SECRET, "POST", signed_for, PAYLOADS[signed_for])
    before = webhook_client.snapshot(any_store_settings)
    assert webhook_client.error(_send(any_store_client, sent_to, signed)) == (401, "wrong_target")
    assert webhook_client.snapshot(any_store_settings) == before


def test_active_read_signed_for_one_use_case_is_refused_for_another(
    two_use_cases: Settings, emitted: Emitted
) -> None:
    client = webhook_client.app_client(two_use_cases, emitted)
    signed = signed_request(SECRET, "GET", ACTIVE)
    assert _send(client, ACTIVE, signed).status_code == 200
    elsewhere = ACTIVE.replace(f"/{NAME}/", f"/{OTHER}/")
    assert webhook_client.error(_send(client, elsewhere, signed)) == (401, "bad_signature")


@pytest.mark.parametrize("path", sorted(PAYLOADS))
def test_request_replayed_after_a_restart_is_401(
    any_store_settings: Settings, emitted: Emitted, path: str
) -> None:
    signed = signed_request(SECRET, "POST", path, PAYLOADS[path])
    with webhook_client.app_client(any_store_settings, emitted) as first:
        assert _send(first, path, signed).status_code == OK[path]
    before = webhook_client.snapshot(any_store_settings)
    with webhook_client.app_client(any_store_settings, emitted) as restarted:
        assert webhook_client.error(_send(restarted, path, signed)) == (401, "replayed")
    assert webhook_client.snapshot(any_store_settings) == before


def test_request_replayed_to_a_second_server_on_the_same_store_is_401(
    any_store_settings: Settings, emitted: Emitted
) -> None:
    one = webhook_client.app_client(any_store_settings, emitted)
    two = webhook_client.app_client(any_store_settings, emitted)
    signed = signed_request(SECRET, "POST", USAGE, ONE_COUNT)
    assert _send(one, USAGE, signed).status_code == 200
    assert webhook_client.error(_send(two, USAGE, signed)) == (401, "replayed")
    assert webhook_client.error(_send(one, USAGE, signed)) == (401, "replayed")


def test_request_refused_for_an_unknown_use_case_may_be_sent_again_once_it_exists(
    any_store_client: TestClient, any_store_settings: Settings, tmp_path: Path
) -> None:
    path = f"/v1/usecases/{OTHER}/usage"
    signed = signed_request(SECRET, "POST", path, ONE_COUNT)
    before = webhook_client.snapshot(any_store_settings)
    assert webhook_client.error(_send(any_store_client, path, signed)) == (404, "unknown_use_case")
    assert webhook_client.snapshot(any_store_settings) == before
    webhook_client.register(any_store_settings, tmp_path / "later", OTHER)
    assert _send(any_store_client, path, signed).status_code == 200


def test_interactions_refused_for_an_unknown_use_case_leave_no_id(
    any_store_client: TestClient, any_store_settings: Settings
) -> None:
    path = f"/v1/usecases/{OTHER}/interactions"
    before = webhook_client.snapshot(any_store_settings)
    signed = signed_request(SECRET, "POST", path, PAYLOADS[INTERACTIONS])
    assert webhook_client.error(_send(any_store_client, path, signed)) == (404, "unknown_use_case")
    assert webhook_client.snapshot(any_store_settings) == before
