"""Store functions for decisions: record one with its phase change, read them back."""

from sqlalchemy import update
from sqlmodel import Session, col, select

from state import lookup
from state.convert import to_decision
from state.domain.decisions import Decision, DecisionDraft
from state.errors import Conflict
from state.models import (
    ActivationRecord,
    DecisionRecord,
    GateResultRecord,
    UseCaseRecord,
    utcnow,
)


def get_decision_by_run(flow_run_id: str, *, session: Session) -> Decision | None:
    """The decision a flow run recorded, or None."""
    row = session.exec(
        select(DecisionRecord).where(DecisionRecord.flow_run_id == flow_run_id)
    ).first()
    return _decision(session, row) if row else None


def _decision(session: Session, row: DecisionRecord) -> Decision:
    gates = session.exec(
        select(GateResultRecord)
        .where(GateResultRecord.decision_id == row.id)
        .order_by(GateResultRecord.id)
    ).all()
    name = session.get(UseCaseRecord, row.use_case_id).name
    return to_decision(row, name, list(gates))


def record_decision(
    use_case: str, draft: DecisionDraft, *, expected_version: int, session: Session
) -> Decision:
    """Append a decision and apply its phase change in the same unit of work.

    Idempotent per flow run: a second call with the same `flow_run_id` returns the first
    decision. A decision that changes the active configuration is guarded by optimistic
    concurrency: if the use case changed since `expected_version` was read, it raises
    Conflict and writes nothing. Other decisions (held, skipped, ...) change nothing and
    are appended as they come.
    """
    if draft.flow_run_id and (done := get_decision_by_run(draft.flow_run_id, session=session)):
        return done
    row = lookup.use_case_row(session, use_case)
    from_phase = row.active_phase
    if draft.changes_activation:
        _activate(row, draft, expected_version=expected_version, session=session)
    decision = DecisionRecord(
        use_case_id=row.id,
        kind=draft.kind,
        from_phase=from_phase,
        to_phase=draft.to_phase,
        configuration_id=draft.configuration_id,
        candidate_configuration_id=draft.candidate_configuration_id,
        spec_hash=row.spec_hash,
        decided_by=draft.decided_by,
        reason=draft.reason,
        flow_run_id=draft.flow_run_id,
        eval_run_ids=list(draft.eval_run_ids),
    )
    session.add(decision)
    session.flush()
    for gate in draft.gate_results:
        session.add(GateResultRecord(decision_id=decision.id, **gate.model_dump(mode="json")))
    if draft.changes_activation:
        session.add(
            ActivationRecord(
                use_case_id=row.id,
                configuration_id=draft.configuration_id,
                phase=draft.to_phase,
                decision_id=decision.id,
                started_at=decision.created_at,
            )
        )
    session.flush()
    session.refresh(row)
    return _decision(session, decision)


def _activate(
    row: UseCaseRecord, draft: DecisionDraft, *, expected_version: int, session: Session
) -> None:
    """Make the draft's configuration active unless the use case changed since it was read."""
    result = session.execute(
        update(UseCaseRecord)
        .where(col(UseCaseRecord.id) == row.id, col(UseCaseRecord.version) == expected_version)
        .values(
            version=UseCaseRecord.version + 1,
            updated_at=utcnow(),
            active_phase=draft.to_phase,
            active_configuration_id=draft.configuration_id,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(
            f"use case {row.name!r} changed while this check ran (expected version "
            f"{expected_version}); nothing was recorded — run the check again"
        )


def list_decisions(use_case: str, *, session: Session, limit: int | None = None) -> list[Decision]:
    """Decisions of a use case, oldest first (the last `limit` when given)."""
    row = lookup.use_case_row(session, use_case)
    query = (
        select(DecisionRecord)
        .where(DecisionRecord.use_case_id == row.id)
        .order_by(col(DecisionRecord.id).desc())
    )
    if limit:
        query = query.limit(limit)
    return [_decision(session, d) for d in reversed(session.exec(query).all())]
