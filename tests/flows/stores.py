"""Store databases for flow tests on one backend: new empty ones, and copies of others."""

import os
import sqlite3
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from state.db import engine_for


class Stores:
    """Store databases of one backend for the session: new ones, and copies of others."""

    def __init__(self, backend: str, directory: Path) -> None:
        """Make stores of `backend` ("sqlite" or "postgresql"); SQLite files go in `directory`."""
        self.backend, self.directory = backend, directory
        self._created: list[str] = []
        self._admin: Engine | None = None
        if backend == "postgresql":
            self._admin, self._server = self._postgres_admin()

    @staticmethod
    def _postgres_admin() -> tuple[Engine, str]:
        url = os.environ.get("PHASEGATE_TEST_POSTGRES_URL")
        if not url:
            pytest.skip("PostgreSQL not configured: set PHASEGATE_TEST_POSTGRES_URL (.ci/run does)")
        admin = create_engine(
            url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
        )
        try:
            with admin.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - a missing server becomes a skip with its reason
            admin.dispose()
            pytest.skip(f"PostgreSQL not reachable at {url}: {exc}")
        return admin, url.rsplit("/", 1)[0]

    def _create(self, template: str | None) -> str:
        name = f"pg_flow_{uuid.uuid4().hex[:10]}"
        clause = f' TEMPLATE "{template.rsplit("/", 1)[1]}"' if template else ""
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        self._created.append(name)
        return f"{self._server}/{name}"

    def new(self) -> str:
        """The URL of a new, empty store."""
        if self._admin is not None:
            return self._create(None)
        return f"sqlite:///{self.directory / f'store-{uuid.uuid4().hex[:10]}.db'}"

    def copy(self, source: str) -> str:
        """The URL of a new store holding what `source` holds now."""
        if self._admin is not None:
            # A template database must have no open connections.
            engine_for(source).dispose()
            return self._create(source)
        target = self.new()
        with (
            closing(sqlite3.connect(source.removeprefix("sqlite:///"))) as src,
            closing(sqlite3.connect(target.removeprefix("sqlite:///"))) as dst,
        ):
            src.backup(dst)
        return target

    def close(self) -> None:
        """Drop the PostgreSQL databases made for the session."""
        if self._admin is None:
            return
        with self._admin.connect() as connection:
            for name in self._created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()
