"""The use-case spec: a YAML file validated into `UseCaseSpec`, with its canonical hash."""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StringConstraints,
    ValidationError,
    model_serializer,
    model_validator,
)

from state.canonical import canonical_json, content_hash
from state.errors import SpecError
from state.inputs import SLUG
from state.spec_metrics import Guardrail, Metric, Metrics
from state.spec_rollout import RolloutSettings
from state.yaml_text import decode_utf8, load_yaml

TaskKind = Literal["qa", "classification", "extraction", "generation"]
PromptKind = Literal["zero_shot", "few_shot", "chain_of_thought"]
Retriever = Literal["fts", "embeddings"]
MAX_ERROR_RATE = 0.02
# Fields added after specs were first hashed: left out of the canonical JSON while they hold
# their default, so that every existing spec keeps its hash until it uses one of them.
LATER = frozenset(
    {
        "metrics",
        "min_detectable_gain",
        "generation",
        "answers",
        "max_error_rate",
        "max_quality_loss",
        "rollout",
        "eval",  # UseCaseSpec.eval; DataFiles.eval is required, so never left out
        "retirement",
        "trainer",
        "pilot",
        "search",
        "max_latency_ratio",
        "suspend_after_seconds",
    }
)
TrainerKind = Literal["openai", "local"]
MAX_SEARCH_POINTS = 8


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_serializer(mode="wrap")
    def _omit_later_defaults(self, handler: SerializerFunctionWrapHandler) -> dict:
        data = handler(self)
        for name, field in type(self).model_fields.items():
            if name in LATER and getattr(self, name) == field.default:
                data.pop(name, None)
        return data


class DataFiles(_Strict):
    """Data files, relative to the spec file."""

    eval: str = Field(description="eval set JSONL: id, input, expected[, source]")
    documents: str | None = Field(None, description="directory of Markdown/text documents")
    training: str | None = Field(None, description="training JSONL in chat format")
    canary: str | None = Field(None, description="general eval set guarding against forgetting")


class PromptVariant(_Strict):
    """One prompt variant of the prompting phase."""

    name: str = Field(pattern=SLUG, description="variant name, unique in the spec (a slug)")
    kind: PromptKind = Field(
        description="zero_shot; few_shot (k examples from the training data); chain_of_thought"
    )
    system: str = Field("", description="system message")
    template: str = Field("{input}", description="user message; `{input}` is replaced")
    k: int = Field(4, ge=1, le=64, description="few-shot examples")

    @model_validator(mode="after")
    def _template_has_input(self) -> "PromptVariant":
        if "{input}" not in self.template:
            raise ValueError("template must contain {input}")
        return self


class RagSettings(_Strict):
    """Retrieval settings of the RAG phase."""

    top_k: int = Field(3, ge=1, le=50, description="passages put into the prompt")
    chunk_size: int = Field(800, ge=50, le=20000, description="characters")
    chunk_overlap: int = Field(100, ge=0, le=5000, description="characters")
    retriever: Retriever = Field(
        "fts", description="fts: SQLite FTS5 or PostgreSQL full-text; embeddings: the provider's"
    )
    embedding_model: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="embeddings model of the retriever (unused by fts); "
        "default: PHASEGATE_EMBEDDING_MODEL",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> "RagSettings":
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        return self


class PilotSettings(_Strict):
    """A pilot job on a share of the training split, before the full run."""

    share: float = Field(
        0.2,
        gt=0,
        lt=1,
        description="share of the training split the pilot tunes on; no gain over the active "
        "configuration on the validation split holds the move and saves the full run",
    )


class SearchSettings(_Strict):
    """A small grid of jobs: every pair of epochs and learning-rate multiplier."""

    n_epochs: list[Annotated[int, Field(ge=1, le=50)]] = Field(
        min_length=1, description="epochs to try"
    )
    learning_rate_multiplier: list[Annotated[float, Field(gt=0, le=10)]] = Field(
        min_length=1, description="learning-rate multipliers to try"
    )

    @model_validator(mode="after")
    def _few_points(self) -> "SearchSettings":
        points = len(self.n_epochs) * len(self.learning_rate_multiplier)
        if points > MAX_SEARCH_POINTS:
            raise ValueError(f"{points} points; a search runs at most {MAX_SEARCH_POINTS}")
        return self

    def points(self) -> list[tuple[int, float]]:
        """Every (epochs, learning-rate multiplier) pair, distinct, in the listed order."""
        grid = [(e, lr) for e in self.n_epochs for lr in self.learning_rate_multiplier]
        return list(dict.fromkeys(grid))


