"""The trainer against the real sandbox over HTTP: jobs that succeed, fail, time out, cancel."""

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import openai
import pytest

from state.errors import ProviderError, ProviderUnreachable
from state.spec import FineTuningSettings, load_spec
from tasks.trainer import fine_tune, follow_job
from tasks.trainer_jobs import JobEvent, JobOutcome, JobRequest
from tasks.trainer_openai import OpenAIFineTuningTrainer
from tasks.training_data import PreparedTrainingSet, prepare_training_set
from tests.plugins.sandbox_server import TEST_JOB_SECONDS, SandboxServer, dead_url
from tests.specs import write_spec

T = TypeVar("T")
SYSTEM = "You answer questions about gadgets."
SETTINGS = FineTuningSettings(
    suffix="gadgets",
    n_epochs=2,
    batch_size=4,
    learning_rate_multiplier=0.5,
    seed=5,
    validation_share=0.2,
)


def _run(
    url: str, body: Callable[[OpenAIFineTuningTrainer, openai.AsyncOpenAI], Awaitable[T]]
) -> T:
    async def main() -> T:
        client = openai.AsyncOpenAI(base_url=url, api_key="sk-test", max_retries=2)
        try:
            return await body(OpenAIFineTuningTrainer(client, max_retries=2), client)
        finally:
            await client.close()

    return asyncio.run(main())


def _row(question: str, answer: str) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Question: {question}"},
            {"role": "assistant", "content": answer},
        ]
    }


@pytest.fixture(name="prepared")
def prepared_fixture(tmp_path: Path) -> PreparedTrainingSet:
    """A prepared training set of 30 gadget questions from a spec on disk."""
    rows = [
        _row(f"Which colour is gadget model g{n}?", f"Gadget g{n} is shade {n}.") for n in range(30)
    ]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    path = write_spec(
        tmp_path,
        data={"eval": "eval.jsonl", "training": "train.jsonl"},
        fine_tuning=SETTINGS.model_dump(),
    )
    loaded = load_spec(path)
    return prepare_training_set.fn(loaded.spec, str(loaded.data_path("training")), [], [])


@pytest.fixture(autouse=True)
def fresh_sandbox(sandbox_server: SandboxServer) -> None:
    """Drop the jobs of earlier tests: start() would reuse one with the same key."""
    sandbox_server.reset(everything=True)


@pytest.fixture(name="slow_jobs")
def slow_jobs_fixture(sandbox_server: SandboxServer, sandbox_url: str) -> Iterator[str]:
    """The sandbox with jobs that take a minute, restored afterwards."""
    sandbox_server.admin("POST", "/sandbox/faults", {"job_seconds": 60})
    yield sandbox_url
    sandbox_server.admin("POST", "/sandbox/faults", {"job_seconds": TEST_JOB_SECONDS})


async def _fine_tune(
    trainer: OpenAIFineTuningTrainer, prepared: PreparedTrainingSet, events: list[JobEvent]
) -> JobOutcome:
    return await fine_tune(
        trainer,
        prepared,
        SETTINGS,
        model="sandbox-base",
        poll_interval=0.02,
        timeout=30,
        on_event=events.append,
    )


def _request(training_file: str, key: str | None = None) -> JobRequest:
    return JobRequest.from_settings(
        SETTINGS, model="sandbox-base", training_file=training_file, validation_file=None, key=key
    )


def test_fine_tune_succeeds_with_a_tuned_model(
    sandbox_url: str, prepared: PreparedTrainingSet
) -> None:
    outcome = _run(sandbox_url, lambda trainer, _: _fine_tune(trainer, prepared, []))
    assert outcome.status == "succeeded" and not outcome.timed_out
    assert outcome.fine_tuned_model is not None
    assert outcome.fine_tuned_model.startswith("ft:sandbox-base:gadgets:")
    assert outcome.trained_tokens is not None and outcome.trained_tokens > 0


def test_fine_tune_sends_the_spec_hyperparameters(
    sandbox_url: str, prepared: PreparedTrainingSet
) -> None:
    outcome = _run(sandbox_url, lambda trainer, _: _fine_tune(trainer, prepared, []))
    assert outcome.hyperparameters == {
        "n_epochs": 2,
        "batch_size": 4,
        "learning_rate_multiplier": 0.5,
    }
    assert [c.step_number for c in outcome.checkpoints] == sorted(
        c.step_number for c in outcome.checkpoints
    )
    assert len(outcome.checkpoints) == 2
    assert outcome.metrics == outcome.checkpoints[-1].metrics and "train_loss" in outcome.metrics


