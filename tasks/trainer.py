"""Following a fine-tuning job to its end, and the task that runs one.

`follow_job`, `fine_tune` and the task work with any `Trainer` (see `tasks/trainer_jobs.py`);
the task runs `OpenAIFineTuningTrainer`.
"""

import asyncio
import hashlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact

from state.settings import ProviderOptions
from state.spec import FineTuningSettings
from tasks.llm import build_client, run_sync
from tasks.trainer_jobs import JobError, JobEvent, JobOutcome, JobRequest, JobStatus, Trainer
from tasks.trainer_openai import OpenAIFineTuningTrainer
from tasks.training_data import PreparedTrainingSet

EventHandler = Callable[[JobEvent], Awaitable[None] | None]


async def follow_job(
    trainer: Trainer,
    job_id: str,
    *,
    poll_interval: float,
    timeout: float,
    on_event: EventHandler | None = None,
) -> JobOutcome:
    """Poll a job until it ends, handing each new event to `on_event` once; cancel on timeout."""
    started = time.monotonic()
    handled: set[str] = set()

    async def report(status: JobStatus) -> None:
        """Hand each event not handled yet to `on_event`."""
        for event in status.events:
            if event.id not in handled:
                handled.add(event.id)
                result = on_event(event) if on_event else None
                if inspect.isawaitable(result):
                    await result

    while True:
        status = await trainer.poll(job_id)
        await report(status)
        if status.terminal:
            return JobOutcome(**dict(status), seconds=time.monotonic() - started)
        remaining = started + timeout - time.monotonic()
        if remaining <= 0:
            break
        await asyncio.sleep(min(poll_interval, remaining))
    await trainer.cancel(job_id)
    status = await trainer.poll(job_id)
    await report(status)
    timed_out = status.status == "cancelled"
    error = (
        JobError(code="timeout", message=f"not finished after {timeout:g} s; cancelled")
        if timed_out
        else status.error
    )
    return JobOutcome(
        **dict(status, error=error), timed_out=timed_out, seconds=time.monotonic() - started
    )


def job_key(prepared: PreparedTrainingSet, model: str, settings: FineTuningSettings) -> str:
    """A key naming one training run: same files, model and settings give the same key."""
    parts = [prepared.training_file_hash, prepared.validation_file_hash or "", model]
    canonical = "|".join(parts) + "|" + settings.model_dump_json()
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


async def fine_tune(
    trainer: Trainer,
    prepared: PreparedTrainingSet,
    settings: FineTuningSettings,
    *,
    model: str,
    poll_interval: float,
    timeout: float,
    on_event: EventHandler | None = None,
) -> JobOutcome:
    """Upload the training and validation files, start the job and follow it to its end.

    The same files, model and settings name the same job: a job of theirs that is running or
    has succeeded is followed again rather than paid for twice.
    """
    key = job_key(prepared, model, settings)
    training = await trainer.upload(f"train-{key[:12]}.jsonl", prepared.train_jsonl.encode())
    validation = (
        await trainer.upload(f"valid-{key[:12]}.jsonl", prepared.validation_jsonl.encode())
        if prepared.validation_examples
        else None
    )
    request = JobRequest.from_settings(
        settings, model=model, training_file=training, validation_file=validation, key=key
    )
    job_id = await trainer.start(request)
    return await follow_job(
        trainer, job_id, poll_interval=poll_interval, timeout=timeout, on_event=on_event
    )


def _progress(event: JobEvent) -> float | None:
    """Percent done that a metrics event reports, or None for other events."""
    data = event.data or {}
    step, total = data.get("step"), data.get("total_steps")
    if event.type != "metrics" or not isinstance(step, int | float) or not total:
        return None
    return min(100.0, 100.0 * step / total)


# A retry of the whole step is safe: start() finds the job this step started by its key and
# follows it instead of paying for a second one. No task timeout: `timeout` cancels the job,
# which killing the task would not.
@task(name="run-fine-tune-job", retries=2, retry_delay_seconds=30)
def run_fine_tune_job(
    prepared: PreparedTrainingSet,
    settings: FineTuningSettings,
    model: str,
    options: ProviderOptions,
    poll_interval: float = 15.0,
    timeout: float = 6 * 3600.0,
) -> JobOutcome:
    """Upload the training set, run the fine-tuning job and follow it with a progress bar."""
    logger = get_run_logger()
    artifact: list[Any] = []

    async def on_event(event: JobEvent) -> None:
        """Log an event and move the progress bar on metrics events."""
        level = {"warn": logging.WARNING, "error": logging.ERROR}.get(event.level, logging.INFO)
        logger.log(level, "fine-tuning job: %s", event.message)
        progress = _progress(event)
        if progress is None:
            return
        if artifact:
            await aupdate_progress_artifact(artifact[0], progress)
        else:
            artifact.append(
                await acreate_progress_artifact(progress, description=f"fine-tuning {model}")
            )

    async def run() -> JobOutcome:
        """Fine-tune with a client built for this run's event loop."""
        async with build_client(options) as client:
            trainer = OpenAIFineTuningTrainer(client, max_retries=options.max_retries)
            return await fine_tune(
                trainer,
                prepared,
                settings,
                model=model,
                poll_interval=poll_interval,
                timeout=timeout,
                on_event=on_event,
            )

    return run_sync(run)
