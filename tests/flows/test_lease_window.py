"""A check paused for approval keeps its lease for the whole approval window."""

from collections.abc import Callable

import pytest
from sqlmodel import select

from flows.phase_check import LEASE_SECONDS
from phasegate.cli.phases import reject_command
from state.approvals import Approval
from state.db import store_session
from state.models import CheckLeaseRecord
from tests.flows.checks import Approver, run_check
from tests.flows.journey import APPROVAL_TIMEOUT, USE_CASE, Journey


@pytest.mark.prefect
def test_paused_check_holds_its_lease_for_the_work_and_the_approval_window(
    journey_from: Callable[..., Journey],
) -> None:
    journey = journey_from("rag")
    held: list[float] = []

    def respond(approval: Approval) -> None:
        with store_session(journey.store_url) as session:
            lease = session.exec(select(CheckLeaseRecord)).one()
            assert lease.flow_run_id == approval.flow_run_id
            held.append((lease.expires_at - lease.acquired_at).total_seconds())
        reject_command(USE_CASE, "checking the lease only", "bob", wait=0)

    approver = Approver(journey.store_url, respond).start()
    step = run_check(journey)
    approver.join()
    assert step.decision.kind == "rejected"
    assert held == [LEASE_SECONDS + APPROVAL_TIMEOUT]
