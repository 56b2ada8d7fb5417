"""Fine-tuning providers behind one `Trainer` protocol, and following a job to its end.

`OpenAIFineTuningTrainer` speaks OpenAI's files and fine-tuning API, which the sandbox speaks
too. OpenAI is winding down self-serve fine-tuning: another provider (a self-hosted trainer,
another host's fine-tuning API) is added as another class implementing `Trainer`; `follow_job`,
`fine_tune` and the task stay as they are.
"""

import asyncio
import hashlib
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import openai
from prefect import get_run_logger, task
from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact
from pydantic import BaseModel, ConfigDict, Field

from state.errors import ProviderError
from state.settings import ProviderOptions
from state.spec import FineTuningSettings
from tasks.llm import build_client, run_sync
from tasks.training_data import PreparedTrainingSet

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
LIVE_OR_SUCCEEDED = frozenset({"validating_files", "queued", "running", "succeeded"})
KEY_FIELD = "phasegate_key"
PAGE = 100
EventHandler = Callable[["JobEvent"], Awaitable[None] | None]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class JobRequest(_Model):
    """What to fine-tune on, and how."""

    model: str
    training_file: str
    validation_file: str | None = None
    n_epochs: int
    batch_size: int
    learning_rate_multiplier: float
    suffix: str | None = None
    seed: int | None = None
    key: str | None = Field(None, description="start() reuses a live or succeeded job with it")

    @classmethod
    def from_settings(
        cls,
        settings: FineTuningSettings,
        *,
        model: str,
        training_file: str,
        validation_file: str | None,
        key: str | None,
    ) -> "JobRequest":
        """A request with the spec's hyperparameters, suffix and seed."""
        return cls(
            model=model,
            training_file=training_file,
            validation_file=validation_file,
            n_epochs=settings.n_epochs,
            batch_size=settings.batch_size,
            learning_rate_multiplier=settings.learning_rate_multiplier,
            suffix=settings.suffix,
            seed=settings.seed,
            key=key,
        )


class JobError(_Model):
    """Why a job failed, as the provider says it."""

    code: str
    message: str
    param: str | None = None


class JobEvent(_Model):
    """One event of a job's log."""

    id: str
    created_at: int
    level: str
    message: str
    type: str | None = None
    data: dict[str, Any] | None = None


class Checkpoint(_Model):
    """A model saved at the end of an epoch, with its metrics."""

    id: str
    step_number: int
    model: str
    metrics: dict[str, float]


class JobStatus(_Model):
    """A job as the provider reports it now; events oldest first."""

    id: str
    status: str
    model: str
    training_file: str
    hyperparameters: dict[str, Any]
    fine_tuned_model: str | None = None
    error: JobError | None = None
    trained_tokens: int | None = None
    events: list[JobEvent] = Field(default_factory=list)
    checkpoints: list[Checkpoint] = Field(
        default_factory=list, description="fetched once the job has succeeded"
    )

    @property
    def terminal(self) -> bool:
        """Whether the job has finished (succeeded, failed or cancelled)."""
        return self.status in TERMINAL


class JobOutcome(JobStatus):
    """A followed job at its end."""

    timed_out: bool = False
    seconds: float

    @property
    def metrics(self) -> dict[str, float]:
        """Metrics of the last checkpoint (empty when there is none)."""
        return self.checkpoints[-1].metrics if self.checkpoints else {}


class Trainer(Protocol):
    """A fine-tuning provider."""

    async def upload(self, name: str, data: bytes) -> str:
        """Upload a JSONL training file; returns its file id."""
        ...

    async def start(self, job: JobRequest) -> str:
        """Start a job (or find the one started with the same key); returns its id."""
        ...

    async def poll(self, job_id: str) -> JobStatus:
        """The job's status now, with every event so far."""
        ...

    async def cancel(self, job_id: str) -> None:
        """Cancel a job; a job that has already finished is left as it is."""
        ...


@contextmanager
def _provider_errors(what: str) -> Iterator[None]:
    """Turn the SDK's API errors into ProviderError naming the operation."""
    try:
        yield
    except openai.APIError as exc:
        raise ProviderError(f"fine-tuning: {what} failed: {exc}") from exc


