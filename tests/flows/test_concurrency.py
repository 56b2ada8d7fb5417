"""Ten phase checks of one use case at once: one moves it, the others skip naming it."""

import threading
from collections.abc import Callable

import pytest
from prefect.states import State

from flows.phase_check import check_phase
from state.db import store_session
from state.decisions import list_decisions
from tests.flows.journey import USE_CASE, Journey, activations, in_thread, leases, wait_until

CHECKS = 10
#: Per provider call: with 16 calls in flight, 142 eval items keep the winner busy ≈ 72 s,
#: long enough for nine more flow runs to start on a loaded 2-core machine.
HOLD_MS = 8000


def _skipped(store_url: str) -> int:
    with store_session(store_url) as session:
        return sum(d.kind == "skipped" for d in list_decisions(USE_CASE, session=session))


def _check_together(journey: Journey, count: int) -> list[State]:
    """Start `count` checks at once; hold the winner's provider calls until the rest skipped.

    Prefect starts flow runs of many threads one after another (seconds apart on a busy
    machine), so the check that gets the lease is kept busy until every other check has
    found it taken, then let go.
    """
    barrier = threading.Barrier(count)
    states: list[State] = []

    def check() -> None:
        barrier.wait(timeout=30)
        states.append(check_phase(USE_CASE, auto_approve=True, return_state=True))

    journey.sandbox.admin("POST", "/sandbox/faults", {"latency_ms": HOLD_MS})
    threads = [in_thread(check) for _ in range(count)]
    wait_until(lambda: _skipped(journey.store_url) == count - 1, 180, "the other checks to skip")
    journey.sandbox.admin("POST", "/sandbox/faults", {"latency_ms": 0})
    for thread in threads:
        thread.join(timeout=120)
    assert len(states) == count, f"only {len(states)} of {count} checks ended"
    return states


@pytest.mark.prefect
def test_check_phase_ten_at_once_move_the_use_case_once(
    journey_from: Callable[..., Journey],
) -> None:
    # The held calls are slow; a budget above them keeps the latency gate out of the way.
    journey = journey_from(
        "baselined", constraints={"external_api": True, "latency_p95_ms": 4 * HOLD_MS}
    )
    before = journey.use_case()
    states = _check_together(journey, CHECKS)
    with store_session(journey.store_url) as session:
        new = list_decisions(USE_CASE, session=session)[1:]
    [moved] = [d for d in new if d.kind == "advanced"]
    skipped = [d for d in new if d.kind == "skipped"]
    assert (moved.from_phase, moved.to_phase) == ("prompting", "rag")
    assert len(skipped) == CHECKS - 1
    assert {d.reason for d in skipped} == {f"check {moved.flow_run_id} is running"}
    assert sorted(s.name for s in states) == ["Advanced"] + ["Skipped"] * (CHECKS - 1)
    assert {d.flow_run_id for d in new} == {str(s.state_details.flow_run_id) for s in states}
    after = journey.use_case()
    assert (after.active_phase, after.version) == ("rag", before.version + 1)
    assert activations(journey.store_url)[-1] == (moved.id, moved.configuration_id, "rag")
    assert len(activations(journey.store_url)) == 2
    assert leases(journey.store_url) == []
