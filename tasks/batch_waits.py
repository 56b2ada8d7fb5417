"""Suspending a deployment's flow run while its batches run, and resuming it once they ended.

A batch can take hours; a worker slot should not. In the root run of a deployment (a phase check
started by `prefect deployment run`, an event trigger or a sweep's hand-off), `suspension()`
lets a batch eval give up its in-process wait after `eval.suspend_after_seconds` with
`BatchesPending`; the flow then records the batches (`batch_wait`) and suspends: the process
exits, the worker slot is free. The provider's webhook about a batch, or the `poll-batches`
flow polling the recorded batches with backoff, resumes the run once all its batches ended.
Prefect runs the flow again from the top: stored eval runs are reused, and a batch eval finds
its batch by the sha256 of its input file, so nothing is created or paid for twice.

Anywhere else (the CLI, a check started by the sweep as a subflow, the temporary server, which
runs no deployments) nothing may suspend, and the wait polls in its process with backoff.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from uuid import UUID

from prefect import get_client, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.exceptions import ObjectNotFound
from prefect.flow_runs import resume_flow_run, suspend_flow_run
from prefect.logging import get_run_logger

from state.domain import BatchWait
from state.errors import BatchesPending
from state.settings import ProviderOptions
from state.store_api import Store
from tasks.batch_suspension import Suspension, may_suspend
from tasks.llm import build_client, run_sync
from tasks.llm_batch import TERMINAL, batch_statuses


@contextmanager
def suspension(store_url: str) -> Iterator[bool]:
    """Let batch evals in this block give up their wait, if this is a deployment's root run."""
    run = (context := FlowRunContext.get()) and context.flow_run
    if not run or run.deployment_id is None or run.parent_task_run_id is not None:
        yield False
        return
    with may_suspend(Suspension(str(run.id), store_url)):
        yield True


def suspend_for(pending: BatchesPending, store_url: str, poll_seconds: float) -> None:
    """Record the batches this run waits for and suspend it (the process exits).

    Each suspension has a key of its own: a run resumed before its batches ended suspends again.
    """
    run = FlowRunContext.get().flow_run
    store = Store(store_url)
    first_poll = datetime.now(UTC) + timedelta(seconds=poll_seconds)
    for batch_id, digest in pending.batches:
        store.record_batch_wait(
            BatchWait(
                flow_run_id=str(run.id),
                batch_id=batch_id,
                input_sha256=digest,
                poll_seconds=poll_seconds,
                next_poll_at=first_poll,
            )
        )
    ids = hashlib.sha256(" ".join(sorted(b for b, _ in pending.batches)).encode()).hexdigest()
    earlier = [k for k in run.empirical_policy.pause_keys or () if k.startswith(ids[:16])]
    get_run_logger().info("suspended until its batches end: %s", pending)
    suspend_flow_run(key=f"{ids[:16]}-{len(earlier)}")
    raise RuntimeError(f"flow run {run.id} was not suspended: Prefect took its key as used")


@task(
    name="poll-waited-batches",
    cache_policy=NO_CACHE,
    retries=1,
    retry_delay_seconds=5,
    timeout_seconds=300,
)
def poll_waited_batches(provider: ProviderOptions, store_url: str, max_seconds: float) -> int:
    """Poll the recorded batches that are due: note the ended ones, poll the rest later.

    A running batch's next poll comes after twice its last pause, `max_seconds` at most; a
    batch the provider no longer knows counts as ended (the resumed run says what became of
    it). Returns how many ended.
    """
    store = Store(store_url)
    now = datetime.now(UTC)
    due = [wait.batch_id for wait in store.due_batch_waits(now)]
    if not due:
        return 0

    async def statuses() -> dict[str, str]:
        """The due batches' statuses, read at once."""
        async with build_client(provider, sdk_retries=provider.max_retries) as client:
            return await batch_statuses(client, due)

    ended = 0
    for batch_id, status in run_sync(statuses).items():
        if status in TERMINAL or status == "unknown":
            store.end_batch_wait(batch_id)
            ended += 1
        else:
            store.delay_batch_wait(batch_id, now, max_seconds)
    return ended


def resume_ready(store: Store, flow_run_id: str | None = None) -> list[str]:
    """Resume the suspended runs whose batches all ended (or only `flow_run_id`); their ids.

    A run is claimed in the store before Prefect is asked to resume it, so of the webhook and
    the poller only one resumes it; if Prefect refuses or cannot be reached, the claim is
    released for the next call. A run still running (it may be about to suspend) is left for
    the next call; a finished or unknown one is marked done with.
    """
    resumed = []
    with get_client(sync_client=True) as client:
        for run_id in store.runs_to_resume(flow_run_id):
            try:
                state = client.read_flow_run(UUID(run_id)).state
            except ObjectNotFound:
                state = None
            if state is not None and not state.is_final() and not state.is_paused():
                continue
            if not store.claim_resume(run_id) or state is None or not state.is_paused():
                continue
            try:
                resume_flow_run(UUID(run_id))
            except BaseException:
                store.release_resume(run_id)
                raise
            resumed.append(run_id)
    return resumed
