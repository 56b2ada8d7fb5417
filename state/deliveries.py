"""Store functions for webhook deliveries: the `webhook-id`s taken, so that none is taken twice.

A delivery is reserved in the same unit of work as what the request writes: if that work
fails, the reservation rolls back with it and the same request may be sent again; if it
commits, every later request with the same id for the same use case is a replay, whichever
webhook process receives it, before or after a restart. Concurrent reservations of one id are
settled by the primary key: one inserts, the others find it taken.
"""

from collections.abc import Sequence
from functools import cache

from sqlalchemy import Insert, delete, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from state.domain.intake import Delivery, Replays
from state.models import WebhookDeliveryRecord


def reserve_deliveries(deliveries: Sequence[Delivery], *, session: Session) -> list[bool]:
    """Reserve each delivery's id; answer, in order, whether it was new (False: a replay).

    A delivery repeated within `deliveries` is new only the first time.
    """
    first: dict[tuple[str, str], Delivery] = {}
    for delivery in deliveries:
        first.setdefault((delivery.use_case, delivery.webhook_id), delivery)
    if not first:
        return []
    rows = [delivery._asdict() for delivery in first.values()]
    statement = _insert_new(session.get_bind().dialect.name).values(rows)
    inserted = set(session.connection().execute(statement).tuples())
    answers = []
    for delivery in deliveries:
        key = (delivery.use_case, delivery.webhook_id)
        answers.append(key in inserted)
        inserted.discard(key)
    return answers


def release_delivery(delivery: Delivery, *, session: Session) -> None:
    """Forget a reserved delivery, so that the same request may be sent again."""
    session.execute(
        delete(WebhookDeliveryRecord).where(
            col(WebhookDeliveryRecord.use_case) == delivery.use_case,
            col(WebhookDeliveryRecord.webhook_id) == delivery.webhook_id,
        )
    )


def scope_received(scope: str, *, session: Session) -> bool:
    """Whether any delivery was taken under `scope` (a provider event about one object)."""
    found = select(col(WebhookDeliveryRecord.webhook_id)).where(
        col(WebhookDeliveryRecord.use_case) == scope
    )
    return session.execute(found.limit(1)).first() is not None


def prune_deliveries(sent_before: int, *, session: Session) -> int:
    """Remove the deliveries sent before `sent_before` (unix seconds); return how many.

    On PostgreSQL rows another process is deleting are skipped, not waited for: two webhook
    processes pruning at once neither wait on nor deadlock each other.
    """
    old = col(WebhookDeliveryRecord.sent_at) < sent_before
    if session.get_bind().dialect.name == "postgresql":
        keys = (col(WebhookDeliveryRecord.use_case), col(WebhookDeliveryRecord.webhook_id))
        unlocked = select(*keys).where(old).with_for_update(skip_locked=True)
        old = tuple_(*keys).in_(unlocked)
    return session.execute(delete(WebhookDeliveryRecord).where(old)).rowcount


def reserve(replays: Replays, deliveries: Sequence[Delivery], *, session: Session) -> list[bool]:
    """Reserve each delivery in this unit of work (False: a replay); prune first when due."""
    if (sent_before := replays.prune_before(deliveries)) is not None:
        prune_deliveries(sent_before, session=session)
    return reserve_deliveries(deliveries, session=session)


@cache
def _insert_new(dialect: str) -> Insert:
    """The statement that inserts deliveries, skips taken ids, and returns the inserted keys."""
    table = WebhookDeliveryRecord.__table__
    statement = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    return statement.on_conflict_do_nothing().returning(table.c.use_case, table.c.webhook_id)
