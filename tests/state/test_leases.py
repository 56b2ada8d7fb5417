"""Check leases: one holder at a time; expired or dead holders are taken over."""

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from state import leases, store
from state.db import session_scope
from state.errors import NotFound
from state.models import CheckLeaseRecord, utcnow
from state.spec import load_spec
from tests.specs import write_spec


@pytest.fixture(name="use_case")
def use_case_fixture(tmp_path: Path, engine: Engine) -> str:
    """A registered use case called demo-qa."""
    with session_scope(engine) as session:
        store.apply_spec(load_spec(write_spec(tmp_path)), session=session)
    return "demo-qa"


def _acquire(engine: Engine, run: str, ttl: float = 60) -> str | None:
    with session_scope(engine) as session:
        return leases.acquire_lease("demo-qa", run, ttl_seconds=ttl, session=session)


def test_acquire_lease_refuses_a_second_holder(use_case: str, engine: Engine) -> None:
    assert _acquire(engine, "run-1") is None
    assert _acquire(engine, "run-2") == "run-1"


def test_acquire_lease_again_by_the_holder_succeeds(use_case: str, engine: Engine) -> None:
    assert _acquire(engine, "run-1") is None
    assert _acquire(engine, "run-1") is None


def test_release_lease_lets_the_next_check_in(use_case: str, engine: Engine) -> None:
    _acquire(engine, "run-1")
    with session_scope(engine) as session:
        leases.release_lease(use_case, "run-1", session=session)
    assert _acquire(engine, "run-2") is None


def test_acquire_lease_takes_over_an_expired_lease(use_case: str, engine: Engine) -> None:
    _acquire(engine, "run-1", ttl=-1)
    assert _acquire(engine, "run-2") is None


def test_acquire_lease_takes_over_from_a_dead_process(
    use_case: str, engine: Engine, session: Session
) -> None:
    _acquire(engine, "run-1")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    with session_scope(engine) as other:
        row = other.get(CheckLeaseRecord, store.require_use_case(use_case, session=other).id)
        row.pid, row.expires_at = int(dead.stdout), utcnow() + timedelta(hours=1)
        other.add(row)
    assert _acquire(engine, "run-2") is None


def test_acquire_lease_unknown_use_case_raises(engine: Engine) -> None:
    with pytest.raises(NotFound), session_scope(engine) as session:
        leases.acquire_lease("ghost", "run-1", ttl_seconds=60, session=session)
