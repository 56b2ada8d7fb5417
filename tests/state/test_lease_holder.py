"""The lease heartbeat: a beat that races the release is not a lost lease."""

import logging
import threading

import pytest

from state.domain.operations import LeaseTaken
from state.lease_holder import Lease


class RacingStore:
    """A lease store whose renewal is still in flight when the lease is released."""

    def __init__(self) -> None:
        self.renewing = threading.Event()
        self.released = threading.Event()

    def take_lease(self, use_case: str, flow_run_id: str, *, ttl_seconds: float) -> LeaseTaken:
        return LeaseTaken(holder=None, replaced=None)

    def renew_lease(self, use_case: str, flow_run_id: str, *, ttl_seconds: float) -> bool:
        self.renewing.set()
        self.released.wait(timeout=10)
        return False  # the row is gone: the release deleted it

    def release_lease(self, use_case: str, flow_run_id: str) -> None:
        self.released.set()


def test_a_beat_that_finds_the_lease_released_by_its_holder_neither_loses_nor_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = RacingStore()
    lease = Lease(store, "demo-qa", "run-1", ttl=0.03)
    assert lease.take()
    assert store.renewing.wait(timeout=10)

    with caplog.at_level(logging.WARNING, logger="state.lease_holder"):
        lease.release()
        for thread in threading.enumerate():
            if thread.name == "lease-demo-qa":
                thread.join(timeout=10)

    assert not lease.lost
    assert "broken or taken over" not in caplog.text
