"""A check paused for approval keeps its lease: its heartbeat renews it while it waits."""

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from phasegate.cli.phases import reject_command
from state.db import store_session
from state.domain import Approval
from state.leases import acquire_lease
from state.models import CheckLeaseRecord, utcnow
from state.settings import get_settings
from tests.flows.checks import Approver, run_check
from tests.flows.journey import USE_CASE, Journey, leases, wait_until

TTL = 3


def _age_the_lease(store_url: str) -> None:
    """Leave the lease as a pause of days would if nothing renewed it: taken 3 days ago."""
    with store_session(store_url) as session:
        row = session.exec(select(CheckLeaseRecord)).one()
        row.acquired_at = utcnow() - timedelta(days=3)
        row.renewed_at = row.expires_at = utcnow() - timedelta(days=1)
        session.add(row)


def _renewed_since(store_url: str, moment: datetime) -> bool:
    with store_session(store_url) as session:
        row = session.exec(select(CheckLeaseRecord)).one()
        return row.expires_at.replace(tzinfo=moment.tzinfo) > moment


@pytest.mark.prefect
def test_paused_check_renews_its_lease_and_keeps_other_checks_out(
    journey_from: Callable[..., Journey], monkeypatch: pytest.MonkeyPatch
) -> None:
    journey = journey_from("rag")
    monkeypatch.setenv("PHASEGATE_LEASE_TTL_SECONDS", str(TTL))
    get_settings.cache_clear()
    seen: dict[str, object] = {}

    def respond(approval: Approval) -> None:
        _age_the_lease(journey.store_url)
        now = utcnow()
        wait_until(lambda: _renewed_since(journey.store_url, now), 30, "a heartbeat while paused")
        with store_session(journey.store_url) as session:
            seen["other"] = acquire_lease(
                USE_CASE, "another-check", ttl_seconds=TTL, session=session
            )
        reject_command(USE_CASE, "checking the lease only", "bob", wait=0)

    approver = Approver(journey.store_url, respond).start()
    step = run_check(journey)
    approval = approver.join()
    assert step.decision.kind == "rejected"
    assert seen["other"].holder == approval.flow_run_id
    assert leases(journey.store_url) == []
