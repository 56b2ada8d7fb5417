"""Shared fixtures: settings on a temporary data dir, store engines, the sandbox server."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from state.db import make_engine, session_scope, upgrade
from state.settings import Settings, get_settings

pytest_plugins = ["tests.plugins.sandbox_server"]

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


@pytest.fixture(name="settings")
def settings_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings whose data dir is a fresh temporary directory."""
    for key in list(os.environ):
        if key.startswith("PHASEGATE_") and not key.startswith("PHASEGATE_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PHASEGATE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def _postgres_admin_url() -> str | None:
    return os.environ.get("PHASEGATE_TEST_POSTGRES_URL")


@pytest.fixture(name="postgres_url")
def postgres_url_fixture() -> Iterator[str]:
    """A fresh, empty PostgreSQL database; skips where no server is configured."""
    admin_url = _postgres_admin_url()
    if not admin_url:
        pytest.skip("PostgreSQL not configured: set PHASEGATE_TEST_POSTGRES_URL (.ci/run does)")
    name = f"pg_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - a missing server becomes a skip with its reason
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {admin_url}: {exc}")
    base = admin_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(name="store_url", params=["sqlite", "postgresql"])
def store_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated store URL, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(name="engine")
def engine_fixture(store_url: str) -> Iterator[Engine]:
    """A migrated engine on each store backend."""
    engine = make_engine(store_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(name="session")
def session_fixture(engine: Engine) -> Iterator[Session]:
    """A unit of work that commits at the end of the test."""
    with session_scope(engine) as session:
        yield session


@pytest.fixture(name="prefect_api", scope="session")
def prefect_api_fixture() -> Iterator[None]:
    """One temporary Prefect API for the whole session (it costs ≈ 15 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
