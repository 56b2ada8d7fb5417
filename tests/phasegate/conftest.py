"""Fixtures of the webhook tests: the emit double, stores holding `demo-qa`, app clients."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import text

from state import use_cases
from state.db import make_engine, session_scope, upgrade
from state.settings import Settings
from state.spec import load_spec
from tests.phasegate.webhook_client import (
    NAME,
    SECRET,
    Emitted,
    app_client,
    register,
    with_demo_store,
)
from tests.specs import write_spec


@pytest.fixture(name="emitted")
def emitted_fixture() -> Emitted:
    """A fresh emit double."""
    return Emitted()


@pytest.fixture(name="template_store", scope="session")
def template_store_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite store holding `demo-qa`, copied by each test instead of migrating."""
    directory = tmp_path_factory.mktemp("template")
    path = directory / "phasegate.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with session_scope(engine) as session:
        use_cases.apply_spec(load_spec(write_spec(directory / "specs", name=NAME)), session=session)
    with engine.connect() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()
    return path


@pytest.fixture(name="webhook_settings")
def webhook_settings_fixture(settings: Settings, template_store: Path) -> Settings:
    """Settings with a webhook secret, on a SQLite store holding the use case `demo-qa`."""
    configured = settings.model_copy(update={"webhook_secret": [SecretStr(SECRET)]})
    return with_demo_store(configured, template_store)


@pytest.fixture(name="client")
def client_fixture(webhook_settings: Settings, emitted: Emitted) -> TestClient:
    """The webhook app on SQLite with the emit double."""
    return app_client(webhook_settings, emitted)


@pytest.fixture(name="any_store_settings")
def any_store_settings_fixture(store_url: str, settings: Settings, tmp_path: Path) -> Settings:
    """Like `webhook_settings`, once on SQLite and once on PostgreSQL."""
    configured = settings.model_copy(
        update={"webhook_secret": [SecretStr(SECRET)], "database_url": store_url}
    )
    register(configured, tmp_path / "specs", NAME)
    return configured


@pytest.fixture(name="any_store_client")
def any_store_client_fixture(any_store_settings: Settings, emitted: Emitted) -> TestClient:
    """The webhook app on each store backend."""
    return app_client(any_store_settings, emitted)
