"""Store functions for approvals: a pending request per paused check, and its answer."""

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from state import lookup
from state.convert import aware
from state.domain.decisions import Approval, ApprovalStatus
from state.errors import ApprovalError
from state.models import ApprovalRecord, UseCaseRecord, utcnow
from state.phases import Phase


def _approval(row: ApprovalRecord, name: str) -> Approval:
    return Approval(
        id=row.id,
        use_case=name,
        flow_run_id=row.flow_run_id,
        status=row.status,
        to_phase=row.to_phase,
        candidate_configuration_id=row.candidate_configuration_id,
        requested_at=aware(row.requested_at),
        expires_at=aware(row.expires_at),
        approver=row.approver,
        reason=row.reason,
        decided_at=aware(row.decided_at) if row.decided_at else None,
    )


def request_approval(
    use_case: str,
    flow_run_id: str,
    *,
    to_phase: Phase,
    candidate_configuration_id: int | None,
    expires_at: datetime,
    session: Session,
) -> Approval:
    """Record that a check waits for a person; idempotent per flow run."""
    existing = session.exec(
        select(ApprovalRecord).where(ApprovalRecord.flow_run_id == flow_run_id)
    ).first()
    if existing is None:
        existing = ApprovalRecord(
            use_case_id=lookup.use_case_id(session, use_case),
            flow_run_id=flow_run_id,
            to_phase=to_phase,
            candidate_configuration_id=candidate_configuration_id,
            expires_at=expires_at,
        )
        session.add(existing)
        session.flush()
    return _approval(existing, use_case)


def pending_approvals(*, session: Session, use_case: str | None = None) -> list[Approval]:
    """Approvals still waiting for an answer, oldest first."""
    query = (
        select(ApprovalRecord, UseCaseRecord.name)
        .join(UseCaseRecord, col(UseCaseRecord.id) == ApprovalRecord.use_case_id)
        .where(ApprovalRecord.status == "pending")
        .order_by(col(ApprovalRecord.requested_at))
    )
    if use_case is not None:
        query = query.where(UseCaseRecord.name == use_case)
    return [_approval(row, name) for row, name in session.exec(query).all()]


def resolve_approval(
    flow_run_id: str,
    status: ApprovalStatus,
    *,
    approver: str | None,
    reason: str | None,
    session: Session,
) -> Approval:
    """Answer a pending approval once; answering it again raises ApprovalError."""
    result = session.execute(
        update(ApprovalRecord)
        .where(col(ApprovalRecord.flow_run_id) == flow_run_id, ApprovalRecord.status == "pending")
        .values(status=status, approver=approver, reason=reason, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    row = session.exec(
        select(ApprovalRecord).where(ApprovalRecord.flow_run_id == flow_run_id)
    ).first()
    if row is None:
        raise ApprovalError(f"no approval was requested by flow run {flow_run_id}")
    if result.rowcount != 1:
        raise ApprovalError(f"the approval of flow run {flow_run_id} is already {row.status}")
    session.refresh(row)
    return _approval(row, session.get(UseCaseRecord, row.use_case_id).name)


def expired_approvals(*, now: datetime | None = None, session: Session) -> list[Approval]:
    """Pending approvals whose time is up (their check may have died while paused)."""
    moment = now or utcnow()
    return [a for a in pending_approvals(session=session) if a.expires_at <= moment]


def latest_approval(use_case: str, *, session: Session) -> Approval | None:
    """The approval a check of `use_case` asked for last, answered or not, or None."""
    row = session.exec(
        select(ApprovalRecord)
        .where(ApprovalRecord.use_case_id == lookup.use_case_id(session, use_case))
        .order_by(col(ApprovalRecord.requested_at).desc(), col(ApprovalRecord.id).desc())
    ).first()
    return _approval(row, use_case) if row else None
