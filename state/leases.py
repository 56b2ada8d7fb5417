"""Check leases: at most one phase check per use case at a time, safe against crashed holders.

A lease names its holder (flow run id, host, process id) and expires. A new check takes
over a lease that has expired, or whose holder process on this host is gone (a check
killed with SIGKILL), so a re-run continues at once instead of waiting for the expiry.
"""

import os
import socket
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from state import lookup
from state.convert import aware
from state.models import CheckLeaseRecord, UseCaseRecord, utcnow

HOST = socket.gethostname()


def _holder_alive(row: CheckLeaseRecord) -> bool:
    if row.host != HOST:
        return True
    try:
        os.kill(row.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def acquire_lease(
    use_case: str, flow_run_id: str, *, ttl_seconds: float, session: Session
) -> str | None:
    """Take the check lease of a use case; returns None, or the flow run id holding it."""
    use_case_id = session.exec(
        select(UseCaseRecord.id).where(UseCaseRecord.name == use_case)
    ).first()
    if use_case_id is None:
        raise lookup.unknown_use_case(use_case)
    now = utcnow()
    mine = {
        "flow_run_id": flow_run_id,
        "host": HOST,
        "pid": os.getpid(),
        "acquired_at": now,
        "expires_at": now + timedelta(seconds=ttl_seconds),
    }
    current = session.get(CheckLeaseRecord, use_case_id)
    if current is None:
        try:
            with session.begin_nested():
                session.add(CheckLeaseRecord(use_case_id=use_case_id, **mine))
            return None
        except IntegrityError:
            current = session.get(CheckLeaseRecord, use_case_id)
    if current.flow_run_id == flow_run_id:
        return None
    if aware(current.expires_at) > now and _holder_alive(current):
        return current.flow_run_id
    taken = session.execute(
        update(CheckLeaseRecord)
        .where(
            col(CheckLeaseRecord.use_case_id) == use_case_id,
            col(CheckLeaseRecord.flow_run_id) == current.flow_run_id,
        )
        .values(**mine)
        .execution_options(synchronize_session=False)
    )
    return None if taken.rowcount == 1 else current.flow_run_id


def release_lease(use_case: str, flow_run_id: str, *, session: Session) -> None:
    """Give the lease back if this flow run still holds it."""
    use_case_id = session.exec(
        select(UseCaseRecord.id).where(UseCaseRecord.name == use_case)
    ).first()
    session.execute(
        delete(CheckLeaseRecord).where(
            col(CheckLeaseRecord.use_case_id) == use_case_id,
            col(CheckLeaseRecord.flow_run_id) == flow_run_id,
        )
    )
