"""Use cases, their configurations, and the prompt and tuned model a configuration names."""

from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from pydantic import Field

from state.domain.frozen import Frozen
from state.phases import Phase
from state.spec import PromptVariant, UseCaseSpec
from state.split import CONTROL, routing_point

if TYPE_CHECKING:  # rollouts builds on configurations, not the other way round
    from state.domain.rollouts import Rollout


class UseCase(Frozen):
    """A registered use case with its active phase and configuration."""

    id: int
    name: str
    spec: UseCaseSpec
    spec_hash: str
    spec_path: str
    active_phase: Phase
    active_configuration_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class ApplyResult(Frozen):
    """What `apply` did to one use case."""

    name: str
    outcome: Literal["created", "updated", "unchanged"]
    spec_hash: str


class ConfigurationDraft(Frozen):
    """A configuration not yet stored; its content hash identifies it."""

    phase: Phase
    model: str
    prompt_version_id: int | None = None
    model_version_id: int | None = None
    retrieval: dict[str, Any] | None = None
    routing: dict[str, Any] | None = None
    generation: dict[str, Any] | None = Field(None, description="spec's `generation:`")
    answers: dict[str, Any] | None = Field(None, description="spec's `answers:`")


class Configuration(ConfigurationDraft):
    """What an application calls in one phase: a stored draft."""

    id: int
    use_case_id: int
    content_hash: str
    created_at: datetime


class PromptVersion(Frozen):
    """A stored prompt version: a variant's content frozen under a version number."""

    id: int
    use_case: str
    name: str
    version: int
    variant: PromptVariant
    content_hash: str
    created_at: datetime

    @property
    def label(self) -> str:
        """`name@vN`, as people refer to it."""
        return f"{self.name}@v{self.version}"


class ModelVersion(Frozen):
    """A fine-tuned model: base model, training file, job, hyperparameters and metrics."""

    id: int
    use_case: str
    model_id: str = Field(description="the provider's name of the tuned model (`ft:...`)")
    base_model: str
    training_file_id: str
    training_file_hash: str = Field(description="sha256 of the uploaded training file")
    job_id: str
    hyperparameters: dict[str, Any]
    checkpoints: list[dict[str, Any]]
    metrics: dict[str, Any]
    created_at: datetime


class ActiveParts(NamedTuple):
    """A use case, the configuration it serves, and the prompt and tuned model that names.

    During a rollout, `arm` names the arm the routing key fell in and `rollout` is the live
    rollout; otherwise `arm` is "control" and `rollout` None.
    """

    use_case: UseCase
    configuration: Configuration | None
    prompt: PromptVersion | None
    tuned_model: ModelVersion | None
    arm: str = CONTROL
    rollout: "Rollout | None" = None


class ServedArms(NamedTuple):
    """Every arm a use case serves now (the active configuration alone outside a rollout).

    `token` is what they depend on (see `served_token`), read in the same unit of work.
    """

    token: tuple[int, int | None, int | None]
    rollout: "Rollout | None"
    arms: list[ActiveParts]

    def pick(self, key: str | None) -> int:
        """The index in `arms` of the arm a routing key is served (random without a key)."""
        if self.rollout is None:
            return 0
        return self.rollout.serve(routing_point(self.rollout.id, key))


# How a person names a configuration: the CLI, the progress lines and the HTML report agree.
def configuration_label(config: Configuration, prompt: str | None) -> str:
    """`few-shot`, `few-shot + RAG top-3`, `few-shot · tuned`, `hybrid` — with no prompt, `#id`."""
    if config.routing:
        return "hybrid (tuned model, else RAG)"
    name = prompt or f"#{config.id}"
    if config.retrieval:
        name += f" + RAG top-{config.retrieval.get('top_k')}"
    if config.model_version_id is not None:
        name += f" · tuned {config.model}"
    return name