def test_fine_tune_tuned_model_answers_from_training_pairs(
    sandbox_url: str, prepared: PreparedTrainingSet
) -> None:
    async def body(trainer: OpenAIFineTuningTrainer, client: openai.AsyncOpenAI) -> list[str]:
        outcome = await _fine_tune(trainer, prepared, [])
        answers = []
        for model in (outcome.fine_tuned_model, "sandbox-base"):
            reply = await client.chat.completions.create(
                model=model,
                messages=[
                    {"role": "system", "content": SYSTEM},
                    {"role": "user", "content": "Question: Which colour is gadget model g7?"},
                ],
            )
            answers.append(reply.choices[0].message.content)
        return answers

    tuned, base = _run(sandbox_url, body)
    assert tuned == "Gadget g7 is shade 7."
    assert base != tuned


def test_fine_tune_uploads_validation_file(
    sandbox_server: SandboxServer, sandbox_url: str, prepared: PreparedTrainingSet
) -> None:
    _run(sandbox_url, lambda trainer, _: _fine_tune(trainer, prepared, []))
    assert prepared.validation_examples > 0
    assert sandbox_server.stats()["files_create"] == 2


def test_fine_tune_run_again_follows_the_same_job(
    sandbox_server: SandboxServer, sandbox_url: str, prepared: PreparedTrainingSet
) -> None:
    first = _run(sandbox_url, lambda trainer, _: _fine_tune(trainer, prepared, []))
    again = _run(sandbox_url, lambda trainer, _: _fine_tune(trainer, prepared, []))
    assert again.id == first.id and again.fine_tuned_model == first.fine_tuned_model
    assert sandbox_server.stats()["jobs_create"] == 1


def test_follow_job_hands_each_event_once(sandbox_url: str, prepared: PreparedTrainingSet) -> None:
    events: list[JobEvent] = []
    outcome = _run(sandbox_url, lambda trainer, _: _fine_tune(trainer, prepared, events))
    assert [e.id for e in events] == [e.id for e in outcome.events]
    assert len({e.id for e in events}) == len(events)
    assert any(e.type == "metrics" for e in events)
    assert events[-1].message.startswith("Job completed")


def test_follow_job_awaits_async_handlers(sandbox_url: str, prepared: PreparedTrainingSet) -> None:
    seen: list[str] = []

    async def handler(event: JobEvent) -> None:
        await asyncio.sleep(0)
        seen.append(event.id)

    outcome = _run(
        sandbox_url,
        lambda trainer, _: fine_tune(
            trainer,
            prepared,
            SETTINGS,
            model="sandbox-base",
            poll_interval=0.02,
            timeout=30,
            on_event=handler,
        ),
    )
    assert seen == [e.id for e in outcome.events]


def test_follow_job_records_provider_error_of_malformed_file(sandbox_url: str) -> None:
    broken = (
        json.dumps(_row("q", "a"))
        + "\n"
        + json.dumps({"messages": [{"role": "user", "content": "q"}]})
        + "\n"
    ).encode()

    async def body(trainer: OpenAIFineTuningTrainer, _: openai.AsyncOpenAI) -> JobOutcome:
        job_id = await trainer.start(_request(await trainer.upload("broken.jsonl", broken)))
        return await follow_job(trainer, job_id, poll_interval=0.02, timeout=30)

    outcome = _run(sandbox_url, body)
    assert outcome.status == "failed" and outcome.fine_tuned_model is None
    assert outcome.error is not None and outcome.error.code == "invalid_training_file"
    assert outcome.error.param == "training_file"
    assert outcome.error.message.startswith("line 2:")
    assert not outcome.timed_out


def test_follow_job_timeout_cancels_the_job(slow_jobs: str, prepared: PreparedTrainingSet) -> None:
    async def body(trainer: OpenAIFineTuningTrainer, _: openai.AsyncOpenAI) -> JobOutcome:
        file_id = await trainer.upload("train.jsonl", prepared.train_jsonl.encode())
        job_id = await trainer.start(_request(file_id))
        return await follow_job(trainer, job_id, poll_interval=0.01, timeout=0.05)

    outcome = _run(slow_jobs, body)
    assert outcome.status == "cancelled" and outcome.timed_out
    assert outcome.error is not None and outcome.error.code == "timeout"
    assert outcome.events[-1].message == "Job cancelled"


