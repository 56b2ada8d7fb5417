"""Shared pieces of the webhook tests: paths, the emit double, signed requests, store snapshots."""

import json
import shutil
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import inspect, text

from phasegate.signing import signed_headers, signed_request, target
from phasegate.webhooks import create_app
from state import use_cases
from state.db import make_engine, store_session
from state.settings import Settings
from state.spec import load_spec
from tests.specs import write_spec

# A Standard Webhooks secret: whsec_ and 32 bytes in base64.
SECRET = "whsec_dGVzdC1zZWNyZXQtb2YtdGhpcnR5LXR3by1ieXRlcw=="
OTHER_SECRET = "whsec_b3RoZXItc2VjcmV0LW9mLXRoaXJ0eS10d28tYnl0ZXM="
NAME = "demo-qa"
USAGE = f"/v1/usecases/{NAME}/usage"
CHECKS = f"/v1/usecases/{NAME}/checks"
INTERACTIONS = f"/v1/usecases/{NAME}/interactions"
ACTIVE = f"/v1/usecases/{NAME}/active"
DAY = "2026-11-24"
ONE_COUNT = {"counts": [{"day": DAY, "count": 1200, "source": "app"}]}
JSON = {"Content-Type": "application/json"}


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


def register(settings: Settings, directory: Path, *names: str) -> None:
    """Apply a spec for each name to the store of `settings`."""
    with store_session(settings.store_url) as session:
        for name in names:
            use_cases.apply_spec(
                load_spec(write_spec(directory / name, name=name)), session=session
            )


def app_client(settings: Settings, emitted: Emitted, **options: Any) -> TestClient:
    """The webhook app on `settings` with the emit double and any app options."""
    return TestClient(create_app(settings, emit=emitted, **options))


def seeing_every_change(settings: Settings, emitted: Emitted) -> TestClient:
    """The webhook app whose `GET .../active` checks the store on every read (staleness 0)."""
    return app_client(settings.model_copy(update={"webhook_active_staleness_ms": 0}), emitted)


def with_demo_store(settings: Settings, template: Path) -> Settings:
    """Copy the template store holding `demo-qa` into the data dir of `settings`."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, settings.data_dir / "phasegate.db")
    return settings


def aimed(path: str, payload: dict) -> dict:
    """`payload` with the target of a POST to `path`, unless it names one already."""
    return {"target": target("POST", path)} | payload


def body(payload: object, path: str | None = None) -> bytes:
    """Bytes as they are; a dict aimed at `path` (when given), as JSON; anything else as JSON."""
    if isinstance(payload, bytes):
        return payload
    if path is not None and isinstance(payload, dict):
        payload = aimed(path, payload)
    return json.dumps(payload).encode()


def post(
    client: TestClient,
    path: str,
    payload: object,
    *,
    secret: str = SECRET,
    now: float | None = None,
    content_type: str | None = "application/json",
) -> httpx.Response:
    """POST `payload` (a dict gets the target of `path`) signed with `secret`."""
    content = body(payload, path)
    headers = signed_headers(secret, content, now=now)
    if content_type is not None:
        headers["Content-Type"] = content_type
    return client.post(path, content=content, headers=headers)


def get(client: TestClient, path: str, **headers: str) -> httpx.Response:
    """GET `path` signed with the test secret, plus any extra headers."""
    _, signed = signed_request(SECRET, "GET", path)
    return client.get(path, headers={**signed, **headers})


def error(response: httpx.Response) -> tuple[int, str]:
    """The status and error code of a refusal."""
    return response.status_code, response.json()["error"]["code"]


def snapshot(settings: Settings) -> dict[str, Any]:
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
