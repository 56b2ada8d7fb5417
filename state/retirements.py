"""Model retirements: a model's announced shutdown, noted once per configuration that runs on it.

A notice is written in the same unit of work as the `held` decision that reports it, so a
watch that runs again finds it and records nothing twice. The first notice of a model and date,
whichever use case it is for, is the one whose `phasegate.model.retiring` event goes out.
"""

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict
from sqlmodel import Session, col, select

from state import lookup, store
from state.domain import Decision, DecisionDraft
from state.models import ModelRetirementRecord


class RetirementNotice(BaseModel):
    """A model of a use case's active configuration that shuts down within the horizon."""

    model_config = ConfigDict(frozen=True)

    use_case: str
    configuration_id: int
    model: str
    shutdown_date: date
    source: str
    days_left: int


class NoticeRecorded(BaseModel):
    """What recording a notice did: its decision (None if noted before), first for the model?"""

    model_config = ConfigDict(frozen=True)

    decision: Decision | None
    first_for_model: bool


class Retirement(RetirementNotice):
    """A stored notice."""

    id: int
    decision_id: int | None
    noticed_at: datetime


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
    decision = store.record_decision(
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
