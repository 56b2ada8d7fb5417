"""Store functions for usage: daily query counts per use case and source."""

from collections.abc import Sequence
from datetime import date, timedelta
from typing import NamedTuple

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from state import lookup
from state.models import UsageRecord, UseCaseRecord

WINDOW_DAYS = 30


class UsageCount(NamedTuple):
    """The queries one source reported for one use case on one day."""

    use_case: str
    day: date
    count: int
    source: str = "default"


def record_usage(
    use_case: str, day: date, count: int, *, source: str = "default", session: Session
) -> None:
    """Set the count of one (use case, day, source); reporting it again replaces it."""
    record_usage_many([UsageCount(use_case, day, count, source)], session=session)


def record_usage_many(counts: Sequence[UsageCount], *, session: Session) -> int:
    """Set many counts in one statement; an unknown use case raises NotFound, writing nothing."""
    names = {c.use_case for c in counts}
    ids = dict(
        session.exec(
            select(UseCaseRecord.name, UseCaseRecord.id).where(col(UseCaseRecord.name).in_(names))
        ).all()
    )
    if unknown := sorted(names - ids.keys()):
        raise lookup.unknown_use_case(unknown[0])
    if not counts:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(UsageRecord)
    statement = statement.on_conflict_do_update(
        index_elements=["use_case_id", "day", "source"], set_={"count": statement.excluded.count}
    )
    rows = [
        {"use_case_id": ids[c.use_case], "day": c.day, "source": c.source, "count": c.count}
        for c in counts
    ]
    session.execute(statement, rows)
    return len(rows)


def _window_start(today: date) -> date:
    return today - timedelta(days=WINDOW_DAYS - 1)


def volume(use_case: str, *, today: date, session: Session) -> int:
    """Queries of a use case in the 30 days ending `today`."""
    use_case_id = session.exec(
        select(UseCaseRecord.id).where(UseCaseRecord.name == use_case)
    ).first()
    if use_case_id is None:
        raise lookup.unknown_use_case(use_case)
    total = session.exec(
        select(func.coalesce(func.sum(UsageRecord.count), 0)).where(
            UsageRecord.use_case_id == use_case_id,
            col(UsageRecord.day).between(_window_start(today), today),
        )
    ).one()
    return int(total)


def volumes(*, today: date, session: Session) -> dict[str, int]:
    """30-day queries of every use case (0 for use cases with no usage)."""
    totals = (
        select(UsageRecord.use_case_id, func.sum(UsageRecord.count).label("total"))
        .where(col(UsageRecord.day).between(_window_start(today), today))
        .group_by(UsageRecord.use_case_id)
        .subquery()
    )
    rows = session.exec(
        select(UseCaseRecord.name, func.coalesce(totals.c.total, 0)).outerjoin(
            totals, totals.c.use_case_id == UseCaseRecord.id
        )
    ).all()
    return {name: int(total) for name, total in rows}
