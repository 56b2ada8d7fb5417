"""Store functions for usage: daily query counts per use case and source."""

from collections.abc import Sequence
from datetime import date
from functools import cache

from sqlalchemy import Insert, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from state import lookup
from state.domain.intake import UsageCount
from state.errors import NotFound
from state.models import UsageRecord, UseCaseRecord
from state.volume_window import window_start


def record_usage_many(counts: Sequence[UsageCount], *, session: Session) -> int:
    """Set many counts in one statement; an unknown use case raises NotFound, writing nothing."""
    (result,) = record_usage_reports([counts], session=session)
    if isinstance(result, NotFound):
        raise result
    return result


def record_usage_reports(
    reports: Sequence[Sequence[UsageCount]], *, session: Session
) -> list[int | NotFound]:
    """Set the counts of several reports in one statement; a later report wins a shared key.

    Each report is answered on its own: the number of counts it set, or NotFound (and nothing
    of it written) when it names an unknown use case.
    """
    names = {c.use_case for counts in reports for c in counts}
    ids = dict(
        session.exec(
            select(UseCaseRecord.name, UseCaseRecord.id).where(col(UseCaseRecord.name).in_(names))
        ).all()
    )
    results: list[int | NotFound] = []
    rows: dict[tuple[int, date, str], dict] = {}
    for counts in reports:
        if unknown := sorted({c.use_case for c in counts} - ids.keys()):
            results.append(lookup.unknown_use_case(unknown[0]))
            continue
        for c in counts:
            key = (ids[c.use_case], c.day, c.source)
            rows.pop(key, None)  # re-inserted last: the later report's count is the one kept
            rows[key] = {"use_case_id": key[0], "day": c.day, "source": c.source, "count": c.count}
        results.append(len(counts))
    if rows:
        session.execute(_upsert(session.get_bind().dialect.name), list(rows.values()))
    return results


@cache
def _upsert(dialect: str) -> Insert:
    """The statement that inserts usage rows or replaces the count of an existing key."""
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(UsageRecord)
    return statement.on_conflict_do_update(
        index_elements=["use_case_id", "day", "source"], set_={"count": statement.excluded.count}
    )


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
            col(UsageRecord.day).between(window_start(today), today),
        )
    ).one()
    return int(total)


def volumes(*, today: date, session: Session) -> dict[str, int]:
    """30-day queries of every use case (0 for use cases with no usage)."""
    totals = (
        select(UsageRecord.use_case_id, func.sum(UsageRecord.count).label("total"))
        .where(col(UsageRecord.day).between(window_start(today), today))
        .group_by(UsageRecord.use_case_id)
        .subquery()
    )
    rows = session.exec(
        select(UseCaseRecord.name, func.coalesce(totals.c.total, 0)).outerjoin(
            totals, totals.c.use_case_id == UseCaseRecord.id
        )
    ).all()
    return {name: int(total) for name, total in rows}
