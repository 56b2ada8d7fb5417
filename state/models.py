"""SQLModel tables of the state store. Only `state/` imports this module."""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


def _when(**kwargs: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), **kwargs)


def _json(nullable: bool = True) -> Any:
    return Field(default=None, sa_column=Column(JSON, nullable=nullable))


class UseCaseRecord(SQLModel, table=True):
    """A registered use case: its spec, active phase and active configuration."""

    __tablename__ = "use_case"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=63)
    description: str = Field(default="", sa_type=Text)
    spec_json: str = Field(sa_type=Text)
    spec_hash: str = Field(max_length=64)
    spec_path: str = Field(sa_type=Text)
    active_phase: str = Field(default="prompting", max_length=20)
    active_configuration_id: int | None = Field(
        default=None,
        description="configuration.id; no foreign key, to keep the tables acyclic",
    )
    version: int = Field(default=1, description="optimistic-concurrency counter")
    created_at: datetime = _when()
    updated_at: datetime = _when()


class PromptVersionRecord(SQLModel, table=True):
    """An immutable prompt version, identified by its content hash."""

    __tablename__ = "prompt_version"
    __table_args__ = (UniqueConstraint("use_case_id", "content_hash"),)
    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id", index=True)
    name: str = Field(max_length=63)
    version: int
    kind: str = Field(max_length=32)
    content: dict = _json(nullable=False)
    content_hash: str = Field(max_length=64)
    created_at: datetime = _when()


class ModelVersionRecord(SQLModel, table=True):
    """A fine-tuned model with what it was trained from."""

    __tablename__ = "model_version"
    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id", index=True)
    model_id: str = Field(sa_type=Text)
    base_model: str = Field(sa_type=Text)
    training_file_id: str = Field(sa_type=Text)
    training_file_hash: str = Field(max_length=64)
    job_id: str = Field(sa_type=Text)
    hyperparameters: dict = _json(nullable=False)
    checkpoints: list = _json(nullable=False)
    metrics: dict = _json(nullable=False)
    created_at: datetime = _when()


class ConfigurationRecord(SQLModel, table=True):
    """What an application calls in one phase; identified by its content hash."""

    __tablename__ = "configuration"
    __table_args__ = (UniqueConstraint("use_case_id", "content_hash"),)
    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id", index=True)
    phase: str = Field(max_length=20)
    model: str = Field(sa_type=Text)
    prompt_version_id: int | None = Field(default=None, foreign_key="prompt_version.id")
    model_version_id: int | None = Field(default=None, foreign_key="model_version.id")
    retrieval: dict | None = _json()
    routing: dict | None = _json()
    generation: dict | None = _json()
    answers: dict | None = _json()
    content_hash: str = Field(max_length=64)
    created_at: datetime = _when()


class ActivationRecord(SQLModel, table=True):
    """One period during which a configuration was active; answers "active at time t"."""

    __tablename__ = "activation"
    __table_args__ = (Index("ix_activation_use_case_started", "use_case_id", "started_at"),)
    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id")
    configuration_id: int | None = Field(default=None, foreign_key="configuration.id")
    phase: str = Field(max_length=20)
    decision_id: int = Field(foreign_key="decision.id")
    started_at: datetime = _when()


class EvalRunRecord(SQLModel, table=True):
    """One configuration scored on an eval set, with its aggregates."""

    __tablename__ = "eval_run"
    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id", index=True)
    configuration_id: int | None = Field(default=None, foreign_key="configuration.id")
    purpose: str = Field(default="eval", max_length=20)
    eval_set_hash: str = Field(max_length=64)
    metric: str = Field(max_length=32)
    n: int
    mean: float
    ci_low: float
    ci_high: float
    error_rate: float
    latency_p50_ms: float
    latency_p95_ms: float
    prompt_tokens_per_query: float
    completion_tokens_per_query: float
    cost_per_query: float | None = None
    provider_calls: int = 0
    retries: int = 0
    extra: dict | None = _json()
    invalid_reason: str | None = Field(default=None, sa_type=Text)
    flow_run_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = _when()


