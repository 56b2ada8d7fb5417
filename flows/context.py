"""What every flow needs: the loaded use case, the current run id and the use case's lease.

`UseCaseContext` lives in flows/use_case_context.py, which imports no Prefect (`phasegate
eval` loads it alone); it is named here too, where the flows have always found it.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from prefect.runtime import flow_run

from flows.use_case_context import UseCaseContext
from state.store_api import Lease
from tasks.flow_runs import mark_crashed

__all__ = ["UseCaseContext", "current_run_id", "held_lease", "use_case_lease"]

# The lease this context holds: what the flow records is checked against it.
_HELD: ContextVar[Lease | None] = ContextVar("held_lease", default=None)


def held_lease() -> Lease | None:
    """The use-case lease held by this flow run here, or None outside a held lease."""
    return _HELD.get()


def current_run_id() -> str:
    """The id of the running flow run (a fresh id outside Prefect)."""
    return str(flow_run.id or uuid.uuid4())


@contextmanager
def use_case_lease(ctx: UseCaseContext) -> Iterator[Lease]:
    """Hold the use case's lease for this flow run (falsy when a live check has it).

    The run of a dead holder whose lease this takes over is marked Crashed on the Prefect API.
    While held, every decision recorded in the block first checks that it still is (LeaseLost).
    """
    run_id = current_run_id()
    ttl = ctx.settings.lease_ttl_seconds
    with ctx.store.hold_lease(ctx.name, run_id, ttl_seconds=ttl) as held:
        if held.replaced is not None:
            mark_crashed(held.replaced, f"its check died; flow run {run_id} took over its lease")
        token = _HELD.set(held if held else None)
        try:
            yield held
        finally:
            _HELD.reset(token)
