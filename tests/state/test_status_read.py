"""The status read model: plain SQL gives the rows the store functions give, or defers."""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from state import configurations, decisions, usage, use_cases
from state.approvals import pending_approvals
from state.db import session_scope
from state.domain import StatusRow
from state.status_read import read_status
from state.store_api import Store
from tests.state.status_store import NAMES, fill_store

TODAY = datetime.now(UTC).date()
# The configuration fields `status --json` prints.
PRINTED = {
    "id",
    "phase",
    "model",
    "prompt_version_id",
    "model_version_id",
    "retrieval",
    "routing",
    "generation",
    "answers",
}


def _stored_rows(engine: Engine) -> list[StatusRow]:
    """The rows as the store functions give them (what `status` read before its one query)."""
    with session_scope(engine) as session:
        volumes = usage.volumes(today=TODAY, session=session)
        pending = {a.use_case: a for a in pending_approvals(session=session)}
        rows = []
        for use_case in use_cases.list_use_cases(session=session):
            config_id = use_case.active_configuration_id
            config = (
                configurations.get_configuration(config_id, session=session) if config_id else None
            )
            last = decisions.list_decisions(use_case.name, session=session, limit=1)
            decision = last[-1] if last else None
            pending_one = pending.get(use_case.name)
            rows.append(
                StatusRow(
                    name=use_case.name,
                    phase=str(use_case.active_phase),
                    configuration_id=config.id if config else None,
                    model=config.model if config else None,
                    retrieval=config.retrieval if config else None,
                    routed=bool(config and config.routing),
                    last_decision=str(decision.kind) if decision else None,
                    volume_30d=volumes[use_case.name],
                    pending_to_phase=str(pending_one.to_phase) if pending_one else None,
                    last_decision_at=decision.created_at if decision else None,
                    configuration=config.model_dump(mode="json", include=PRINTED)
                    if config
                    else None,
                )
            )
    return rows


@pytest.fixture(name="filled")
def filled_fixture(engine: Engine, tmp_path: Path) -> Engine:
    """A migrated store on each backend holding the use cases of `fill_store`."""
    with session_scope(engine) as session:
        fill_store(tmp_path / "specs", TODAY, session=session)
    return engine


def test_both_readers_equal_the_store_functions_rows(filled: Engine, store_url: str) -> None:
    rows = read_status(store_url, today=TODAY)
    assert rows == _stored_rows(filled)
    assert Store(store_url).status_rows(today=TODAY) == rows
    alpha, beta, gamma = rows
    assert [row.name for row in rows] == list(NAMES)
    assert (alpha.phase, alpha.model, alpha.last_decision, alpha.volume_30d) == (
        "prompting",
        None,
        None,
        0,
    )
    assert (beta.phase, beta.last_decision, beta.volume_30d) == ("rag", "held", 1234)
    assert beta.retrieval == {"top_k": 3, "retriever": "bm25"} and not beta.routed
    assert beta.pending_to_phase == "fine_tuning"
    assert (gamma.phase, gamma.model, gamma.routed) == (
        "fine_tuning",
        "ft:sandbox-base:gamma:1a2b",
        True,
    )
    assert gamma.retrieval is None and gamma.pending_to_phase is None


def test_read_status_of_a_store_not_at_head_defers(filled: Engine, store_url: str) -> None:
    with filled.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'older'"))
    assert read_status(store_url, today=TODAY) is None


def test_read_status_of_an_unmigrated_store_defers(store_url: str) -> None:
    if store_url.startswith("sqlite"):
        sqlite3.connect(store_url.removeprefix("sqlite:///")).close()  # an empty database file
    assert read_status(store_url, today=TODAY) is None


def test_read_status_of_a_missing_sqlite_file_defers_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "phasegate.db"
    assert read_status(f"sqlite:///{path}", today=TODAY) is None
    assert not path.parent.exists()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://phasegate:hunter2@127.0.0.1:1/phasegate",  # unreachable
        "postgresql+psycopg2://phasegate@127.0.0.1/phasegate",  # another driver
        "sqlite://",
        "sqlite:///:memory:",
    ],
)
def test_read_status_leaves_what_it_cannot_read_to_the_full_path(url: str) -> None:
    assert read_status(url, today=TODAY) is None
