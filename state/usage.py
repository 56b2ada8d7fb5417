"""Store functions for usage: daily query counts per use case and source."""

from datetime import date, timedelta

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from state.errors import NotFound
from state.models import UsageRecord, UseCaseRecord

WINDOW_DAYS = 30


def _use_case_id(session: Session, name: str) -> int:
    use_case_id = session.exec(
        select(UseCaseRecord.id).where(UseCaseRecord.name == name)
    ).first()
    if use_case_id is None:
        raise NotFound(
            f"unknown use case: {name!r} (register it with `phasegate apply`)"
        )
    return use_case_id


def record_usage(
    use_case: str, day: date, count: int, *, source: str = "default", session: Session
) -> None:
    """Set the count of one (use case, day, source); reporting it again replaces it."""
    values = {
        "use_case_id": _use_case_id(session, use_case),
        "day": day,
        "source": source,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(UsageRecord).values(count=count, **values)
    statement = statement.on_conflict_do_update(
        index_elements=["use_case_id", "day", "source"], set_={"count": count}
    )
    session.execute(statement)


def _window_start(today: date) -> date:
    return today - timedelta(days=WINDOW_DAYS - 1)


def volume(use_case: str, *, today: date, session: Session) -> int:
    """Queries of a use case in the 30 days ending `today`."""
    total = session.exec(
        select(func.coalesce(func.sum(UsageRecord.count), 0)).where(
            UsageRecord.use_case_id == _use_case_id(session, use_case),
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