class FineTuningSettings(_Strict):
    """Hyperparameters of the fine-tuning phase."""

    trainer: TrainerKind = Field(
        "openai",
        description="who trains: openai = any endpoint speaking the OpenAI fine-tuning API "
        "(PHASEGATE_TRAINER_BASE_URL, default the provider's); local = LoRA on an open model "
        "on this machine (extra `train`, PHASEGATE_LOCAL_BASE_MODEL_DIR)",
    )
    base_model: str | None = Field(
        None, description="model to tune; default: the spec's `model` or PHASEGATE_DEFAULT_MODEL"
    )
    suffix: str | None = Field(None, max_length=40, description="suffix of the tuned model's id")
    n_epochs: int = Field(3, ge=1, le=50, description="passes over the training set")
    batch_size: int = Field(8, ge=1, le=256, description="examples per training step")
    learning_rate_multiplier: float = Field(
        1.0, gt=0, le=10, description="scales the provider's default learning rate"
    )
    seed: int = Field(0, description="seed of the train/validation split and of the job")
    validation_share: float = Field(
        0.1, ge=0, lt=0.5, description="share of the clean examples held out for validation"
    )
    max_tokens_per_example: int = Field(
        16384, ge=16, description="longer examples are refused with their line number"
    )
    pilot: PilotSettings | None = Field(
        None, description="tune on a share of the data first; no gain on validation holds"
    )
    search: SearchSettings | None = Field(
        None,
        description="try these epochs × learning-rate multipliers (replacing n_epochs and "
        "learning_rate_multiplier); the best checkpoint on validation is the candidate",
    )


class EvalSettings(_Strict):
    """How eval sets are scored: calls one by one, or through the provider's Batch API."""

    mode: Literal["online", "batch"] = Field(
        "online",
        description="online: chat calls now; batch: one Batch API job per file, at the batch "
        "price, answered within 24 h (docs/batch.md)",
    )
    batch_max_requests: int = Field(
        50_000, ge=1, le=50_000, description="requests per batch input file (OpenAI: 50,000)"
    )
    batch_max_bytes: int = Field(
        200 * 1024 * 1024,
        ge=1024,
        le=200 * 1024 * 1024,
        description="bytes per batch input file (OpenAI: 200 MB); larger sets are split",
    )
    poll_max_seconds: float = Field(
        60.0, gt=0, le=3600, description="longest pause between two polls of a running batch"
    )
    suspend_after_seconds: float = Field(
        60.0,
        ge=0,
        le=86_400,
        description="a deployment's check waits this long in its process, then suspends until "
        "its batches end (docs/batch.md)",
    )


class GenerationSettings(_Strict):
    """Sampling settings of every call a phase makes; an unset field is the provider's default."""

    max_tokens: int | None = Field(None, ge=1, le=100_000, description="output tokens per call")
    temperature: float | None = Field(None, ge=0, le=2, description="unset: 0")
    stop: list[str] = Field(
        default_factory=list, max_length=4, description="stop sequences (OpenAI allows 4)"
    )

    @model_validator(mode="after")
    def _stops_not_empty(self) -> "GenerationSettings":
        if any(not s for s in self.stop):
            raise ValueError("stop sequences must not be empty")
        return self


class AnswerExtraction(_Strict):
    """How an output becomes the answer the metric compares (docs/answers.md), in this order."""

    pattern: str | None = Field(
        None,
        max_length=500,
        description="regex searched in the output: its group `answer` (else the whole match) "
        "is the answer; no match: the output as it is",
    )
    strip_prefixes: list[str] = Field(["Answer:"], description="leading labels dropped (any case)")
    first_sentence: bool = Field(True, description="keep the first line's first sentence")
    lowercase: bool = True
    strip_punctuation: bool = Field(True, description="punctuation around the answer")

    @model_validator(mode="after")
    def _pattern_compiles(self) -> "AnswerExtraction":
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a regular expression ({exc})") from exc
        return self


class QualityGate(_Strict):
    """Thresholds shared by every transition."""

    target: float = Field(0.8, ge=0, le=1, description="active quality below this → need")
    floor: float = Field(0.0, ge=0, le=1, description="candidate must reach this")
    min_gain: float = Field(
        0.0,
        ge=-1,
        le=1,
        description="the smallest paired mean gain worth the next phase's extra cost: a move "
        "passes only when the 95 % interval's lower bound is strictly above it and the mean "
        "gain is positive (0: any real gain; a tie never advances)",
    )
    min_relative_gain: float | None = Field(
        None, ge=0, le=10, description="also require gain ≥ this share of the active mean"
    )
    min_detectable_gain: float | None = Field(
        None,
        gt=0,
        le=1,
        description="the true gain the eval set must be able to detect (80 % power, 95 % "
        "interval) before a candidate is built; default: min_gain when above 0, else no check",
    )
    max_quality_loss: float = Field(
        0.02,
        ge=0,
        le=1,
        description="a move made for cost alone (quality target met, volume above the "
        "break-even) may lose at most this much quality: it passes "
        "when the 95 % paired interval's lower bound is above −max_quality_loss",
    )
    min_paired: int = Field(30, ge=1, description="paired items needed for a verdict")
    bootstrap_samples: int = Field(
        2000, ge=100, le=100000, description="resamples of the 95 % bootstrap interval"
    )
    seed: int = Field(0, description="seed of the bootstrap")
    require_approval: bool = Field(False, description="pause for a person's approval")


