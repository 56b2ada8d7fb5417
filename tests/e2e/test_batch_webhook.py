"""End to end: the sandbox's signed webhook ends a batch eval's wait; without it, polling does.

Real parts: the sandbox (its Batch API and its webhooks), the webhook API over HTTP in a thread
of this process with its default Prefect emitter (tests/e2e/conftest.py), the session's Prefect
API and a SQLite store.
"""

import time
from datetime import UTC, datetime

from prefect import get_client
from prefect.events.filters import EventFilter, EventNameFilter, EventOccurredFilter

from state.domain import EvalItem, EvalRun
from state.settings import get_settings, provider_options
from tasks.evaluation import EvalTarget, PreparedRequest, evaluate
from tasks.llm_batch import BatchOptions
from tests.e2e.conftest import SECRET
from tests.plugins.sandbox_server import SandboxServer, dead_url

BATCH_SECONDS = 3.0
#: First poll after 2 s, the next 4 s later: without a webhook the batch is seen at 6 s.
WAIT = BatchOptions(poll_first_seconds=2.0, poll_max_seconds=30.0)
FACTS = [f"The module number {n} listens on port {4000 + n}." for n in range(8)]


def _batch_eval(sandbox: SandboxServer, hook: str) -> tuple[EvalRun, float]:
    """A batch eval of eight items with the sandbox's webhooks sent to `hook`.

    Returns the run and how long after its batch completed (by the sandbox's clock) it ended.
    """
    sandbox.admin(
        "POST",
        "/sandbox/faults",
        {"batch_seconds": BATCH_SECONDS, "webhook_url": hook, "webhook_secret": SECRET},
    )
    items = [
        EvalItem(id=f"m{n}", input=f"Which port does module number {n} listen on?", expected=fact)
        for n, fact in enumerate(FACTS)
    ]
    context = "Context:\n" + "\n\n".join(FACTS) + "\n\n"
    requests = [
        PreparedRequest(
            item_id=item.id,
            model="sandbox-base",
            messages=[{"role": "user", "content": f"{context}Question: {item.input}"}],
        )
        for item in items
    ]
    target = EvalTarget(use_case="ports", eval_set_hash="e" * 64, metric="token_f1")
    settings = get_settings()
    run = evaluate(
        requests,
        items,
        target,
        provider_options(settings),
        store_url=settings.store_url,
        batch_api=WAIT,
    )
    ended = time.time()
    batch = sandbox.app_state.batches[run.extra["batch_ids"][0]]
    return run, ended - (batch.created + batch.duration)


def test_sandbox_webhook_ends_the_wait_within_2_s(
    webhook_url: str, sandbox_server: SandboxServer
) -> None:
    since = datetime.now(UTC)
    run, late = _batch_eval(sandbox_server, webhook_url)
    assert run.valid and run.error_rate == 0 and run.mean > 0.5
    assert late < 2.0, f"the run ended {late:.2f} s after its batch completed"
    names = EventFilter(
        occurred=EventOccurredFilter(since=since),
        event=EventNameFilter(name=["openai.batch.completed"]),
    )
    deadline = time.monotonic() + 10
    while (sent := sandbox_server.admin("GET", "/sandbox/webhooks")["data"])[0]["status"] is None:
        assert time.monotonic() < deadline, "the webhook API never answered the sandbox"
        time.sleep(0.05)  # the webhook API answers once its Prefect event is taken
    assert [s["status"] for s in sent] == [200]
    with get_client(sync_client=True) as client:
        # The Prefect server stores events a moment after taking them.
        while not (events := client.read_events(filter=names, limit=10).events):
            assert time.monotonic() < deadline, "the Prefect event was never stored"
            time.sleep(0.1)
    assert [e.resource.id for e in events] == [f"openai.batch.{run.extra['batch_ids'][0]}"]


def test_without_the_webhook_polling_finishes_the_run(
    webhook_url: str, sandbox_server: SandboxServer
) -> None:
    run, late = _batch_eval(sandbox_server, dead_url() + "/provider/openai")
    assert run.valid and run.error_rate == 0 and run.n == len(FACTS)
    # Polls at 2 s and 6 s after the batch's creation: the second sees it, 3 s after its end.
    assert late >= 6 - BATCH_SECONDS - 0.1
