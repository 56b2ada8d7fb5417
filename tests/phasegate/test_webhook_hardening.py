"""Issue 23's webhook edges: duplicate JSON keys, charsets other than UTF-8, lengths counted in
characters and blank interaction inputs are refused, and nothing is written — on SQLite and
PostgreSQL.
"""

import pytest
from fastapi.testclient import TestClient

from state.settings import Settings
from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import CHECKS, DAY, INTERACTIONS, ONE_COUNT, USAGE, Emitted

JSON = "application/json"
REFUSED: dict[str, tuple[str, object, str, tuple[int, str], str]] = {
    # case: (path, payload, content type, (status, code), the whole message)
    "duplicate key in a count": (
        USAGE,
        f'{{"target": "POST {USAGE}", "counts": [{{"day": "{DAY}", "count": 1, "count": 9}}]}}'
        .encode(),
        JSON,
        (422, "invalid_json"),
        "(body): duplicate key 'count'",
    ),
    "duplicate target": (
        CHECKS,
        f'{{"target": "POST {CHECKS}", "target": "POST /v1/usecases/other/checks"}}'.encode(),
        JSON,
        (422, "invalid_json"),
        "(body): duplicate key 'target'",
    ),
    "charset utf-16": (USAGE, ONE_COUNT, f"{JSON}; charset=utf-16", (415, "unsupported_media_type"),
                       "Content-Type: charset must be utf-8"),
    "charset latin-1": (USAGE, ONE_COUNT, f"{JSON}; charset=latin-1",
                        (415, "unsupported_media_type"), "Content-Type: charset must be utf-8"),
    "reason too long": (CHECKS, {"reason": "r" * 2001}, JSON, (422, "invalid_body"),
                        "reason: must be at most 2000 characters"),
    "requested_by too long": (CHECKS, {"requested_by": "b" * 201}, JSON, (422, "invalid_body"),
                              "requested_by: must be at most 200 characters"),
    "blank input": (INTERACTIONS, {"interactions": [{"id": "a", "input": " \n\t "}]}, JSON,
                    (422, "invalid_body"), "interactions.0.input: must not be only white space"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_hostile_body_is_refused_naming_the_problem_and_writes_nothing(
    any_store_client: TestClient, any_store_settings: Settings, emitted: Emitted, case: str
) -> None:
    path, payload, content_type, expected, message = REFUSED[case]
    before = webhook_client.snapshot(any_store_settings)
    response = webhook_client.post(any_store_client, path, payload, content_type=content_type)
    assert webhook_client.error(response) == expected
    assert response.json()["error"]["message"] == message
    assert webhook_client.snapshot(any_store_settings) == before
    assert emitted.events == []


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", '"utf-8"', "utf8"])
def test_body_declared_utf8_is_accepted(
    any_store_client: TestClient, any_store_settings: Settings, charset: str
) -> None:
    response = webhook_client.post(
        any_store_client, USAGE, ONE_COUNT, content_type=f"{JSON}; charset={charset}"
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"recorded": 1}
