"""What every flow needs: the loaded use case, the current run id and the use case's lease.

A check opens with `open_check`: its lease and what it starts from, read in one unit of work.

`UseCaseContext` lives in flows/use_case_context.py, which imports no Prefect (`phasegate
eval` loads it alone); it is named here too, where the flows have always found it.
"""

import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from prefect.runtime import flow_run

from flows.use_case_context import UseCaseContext, checking
from state.domain import Unstored
from state.settings import get_settings
from state.store_api import Lease, Store
from tasks.flow_runs import mark_crashed

__all__ = ["UseCaseContext", "current_run_id", "held_lease", "open_check", "use_case_lease"]

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
    with ctx.store.hold_lease(ctx.name, run_id, ttl_seconds=ttl) as held, _holding(held, run_id):
        yield held


@contextmanager
def open_check(name: str) -> Iterator[tuple[UseCaseContext, Lease]]:
    """Hold the use case's lease as `use_case_lease` does, and read the check's context.

    One unit of work takes the lease and reads, under it, what the check starts from; when a
    live check has the lease (falsy), the context is read all the same, to record a skip.
    """
    settings, run_id = get_settings(), current_run_id()
    store, today = Store(settings.store_url), datetime.now(UTC).date()
    ttl = settings.lease_ttl_seconds
    with (
        store.open_check(name, run_id, today=today, ttl_seconds=ttl) as (held, start),
        ExitStack() as stack,
    ):
        ctx = UseCaseContext(start.use_case, settings, start, Unstored())
        if held:
            stack.enter_context(checking(ctx))
        stack.enter_context(_holding(held, run_id))
        yield ctx, held


@contextmanager
def _holding(held: Lease, run_id: str) -> Iterator[None]:
    """Mark the run whose dead lease was taken over Crashed; make the lease the held one."""
    if held.replaced is not None:
        mark_crashed(held.replaced, f"its check died; flow run {run_id} took over its lease")
    token = _HELD.set(held if held else None)
    try:
        yield
    finally:
        _HELD.reset(token)
