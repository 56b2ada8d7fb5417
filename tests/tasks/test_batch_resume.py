"""Resuming a suspended run once its batches ended: claimed in the store first, resumed once.

Real Prefect API (the session's) and real stores; the runs are created paused, as a check
that suspended for its batches leaves them.
"""

from datetime import UTC, datetime
from uuid import UUID

import pytest
from prefect import flow, get_client
from prefect.states import Paused

from state.domain import BatchWait
from state.store_api import Store
from tasks import batch_waits
from tasks.batch_waits import resume_ready

pytestmark = pytest.mark.usefixtures("prefect_api")


@flow(name="waits-for-batches")
def _waiting() -> None:
    """Never run: its runs are created paused."""


def _suspended_run(store: Store, batch_id: str) -> str:
    """A paused flow run whose one batch has ended."""
    with get_client(sync_client=True) as client:
        run = client.create_flow_run(_waiting, state=Paused(pause_key=batch_id))
    now = datetime.now(UTC)
    store.record_batch_wait(
        BatchWait(
            flow_run_id=str(run.id),
            batch_id=batch_id,
            input_sha256="a" * 64,
            poll_seconds=60,
            next_poll_at=now,
        )
    )
    assert store.end_batch_wait(batch_id) == str(run.id)
    return str(run.id)


def _paused(run_id: str) -> bool:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(run_id)).state.is_paused()


def test_a_run_whose_batches_ended_is_resumed_once(store_url: str) -> None:
    store = Store(store_url)
    run_id = _suspended_run(store, "batch_once")
    assert resume_ready(store) == [run_id]
    assert not _paused(run_id)
    assert resume_ready(store) == []


def test_a_second_resumer_that_comes_in_while_the_first_resumes_leaves_the_run_alone(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The webhook resumes; the poller runs just before Prefect is asked: it must not resume."""
    store = Store(store_url)
    run_id = _suspended_run(store, "batch_race")
    resume_flow_run, meanwhile = batch_waits.resume_flow_run, []

    def poller_gets_in_first(flow_run_id: UUID) -> None:
        if not meanwhile:
            meanwhile.append("in")
            meanwhile[0] = resume_ready(Store(store_url), run_id)
        resume_flow_run(flow_run_id)

    monkeypatch.setattr(batch_waits, "resume_flow_run", poller_gets_in_first)
    assert resume_ready(store, run_id) == [run_id]
    assert meanwhile == [[]]
    assert not _paused(run_id)


def test_a_refused_resume_releases_the_claim_for_the_next_call(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(store_url)
    run_id = _suspended_run(store, "batch_refused")

    def refuse(flow_run_id: UUID) -> None:
        raise RuntimeError(f"Cannot resume this run: {flow_run_id} (the API is down)")

    with monkeypatch.context() as patch:
        patch.setattr(batch_waits, "resume_flow_run", refuse)
        with pytest.raises(RuntimeError, match="Cannot resume"):
            resume_ready(store)
    assert _paused(run_id)
    assert resume_ready(store) == [run_id]
    assert not _paused(run_id)