class EvalResultRecord(SQLModel, table=True):
    """The score of one eval item in one eval run."""

    __tablename__ = "eval_result"
    id: int | None = Field(default=None, primary_key=True)
    eval_run_id: int = Field(foreign_key="eval_run.id", index=True)
    item_id: str = Field(max_length=200)
    score: float | None = None
    output: str = Field(default="", sa_type=Text)
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error: str | None = Field(default=None, sa_type=Text)


class DecisionRecord(SQLModel, table=True):
    """The append-only record of a phase check's outcome."""

    __tablename__ = "decision"
    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id", index=True)
    kind: str = Field(max_length=20)
    from_phase: str = Field(max_length=20)
    to_phase: str = Field(max_length=20)
    configuration_id: int | None = Field(default=None, foreign_key="configuration.id")
    candidate_configuration_id: int | None = Field(default=None, foreign_key="configuration.id")
    spec_hash: str = Field(max_length=64)
    decided_by: str = Field(default="phasegate", max_length=200)
    reason: str = Field(default="", sa_type=Text)
    flow_run_id: str | None = Field(default=None, unique=True, max_length=36)
    eval_run_ids: list = _json(nullable=False)
    created_at: datetime = _when()


class GateResultRecord(SQLModel, table=True):
    """One gate check's answer, kept with the decision it led to."""

    __tablename__ = "gate_result"
    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="decision.id", index=True)
    check: str = Field(max_length=63)
    stage: str = Field(max_length=20, description="entry or promotion")
    status: str = Field(max_length=20)
    observed: Any = _json()
    threshold: Any = _json()
    evidence: dict = _json(nullable=False)
    detail: str = Field(default="", sa_type=Text)


class UsageRecord(SQLModel, table=True):
    """Queries served by a use case on one day, as reported by one source."""

    __tablename__ = "usage"
    __table_args__ = (
        UniqueConstraint("use_case_id", "day", "source", name="uq_usage_day"),
        Index("ix_usage_day_use_case_count", "day", "use_case_id", "count"),
    )
    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id")
    day: date
    source: str = Field(default="default", max_length=63)
    count: int = Field(ge=0)


class InteractionRecord(SQLModel, table=True):
    """A production input with its output and, when known, a label or rating."""

    __tablename__ = "interaction"
    __table_args__ = (
        UniqueConstraint("use_case_id", "client_id", name="uq_interaction_client"),
        Index("ix_interaction_configuration_created", "configuration_id", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id", index=True)
    client_id: str = Field(max_length=200)
    input: str = Field(sa_type=Text)
    output: str = Field(default="", sa_type=Text)
    label: str | None = Field(default=None, sa_type=Text)
    rating: float | None = None
    configuration_id: int | None = Field(
        default=None, foreign_key="configuration.id", description="the arm that served it"
    )
    latency_ms: float | None = None
    error: bool | None = Field(default=None, description="None: not reported")
    created_at: datetime = _when()


class ApprovalRecord(SQLModel, table=True):
    """A request for a person's approval of a move, and its answer."""

    __tablename__ = "approval"
    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id", index=True)
    flow_run_id: str = Field(unique=True, max_length=36)
    status: str = Field(default="pending", max_length=20)
    to_phase: str = Field(max_length=20)
    candidate_configuration_id: int | None = Field(default=None, foreign_key="configuration.id")
    requested_at: datetime = _when()
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))
    approver: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, sa_type=Text)
    decided_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ResponseCacheRecord(SQLModel, table=True):
    """A provider response keyed by model, messages and parameters."""

    __tablename__ = "response_cache"
    key: str = Field(primary_key=True, max_length=64)
    response: dict = _json(nullable=False)
    created_at: datetime = _when()


class DocumentRecord(SQLModel, table=True):
    """One knowledge document of a use case, with what its chunks were made from."""

    __tablename__ = "document"
    __table_args__ = (UniqueConstraint("use_case_id", "doc_id", name="uq_document_doc_id"),)
    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id")
    doc_id: str = Field(max_length=500, description="relative path without suffix")
    content_hash: str = Field(max_length=64, description="sha256 of the file's bytes")
    chunker: str = Field(max_length=100, description="chunking settings the chunks came from")
    updated_at: datetime = _when()


