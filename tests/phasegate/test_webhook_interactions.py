"""Interactions posted to the webhook: stored once per id, repeats counted as duplicates."""

from fastapi.testclient import TestClient

from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import INTERACTIONS


def test_interactions_are_stored_and_known_ids_counted_as_duplicates(
    any_store_client: TestClient,
) -> None:
    first = [{"id": "c1", "input": "q1", "output": "a1"}, {"id": "c2", "input": "q2"}]
    second = [*first, {"id": "c3", "input": "q3", "label": "billing", "rating": 0.5}]
    response = webhook_client.post(any_store_client, INTERACTIONS, {"interactions": first})
    assert response.json() == {"inserted": 2, "duplicates": 0}
    response = webhook_client.post(any_store_client, INTERACTIONS, {"interactions": second})
    assert response.status_code == 200
    assert response.json() == {"inserted": 1, "duplicates": 2}


def test_interactions_repeated_in_one_request_count_once(client: TestClient) -> None:
    items = [{"id": "same", "input": "q"}, {"id": "same", "input": "q again"}]
    response = webhook_client.post(client, INTERACTIONS, {"interactions": items})
    assert response.json() == {"inserted": 1, "duplicates": 1}
