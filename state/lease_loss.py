"""Whether a check still holds its use case's lease as it records, and if not, why.

The holder's check (`require_lease`) writes to its lease row, which holds the row's write lock
(PostgreSQL's row lock, SQLite's database lock) for the rest of the caller's unit of work: an
operator's break or another check's takeover waits for what the holder writes under it.
"""

from sqlalchemy import update
from sqlmodel import Session, col, select

from state import lookup
from state.convert import aware
from state.errors import LeaseLost
from state.models import CheckLeaseRecord, LeaseBreakRecord, utcnow


def _held(use_case_id: int, flow_run_id: str, lock: bool, session: Session) -> bool:
    """Whether the flow run holds the lease; with `lock`, mark its row (a heartbeat's time)."""
    mine = (
        col(CheckLeaseRecord.use_case_id) == use_case_id,
        col(CheckLeaseRecord.flow_run_id) == flow_run_id,
    )
    if lock:
        touched = session.execute(
            update(CheckLeaseRecord)
            .where(*mine)
            .values(renewed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return touched.rowcount == 1
    return session.exec(select(CheckLeaseRecord.flow_run_id).where(*mine)).first() is not None


def lost_reason(
    use_case: str, flow_run_id: str, *, session: Session, lock: bool = False
) -> str | None:
    """Why `flow_run_id` no longer holds the lease of `use_case`, or None while it does."""
    use_case_id = lookup.use_case_id(session, use_case)
    if _held(use_case_id, flow_run_id, lock, session):
        return None
    broken = session.exec(
        select(LeaseBreakRecord)
        .where(
            col(LeaseBreakRecord.use_case_id) == use_case_id,
            col(LeaseBreakRecord.flow_run_id) == flow_run_id,
        )
        .order_by(col(LeaseBreakRecord.broken_at).desc())
    ).first()
    holder = session.exec(
        select(CheckLeaseRecord.flow_run_id).where(col(CheckLeaseRecord.use_case_id) == use_case_id)
    ).first()
    if broken is not None:
        when = aware(broken.broken_at)
        how = f"was broken by {broken.broken_by} at {when:%Y-%m-%d %H:%M:%S} UTC ({broken.reason})"
    elif holder is not None:
        how = f"was taken over by flow run {holder}"
    else:
        how = "expired and was taken over"
    return f"flow run {flow_run_id} no longer holds use case {use_case}: its lease {how}"


def require_lease(use_case: str, flow_run_id: str, *, session: Session) -> None:
    """Raise LeaseLost, saying why, unless `flow_run_id` holds the lease of `use_case`.

    Locks the lease row until the caller's unit of work ends (see the module's docstring).
    """
    if reason := lost_reason(use_case, flow_run_id, session=session, lock=True):
        raise LeaseLost(reason)
