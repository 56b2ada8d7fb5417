"""Model retirements: a model's announced shutdown, noted once per configuration that runs on it,
and the golden set: the retiring model's outputs on the eval set, kept for its successor.

A notice is written in the same unit of work as the `held` decision that reports it, so a
watch that runs again finds it and records nothing twice. The first notice of a model and date,
whichever use case it is for, is the one whose `phasegate.model.retiring` event goes out.
"""

from sqlmodel import Session, col, select

from state import decisions, lookup
from state.domain.decisions import DecisionDraft
from state.domain.evals import EvalRun
from state.domain.retirements import GoldenSet, NoticeRecorded, Retirement, RetirementNotice
from state.models import GoldenSetRecord, ModelRetirementRecord


def record_retirement(
    notice: RetirementNotice, draft: DecisionDraft, *, session: Session
) -> NoticeRecorded:
    """Note the retirement and record its `held` decision, unless it was noted already."""
    same_date = select(ModelRetirementRecord).where(
        col(ModelRetirementRecord.model) == notice.model,
        col(ModelRetirementRecord.shutdown_date) == notice.shutdown_date,
    )
    seen = session.exec(same_date).all()
    if any(row.configuration_id == notice.configuration_id for row in seen):
        return NoticeRecorded(decision=None, first_for_model=False)
    row = lookup.use_case_row(session, notice.use_case)
    decision = decisions.record_decision(
        notice.use_case, draft, expected_version=row.version, session=session
    )
    session.add(
        ModelRetirementRecord(
            use_case_id=row.id,
            decision_id=decision.id,
            **notice.model_dump(exclude={"use_case"}),
        )
    )
    session.flush()
    return NoticeRecorded(decision=decision, first_for_model=not seen)


def list_retirements(use_case: str, *, session: Session) -> list[Retirement]:
    """The retirements noted for a use case, soonest shutdown first."""
    row = lookup.use_case_row(session, use_case)
    found = session.exec(
        select(ModelRetirementRecord)
        .where(col(ModelRetirementRecord.use_case_id) == row.id)
        .order_by(col(ModelRetirementRecord.shutdown_date), col(ModelRetirementRecord.id))
    ).all()
    return [Retirement(use_case=use_case, **r.model_dump(exclude={"use_case_id"})) for r in found]


def open_retirement(use_case: str, *, session: Session) -> Retirement | None:
    """The soonest retirement noted for the use case's active configuration, if any."""
    row = lookup.use_case_row(session, use_case)
    if row.active_configuration_id is None:
        return None
    found = list_retirements(use_case, session=session)
    return next((r for r in found if r.configuration_id == row.active_configuration_id), None)


def _golden(row: GoldenSetRecord, use_case: str) -> GoldenSet:
    return GoldenSet(use_case=use_case, **row.model_dump(exclude={"use_case_id"}))


def record_golden_set(use_case: str, run: EvalRun, model: str, *, session: Session) -> GoldenSet:
    """Keep a scored run's outputs as its configuration's golden set (the first one stays)."""
    row = lookup.use_case_row(session, use_case)
    found = session.exec(
        select(GoldenSetRecord).where(col(GoldenSetRecord.configuration_id) == run.configuration_id)
    ).first()
    if found is None:
        answered = [r for r in run.results if r.score is not None]
        found = GoldenSetRecord(
            use_case_id=row.id,
            configuration_id=run.configuration_id,
            model=model,
            eval_run_id=run.id,
            eval_set_hash=run.eval_set_hash,
            metric=run.metric,
            outputs={r.item_id: r.output for r in answered},
            scores={r.item_id: r.score for r in answered},
        )
        session.add(found)
        session.flush()
    return _golden(found, use_case)


def get_golden_set(use_case: str, configuration_id: int, *, session: Session) -> GoldenSet | None:
    """The golden set of a configuration, or None."""
    found = session.exec(
        select(GoldenSetRecord).where(col(GoldenSetRecord.configuration_id) == configuration_id)
    ).first()
    return _golden(found, use_case) if found else None
