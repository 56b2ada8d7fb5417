"""Checks of the journey as real flow runs: one run, an approver in a thread, a start mid-way."""

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from prefect.states import State

from flows.phase_check import check_phase
from state.approvals import pending_approvals
from state.configurations import get_configuration
from state.db import store_session
from state.decisions import get_decision_by_run
from state.domain import Approval, Configuration, Decision, UseCase
from state.use_cases import require_use_case
from tests.flows.journey import (
    USE_CASE,
    Journey,
    copy_use_cases,
    flow_run_state,
    gate_reports,
    in_thread,
    point_settings_at,
    register,
    wait_until,
)
from tests.flows.stores import Stores


@dataclass
class Approver:
    """A person in another thread: waits until the check is paused for approval, then responds.

    `respond` gets the pending approval; it may look at the paused run or try bad answers
    before it answers through the Prefect API, as the UI form does.
    """

    store_url: str
    respond: Callable[[Approval], None]
    seen: Approval | None = None
    error: BaseException | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    def _pending(self) -> Approval | None:
        with store_session(self.store_url) as session:
            found = pending_approvals(session=session, use_case=USE_CASE)
        return found[0] if found else None

    def _run(self) -> None:
        try:
            # The check trains and scores first: minutes on a loaded 2-core machine.
            self.seen = wait_until(self._pending, 300, "an approval request")
            wait_until(lambda: flow_run_state(self.seen.flow_run_id).is_paused(), 30, "the pause")
            self.respond(self.seen)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread by join()
            self.error = exc

    def start(self) -> "Approver":
        """Start waiting in a background thread."""
        self._thread = in_thread(self._run)
        return self

    def join(self) -> Approval:
        """Wait for the thread; re-raise what failed in it; return the approval it answered."""
        self._thread.join(timeout=360)
        if self.error is not None:
            raise self.error
        assert self.seen is not None
        return self.seen


@dataclass(frozen=True)
class Step:
    """One check of the journey, as the store and Prefect showed it right after it ended."""

    state: State
    flow_run_id: str
    decision: Decision | None
    use_case: UseCase
    active: Configuration | None
    reports: list[str]


def run_check(journey: Journey, **options: Any) -> Step:
    """Run the phase check of support-qa as a real flow run and read what it left."""
    state = check_phase(USE_CASE, approval_poll_seconds=1, return_state=True, **options)
    run_id = str(state.state_details.flow_run_id)
    with store_session(journey.store_url) as session:
        decision = get_decision_by_run(run_id, session=session)
        use_case = require_use_case(USE_CASE, session=session)
        active = (
            get_configuration(use_case.active_configuration_id, session=session)
            if use_case.active_configuration_id
            else None
        )
    return Step(state, run_id, decision, use_case, active, gate_reports(run_id))


@dataclass(frozen=True)
class JourneyRecord:
    """support-qa taken from nothing to fine-tuning, with what each check left behind."""

    journey: Journey
    steps: dict[str, Step]
    approval: Approval
    reports_while_paused: list[str]
    snapshots: dict[str, str]


def start_from(
    record: JourneyRecord,
    stores: Stores,
    step: str,
    monkeypatch: pytest.MonkeyPatch,
    directory: Path,
    **support_qa_spec: object,
) -> Journey:
    """A copy of the journey's store as it was after `step`, with the settings pointing at it.

    Keyword arguments override top-level fields of support-qa's spec (re-applied on the copy).
    """
    journey = Journey(
        stores.copy(record.snapshots[step]), record.journey.specs_dir, record.journey.sandbox
    )
    if support_qa_spec:
        specs_dir = copy_use_cases(directory / "usecases", **support_qa_spec)
        register(journey.store_url, specs_dir)
        journey = Journey(journey.store_url, specs_dir, journey.sandbox)
    journey.sandbox.reset()
    point_settings_at(monkeypatch, journey)
    return journey
