"""End to end: the sandbox's signed webhook ends a fine-tuning job's wait; without it, polling does.

Real parts: the sandbox (its fine-tuning API and its webhooks), the webhook API over HTTP in a
thread of this process (tests/e2e/conftest.py), the session's Prefect API and a SQLite store.
"""

import asyncio
import json
import time
from pathlib import Path

import openai

from state.settings import get_settings
from state.spec import FineTuningSettings, load_spec
from tasks.provider_events import ended_by_webhook
from tasks.trainer import fine_tune
from tasks.trainer_jobs import JobOutcome
from tasks.trainer_openai import OpenAIFineTuningTrainer
from tasks.training_data import PreparedTrainingSet, prepare_training_set
from tests.e2e.conftest import SECRET
from tests.plugins.sandbox_server import TEST_JOB_SECONDS, SandboxServer, dead_url
from tests.specs import write_spec

JOB_SECONDS = 3.0
#: The first poll sees the job just created, the next comes 6 s later: 3 s after its end.
POLL_SECONDS = 6.0


def _prepared(directory: Path) -> PreparedTrainingSet:
    """Thirty clean examples, checked and split as a fine-tuning check does."""
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"Question: Which colour is gadget g{n}?"},
                {"role": "assistant", "content": f"Gadget g{n} is shade {n}."},
            ]
        }
        for n in range(30)
    ]
    (directory / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = write_spec(directory, data={"eval": "eval.jsonl", "training": "train.jsonl"})
    loaded = load_spec(path)
    return prepare_training_set.fn(loaded.spec, str(loaded.data_path("training")), [], [])


def _tune(
    sandbox: SandboxServer, hook: str, suffix: str, directory: Path
) -> tuple[JobOutcome, float]:
    """Follow one sandbox job with its webhook sent to `hook`; the outcome and how long after
    the job's end (by the sandbox's clock) the wait ended."""
    sandbox.admin(
        "POST",
        "/sandbox/faults",
        {"job_seconds": JOB_SECONDS, "webhook_url": hook, "webhook_secret": SECRET},
    )
    settings = FineTuningSettings(suffix=suffix, n_epochs=1)

    async def main() -> JobOutcome:
        client = openai.AsyncOpenAI(base_url=sandbox.url, api_key="sk-test", max_retries=2)
        try:
            return await fine_tune(
                OpenAIFineTuningTrainer(client),
                _prepared(directory),
                settings,
                model="sandbox-base",
                poll_interval=POLL_SECONDS,
                timeout=60,
                ended=ended_by_webhook(get_settings().store_url),
            )
        finally:
            await client.close()

    try:
        outcome = asyncio.run(main())
    finally:
        sandbox.admin("POST", "/sandbox/faults", {"job_seconds": TEST_JOB_SECONDS})
    ended = time.time()
    job = sandbox.app_state.jobs[outcome.id]
    return outcome, ended - (job.created + job.duration)


def test_sandbox_webhook_ends_the_tuning_wait_within_2_s(
    webhook_url: str, sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    outcome, late = _tune(sandbox_server, webhook_url, "hooked", tmp_path)
    assert outcome.status == "succeeded" and outcome.fine_tuned_model
    assert late < 2.0, f"the wait ended {late:.2f} s after the job succeeded"
    sent = [json.loads(s["body"]) for s in sandbox_server.admin("GET", "/sandbox/webhooks")["data"]]
    assert [s["type"] for s in sent if s["data"]["id"] == outcome.id] == [
        "fine_tuning.job.succeeded"
    ]


def test_without_the_webhook_polling_finishes_the_tuning_wait(
    webhook_url: str, sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    outcome, late = _tune(sandbox_server, dead_url() + "/provider/openai", "lost", tmp_path)
    assert outcome.status == "succeeded" and outcome.fine_tuned_model
    assert late >= POLL_SECONDS - JOB_SECONDS - 0.1
