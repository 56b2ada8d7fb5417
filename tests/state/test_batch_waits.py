"""Batch waits in the store: found again by input file, polled with backoff, resumed once."""

from datetime import UTC, datetime, timedelta

from state.domain import BatchWait
from state.store_api import Store

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _wait(run: str, batch: str, digest: str = "a" * 64) -> BatchWait:
    return BatchWait(
        flow_run_id=run, batch_id=batch, input_sha256=digest, poll_seconds=60, next_poll_at=NOW
    )


def test_a_run_finds_its_batch_by_input_file_and_records_it_once(store_url: str) -> None:
    store = Store(store_url)
    store.record_batch_wait(_wait("run-1", "batch_1"))
    store.record_batch_wait(_wait("run-1", "batch_1"))
    assert store.find_waited_batch("run-1", "a" * 64) == "batch_1"
    assert store.find_waited_batch("run-1", "b" * 64) is None
    assert store.find_waited_batch("run-2", "a" * 64) is None
    assert [w.batch_id for w in store.due_batch_waits(NOW)] == ["batch_1"]


def test_a_running_batch_is_polled_again_after_a_doubled_pause(store_url: str) -> None:
    store = Store(store_url)
    store.record_batch_wait(_wait("run-1", "batch_1"))
    store.delay_batch_wait("batch_1", NOW, max_seconds=1000)
    assert store.due_batch_waits(NOW + timedelta(seconds=119)) == []
    (due,) = store.due_batch_waits(NOW + timedelta(seconds=120))
    assert due.poll_seconds == 120
    store.delay_batch_wait("batch_1", NOW, max_seconds=200)  # doubled past the limit: the limit
    (due,) = store.due_batch_waits(NOW + timedelta(seconds=200))
    assert due.poll_seconds == 200


def test_a_run_is_resumed_once_when_all_its_batches_ended(store_url: str) -> None:
    store = Store(store_url)
    store.record_batch_wait(_wait("run-1", "batch_1"))
    store.record_batch_wait(_wait("run-1", "batch_2", "b" * 64))
    store.record_batch_wait(_wait("run-2", "batch_3", "c" * 64))
    assert store.end_batch_wait("batch_1") == "run-1" and store.runs_to_resume() == []
    assert not store.claim_resume("run-1")
    assert store.end_batch_wait("batch_unknown") is None
    assert store.end_batch_wait("batch_2") == "run-1"
    assert [w.batch_id for w in store.due_batch_waits(NOW)] == ["batch_3"]
    assert store.runs_to_resume() == ["run-1"] == store.runs_to_resume("run-1")
    assert store.runs_to_resume("run-2") == []
    assert store.claim_resume("run-1")
    assert not store.claim_resume("run-1")
    assert store.runs_to_resume() == []


def test_a_released_claim_lets_the_next_call_resume_the_run(store_url: str) -> None:
    store = Store(store_url)
    store.record_batch_wait(_wait("run-1", "batch_1"))
    store.end_batch_wait("batch_1")
    assert store.claim_resume("run-1")
    store.release_resume("run-1")  # Prefect refused or could not be reached
    assert store.runs_to_resume() == ["run-1"]
    assert store.claim_resume("run-1")