class ChunkRecord(SQLModel, table=True):
    """One passage of a document; full-text indexed by migration 0002 (not by this class)."""

    __tablename__ = "chunk"
    id: int | None = Field(default=None, primary_key=True)
    document_id: int = Field(foreign_key="document.id", index=True)
    use_case_id: int = Field(foreign_key="use_case.id", index=True)
    ordinal: int
    heading: str = Field(default="", sa_type=Text, description="heading path, ' > ' joined")
    text: str = Field(sa_type=Text)


class ChunkEmbeddingRecord(SQLModel, table=True):
    """A chunk's vector from one embedding model; dropped with its chunk (migration 0004)."""

    __tablename__ = "chunk_embedding"
    chunk_id: int = Field(
        sa_column=Column(Integer, ForeignKey("chunk.id", ondelete="CASCADE"), primary_key=True)
    )
    model: str = Field(primary_key=True, max_length=200)
    dimensions: int
    vector: bytes = Field(sa_type=LargeBinary, description="little-endian float32")


class CheckLeaseRecord(SQLModel, table=True):
    """The lease of the one phase check running for a use case."""

    __tablename__ = "check_lease"
    use_case_id: int = Field(foreign_key="use_case.id", primary_key=True)
    flow_run_id: str = Field(max_length=36)
    host: str = Field(max_length=255)
    pid: int
    acquired_at: datetime = _when()
    renewed_at: datetime | None = Field(
        default=None, sa_type=DateTime(timezone=True), description="the last heartbeat"
    )
    expires_at: datetime = Field(sa_type=DateTime(timezone=True))


class LeaseBreakRecord(SQLModel, table=True):
    """An operator's break of a check lease: whose lease, by whom, when and why."""

    __tablename__ = "lease_break"
    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id", index=True)
    flow_run_id: str = Field(max_length=36, description="the holder whose lease was broken")
    host: str = Field(max_length=255)
    broken_by: str = Field(max_length=200)
    reason: str = Field(sa_type=Text)
    broken_at: datetime = _when()


class WebhookDeliveryRecord(SQLModel, table=True):
    """A webhook request this store has taken, by its `webhook-id`, kept to refuse replays."""

    __tablename__ = "webhook_delivery"
    use_case: str = Field(primary_key=True, max_length=63)
    webhook_id: str = Field(primary_key=True, max_length=128)
    sent_at: int = Field(sa_type=BigInteger, index=True, description="webhook-timestamp")


class ModelRetirementRecord(SQLModel, table=True):
    """A model's announced shutdown, noted once per configuration that runs on it."""

    __tablename__ = "model_retirement"
    __table_args__ = (UniqueConstraint("configuration_id", "model", "shutdown_date"),)
    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id", index=True)
    configuration_id: int = Field(foreign_key="configuration.id", index=True)
    model: str = Field(max_length=200, index=True)
    shutdown_date: date
    source: str = Field(max_length=500)
    days_left: int
    decision_id: int | None = Field(default=None, foreign_key="decision.id")
    noticed_at: datetime = _when()


class GoldenSetRecord(SQLModel, table=True):
    """A retiring model's outputs on the eval set, recorded while it still answered."""

    __tablename__ = "golden_set"
    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id", index=True)
    configuration_id: int = Field(foreign_key="configuration.id", unique=True)
    model: str = Field(max_length=200)
    # No foreign key: the eval run may be pruned; the outputs and scores below are the record.
    eval_run_id: int
    eval_set_hash: str = Field(max_length=64)
    metric: str = Field(max_length=63)
    outputs: dict = _json(nullable=False)
    scores: dict = _json(nullable=False)
    created_at: datetime = _when()


class BatchWaitRecord(SQLModel, table=True):
    """A provider batch a suspended flow run waits for; the webhook or the poller ends it."""

    __tablename__ = "batch_wait"
    id: int | None = Field(default=None, primary_key=True)
    flow_run_id: str = Field(max_length=36, index=True)
    batch_id: str = Field(max_length=200, unique=True)
    input_sha256: str = Field(max_length=64)
    poll_seconds: float
    next_poll_at: datetime = Field(sa_type=DateTime(timezone=True))
    ended_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    resumed_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: datetime = _when()
