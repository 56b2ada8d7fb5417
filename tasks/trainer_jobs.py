"""A fine-tuning job: the request, its status, events and outcome, and the `Trainer` protocol.

A provider is a class implementing `Trainer` (`OpenAIFineTuningTrainer` is the first); the
models here are what every provider reports in.
"""

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from state.spec import FineTuningSettings

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
# Every trainer's statuses fold into one lifecycle: created, running, then one terminal status.
LIFECYCLE = {"validating_files": "created", "queued": "created", "created": "created"}


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

    @property
    def lifecycle(self) -> str:
        """The status in the lifecycle every trainer shares: created, running, succeeded,
        failed or cancelled."""
        return LIFECYCLE.get(self.status, self.status)

    @property
    def cause(self) -> str:
        """Why a job did not succeed, for a decision's reason."""
        detail = f"{self.error.code}: {self.error.message}" if self.error else self.status
        return f"fine-tuning job {self.id} {self.lifecycle} ({detail})"


class JobOutcome(JobStatus):
    """A followed job at its end."""

    timed_out: bool = False
    seconds: float

    @property
    def metrics(self) -> dict[str, float]:
        """Metrics of the last checkpoint (empty when there is none)."""
        return self.checkpoints[-1].metrics if self.checkpoints else {}


class Trainer(Protocol):
    """A fine-tuning provider.

    `concurrent` says whether several jobs may run at once (a provider's queue) or must run one
    after another (the local trainer on this machine's cores).
    """

    concurrent: bool

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
