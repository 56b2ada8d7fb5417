"""Approvals of a paused check: rejected, refused when malformed, expired, swept."""

import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from flows.sweep import expire_stale_approvals
from state.approvals import pending_approvals, request_approval
from state.db import store_session
from state.decisions import list_decisions
from state.errors import ApprovalError
from state.models import utcnow
from state.phases import Phase
from state.settings import get_settings
from state.use_cases import require_use_case
from tasks.approvals import give_answer
from tests.flows.checks import JourneyRecord, Step, run_check, start_from
from tests.flows.journey import (
    USE_CASE,
    Journey,
    approval_row,
    copy_use_cases,
    flow_run_state,
    register,
)
from tests.flows.rejection import APPROVERS, REFUSED, REJECTER, WHY_REFUSED, Rejection
from tests.flows.stores import Stores


@dataclass(frozen=True)
class Expiry:
    """A check whose approval window (2 s) closed with no answer."""

    journey: Journey
    step: Step
    swept: int


@pytest.fixture(name="expiry", scope="module")
def expiry_fixture(
    journey_record: JourneyRecord, stores: Stores, tmp_path_factory: pytest.TempPathFactory
) -> Expiry:
    """Run the rag → fine_tuning check with a 2-second approval window and no answer."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        journey = start_from(
            journey_record,
            stores,
            "rag",
            monkeypatch,
            tmp_path_factory.mktemp("expiry"),
            approval={"timeout_seconds": 2},
        )
        step = run_check(journey)
    get_settings.cache_clear()
    return Expiry(journey, step, expire_stale_approvals(journey.store_url))


@pytest.mark.prefect
def test_reject_records_rejected_and_keeps_the_phase(
    rejection: Rejection, journey_record: JourneyRecord
) -> None:
    step, before = rejection.step, journey_record.steps["rag"]
    assert (step.state.name, step.decision.kind) == ("Rejected", "rejected")
    assert (step.decision.from_phase, step.decision.to_phase) == ("rag", "fine_tuning")
    assert (step.decision.decided_by, step.decision.reason) == (
        REJECTER["approver"],
        REJECTER["reason"],
    )
    last = step.decision.gate_results[-1]
    assert (last.check, last.status, last.observed) == ("approval", "fail", "bob")
    assert step.use_case.active_phase == "rag"
    assert step.active == before.active
    # The allow-list re-applied the spec (one version up); rejecting changes nothing more.
    assert step.use_case.version == rejection.version_before == before.use_case.version + 1


@pytest.mark.prefect
def test_reject_closes_the_approval_request_as_rejected(rejection: Rejection) -> None:
    row = approval_row(rejection.journey.store_url, rejection.step.flow_run_id)
    assert (row["status"], row["approver"], row["reason"]) == (
        "rejected",
        REJECTER["approver"],
        REJECTER["reason"],
    )


@pytest.mark.prefect
def test_give_answer_with_empty_reason_raises_approval_error_naming_the_field(
    rejection: Rejection,
) -> None:
    assert rejection.empty_reason is not None
    assert str(rejection.empty_reason).startswith("reason: String should have at least 1")


@pytest.mark.prefect
def test_resume_with_wrong_type_is_refused_and_the_run_stays_paused(
    rejection: Rejection,
) -> None:
    assert rejection.wrong_type["status"] == "REJECT"
    assert "perhaps" in rejection.wrong_type["details"]["reason"]
    assert rejection.paused_after_bad_answers


@pytest.mark.prefect
def test_the_form_requires_a_reason_and_an_approver_and_describes_each_field(
    rejection: Rejection,
) -> None:
    schema = rejection.form_schema
    assert sorted(schema["required"]) == ["approver", "reason"]
    fields = schema["properties"]
    assert set(fields) == {"approve", "reason", "approver"}
    assert all(field.get("description") for field in fields.values()), fields
    assert "default" not in fields["reason"] and "default" not in fields["approver"]
    assert fields["approver"]["enum"] == APPROVERS
    assert "ana, bob" in fields["approver"]["description"]


@pytest.mark.prefect
@pytest.mark.parametrize("label", REFUSED)
def test_the_server_refuses_an_incomplete_or_unlisted_answer(
    rejection: Rejection, label: str
) -> None:
    answer = rejection.refused[label]
    assert answer["status"] == "REJECT", answer
    assert answer["state"]["type"] == "PAUSED"
    assert WHY_REFUSED[label] in answer["details"]["reason"], answer


@pytest.mark.prefect
def test_give_answer_with_an_unknown_approver_raises_approval_error(
    rejection: Rejection,
) -> None:
    error = rejection.unknown_from_cli
    assert error is not None
    assert "refused the answer" in str(error) and "'eve' is not one of" in str(error)


@pytest.mark.prefect
def test_bad_answers_write_nothing(rejection: Rejection) -> None:
    row = rejection.approval_while_paused
    assert rejection.decision_while_paused is None
    assert (row["status"], row["approver"], row["decided_at"]) == ("pending", None, None)


@pytest.mark.prefect
def test_expired_approval_ends_the_run_completed_expired(expiry: Expiry) -> None:
    assert (expiry.step.state.is_completed(), expiry.step.state.name) == (True, "Expired")
    server = flow_run_state(expiry.step.flow_run_id)
    assert (server.is_completed(), server.name) == (True, "Expired")


@pytest.mark.prefect
def test_expired_approval_records_expired_and_keeps_the_phase(
    expiry: Expiry, journey_record: JourneyRecord
) -> None:
    step, before = expiry.step, journey_record.steps["rag"]
    assert (step.decision.kind, step.decision.decided_by) == ("expired", "timeout")
    assert (step.decision.from_phase, step.decision.to_phase) == ("rag", "fine_tuning")
    assert step.decision.reason.startswith("approval expired: no answer within 2 s")
    assert (step.use_case.active_phase, step.active) == ("rag", before.active)
    row = approval_row(expiry.journey.store_url, step.flow_run_id)
    assert (row["status"], row["approver"]) == ("expired", "timeout")


@pytest.mark.prefect
def test_expired_approval_leaves_nothing_for_the_sweeper(expiry: Expiry) -> None:
    with store_session(expiry.journey.store_url) as session:
        kinds = [d.kind for d in list_decisions(USE_CASE, session=session)]
    assert expiry.swept == 0
    assert kinds == ["baselined", "advanced", "expired"]


def test_expire_stale_approvals_records_one_expired_decision_per_dead_check(
    store_url: str, tmp_path: Path
) -> None:
    register(store_url, copy_use_cases(tmp_path / "usecases"))
    dead, waiting = str(uuid.uuid4()), str(uuid.uuid4())
    with store_session(store_url) as session:
        for run, expires in ((dead, -60), (waiting, 3600)):
            request_approval(
                USE_CASE,
                run,
                to_phase=Phase.RAG,
                candidate_configuration_id=None,
                expires_at=utcnow() + timedelta(seconds=expires),
                session=session,
            )
    assert expire_stale_approvals(store_url) == 1
    assert expire_stale_approvals(store_url) == 0
    with store_session(store_url) as session:
        decisions = list_decisions(USE_CASE, session=session)
        pending = pending_approvals(session=session)
        use_case = require_use_case(USE_CASE, session=session)
    assert [(d.kind, d.flow_run_id, d.decided_by, d.to_phase) for d in decisions] == [
        ("expired", dead, "timeout", "rag")
    ]
    assert [a.flow_run_id for a in pending] == [waiting]
    assert (use_case.active_phase, use_case.version) == ("prompting", 1)


@pytest.mark.prefect
def test_give_answer_to_a_finished_run_raises_approval_error(
    journey_record: JourneyRecord,
) -> None:
    finished = journey_record.steps["baselined"].flow_run_id
    with pytest.raises(ApprovalError, match=f"flow run {finished} is not waiting for approval"):
        give_answer(finished, approve=True, reason="late", approver="ana")


@pytest.mark.prefect
def test_give_answer_to_an_unknown_run_raises_approval_error(flows_api: None) -> None:
    unknown = str(uuid.uuid4())
    with pytest.raises(ApprovalError, match=f"flow run {unknown} is not waiting for approval"):
        give_answer(unknown, approve=False, reason="no", approver="ana")
