"""Being told: one `approval.requested` per paused check, one `decision.recorded` per decision.

The rejection shared with test_approvals (tests/flows/rejection.py: a check paused with a
1-second poll, sent six refused answers, then rejected) is read back from Prefect's events.
"""

import time

import pytest
from prefect import get_client
from prefect.events import Event
from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter
from prefect.events.worker import EventsWorker
from prefect.settings import PREFECT_UI_URL

from tasks.events import APPROVAL_REQUESTED, DECISION_RECORDED, event_id
from tests.flows.rejection import Rejection

pytestmark = pytest.mark.prefect
EVENT_TIMEOUT = 30


def _events_of(run_id: str, name: str) -> list[Event]:
    """The events `name` related to a flow run, once the server has stored one."""
    EventsWorker.drain_all(timeout=5)
    event_filter = EventFilter(
        event=EventNameFilter(name=[name]),
        related=EventRelatedFilter(id=[f"prefect.flow-run.{run_id}"]),
    )
    deadline = time.monotonic() + EVENT_TIMEOUT
    with get_client(sync_client=True) as client:
        while True:
            events = client.read_events(filter=event_filter, limit=50).events
            if events or time.monotonic() > deadline:
                return events
            time.sleep(0.2)


def test_paused_check_emits_one_approval_request_with_the_move_and_its_link(
    rejection: Rejection,
) -> None:
    run_id = rejection.step.flow_run_id
    events = _events_of(run_id, APPROVAL_REQUESTED)
    assert len(events) == 1
    event = events[0]
    assert event.resource.id == "phasegate.usecase.support-qa"
    assert event.payload["use_case"] == "support-qa"
    assert event.payload["move"] == "rag→fine_tuning"
    assert event.payload["approvers"] == ["ana", "bob"]
    assert event.payload["url"] == f"{PREFECT_UI_URL.value()}/runs/flow-run/{run_id}"
    assert event.id == event_id(APPROVAL_REQUESTED, f"{run_id}/approval")


def test_answered_check_emits_one_decision_recorded_with_who_decided(
    rejection: Rejection,
) -> None:
    run_id = rejection.step.flow_run_id
    events = _events_of(run_id, DECISION_RECORDED)
    assert len(events) == 1
    payload = events[0].payload
    assert payload["decision_id"] == rejection.step.decision.id
    assert (payload["decision"], payload["decided_by"]) == ("rejected", "bob")
    assert (payload["from_phase"], payload["to_phase"]) == ("rag", "fine_tuning")
    assert payload["url"].endswith(f"/runs/flow-run/{run_id}")
