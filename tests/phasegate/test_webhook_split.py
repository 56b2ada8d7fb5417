"""`GET .../active` during a rollout, and interactions naming the configuration they were served."""

import time

from fastapi.testclient import TestClient

from phasegate.signing import signed_request
from state.settings import Settings
from state.store_api import Store
from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import ACTIVE, INTERACTIONS, NAME, SECRET, Emitted
from tests.rollouts import control_and_canary, start


def _read(client: TestClient, key: str | None = None, header: bool = False, **headers: str):
    _, signed = signed_request(SECRET, "GET", ACTIVE, now=time.time() - 1)
    path = ACTIVE
    if key is not None and header:
        headers["Phasegate-Routing-Key"] = key
    elif key is not None:
        path = f"{ACTIVE}?key={key}"
    return client.get(path, headers={**signed, **headers})


def test_active_serves_keys_their_arm_with_the_rollout_step(
    any_store_client: TestClient, any_store_settings: Settings
) -> None:
    url = any_store_settings.store_url
    control, canary = control_and_canary(url, NAME)
    rollout = start(url, NAME, canary, 50)
    bodies = [_read(any_store_client, f"user-{n}").json() for n in range(40)]
    served = {(b["arm"], b["configuration"]["id"], b["phase"]) for b in bodies}
    assert served == {("control", control, "prompting"), ("canary", canary, "rag")}
    assert {tuple(b["rollout"].values()) for b in bodies} == {(rollout.id, 0, 50)}


def test_active_gives_a_key_the_same_arm_by_query_or_header(
    client: TestClient, webhook_settings: Settings
) -> None:
    _, canary = control_and_canary(webhook_settings.store_url, NAME)
    start(webhook_settings.store_url, NAME, canary, 50)
    for n in range(20):
        by_query = _read(client, f"k{n}").json()
        assert _read(client, f"k{n}", header=True).json() == by_query
        assert _read(client, f"k{n}").json() == by_query


def test_active_etag_changes_when_the_step_moves(
    webhook_settings: Settings, emitted: Emitted
) -> None:
    client = webhook_client.seeing_every_change(webhook_settings, emitted)
    url = webhook_settings.store_url
    _, canary = control_and_canary(url, NAME)
    rollout = start(url, NAME, canary, 10, 50)
    first = _read(client, "steady")
    assert _read(client, "steady", **{"If-None-Match": first.headers["etag"]}).status_code == 304
    Store(url).change_rollout(rollout.id, expected_version=1, step=1)
    moved = _read(client, "steady", **{"If-None-Match": first.headers["etag"]})
    assert moved.status_code == 200
    assert moved.json()["rollout"]["weight"] == 50


def test_active_without_a_key_draws_both_arms(
    client: TestClient, webhook_settings: Settings
) -> None:
    _, canary = control_and_canary(webhook_settings.store_url, NAME)
    start(webhook_settings.store_url, NAME, canary, 50)
    arms = {_read(client).json()["arm"] for _ in range(60)}
    assert arms == {"control", "canary"}


def test_active_refuses_an_overlong_routing_key(client: TestClient) -> None:
    response = _read(client, "k" * 201, header=True)
    assert webhook_client.error(response) == (422, "invalid_routing_key")


def test_interactions_keep_the_configuration_that_served_them(
    any_store_client: TestClient, any_store_settings: Settings
) -> None:
    url = any_store_settings.store_url
    control, canary = control_and_canary(url, NAME)
    start(url, NAME, canary)
    items = [
        {"id": "a", "input": "q", "configuration_id": control, "latency_ms": 12.5, "label": "x"},
        {"id": "b", "input": "q", "configuration_id": canary, "error": True, "label": "y"},
    ]
    response = webhook_client.post(any_store_client, INTERACTIONS, {"interactions": items})
    assert response.json() == {"inserted": 2, "duplicates": 0}
    stored = Store(url).list_labelled_interactions(NAME)
    assert [(i.configuration_id, i.latency_ms, i.error) for i in stored] == [
        (control, 12.5, None),
        (canary, None, True),
    ]


def test_interactions_naming_another_configuration_are_refused_whole(
    any_store_client: TestClient, any_store_settings: Settings
) -> None:
    control, canary = control_and_canary(any_store_settings.store_url, NAME)
    before = webhook_client.snapshot(any_store_settings)
    items = [
        {"id": "a", "input": "q", "configuration_id": control},
        {"id": "b", "input": "q", "configuration_id": canary},  # stored, but never served
    ]
    response = webhook_client.post(any_store_client, INTERACTIONS, {"interactions": items})
    assert webhook_client.error(response) == (422, "unknown_configuration")
    assert "interactions.1.configuration_id" in response.json()["error"]["message"]
    assert webhook_client.snapshot(any_store_settings) == before
