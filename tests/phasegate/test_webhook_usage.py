"""Usage counts posted to the webhook: recorded per day and source, replaced when sent again."""

import time
from datetime import date

from fastapi.testclient import TestClient

from state.db import store_session
from state.settings import Settings
from state.usage import volume
from tests.phasegate import webhook_client
from tests.phasegate.webhook_client import DAY, NAME, ONE_COUNT, USAGE


def _volume(settings: Settings, day: str = DAY) -> int:
    with store_session(settings.store_url) as session:
        return volume(NAME, today=date.fromisoformat(day), session=session)


def test_usage_is_recorded(any_store_client: TestClient, any_store_settings: Settings) -> None:
    payload = {"counts": [{"day": DAY, "count": 1200, "source": "app"}, {"day": DAY, "count": 5}]}
    response = webhook_client.post(any_store_client, USAGE, payload)
    assert response.status_code == 200
    assert response.json() == {"recorded": 2}
    assert _volume(any_store_settings) == 1205


def test_usage_reported_again_replaces_the_count(
    any_store_client: TestClient, any_store_settings: Settings
) -> None:
    webhook_client.post(any_store_client, USAGE, ONE_COUNT, now=time.time() - 2)
    rows = webhook_client.snapshot(any_store_settings)["rows"]["usage"]
    webhook_client.post(any_store_client, USAGE, ONE_COUNT)
    webhook_client.post(
        any_store_client, USAGE, {"counts": [{"day": DAY, "count": 800, "source": "app"}]}
    )
    assert _volume(any_store_settings) == 800
    assert webhook_client.snapshot(any_store_settings)["rows"]["usage"] == rows