def test_trainer_cancel_cancels_a_running_job(
    slow_jobs: str, prepared: PreparedTrainingSet
) -> None:
    async def body(trainer: OpenAIFineTuningTrainer, _: openai.AsyncOpenAI) -> str:
        job_id = await trainer.start(
            _request(await trainer.upload("t.jsonl", prepared.train_jsonl.encode()))
        )
        await trainer.cancel(job_id)
        return (await trainer.poll(job_id)).status

    assert _run(slow_jobs, body) == "cancelled"


def test_trainer_cancel_leaves_a_finished_job(
    sandbox_url: str, prepared: PreparedTrainingSet
) -> None:
    async def body(trainer: OpenAIFineTuningTrainer, _: openai.AsyncOpenAI) -> str:
        outcome = await _fine_tune(trainer, prepared, [])
        await trainer.cancel(outcome.id)
        return (await trainer.poll(outcome.id)).status

    assert _run(sandbox_url, body) == "succeeded"


def test_trainer_start_reuses_a_live_job_with_the_same_key(
    slow_jobs: str, prepared: PreparedTrainingSet
) -> None:
    async def body(trainer: OpenAIFineTuningTrainer, _: openai.AsyncOpenAI) -> list[str]:
        file_id = await trainer.upload("t.jsonl", prepared.train_jsonl.encode())
        ids = [await trainer.start(_request(file_id, key=key)) for key in ("k1", "k1", "k2")]
        for job_id in set(ids):
            await trainer.cancel(job_id)
        return ids

    first, again, other = _run(slow_jobs, body)
    assert first == again and other != first


def test_trainer_start_does_not_reuse_a_cancelled_job(
    slow_jobs: str, prepared: PreparedTrainingSet
) -> None:
    async def body(trainer: OpenAIFineTuningTrainer, _: openai.AsyncOpenAI) -> tuple[str, str]:
        file_id = await trainer.upload("t.jsonl", prepared.train_jsonl.encode())
        first = await trainer.start(_request(file_id, key="k1"))
        await trainer.cancel(first)
        second = await trainer.start(_request(file_id, key="k1"))
        await trainer.cancel(second)
        return first, second

    first, second = _run(slow_jobs, body)
    assert first != second


def test_trainer_poll_of_unknown_job_raises_provider_error(sandbox_url: str) -> None:
    with pytest.raises(ProviderError, match="fine-tuning: reading job ftjob-nope failed"):
        _run(sandbox_url, lambda trainer, _: trainer.poll("ftjob-nope"))


def test_trainer_start_with_unknown_file_raises_provider_error(sandbox_url: str) -> None:
    with pytest.raises(ProviderError, match="fine-tuning: job creation failed"):
        _run(sandbox_url, lambda trainer, _: trainer.start(_request("file-nope")))


def test_trainer_cancel_of_unknown_job_raises_provider_error(sandbox_url: str) -> None:
    with pytest.raises(ProviderError, match="fine-tuning: cancelling job ftjob-nope failed"):
        _run(sandbox_url, lambda trainer, _: trainer.cancel("ftjob-nope"))


def test_trainer_cancel_refused_for_a_live_job_raises_provider_error() -> None:
    # The sandbox never refuses to cancel a live job: a double at the HTTP boundary does.
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/cancel"):
            error = {"message": "not now", "type": "invalid_request_error", "code": "busy"}
            return httpx2.Response(400, json={"error": error})
        return httpx2.Response(200, json={"id": "ftjob-1", "status": "running"})

    async def main() -> None:
        http = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
        client = openai.AsyncOpenAI(base_url="http://test/v1", api_key="k", http_client=http)
        await OpenAIFineTuningTrainer(client).cancel("ftjob-1")

    with pytest.raises(ProviderError, match="cancelling job ftjob-1 failed.*not now"):
        asyncio.run(main())


def test_trainer_upload_to_an_unreachable_endpoint_names_it() -> None:
    url = dead_url()

    async def body(trainer: OpenAIFineTuningTrainer, _: openai.AsyncOpenAI) -> str:
        return await trainer.upload("train.jsonl", b"{}\n")

    with pytest.raises(ProviderUnreachable, match=f"upload of train.jsonl failed: .* at {url}"):
        _run(url, body)
