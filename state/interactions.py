"""Store functions for interactions: production inputs with outputs, labels and ratings."""

from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from state import lookup
from state.convert import aware
from state.domain.intake import Interaction, NewInteraction, Observation
from state.models import InteractionRecord, utcnow

# Rows per INSERT statement: far below SQLite's 32,766 bound parameters at 6 columns a row.
BATCH_ROWS = 500


def record_interactions(
    use_case: str, records: list[NewInteraction], *, session: Session
) -> tuple[int, int]:
    """Store new interactions; returns (inserted, duplicates).

    A client id already stored for the use case, or repeated within `records`, is a duplicate
    and changes nothing (the first report wins), so an application may resend a batch safely.
    """
    use_case_id = lookup.use_case_id(session, use_case)
    first: dict[str, NewInteraction] = {}
    for record in records:
        first.setdefault(record.client_id, record)
    now = utcnow()
    rows = [
        {"use_case_id": use_case_id, "created_at": now, **r.model_dump()} for r in first.values()
    ]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    inserted = 0
    for start in range(0, len(rows), BATCH_ROWS):
        # ON CONFLICT keeps a concurrent writer of the same client id from failing the batch.
        statement = (
            insert(InteractionRecord)
            .values(rows[start : start + BATCH_ROWS])
            .on_conflict_do_nothing(index_elements=["use_case_id", "client_id"])
            .returning(InteractionRecord.id)
        )
        # Count returned ids: psycopg reports no rowcount for a multi-row INSERT.
        inserted += len(session.execute(statement).all())
    return inserted, len(records) - inserted


def list_labelled_interactions(
    use_case: str,
    *,
    since: datetime | None = None,
    limit: int | None = None,
    session: Session,
) -> list[Interaction]:
    """Labelled interactions of a use case, oldest first (the latest `limit` when given)."""
    query = (
        select(InteractionRecord)
        .where(
            InteractionRecord.use_case_id == lookup.use_case_id(session, use_case),
            col(InteractionRecord.label).is_not(None),
        )
        .order_by(col(InteractionRecord.id).desc())
    )
    if since is not None:
        query = query.where(InteractionRecord.created_at >= since.astimezone(UTC))
    if limit is not None:
        query = query.limit(limit)
    return [
        Interaction(
            id=row.id,
            use_case=use_case,
            client_id=row.client_id,
            input=row.input,
            output=row.output,
            label=row.label,
            rating=row.rating,
            configuration_id=row.configuration_id,
            latency_ms=row.latency_ms,
            error=row.error,
            created_at=aware(row.created_at),
        )
        for row in reversed(session.exec(query).all())
    ]


def observations(
    use_case: str, configuration_ids: list[int], *, since: datetime, session: Session
) -> list[Observation]:
    """Interactions served by these configurations and received since `since`, oldest first."""
    query = (
        select(
            InteractionRecord.configuration_id,
            InteractionRecord.output,
            InteractionRecord.label,
            InteractionRecord.rating,
            InteractionRecord.latency_ms,
            InteractionRecord.error,
        )
        .where(
            InteractionRecord.use_case_id == lookup.use_case_id(session, use_case),
            col(InteractionRecord.configuration_id).in_(configuration_ids),
            InteractionRecord.created_at >= since.astimezone(UTC),
        )
        .order_by(col(InteractionRecord.id))
    )
    fields = list(Observation.model_fields)
    return [Observation(**dict(zip(fields, row, strict=True))) for row in session.exec(query)]
