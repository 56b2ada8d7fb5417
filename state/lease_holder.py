"""A check lease held for a block: taken through the store, renewed by a heartbeat thread.

The holder goes to the database only through the store it is given (`Store.hold_lease`
builds it), one unit of work per take, beat and release; a check's take shares its unit with
the check's first reads (`Store.open_check`).
"""

import logging
import threading
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from state.domain.operations import LeaseTaken

log = logging.getLogger(__name__)


class LeaseStore(Protocol):
    """The three store operations a held lease uses."""

    def take_lease(self, use_case: str, flow_run_id: str, *, ttl_seconds: float) -> LeaseTaken:
        """Take the lease unless a live holder has it."""

    def renew_lease(self, use_case: str, flow_run_id: str, *, ttl_seconds: float) -> bool:
        """Push our lease's expiry a TTL ahead; False when it is no longer ours."""

    def release_lease(self, use_case: str, flow_run_id: str) -> None:
        """Give the lease back if this flow run still holds it."""


@dataclass
class Lease:
    """A lease being held: truthy while ours; `holder` names the other holder when it is not.

    `replaced` names the flow run whose dead lease this one took over; `lost` turns true when
    a heartbeat finds the lease broken or taken over.
    """

    store: LeaseStore
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
        return self.taken(
            self.store.take_lease(self.use_case, self.flow_run_id, ttl_seconds=self.ttl)
        )

    def taken(self, taken: LeaseTaken) -> bool:
        """Hold what a committed take returned; True when it is ours (the heartbeat starts)."""
        self.holder, self.replaced = taken.holder, taken.replaced
        if self.holder is None:
            name = f"lease-{self.use_case}"
            threading.Thread(target=self._beat, name=name, daemon=True).start()
        return self.holder is None

    def release(self) -> None:
        """Stop the heartbeat and give the lease back (if it is still ours)."""
        self._stop.set()
        self.store.release_lease(self.use_case, self.flow_run_id)

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                ours = self.store.renew_lease(self.use_case, self.flow_run_id, ttl_seconds=self.ttl)
            except SQLAlchemyError as exc:
                log.warning("%s: lease heartbeat failed, retrying: %s", self.use_case, exc)
                continue
            self.beats += 1
            if not ours and self._stop.is_set():
                return  # released while this beat ran: given back, not lost
            if not ours:
                self.lost = True
                log.warning("%s: the lease was broken or taken over", self.use_case)
                return