class PromptingToRag(QualityGate):
    """The gate from prompting to RAG."""

    min_documents: int = Field(1, ge=1, description="knowledge documents needed")
    min_chunks: int = Field(1, ge=1, description="indexed chunks needed")


class RagToFineTuning(QualityGate):
    """The gate from RAG to fine-tuning."""

    break_even_volume: int = Field(5000, ge=0, description="queries per 30 days")
    min_examples: int = Field(500, ge=1, description="clean training examples")
    max_break_even_months: float = Field(
        6.0, gt=0, description="training cost must be recovered within this many months"
    )
    require_approval: bool = Field(True, description="pause for a person's approval")


class Gates(_Strict):
    """Thresholds per transition, with DESIGN.md's defaults, and the validity of measurements."""

    prompting_to_rag: PromptingToRag = Field(
        PromptingToRag(), description="the gate from prompting to RAG"
    )
    rag_to_fine_tuning: RagToFineTuning = Field(
        RagToFineTuning(), description="the gate from RAG to fine-tuning"
    )
    max_error_rate: float = Field(
        MAX_ERROR_RATE,
        ge=0,
        le=1,
        description="an eval run with a larger share of failed calls is no measurement",
    )


class Constraints(_Strict):
    """What a configuration may cost, how fast it must be, where data may go."""

    external_api: bool = Field(
        True, description="false: data may not leave; fine-tune only on a self-hosted endpoint"
    )
    latency_p95_ms: float = Field(2000, gt=0, description="p95 latency budget of a candidate")
    max_latency_ratio: float | None = Field(
        None,
        gt=0,
        description="also a budget relative to the active configuration: candidate p95 at most "
        "this multiple of the active's, both measured interleaved in one run",
    )
    monthly_budget_usd: float | None = Field(None, ge=0, description="monthly spending cap")


class ApprovalPolicy(_Strict):
    """How long a pending approval waits and who may give it."""

    timeout_seconds: int = Field(
        3600, ge=1, le=30 * 24 * 3600, description="how long a pending approval waits"
    )
    approvers: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list,
        description="names the approval form accepts (refused otherwise); empty: anyone",
    )


class RetirementSettings(_Strict):
    """When a model's announced shutdown holds the use case (docs/retirement.md)."""

    horizon_days: int = Field(
        60, ge=0, le=3650, description="a shutdown this many days away or nearer holds the use case"
    )
    successors: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=200)],
        Annotated[str, StringConstraints(min_length=1, max_length=200)],
    ] = Field(
        default_factory=dict,
        description="retiring model → the model its configuration moves to; default: the "
        "table in docs/retirement.md",
    )
    min_agreement: float = Field(
        0.8,
        ge=0,
        le=1,
        description="share of eval items the successor must answer as the retiring model did "
        "(the golden set), compared after whitespace and case",
    )
    require_approval: bool = Field(False, description="pause for a person before the switch")


def _metric_or_metrics(schema: dict) -> None:
    """In the JSON Schema, `metric` or `metrics` (whose `primary` stands for it) is required."""
    schema["required"] = [name for name in schema["required"] if name != "metric"]
    schema["anyOf"] = [{"required": ["metric"]}, {"required": ["metrics"]}]


