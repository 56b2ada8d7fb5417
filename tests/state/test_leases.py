"""Check leases: one holder at a time, kept by a heartbeat; dead or lost holders are taken over."""

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from state import leases, use_cases
from state.db import session_scope
from state.domain import LeaseInfo, LeaseTaken
from state.errors import NotFound
from state.models import CheckLeaseRecord, utcnow
from state.store_api import Store

TTL = 60.0


def _acquire(engine: Engine, run: str, ttl: float = TTL) -> LeaseTaken:
    with session_scope(engine) as session:
        return leases.acquire_lease("demo-qa", run, ttl_seconds=ttl, session=session)


def _rewrite(engine: Engine, **values: object) -> None:
    """Change the stored lease as a holder elsewhere (or long ago) would have left it."""
    with session_scope(engine) as session:
        row = session.get(
            CheckLeaseRecord, use_cases.require_use_case("demo-qa", session=session).id
        )
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)


def _last_beat(engine: Engine, seconds_ago: float, host: str = "lost-pod-7") -> None:
    """Make the stored lease a holder on `host` whose last heartbeat was `seconds_ago`."""
    beat = utcnow() - timedelta(seconds=seconds_ago)
    _rewrite(engine, host=host, renewed_at=beat, expires_at=beat + timedelta(seconds=TTL))


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_acquire_lease_refuses_a_second_holder(use_case: str, engine: Engine) -> None:
    assert _acquire(engine, "run-1") == LeaseTaken()
    assert _acquire(engine, "run-2") == LeaseTaken(holder="run-1")


def test_acquire_lease_again_by_the_holder_succeeds(use_case: str, engine: Engine) -> None:
    _acquire(engine, "run-1")
    assert _acquire(engine, "run-1") == LeaseTaken()


def test_release_lease_lets_the_next_check_in(use_case: str, engine: Engine) -> None:
    _acquire(engine, "run-1")
    with session_scope(engine) as session:
        leases.release_lease(use_case, "run-1", session=session)
    assert _acquire(engine, "run-2") == LeaseTaken()


def test_acquire_lease_takes_over_an_expired_lease(use_case: str, engine: Engine) -> None:
    _acquire(engine, "run-1", ttl=-1)
    assert _acquire(engine, "run-2") == LeaseTaken(replaced="run-1")


def test_acquire_lease_takes_over_from_a_dead_process_on_this_host(
    use_case: str, engine: Engine
) -> None:
    _acquire(engine, "run-1")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    _rewrite(engine, pid=int(dead.stdout), expires_at=utcnow() + timedelta(hours=1))
    assert _acquire(engine, "run-2") == LeaseTaken(replaced="run-1")


def test_acquire_lease_takes_over_a_lost_host_once_its_heartbeat_is_a_ttl_old(
    use_case: str, engine: Engine
) -> None:
    _acquire(engine, "run-1")
    _last_beat(engine, seconds_ago=TTL + 1)
    assert _acquire(engine, "run-2") == LeaseTaken(replaced="run-1")


def test_acquire_lease_keeps_out_while_another_hosts_heartbeat_is_fresh(
    use_case: str, engine: Engine
) -> None:
    _acquire(engine, "run-1")
    _last_beat(engine, seconds_ago=TTL - 5)
    assert _acquire(engine, "run-2") == LeaseTaken(holder="run-1")


def test_renew_lease_keeps_a_lease_taken_days_ago(use_case: str, engine: Engine) -> None:
    _acquire(engine, "run-1")
    _rewrite(engine, acquired_at=utcnow() - timedelta(days=3))
    _last_beat(engine, seconds_ago=TTL - 1)
    with session_scope(engine) as session:
        assert leases.renew_lease(use_case, "run-1", ttl_seconds=TTL, session=session)
    assert _acquire(engine, "run-2") == LeaseTaken(holder="run-1")
    [held] = _list(engine)
    assert held.expires_at - held.acquired_at > timedelta(days=3)


def test_renew_lease_of_another_holder_returns_false(use_case: str, engine: Engine) -> None:
    _acquire(engine, "run-1")
    with session_scope(engine) as session:
        assert not leases.renew_lease(use_case, "run-2", ttl_seconds=TTL, session=session)


def test_acquire_lease_unknown_use_case_raises(engine: Engine) -> None:
    with pytest.raises(NotFound), session_scope(engine) as session:
        leases.acquire_lease("ghost", "run-1", ttl_seconds=TTL, session=session)


def _list(engine: Engine) -> list[LeaseInfo]:
    with session_scope(engine) as session:
        return leases.list_leases(session=session)


def test_lease_heartbeat_renews_a_lease_whose_expiry_passed(
    use_case: str, engine: Engine, store_url: str
) -> None:
    with Store(store_url).hold_lease(use_case, "run-1", ttl_seconds=1.5) as held:
        assert held
        beats = held.beats
        _rewrite(engine, expires_at=utcnow() - timedelta(seconds=1))
        _wait_for(lambda: held.beats >= beats + 2, "two heartbeats")
        assert _acquire(engine, "run-2") == LeaseTaken(holder="run-1")
    assert _list(engine) == []


def test_lease_held_elsewhere_is_falsy_and_left_alone(
    use_case: str, engine: Engine, store_url: str
) -> None:
    _acquire(engine, "run-1")
    with Store(store_url).hold_lease(use_case, "run-2") as held:
        assert (bool(held), held.holder) == (False, "run-1")
    assert [lease.flow_run_id for lease in _list(engine)] == ["run-1"]


def test_break_lease_removes_it_records_why_and_the_holder_sees_it_lost(
    use_case: str, engine: Engine, store_url: str
) -> None:
    with Store(store_url).hold_lease(use_case, "run-1", ttl_seconds=1.5) as held:
        with session_scope(engine) as session:
            leases.break_lease(use_case, broken_by="ops", reason="pod gone", session=session)
        assert _acquire(engine, "run-2") == LeaseTaken()
        _wait_for(lambda: held.lost, "the holder to notice")
        assert not held
    with session_scope(engine) as session:
        [broken] = leases.list_lease_breaks(session=session)
    assert (broken.use_case, broken.flow_run_id, broken.broken_by, broken.reason) == (
        use_case,
        "run-1",
        "ops",
        "pod gone",
    )
    assert [lease.flow_run_id for lease in _list(engine)] == ["run-2"]


def test_break_lease_with_no_lease_raises_not_found(use_case: str, engine: Engine) -> None:
    with pytest.raises(NotFound, match="no lease is held"), session_scope(engine) as session:
        leases.break_lease(use_case, broken_by="ops", reason="why", session=session)
    with session_scope(engine) as session:
        assert leases.list_lease_breaks(session=session) == []
