"""Store functions for use cases, configurations and decisions.

Every function takes the session as keyword-only `session=`, returns domain models and
never commits: `state.db.session_scope` is the unit of work.
"""

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from state import lookup
from state.canonical import content_hash
from state.convert import to_configuration, to_decision, to_use_case
from state.domain import (
    ApplyResult,
    Configuration,
    ConfigurationDraft,
    Decision,
    DecisionDraft,
    UseCase,
)
from state.errors import Conflict
from state.models import (
    ActivationRecord,
    ConfigurationRecord,
    DecisionRecord,
    GateResultRecord,
    UseCaseRecord,
    utcnow,
)
from state.spec import LoadedSpec


def apply_spec(loaded: LoadedSpec, *, session: Session) -> ApplyResult:
    """Register a use case or update its spec; unchanged specs write nothing."""
    spec, spec_hash = loaded.spec, loaded.spec.spec_hash()
    row = session.exec(select(UseCaseRecord).where(UseCaseRecord.name == spec.name)).first()
    if row is None:
        session.add(
            UseCaseRecord(
                name=spec.name,
                description=spec.description,
                spec_json=spec.canonical_json(),
                spec_hash=spec_hash,
                spec_path=str(loaded.path),
            )
        )
        session.flush()
        return ApplyResult(name=spec.name, outcome="created", spec_hash=spec_hash)
    if row.spec_hash == spec_hash and row.spec_path == str(loaded.path):
        return ApplyResult(name=spec.name, outcome="unchanged", spec_hash=spec_hash)
    row.description, row.spec_json, row.spec_hash = (
        spec.description,
        spec.canonical_json(),
        spec_hash,
    )
    row.spec_path, row.updated_at, row.version = (
        str(loaded.path),
        utcnow(),
        row.version + 1,
    )
    session.add(row)
    session.flush()
    return ApplyResult(name=spec.name, outcome="updated", spec_hash=spec_hash)


def get_use_case(name: str, *, session: Session) -> UseCase | None:
    """The use case called `name`, or None."""
    row = session.exec(select(UseCaseRecord).where(UseCaseRecord.name == name)).first()
    return to_use_case(row) if row else None


def require_use_case(name: str, *, session: Session) -> UseCase:
    """The use case called `name`; raises NotFound."""
    return to_use_case(lookup.use_case_row(session, name))


def list_use_cases(*, session: Session) -> list[UseCase]:
    """Every registered use case, by name."""
    rows = session.exec(select(UseCaseRecord).order_by(UseCaseRecord.name)).all()
    return [to_use_case(row) for row in rows]


def _content_hash(draft: ConfigurationDraft) -> str:
    data = draft.model_dump(mode="json")
    # Fields added later count only when set, so stored configurations keep their hash.
    for name in ("generation", "answers"):
        if data[name] is None:
            del data[name]
    return content_hash(data)


def save_configuration(
    use_case: str, draft: ConfigurationDraft, *, session: Session
) -> Configuration:
    """Store a configuration, or return the stored one with the same content."""
    use_case_id = lookup.use_case_id(session, use_case)
    content_hash = _content_hash(draft)
    row = session.exec(
        select(ConfigurationRecord).where(
            ConfigurationRecord.use_case_id == use_case_id,
            ConfigurationRecord.content_hash == content_hash,
        )
    ).first()
    if row is None:
        row = ConfigurationRecord(
            use_case_id=use_case_id, content_hash=content_hash, **draft.model_dump()
        )
        session.add(row)
        session.flush()
    return to_configuration(row)


def get_configuration(configuration_id: int, *, session: Session) -> Configuration | None:
    """The configuration with this id, or None."""
    row = session.get(ConfigurationRecord, configuration_id)
    return to_configuration(row) if row else None


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
                f"use case {use_case!r} changed while this check ran (expected version "
                f"{expected_version}); nothing was recorded — run the check again"
            )
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


def active_configuration_at(
    use_case: str, moment: datetime, *, session: Session
) -> Configuration | None:
    """The configuration that was active for a use case at `moment`, or None."""
    row = lookup.use_case_row(session, use_case)
    activation = session.exec(
        select(ActivationRecord)
        .where(
            ActivationRecord.use_case_id == row.id,
            ActivationRecord.started_at <= moment,
        )
        .order_by(col(ActivationRecord.started_at).desc(), col(ActivationRecord.id).desc())
    ).first()
    if activation is None or activation.configuration_id is None:
        return None
    return get_configuration(activation.configuration_id, session=session)
