"""Migrations on first use, skipped (without importing alembic) once the store is at head."""

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from state import db
from state.errors import StoreUnavailable


def test_head_revision_is_the_one_alembic_finds() -> None:
    config = Config()
    config.set_main_option("script_location", str(db.MIGRATIONS))
    assert db.head_revision() == ScriptDirectory.from_config(config).get_current_head()


def test_at_head_only_after_the_migrations_ran(store_url: str) -> None:
    engine = db.make_engine(store_url)
    assert not db.at_head(engine)
    db.upgrade(engine)
    assert db.at_head(engine)
    engine.dispose()


def test_engine_for_an_unreachable_store_names_it_without_the_password() -> None:
    url = "postgresql://phasegate:hunter2@127.0.0.1:1/phasegate"
    with pytest.raises(StoreUnavailable, match=r"phasegate:\*\*\*@127\.0\.0\.1:1") as raised:
        db.engine_for(url)
    assert "hunter2" not in str(raised.value)
    assert raised.value.exit_code == 3
