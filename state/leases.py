"""Check leases: one check per use case at a time, kept alive by a heartbeat.

A lease names its holder (flow run id, host, process id) and expires a short TTL after its
last heartbeat. `lease()` takes it and renews it from a background thread for as long as the
holder runs, a pause for approval included (the paused process keeps beating). A lease whose
heartbeat stopped is taken over on any host once its TTL has passed; on the holder's own host
a holder process that is gone (SIGKILL) is taken over at once. An operator can break a lease;
each break is kept in `lease_break` with who, when and why.
"""

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from state import lookup
from state.convert import aware
from state.db import store_session
from state.errors import NotFound
from state.models import CheckLeaseRecord, LeaseBreakRecord, UseCaseRecord, utcnow

HOST = socket.gethostname()
#: Seconds a lease outlives its last heartbeat; the holder beats every third of it.
TTL_SECONDS = 60.0

log = logging.getLogger(__name__)


class LeaseInfo(BaseModel):
    """A lease as stored: who holds it, since when, and its last heartbeat."""

    model_config = ConfigDict(frozen=True)

    use_case: str
    flow_run_id: str
    host: str
    pid: int
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime


class LeaseBreak(BaseModel):
    """An operator's break of a lease: whose, by whom, when and why."""

    model_config = ConfigDict(frozen=True)

    use_case: str
    flow_run_id: str
    host: str
    broken_by: str
    reason: str
    broken_at: datetime


@dataclass(frozen=True)
class Taken:
    """The answer of `acquire_lease`: held by us or not, and whose lease we replaced."""

    holder: str | None = None
    replaced: str | None = None


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
) -> Taken:
    """Take the lease of a use case unless a live holder has it (`Taken.holder` names it)."""
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
            return Taken()
        except IntegrityError:
            current = session.get(CheckLeaseRecord, use_case_id)
    if current.flow_run_id == flow_run_id:
        return Taken()
    if aware(current.expires_at) > now and not _gone_here(current):
        return Taken(holder=current.flow_run_id)
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
        return Taken(holder=current.flow_run_id)
    return Taken(replaced=current.flow_run_id)


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


@dataclass
class Lease:
    """A lease being held: truthy while ours; `holder` names the other holder when it is not.

    `replaced` names the flow run whose dead lease this one took over; `lost` turns true when
    a heartbeat finds the lease broken or taken over.
    """

    store_url: str
    use_case: str
    flow_run_id: str
    ttl: float
    holder: str | None = None
    replaced: str | None = None
    lost: bool = False
    beats: int = 0
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    def __bool__(self) -> bool:
        return self.holder is None and not self.lost

    def take(self) -> bool:
        """Acquire the lease; True when it is ours (then the heartbeat thread runs)."""
        with store_session(self.store_url) as session:
            taken = acquire_lease(
                self.use_case, self.flow_run_id, ttl_seconds=self.ttl, session=session
            )
        self.holder, self.replaced = taken.holder, taken.replaced
        if self.holder is None:
            name = f"lease-{self.use_case}"
            threading.Thread(target=self._beat, name=name, daemon=True).start()
        return self.holder is None

    def release(self) -> None:
        """Stop the heartbeat and give the lease back (if it is still ours)."""
        self._stop.set()
        with store_session(self.store_url) as session:
            release_lease(self.use_case, self.flow_run_id, session=session)

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                with store_session(self.store_url) as session:
                    ours = renew_lease(
                        self.use_case, self.flow_run_id, ttl_seconds=self.ttl, session=session
                    )
            except SQLAlchemyError as exc:
                log.warning("%s: lease heartbeat failed, retrying: %s", self.use_case, exc)
                continue
            self.beats += 1
            if not ours:
                self.lost = True
                log.warning("%s: the lease was broken or taken over", self.use_case)
                return


@contextmanager
def lease(
    use_case: str, holder: str, *, store_url: str, ttl_seconds: float = TTL_SECONDS
) -> Iterator[Lease]:
    """Hold a use case's lease for the block, renewing it on a heartbeat; released on exit.

    When another live holder has it, the lease is falsy (`held.holder` names that holder) and
    the block runs without it, to record that it skipped.
    """
    held = Lease(store_url, use_case, holder, ttl_seconds)
    if not held.take():
        yield held
        return
    try:
        yield held
    finally:
        held.release()
