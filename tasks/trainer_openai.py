"""The OpenAI fine-tuning client: a `Trainer` on OpenAI's files and fine-tuning API.

The sandbox speaks the same API, and so do other hosts (Azure OpenAI): point
PHASEGATE_TRAINER_BASE_URL and PHASEGATE_TRAINER_API_KEY at one. OpenAI is winding down
self-serve fine-tuning; another trainer is another class implementing `Trainer`.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import openai

from state.errors import ProviderError, ProviderUnreachable
from tasks.trainer_jobs import TERMINAL, Checkpoint, JobError, JobEvent, JobRequest, JobStatus

LIVE_OR_SUCCEEDED = frozenset({"validating_files", "queued", "running", "succeeded"})
KEY_FIELD = "phasegate_key"
PAGE = 100


@contextmanager
def _provider_errors(what: str) -> Iterator[None]:
    """Turn the SDK's API errors into ProviderError naming the operation (and the endpoint
    when it cannot be reached: ProviderUnreachable)."""
    try:
        yield
    except openai.APITimeoutError as exc:
        raise ProviderError(f"fine-tuning: {what} failed: {exc}") from exc
    except openai.APIConnectionError as exc:
        where = exc.request.url if exc.request is not None else "the provider"
        raise ProviderUnreachable(f"fine-tuning: {what} failed: {exc} at {where}") from exc
    except openai.APIError as exc:
        raise ProviderError(f"fine-tuning: {what} failed: {exc}") from exc


class OpenAIFineTuningTrainer:
    """A `Trainer` on OpenAI's files and fine-tuning API (any endpoint that speaks it)."""

    concurrent = True  # the provider queues and runs jobs; a search starts them all at once

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
