"""A use case as a flow or `phasegate eval` reads it: settings, spec, data paths, eval set.

Plain on purpose: `phasegate eval` loads it without Prefect (the run-bound parts, the flow
run id and the use-case lease, are in flows/context.py).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from state.domain import (
    CheckStart,
    Configuration,
    EvalItem,
    PromptVersion,
    UseCase,
    configuration_label,
)
from state.errors import SpecError
from state.settings import Settings, get_settings, provider_options, trainer_options
from state.spec import UseCaseSpec
from state.store_api import Store
from tasks.eval_sets import load_eval_set


@dataclass(frozen=True)
class UseCaseContext:
    """A use case as stored, with its spec file's data paths and the settings in force.

    A check's context (`for_check`) also holds what the check reads as it starts: the active
    configuration and the 30-day volume.
    """

    use_case: UseCase
    settings: Settings
    start: CheckStart | None = None

    @classmethod
    def load(cls, name: str) -> "UseCaseContext":
        """Read a use case from the configured store."""
        settings = get_settings()
        return cls(Store(settings.store_url).require_use_case(name), settings)

    @classmethod
    def for_check(cls, name: str) -> "UseCaseContext":
        """Read a use case with its active configuration and volume, in one unit of work."""
        settings = get_settings()
        today = datetime.now(UTC).date()
        start = Store(settings.store_url).load_check_context(name, today=today)
        return cls(start.use_case, settings, start)

    @property
    def name(self) -> str:
        """The use case's name."""
        return self.use_case.name

    @property
    def spec(self) -> UseCaseSpec:
        """The spec as applied (the store's copy, not the file's current text)."""
        return self.use_case.spec

    @property
    def store_url(self) -> str:
        """The state store URL."""
        return self.settings.store_url

    @property
    def store(self) -> Store:
        """The state store."""
        return Store(self.settings.store_url)

    @property
    def provider(self):
        """Provider options for tasks."""
        return provider_options(self.settings)

    @property
    def trainer(self):
        """How the `openai` trainer reaches its fine-tuning API."""
        return trainer_options(self.settings)

    @property
    def model(self) -> str:
        """The model for prompting and RAG."""
        return self.spec.model or self.settings.default_model

    @property
    def output_settings(self) -> dict[str, dict | None]:
        """The spec's `generation` and `answers`, as a configuration draft records them."""
        spec = self.spec
        return {
            "generation": spec.generation.model_dump(mode="json") if spec.generation else None,
            "answers": spec.answers.model_dump(mode="json") if spec.answers else None,
        }

    def configuration(self, configuration_id: int) -> Configuration:
        """A stored configuration of this use case."""
        return self.store.get_configuration(configuration_id)

    @cached_property
    def _prompt_versions(self) -> dict[int | None, PromptVersion | None]:
        prompt = self.start.active_prompt if self.start is not None else None
        return {prompt.id: prompt} if prompt is not None else {}

    def prompt_version(self, version_id: int | None) -> PromptVersion | None:
        """A stored prompt version; written once and never changed, so read once here."""
        known = self._prompt_versions
        if version_id not in known:
            known[version_id] = (
                self.store.get_prompt_version(version_id) if version_id is not None else None
            )
        return known[version_id]

    def label(self, config: Configuration) -> str:
        """How a person names the configuration (`few-shot + RAG top-3`)."""
        version = self.prompt_version(config.prompt_version_id)
        return configuration_label(config, version.variant.name if version else None)

    def active_configuration(self) -> Configuration:
        """The configuration the use case runs now (it has one once baselined)."""
        if self.start is not None and self.start.active is not None:
            return self.start.active
        return self.configuration(self.use_case.active_configuration_id)

    @property
    def embedding_model(self) -> str:
        """The model of the embeddings retriever."""
        return self.spec.rag.embedding_model or self.settings.embedding_model

    def data_path(self, field: str) -> Path | None:
        """Absolute path of a data file named in the spec; raises SpecError if it is gone."""
        value = getattr(self.spec.data, field)
        if value is None:
            return None
        path = (Path(self.use_case.spec_path).parent / value).resolve()
        if not path.exists():
            raise SpecError(f"{self.use_case.spec_path}: data.{field}: not found: {value}")
        return path

    @cached_property
    def eval_set(self) -> tuple[list[EvalItem], str]:
        """The eval items and the hash of the eval file."""
        return load_eval_set(self.data_path("eval"))
