"""Provider batches that suspended flow runs wait for: recorded, polled with backoff, ended.

A flow run that suspends while its batches run records one wait per batch; on re-entry it finds
its batch by the input file's sha256 instead of creating another. The provider's webhook or the
poller ends a wait; a run whose waits have all ended is ready to resume, once.
"""

from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from state.convert import aware
from state.domain.operations import BatchWait
from state.models import BatchWaitRecord, utcnow


def _wait(row: BatchWaitRecord) -> BatchWait:
    """The domain value of a row."""
    return BatchWait(
        flow_run_id=row.flow_run_id,
        batch_id=row.batch_id,
        input_sha256=row.input_sha256,
        poll_seconds=row.poll_seconds,
        next_poll_at=aware(row.next_poll_at),
        ended_at=aware(row.ended_at) if row.ended_at else None,
    )


def record_batch_wait(wait: BatchWait, *, session: Session) -> None:
    """Record a wait for a batch; a batch already recorded is left as it is."""
    found = session.exec(
        select(BatchWaitRecord).where(col(BatchWaitRecord.batch_id) == wait.batch_id)
    ).first()
    if found is None:
        session.add(BatchWaitRecord(**wait.model_dump()))
        session.flush()


def find_batch(flow_run_id: str, input_sha256: str, *, session: Session) -> str | None:
    """The batch a flow run created for this input file, or None."""
    return session.exec(
        select(BatchWaitRecord.batch_id)
        .where(col(BatchWaitRecord.flow_run_id) == flow_run_id)
        .where(col(BatchWaitRecord.input_sha256) == input_sha256)
        .order_by(col(BatchWaitRecord.id).desc())
    ).first()


def due_batch_waits(now: datetime, *, session: Session) -> list[BatchWait]:
    """The waits not ended whose next poll is due, oldest first."""
    rows = session.exec(
        select(BatchWaitRecord)
        .where(col(BatchWaitRecord.ended_at).is_(None))
        .order_by(col(BatchWaitRecord.id))
    ).all()
    # Compared here: SQLite keeps no time zone, and the rows not ended are few.
    return [wait for wait in map(_wait, rows) if wait.next_poll_at <= now]


def delay_batch_wait(batch_id: str, now: datetime, max_seconds: float, *, session: Session) -> None:
    """A poll found the batch running: poll again after twice the pause, `max_seconds` at most."""
    row = session.exec(
        select(BatchWaitRecord).where(col(BatchWaitRecord.batch_id) == batch_id)
    ).one()
    row.poll_seconds = min(row.poll_seconds * 2, max_seconds)
    row.next_poll_at = now + timedelta(seconds=row.poll_seconds)
    session.add(row)


def end_batch_wait(batch_id: str, *, session: Session) -> str | None:
    """Note that a batch ended; the flow run that waits for it, or None."""
    row = session.exec(
        select(BatchWaitRecord).where(col(BatchWaitRecord.batch_id) == batch_id)
    ).first()
    if row is None:
        return None
    if row.ended_at is None:
        row.ended_at = utcnow()
        session.add(row)
        session.flush()
    return row.flow_run_id


def runs_to_resume(flow_run_id: str | None = None, *, session: Session) -> list[str]:
    """Flow runs (or only `flow_run_id`) whose waits have all ended, not resumed for them yet."""
    waiting = func.count(BatchWaitRecord.id) - func.count(BatchWaitRecord.ended_at)
    query = select(BatchWaitRecord.flow_run_id).where(col(BatchWaitRecord.resumed_at).is_(None))
    if flow_run_id is not None:
        query = query.where(col(BatchWaitRecord.flow_run_id) == flow_run_id)
    return list(
        session.exec(
            query.group_by(col(BatchWaitRecord.flow_run_id))
            .having(waiting == 0)
            .order_by(func.min(BatchWaitRecord.id))
        ).all()
    )


def claim_resume(flow_run_id: str, *, session: Session) -> bool:
    """Mark a flow run's ended waits resumed; whether this call did it (not an earlier one).

    One conditional UPDATE: of the webhook and the poller, only one resumes the run.
    """
    of_run = col(BatchWaitRecord.flow_run_id) == flow_run_id
    running = session.exec(
        select(func.count()).where(of_run, col(BatchWaitRecord.ended_at).is_(None))
    ).one()
    if running:
        return False
    claimed = session.execute(
        update(BatchWaitRecord)
        .where(of_run, col(BatchWaitRecord.resumed_at).is_(None))
        .values(resumed_at=utcnow())
    )
    return claimed.rowcount > 0


def release_resume(flow_run_id: str, *, session: Session) -> None:
    """Undo `claim_resume` when the run could not be resumed: the next call tries again."""
    session.execute(
        update(BatchWaitRecord)
        .where(col(BatchWaitRecord.flow_run_id) == flow_run_id)
        .values(resumed_at=None)
    )
