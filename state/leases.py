"""Check leases: one check per use case at a time, kept alive by a heartbeat.

A lease names its holder (flow run id, host, process id) and expires a short TTL after its
last heartbeat. `Store.hold_lease` takes it and renews it from a background thread
(state/lease_holder.py) for as long as the holder runs, a pause for approval included (the
paused process keeps beating). A lease whose heartbeat stopped is taken over on any host once
its TTL has passed; on the holder's own host a holder process that is gone (SIGKILL) is taken
over at once. An operator can break a lease;
each break is kept in `lease_break` with who, when and why.
"""

import os
import socket
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from state import lookup
from state.convert import aware
from state.domain.operations import LeaseBreak, LeaseInfo, LeaseTaken
from state.errors import NotFound
from state.models import CheckLeaseRecord, LeaseBreakRecord, UseCaseRecord, utcnow

HOST = socket.gethostname()
#: Seconds a lease outlives its last heartbeat; the holder beats every third of it.
TTL_SECONDS = 60.0


def _gone_here(row: CheckLeaseRecord) -> bool:
    """Whether the holder ran on this host and its process is gone."""
    if row.host != HOST:
        return False
    try:
        os.kill(row.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _use_case_id(use_case: str, session: Session) -> int:
    found = session.exec(select(UseCaseRecord.id).where(UseCaseRecord.name == use_case)).first()
    if found is None:
        raise lookup.unknown_use_case(use_case)
    return found


def acquire_lease(
    use_case: str, flow_run_id: str, *, ttl_seconds: float, session: Session
) -> LeaseTaken:
    """Take the lease of a use case unless a live holder has it (`LeaseTaken.holder` names it)."""
    use_case_id = _use_case_id(use_case, session)
    now = utcnow()
    mine = {
        "flow_run_id": flow_run_id,
        "host": HOST,
        "pid": os.getpid(),
        "acquired_at": now,
        "renewed_at": now,
        "expires_at": now + timedelta(seconds=ttl_seconds),
    }
    current = session.get(CheckLeaseRecord, use_case_id)
    if current is None:
        try:
            with session.begin_nested():
                session.add(CheckLeaseRecord(use_case_id=use_case_id, **mine))
            return LeaseTaken()
        except IntegrityError:
            current = session.get(CheckLeaseRecord, use_case_id)
    if current.flow_run_id == flow_run_id:
        return LeaseTaken()
    if aware(current.expires_at) > now and not _gone_here(current):
        return LeaseTaken(holder=current.flow_run_id)
    taken = session.execute(
        update(CheckLeaseRecord)
        .where(
            col(CheckLeaseRecord.use_case_id) == use_case_id,
            col(CheckLeaseRecord.flow_run_id) == current.flow_run_id,
        )
        .values(**mine)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return LeaseTaken(holder=current.flow_run_id)
    return LeaseTaken(replaced=current.flow_run_id)


def renew_lease(use_case: str, flow_run_id: str, *, ttl_seconds: float, session: Session) -> bool:
    """Push the expiry of our lease a TTL ahead; False when it is no longer ours."""
    now = utcnow()
    renewed = session.execute(
        update(CheckLeaseRecord)
        .where(
            col(CheckLeaseRecord.use_case_id) == _use_case_id(use_case, session),
            col(CheckLeaseRecord.flow_run_id) == flow_run_id,
        )
        .values(renewed_at=now, expires_at=now + timedelta(seconds=ttl_seconds))
        .execution_options(synchronize_session=False)
    )
    return renewed.rowcount == 1


def release_lease(use_case: str, flow_run_id: str, *, session: Session) -> None:
    """Give the lease back if this flow run still holds it."""
    session.execute(
        delete(CheckLeaseRecord).where(
            col(CheckLeaseRecord.use_case_id) == _use_case_id(use_case, session),
            col(CheckLeaseRecord.flow_run_id) == flow_run_id,
        )
    )


def _info(row: CheckLeaseRecord, name: str) -> LeaseInfo:
    return LeaseInfo(
        use_case=name,
        flow_run_id=row.flow_run_id,
        host=row.host,
        pid=row.pid,
        acquired_at=aware(row.acquired_at),
        renewed_at=aware(row.renewed_at or row.acquired_at),
        expires_at=aware(row.expires_at),
    )


def list_leases(*, session: Session) -> list[LeaseInfo]:
    """Every lease held now, by use case name."""
    rows = session.exec(
        select(CheckLeaseRecord, UseCaseRecord.name)
        .join(UseCaseRecord, col(UseCaseRecord.id) == CheckLeaseRecord.use_case_id)
        .order_by(col(UseCaseRecord.name))
    ).all()
    return [_info(row, name) for row, name in rows]


def break_lease(use_case: str, *, broken_by: str, reason: str, session: Session) -> LeaseBreak:
    """Remove a use case's lease for an operator and record who broke it, when and why."""
    use_case_id = _use_case_id(use_case, session)
    row = session.get(CheckLeaseRecord, use_case_id)
    if row is None:
        raise NotFound(f"{use_case}: no lease is held")
    record = LeaseBreakRecord(
        use_case_id=use_case_id,
        flow_run_id=row.flow_run_id,
        host=row.host,
        broken_by=broken_by,
        reason=reason,
    )
    session.add(record)
    session.delete(row)
    session.flush()
    return _break(record, use_case)


def _break(row: LeaseBreakRecord, name: str) -> LeaseBreak:
    return LeaseBreak(
        use_case=name,
        flow_run_id=row.flow_run_id,
        host=row.host,
        broken_by=row.broken_by,
        reason=row.reason,
        broken_at=aware(row.broken_at),
    )


def list_lease_breaks(*, session: Session, limit: int = 20) -> list[LeaseBreak]:
    """The latest lease breaks, newest first."""
    rows = session.exec(
        select(LeaseBreakRecord, UseCaseRecord.name)
        .join(UseCaseRecord, col(UseCaseRecord.id) == LeaseBreakRecord.use_case_id)
        .order_by(col(LeaseBreakRecord.broken_at).desc(), col(LeaseBreakRecord.id).desc())
        .limit(limit)
    ).all()
    return [_break(row, name) for row, name in rows]
