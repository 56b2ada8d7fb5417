"""`phasegate status` reads a store at head with plain SQL and prints what the full path prints.

Each run is a fresh process, as users start it; whether it took the full path shows in the
modules it imported (the full path imports SQLAlchemy, the fast one never does).
"""

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import text

from state import db
from state.settings import Settings
from tests.state.status_store import fill_store

PROBE = """
import sys
from phasegate.cli.exits import run
code = run(["status"])
print("PATH", "full" if "sqlalchemy" in sys.modules else "fast", code, file=sys.stderr)
"""
# A setting the light reader leaves to Settings (valid, and the default): the full path runs.
FULL = {"PHASEGATE_CONCURRENCY": "16"}


def _status(url: str, columns: int, **extra: str) -> tuple[str, str]:
    """Which path `phasegate status` took on the store at `url`, and what it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHASEGATE_TEST_")}
    env |= {"PHASEGATE_DATABASE_URL": url, "COLUMNS": str(columns), **extra}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    _, path, code = done.stderr.strip().splitlines()[-1].split()
    assert code == "0", done.stderr
    return path, done.stdout


@pytest.fixture(name="filled_url")
def filled_url_fixture(store_url: str, settings: Settings, tmp_path: Path) -> str:
    """A migrated store on each backend holding use cases in every phase."""
    engine = db.make_engine(store_url)
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        fill_store(tmp_path / "specs", datetime.now(UTC).date(), session=session)
    engine.dispose()
    return store_url


@pytest.mark.parametrize("columns", [80, 200])
def test_status_fast_path_prints_what_the_full_path_prints(filled_url: str, columns: int) -> None:
    fast_path, fast = _status(filled_url, columns)
    full_path, full = _status(filled_url, columns, **FULL)
    assert (fast_path, full_path) == ("fast", "full")
    assert fast == full
    for shown in ("beta-rag", "1,234", "top-3 bm25", "approval pending → fine_tuning", "hybrid"):
        assert shown in fast


def test_status_of_a_store_not_at_head_migrates_it_then_reads_it_fast(
    store_url: str, settings: Settings
) -> None:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    previous = ScriptDirectory.from_config(config).get_revision(db.head_revision()).down_revision
    engine = db.make_engine(store_url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, previous)
    first_path, first = _status(store_url, 200)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    assert (first_path, version) == ("full", db.head_revision())
    second_path, second = _status(store_url, 200)
    assert second_path == "fast"
    assert first == second and "no use cases in the store at PHASEGATE_DATABASE_URL" in first