class OpenAIFineTuningTrainer:
    """A `Trainer` on OpenAI's files and fine-tuning API (any endpoint that speaks it)."""

    def __init__(self, client: openai.AsyncOpenAI, *, max_retries: int = 4) -> None:
        """Use `client`, letting the SDK retry each call (it honours Retry-After)."""
        # build_client turns the SDK's retries off for batches that retry per call themselves;
        # these are single calls, so the SDK's own retries are the right ones.
        self._client = client.with_options(max_retries=max_retries)
        # Creating a job is not idempotent: no blind retries; a retried task finds it by key.
        self._create_client = client.with_options(max_retries=0)
        self._events: dict[str, list[JobEvent]] = {}

    async def upload(self, name: str, data: bytes) -> str:
        """Upload a JSONL training file; returns its file id."""
        with _provider_errors(f"upload of {name}"):
            uploaded = await self._client.files.create(file=(name, data), purpose="fine-tune")
        return uploaded.id

    async def start(self, job: JobRequest) -> str:
        """Start a job (or find the one started with the same key); returns its id."""
        hyperparameters = job.model_dump(
            include={"n_epochs", "batch_size", "learning_rate_multiplier"}
        )
        with _provider_errors("job creation"):
            if job.key and (found := await self._find(job.key)):
                return found
            created = await self._create_client.fine_tuning.jobs.create(
                model=job.model,
                training_file=job.training_file,
                validation_file=job.validation_file,
                method={"type": "supervised", "supervised": {"hyperparameters": hyperparameters}},
                suffix=job.suffix,
                seed=job.seed,
                metadata={KEY_FIELD: job.key} if job.key else None,
            )
        return created.id

    async def _find(self, key: str) -> str | None:
        """The id of a running or succeeded job started with this key, or None."""
        # The 100 newest jobs: a retry comes soon after the start it repeats.
        page = await self._client.fine_tuning.jobs.list(limit=PAGE, metadata={KEY_FIELD: key})
        reusable = [
            job.id
            for job in page.data
            if (job.metadata or {}).get(KEY_FIELD) == key and job.status in LIVE_OR_SUCCEEDED
        ]
        return reusable[0] if reusable else None

    async def poll(self, job_id: str) -> JobStatus:
        """The job's status now, with every event so far."""
        with _provider_errors(f"reading job {job_id}"):
            job = await self._client.fine_tuning.jobs.retrieve(job_id)
            events = await self._all_events(job_id)
            checkpoints = await self._checkpoints(job_id) if job.status == "succeeded" else []
        method = job.method.supervised if job.method else None
        hyper = method.hyperparameters if method and method.hyperparameters else job.hyperparameters
        return JobStatus(
            id=job.id,
            status=job.status,
            model=job.model,
            training_file=job.training_file,
            hyperparameters=hyper.model_dump(exclude_none=True) if hyper else {},
            fine_tuned_model=job.fine_tuned_model,
            error=JobError(**job.error.model_dump()) if job.error else None,
            trained_tokens=job.trained_tokens,
            events=events,
            checkpoints=checkpoints,
        )

    async def _all_events(self, job_id: str) -> list[JobEvent]:
        """Every event of a job so far, oldest first, fetching only new ones."""
        # The API lists events newest first: read until the newest one already known.
        known = self._events.setdefault(job_id, [])
        seen = {event.id for event in known}
        fresh: list[JobEvent] = []
        async for event in self._client.fine_tuning.jobs.list_events(job_id, limit=PAGE):
            if event.id in seen:
                break
            fields = event.model_dump(include={"id", "created_at", "level", "message", "type"})
            data = event.data if isinstance(event.data, dict) else None
            fresh.append(JobEvent(**fields, data=data))
        known.extend(reversed(fresh))
        return list(known)

    async def _checkpoints(self, job_id: str) -> list[Checkpoint]:
        """The checkpoints of a job, by step."""
        listed = [
            Checkpoint(
                id=c.id,
                step_number=c.step_number,
                model=c.fine_tuned_model_checkpoint,
                metrics=c.metrics.model_dump(exclude_none=True),
            )
            async for c in self._client.fine_tuning.jobs.checkpoints.list(job_id, limit=PAGE)
        ]
        return sorted(listed, key=lambda c: c.step_number)

    async def cancel(self, job_id: str) -> None:
        """Cancel a job; a job that has already finished is left as it is."""
        with _provider_errors(f"cancelling job {job_id}"):
            try:
                await self._client.fine_tuning.jobs.cancel(job_id)
            except openai.BadRequestError:
                # Refused for a job that finished meanwhile; only a live job is an error.
                job = await self._client.fine_tuning.jobs.retrieve(job_id)
                if job.status not in TERMINAL:
                    raise


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
