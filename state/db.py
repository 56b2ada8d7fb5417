"""Engines, sessions and migrations of the state store."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import create_engine as create_plain_engine
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session, create_engine

from state.errors import StoreUnavailable
from state.revisions import MIGRATIONS, head_revision


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for a store URL; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def at_head(engine: Engine) -> bool:
    """Whether the store behind `engine` has every migration applied."""
    with engine.connect() as connection:
        try:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        except (OperationalError, ProgrammingError):  # no table yet: a new store
            return False
    return [row[0] for row in found] == [head_revision()]


def upgrade(engine: Engine) -> None:
    """Apply every pending migration to the store behind `engine`."""
    # Imported here: alembic costs about half a second of CPU, which a migrated store skips.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _connect(url: str) -> Engine:
    """An engine that has connected once; raises StoreUnavailable naming the store."""
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        engine = make_engine(url)
        with engine.connect():
            return engine
    except (OperationalError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreUnavailable(f"the state store at {shown} cannot be reached: {reason}") from exc


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """A migrated engine per URL, made once per process."""
    engine = _connect(url)
    if not at_head(engine):
        upgrade(engine)
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit on success, roll back and re-raise on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def store_session(url: str) -> Iterator[Session]:
    """A unit of work on the store at `url`, migrated on first use in this process."""
    with session_scope(engine_for(url)) as session:
        yield session


@contextmanager
def new_database(server_url: str, prefix: str = "phasegate") -> Iterator[str]:
    """The URL of a new, empty database on the PostgreSQL server of `server_url`; dropped after."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_plain_engine(
        server_url.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
