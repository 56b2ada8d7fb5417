"""A check that lost its lease decides nothing, and an answer to its approval is refused."""

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from state import check_units, decisions, leases, use_cases
from state.approvals import latest_approval, request_approval
from state.db import session_scope
from state.domain import DecisionDraft
from state.errors import ApprovalError, LeaseLost
from state.models import utcnow
from state.phases import DecisionKind, Phase

TTL = 60.0
RUN, OTHER = "run-paused", "run-next"


def _take(engine: Engine, run: str) -> None:
    with session_scope(engine) as session:
        assert leases.acquire_lease("demo-qa", run, ttl_seconds=TTL, session=session).holder is None


def _break(engine: Engine) -> None:
    with session_scope(engine) as session:
        leases.break_lease("demo-qa", broken_by="ops", reason="stuck pod", session=session)


def _record(engine: Engine, holder: str | None) -> None:
    draft = DecisionDraft(kind=DecisionKind.SKIPPED, to_phase=Phase.RAG, flow_run_id=RUN)
    with session_scope(engine) as session:
        version = use_cases.require_use_case("demo-qa", session=session).version
        check_units.record_check(
            "demo-qa",
            draft,
            expected_version=version,
            approval_status=None,
            lease_holder=holder,
            session=session,
        )


def _decisions(engine: Engine) -> int:
    with session_scope(engine) as session:
        return len(decisions.list_decisions("demo-qa", session=session))


def _ask(engine: Engine) -> None:
    with session_scope(engine) as session:
        request_approval(
            "demo-qa",
            RUN,
            to_phase=Phase.RAG,
            candidate_configuration_id=None,
            expires_at=utcnow() + timedelta(hours=1),
            session=session,
        )


def test_record_check_by_the_holder_records(use_case: str, engine: Engine) -> None:
    _take(engine, RUN)
    _record(engine, RUN)
    assert _decisions(engine) == 1


def test_record_check_after_a_break_raises_lease_lost_and_records_nothing(
    use_case: str, engine: Engine
) -> None:
    _take(engine, RUN)
    _break(engine)
    with pytest.raises(LeaseLost, match=r"^flow run run-paused no longer holds use case demo-qa: "):
        _record(engine, RUN)
    with pytest.raises(LeaseLost, match=r"its lease was broken by ops at .* UTC \(stuck pod\)$"):
        _record(engine, RUN)
    assert _decisions(engine) == 0


def test_record_check_after_a_takeover_names_the_new_holder(use_case: str, engine: Engine) -> None:
    _take(engine, RUN)
    _break(engine)
    _take(engine, OTHER)
    with pytest.raises(LeaseLost, match=r"its lease was broken by ops"):
        _record(engine, RUN)
    with session_scope(engine) as session:
        leases.release_lease("demo-qa", OTHER, session=session)
        leases.acquire_lease("demo-qa", "run-third", ttl_seconds=TTL, session=session)
    with pytest.raises(LeaseLost, match=r"its lease was broken by ops"):
        _record(engine, RUN)
    assert _decisions(engine) == 0


def test_record_check_of_a_holder_never_broken_names_who_took_over(
    use_case: str, engine: Engine
) -> None:
    _take(engine, OTHER)
    with pytest.raises(LeaseLost, match=r"its lease was taken over by flow run run-next$"):
        _record(engine, RUN)


def test_approval_to_answer_refuses_a_check_whose_lease_was_broken(
    use_case: str, engine: Engine
) -> None:
    _take(engine, RUN)
    _ask(engine)
    with session_scope(engine) as session:
        assert check_units.approval_to_answer("demo-qa", session=session).flow_run_id == RUN
    _break(engine)
    with pytest.raises(ApprovalError, match=r"no longer holds use case demo-qa: .*stuck pod"):
        with session_scope(engine) as session:
            check_units.approval_to_answer("demo-qa", session=session)


def test_approval_to_answer_refuses_a_cancelled_approval_saying_why(
    use_case: str, engine: Engine
) -> None:
    _take(engine, RUN)
    _ask(engine)
    with session_scope(engine) as session:
        assert check_units.cancel_approval(RUN, "its lease was broken", session=session)
        assert not check_units.cancel_approval(RUN, "again", session=session)
        assert latest_approval("demo-qa", session=session).status == "cancelled"
    with pytest.raises(ApprovalError, match=r"^its lease was broken; an answer would decide"):
        with session_scope(engine) as session:
            check_units.approval_to_answer("demo-qa", session=session)