class UseCaseSpec(_Strict):
    """One business task and how Phasegate may optimise it."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=_metric_or_metrics)

    name: str = Field(pattern=SLUG, description="the use case's name (a slug), unique")
    description: str = Field("", description="what the use case does, for people")
    task: TaskKind = Field(description="the kind of task")
    metric: Metric = Field(
        description="how an answer is scored against the expected one; required unless "
        "`metrics.primary` names it (`metric:` is its shorthand)"
    )
    metrics: Metrics | None = Field(None, description="primary metric and guardrails")
    model: str | None = Field(None, description="model for prompting and RAG")
    data: DataFiles = Field(description="data files, relative to the spec file")
    prompts: list[PromptVariant] = Field(
        min_length=1, description="prompt variants compared in the prompting phase"
    )
    rag: RagSettings = Field(RagSettings(), description="retrieval settings of the RAG phase")
    fine_tuning: FineTuningSettings = Field(
        FineTuningSettings(), description="hyperparameters of the fine-tuning phase"
    )
    gates: Gates = Field(Gates(), description="thresholds per transition")
    constraints: Constraints = Field(
        Constraints(), description="cost, latency and privacy constraints"
    )
    approval: ApprovalPolicy = Field(
        ApprovalPolicy(), description="who may approve a move, and for how long it waits"
    )
    generation: GenerationSettings | None = Field(
        None, description="sampling settings of every call (docs/answers.md)"
    )
    eval: EvalSettings = Field(
        EvalSettings(), description="how eval sets are scored: online or Batch API"
    )
    answers: AnswerExtraction | None = Field(
        None, description="how an output becomes the compared answer (docs/answers.md)"
    )
    rollout: RolloutSettings = Field(
        RolloutSettings(),
        description="live traffic in steps after a move passes its gates (docs/rollouts.md); "
        "default: 10 % of routing keys, then 100 %; `steps: []` switches at once",
    )
    retirement: RetirementSettings = Field(
        RetirementSettings(), description="how near a model's shutdown holds the use case"
    )

    @model_validator(mode="before")
    @classmethod
    def _primary_from_metrics(cls, data: object) -> object:
        # `metric:` is the shorthand of `metrics.primary`; either may be given, both must agree.
        metrics = data.get("metrics") if isinstance(data, dict) else None
        if isinstance(metrics, dict) and "primary" in metrics and "metric" not in data:
            return data | {"metric": metrics["primary"]}
        return data

    @model_validator(mode="after")
    def _one_primary(self) -> "UseCaseSpec":
        if self.metrics is not None and self.metrics.primary != self.metric:
            raise ValueError(
                f"metric: {self.metric} differs from metrics.primary: {self.metrics.primary} "
                "(leave one out)"
            )
        return self

    @property
    def guardrails(self) -> list[Guardrail]:
        """The guardrail metrics (none with the `metric:` shorthand)."""
        return self.metrics.guardrails if self.metrics else []

    @model_validator(mode="after")
    def _unique_prompt_names(self) -> "UseCaseSpec":
        names = [p.name for p in self.prompts]
        if len(names) != len(set(names)):
            raise ValueError("prompt names must be unique")
        return self

    def canonical_json(self) -> str:
        """The spec as canonical JSON: sorted keys, no whitespace, defaults included."""
        return canonical_json(self.model_dump(mode="json"))

    def spec_hash(self) -> str:
        """sha256 of the canonical JSON."""
        return content_hash(self.model_dump(mode="json"))


@dataclass(frozen=True)
class LoadedSpec:
    """A validated spec with the file it came from."""

    spec: UseCaseSpec
    path: Path

    @property
    def base_dir(self) -> Path:
        """Directory data paths are relative to."""
        return self.path.parent

    def data_path(self, field: str) -> Path | None:
        """Absolute path of a data file named in the spec, or None."""
        value = getattr(self.spec.data, field)
        return (self.base_dir / value).resolve() if value else None


_MESSAGES = {
    "greater_than_equal": "must be ≥ {ge}",
    "less_than_equal": "must be ≤ {le}",
    "greater_than": "must be > {gt}",
    "less_than": "must be < {lt}",
    "missing": "field required",
    "extra_forbidden": "unknown field",
}


def _describe(error: dict) -> str:
    loc = ".".join(str(part) for part in error["loc"]) or "(top level)"
    template = _MESSAGES.get(error["type"])
    message = template.format(**error.get("ctx", {})) if template else error["msg"]
    return f"{loc}: {message}"


def parse_spec(text: str, source: str) -> UseCaseSpec:
    """Validate spec text; errors name `source` and the line or field path."""
    raw = load_yaml(text, source)
    if not isinstance(raw, dict):
        raise SpecError(f"{source}: (top level): must be a mapping")
    try:
        return UseCaseSpec.model_validate(raw)
    except ValidationError as exc:
        details = "; ".join(_describe(e) for e in exc.errors())
        raise SpecError(f"{source}: {details}") from exc


def load_spec(path: Path) -> LoadedSpec:
    """Read, validate and check the data files of one spec file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read ({exc.strerror})") from exc
    text = decode_utf8(data, str(path))
    loaded = LoadedSpec(spec=parse_spec(text, str(path)), path=path.resolve())
    for field in ("eval", "documents", "training", "canary"):
        data_path = loaded.data_path(field)
        if data_path is None:
            continue
        wanted_dir = field == "documents"
        if not data_path.exists() or data_path.is_dir() != wanted_dir:
            kind = "directory" if wanted_dir else "file"
            value = getattr(loaded.spec.data, field)
            raise SpecError(f"{path}: data.{field}: {kind} not found: {value}")
    return loaded


def find_spec_files(paths: list[Path]) -> list[Path]:
    """Spec files named directly or found as `*/spec.yaml`, `*.yaml` under directories."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.y*ml") if p.suffix in (".yaml", ".yml")))
        elif path.exists():
            found.append(path)
        else:
            raise SpecError(f"{path}: no such file or directory")
    return found
