"""Following fine-tuning jobs to their end, and the task that runs them.

`follow_job`, `fine_tune` and the task work with any `Trainer` (see `tasks/trainer_jobs.py`);
`open_trainer` gives the one a spec's `fine_tuning.trainer` names.
"""

import asyncio
import hashlib
import importlib.util
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact

from state.errors import Unavailable
from state.settings import TrainerOptions
from state.spec import FineTuningSettings
from tasks.llm import build_client, run_sync
from tasks.progress import stage as progress_stage
from tasks.provider_events import ended_by_webhook
from tasks.provider_signal import Ended, nap
from tasks.trainer_jobs import JobError, JobEvent, JobOutcome, JobRequest, JobStatus, Trainer
from tasks.trainer_local import LocalLoRATrainer
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
    ended: Ended | None = None,
) -> JobOutcome:
    """Poll a job until it ends, handing each new event to `on_event` once; cancel on timeout.

    `ended(job_id)` (a provider webhook's flag) is asked every half second between polls: when
    it says the job ended, the next poll comes at once instead of after `poll_interval`.
    """
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
        if await nap(min(poll_interval, remaining), ended, job_id):
            ended = None  # trusted once: if the job still runs, polling alone goes on
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
    uploads: dict[str, asyncio.Future[str]] | None = None,
    ended: Ended | None = None,
) -> JobOutcome:
    """Upload the training and validation files, start the job and follow it to its end.

    The same files, model and settings name the same job: a job of theirs that is running or
    has succeeded is followed again rather than paid for twice. `uploads` (file hash → file
    id) lets the jobs of one search upload each file once.
    """
    key = job_key(prepared, model, settings)
    uploads = {} if uploads is None else uploads

    async def upload(kind: str, text: str, digest: str) -> str:
        """The file id of this content, uploading it only the first time."""
        # The upload itself is shared: jobs started at once wait for the same one.
        if digest not in uploads:
            name = f"{kind}-{key[:12]}.jsonl"
            uploads[digest] = asyncio.ensure_future(trainer.upload(name, text.encode()))
        return await uploads[digest]

    training = await upload("train", prepared.train_jsonl, prepared.training_file_hash)
    validation = (
        await upload("valid", prepared.validation_jsonl, prepared.validation_file_hash or "")
        if prepared.validation_examples
        else None
    )
    request = JobRequest.from_settings(
        settings, model=model, training_file=training, validation_file=validation, key=key
    )
    job_id = await trainer.start(request)
    return await follow_job(
        trainer,
        job_id,
        poll_interval=poll_interval,
        timeout=timeout,
        on_event=on_event,
        ended=ended,
    )


def _progress(event: JobEvent) -> float | None:
    """Percent done that a metrics event reports, or None for other events."""
    data = event.data or {}
    step, total = data.get("step"), data.get("total_steps")
    if event.type != "metrics" or not isinstance(step, int | float) or not total:
        return None
    return min(100.0, 100.0 * step / total)


@asynccontextmanager
async def open_trainer(kind: str, options: TrainerOptions) -> AsyncIterator[Trainer]:
    """The trainer a spec names, open for this event loop."""
    if kind == "local":
        yield _local_trainer(options)
        return
    provider = options.provider
    async with build_client(provider) as client:
        yield OpenAIFineTuningTrainer(client, max_retries=provider.max_retries)


def _local_trainer(options: TrainerOptions) -> Trainer:
    """The local LoRA trainer; Unavailable without the extra `train` or a base model."""
    missing = [m for m in ("torch", "peft", "transformers") if importlib.util.find_spec(m) is None]
    if missing:
        raise Unavailable(
            f"fine_tuning.trainer local needs {', '.join(missing)}: pip install -e '.[train]'"
        )
    base = Path(options.local_base_dir) if options.local_base_dir else None
    if base is None or not (base / "config.json").exists():
        raise Unavailable(
            "fine_tuning.trainer local needs PHASEGATE_LOCAL_BASE_MODEL_DIR: a transformers "
            f"directory of the open model to tune (got {options.local_base_dir})"
        )
    return LocalLoRATrainer(Path(options.local_root), base)


def _job_logger(label: str) -> EventHandler:
    """An event handler that logs a job's events and moves its progress bar."""
    logger = get_run_logger()
    artifact: list[Any] = []

    async def on_event(event: JobEvent) -> None:
        """Log an event and move the progress bar on metrics events."""
        level = {"warn": logging.WARNING, "error": logging.ERROR}.get(event.level, logging.INFO)
        logger.log(level, "fine-tuning %s: %s", label, event.message)
        progress_stage(f"fine-tuning {label}: {event.message}")
        progress = _progress(event)
        if progress is None:
            return
        if artifact:
            await aupdate_progress_artifact(artifact[0], progress)
        else:
            artifact.append(
                await acreate_progress_artifact(progress, description=f"fine-tuning {label}")
            )

    return on_event


# A retry of the whole step is safe: start() finds each job this step started by its key and
# follows it instead of paying for a second one. No task timeout: `timeout` cancels the jobs,
# which killing the task would not.
@task(name="run-fine-tune-jobs", retries=2, retry_delay_seconds=30)
def run_fine_tune_jobs(
    prepared: PreparedTrainingSet,
    runs: list[FineTuningSettings],
    model: str,
    options: TrainerOptions,
    poll_interval: float = 15.0,
    timeout: float = 6 * 3600.0,
    store_url: str | None = None,
) -> list[JobOutcome]:
    """Upload the training set once, run one job per settings and follow them to their end.

    The jobs run at once where the trainer allows it, else one after another. With `store_url`
    a provider webhook about a job (the flag the webhook API keeps there) ends its wait at once.
    """
    ended = ended_by_webhook(store_url) if store_url else None

    async def run() -> list[JobOutcome]:
        """Fine-tune with a trainer opened for this run's event loop."""
        async with open_trainer(runs[0].trainer, options) as trainer:
            uploads: dict[str, asyncio.Future[str]] = {}

            def job(settings: FineTuningSettings) -> Awaitable[JobOutcome]:
                """Upload (once), start and follow the job of one settings."""
                label = f"{model} ×{settings.n_epochs} lr {settings.learning_rate_multiplier:g}"
                return fine_tune(
                    trainer,
                    prepared,
                    settings,
                    model=model,
                    poll_interval=poll_interval,
                    timeout=timeout,
                    on_event=_job_logger(label),
                    uploads=uploads,
                    ended=ended,
                )

            if trainer.concurrent:
                return list(await asyncio.gather(*(job(s) for s in runs)))
            return [await job(s) for s in runs]

    return run_sync(run)
