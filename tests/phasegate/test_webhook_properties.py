"""Property-based: no signed body and no signature header, however odd, gets a 500.

Bodies are drawn near the schema (right field names, odd values: NUL and other control
characters, huge integers, dates as anything, nested JSON) and far from it (any JSON value),
signed correctly, and sent to each POST endpoint on SQLite and on PostgreSQL. Signature headers
are drawn as any printable text, and must be refused with 401, changing nothing.
"""

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phasegate.signing import (
    ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    signed_headers,
    target,
)
from state.settings import Settings
from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import CHECKS, INTERACTIONS, JSON, SECRET, USAGE

TEXT = st.text(max_size=40) | st.sampled_from(["\x00", "a\x00b", "ok", "x" * 300])
JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
DAY = st.dates().map(lambda day: day.isoformat()) | JSON_VALUE
COUNT = st.integers(min_value=-(2**64), max_value=2**64) | JSON_VALUE
USAGE_ITEM = st.fixed_dictionaries(
    {"day": DAY, "count": COUNT}, optional={"source": TEXT | JSON_VALUE}
)
INTERACTION = st.fixed_dictionaries(
    {"id": TEXT, "input": TEXT},
    optional={
        "output": TEXT,
        "label": TEXT | st.none(),
        "rating": st.floats(allow_nan=False) | JSON_VALUE,
    },
)
FIELDS = {
    CHECKS: st.fixed_dictionaries({}, optional={"reason": TEXT, "requested_by": TEXT}),
    USAGE: st.fixed_dictionaries({"counts": st.lists(USAGE_ITEM, max_size=3)}),
    INTERACTIONS: st.fixed_dictionaries({"interactions": st.lists(INTERACTION, max_size=3)}),
}
ANSWERED = {CHECKS: 202, USAGE: 200, INTERACTIONS: 200}


def _bodies(path: str) -> st.SearchStrategy[object]:
    """Bodies for `path`: its fields with the right target, or any JSON value at all."""
    aimed = FIELDS[path].map(lambda fields: {"target": target("POST", path)} | fields)
    return aimed | JSON_VALUE


@pytest.mark.parametrize("path", sorted(FIELDS))
def test_no_signed_body_makes_the_api_answer_500(
    any_store_client: TestClient, any_store_settings: Settings, path: str
) -> None:
    @settings(
        max_examples=120,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(payload=_bodies(path))
    def send(payload: object) -> None:
        body = json.dumps(payload).encode()
        response = any_store_client.post(
            path, content=body, headers=JSON | signed_headers(SECRET, body)
        )
        assert response.status_code in {ANSWERED[path], 422}, response.text

    send()


@pytest.mark.parametrize(
    ("path", "payload", "message"),
    [
        (
            INTERACTIONS,
            {"interactions": [{"id": "t-1", "input": "a\x00b"}]},
            "interactions.0.input: must not contain NUL (\\u0000)",
        ),
        (
            INTERACTIONS,
            {"interactions": [{"id": "t\x00", "input": "a", "label": "\x00"}]},
            "interactions.0.id: must not contain NUL (\\u0000); "
            "interactions.0.label: must not contain NUL (\\u0000)",
        ),
        (CHECKS, {"reason": "\x00"}, "reason: must not contain NUL (\\u0000)"),
    ],
)
def test_nul_in_a_body_is_422_naming_the_field_on_every_store(
    any_store_client: TestClient,
    any_store_settings: Settings,
    path: str,
    payload: dict,
    message: str,
) -> None:
    before = webhook_client.snapshot(any_store_settings)
    response = webhook_client.post(any_store_client, path, payload)
    assert webhook_client.error(response) == (422, "invalid_body")
    assert response.json()["error"]["message"] == message
    assert webhook_client.snapshot(any_store_settings) == before


PAYLOAD_FOR_HEADERS = {"counts": [{"day": "2026-11-24", "count": 1}]}
HEADER_VALUE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


def test_no_signature_headers_make_the_api_answer_other_than_401(
    client: TestClient, webhook_settings: Settings
) -> None:
    body = webhook_client.body(PAYLOAD_FOR_HEADERS, USAGE)
    before = webhook_client.snapshot(webhook_settings)

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        headers=st.fixed_dictionaries(
            {},
            optional={
                ID_HEADER: HEADER_VALUE,
                TIMESTAMP_HEADER: HEADER_VALUE | st.integers(0, 2**64).map(str),
                SIGNATURE_HEADER: HEADER_VALUE
                | st.lists(HEADER_VALUE.map(lambda v: f"v1,{v}"), max_size=12).map(" ".join),
            },
        )
    )
    def send(headers: dict[str, str]) -> None:
        response = client.post(USAGE, content=body, headers=JSON | headers)
        assert response.status_code == 401, response.text

    send()
    assert webhook_client.snapshot(webhook_settings) == before
