"""Whether the running code may suspend while its batches run (tasks/batch_waits.py says when).

Plain on purpose: a batch eval asks `current_suspension()` wherever it runs, `phasegate eval`
(which imports no Prefect) included; outside a suspendable run the answer is None.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from state.store_api import Store


@dataclass(frozen=True)
class Suspension:
    """The run that may suspend, and the store its waits are recorded in."""

    flow_run_id: str
    store_url: str

    def find(self, input_sha256: str) -> str | None:
        """The batch this run recorded for an input file, or None."""
        return Store(self.store_url).find_waited_batch(self.flow_run_id, input_sha256)


_CURRENT: ContextVar[Suspension | None] = ContextVar("phasegate_suspension", default=None)


def current_suspension() -> Suspension | None:
    """The run that may suspend while this code runs, or None (wait in-process)."""
    return _CURRENT.get()


@contextmanager
def may_suspend(run: Suspension) -> Iterator[None]:
    """Let batch evals in this block give up their wait for `run` to suspend."""
    token = _CURRENT.set(run)
    try:
        yield
    finally:
        _CURRENT.reset(token)
