"""A paused check whose lease an operator broke decides nothing: the CLI refuses to answer
it, an answer through the Prefect API (as the UI form sends it) ends it Cancelled, saying why,
and the history gains no decision — on SQLite and PostgreSQL.
"""

from collections.abc import Callable
from typing import Any

import pytest

from flows.sweep import expire_stale_approvals
from phasegate.cli.lease import lease_break
from phasegate.cli.phases import approve_command
from state.db import store_session
from state.decisions import list_decisions
from state.domain import Approval
from state.errors import ApprovalError
from state.settings import get_settings
from tasks.approvals import give_answer
from tests.flows.checks import Approver, run_check
from tests.flows.journey import USE_CASE, Journey, approval_row, leases

TTL = 3  # a heartbeat each second: the holder may see the break itself, or the store tells it


def _decisions(store_url: str) -> list[int]:
    with store_session(store_url) as session:
        return [d.id for d in list_decisions(USE_CASE, session=session)]


@pytest.mark.prefect
def test_check_whose_lease_was_broken_while_paused_records_nothing_and_ends_cancelled(
    journey_from: Callable[..., Journey], monkeypatch: pytest.MonkeyPatch
) -> None:
    journey = journey_from("rag")
    monkeypatch.setenv("PHASEGATE_LEASE_TTL_SECONDS", str(TTL))
    get_settings.cache_clear()
    before = _decisions(journey.store_url)
    seen: dict[str, Any] = {}

    def respond(approval: Approval) -> None:
        lease_break(USE_CASE, reason="pod looks stuck", by="ops", as_json=False)
        try:
            approve_command(USE_CASE, "looks good", "bob", wait=0)
        except ApprovalError as exc:
            seen["cli"] = exc
        give_answer(approval.flow_run_id, approve=True, reason="looks good", approver="bob")

    approver = Approver(journey.store_url, respond).start()
    step = run_check(journey)
    approval = approver.join()

    assert "no longer holds use case support-qa: its lease was broken by ops" in str(seen["cli"])
    assert (step.state.type.value, step.decision) == ("CANCELLED", None)
    assert "its lease was broken by ops at " in step.state.message
    assert step.state.message.endswith("(pod looks stuck); nothing recorded")
    assert _decisions(journey.store_url) == before
    assert approval_row(journey.store_url, approval.flow_run_id)["status"] == "cancelled"
    assert expire_stale_approvals(journey.store_url) == 0
    assert leases(journey.store_url) == []
