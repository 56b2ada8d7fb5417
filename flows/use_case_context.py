"""A use case as a flow or `phasegate eval` reads it: settings, spec, data paths, eval set.

Plain on purpose: `phasegate eval` loads it without Prefect (the run-bound parts, the flow
run id and the use-case lease, are in flows/context.py).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from state.domain import (
    CheckStart,
    Configuration,
    ConfigurationDraft,
    EvalItem,
    EvalRun,
    PromptVersion,
    Unstored,
    UseCase,
    as_stored,
    configuration_label,
)
from state.errors import SpecError
from state.settings import Settings, get_settings, provider_options, trainer_options
from state.spec import UseCaseSpec
from state.store_api import Store
from tasks.eval_sets import load_eval_set

# The context of the check running here: its builder subflows start from it, not a new read.
_CHECKING: ContextVar["UseCaseContext | None"] = ContextVar("checking", default=None)


@dataclass(frozen=True)
class UseCaseContext:
    """A use case as stored, with its spec file's data paths and the settings in force.

    A check's context (`flows.context.open_check`) also holds what the check reads as it
    starts: the active configuration, its newest run and the 30-day volume; and what it
    scored for its decision to store (`unstored`: see `configuration_for` and `keep_run`).
    """

    use_case: UseCase
    settings: Settings
    start: CheckStart | None = None
    unstored: Unstored | None = None

    @classmethod
    def load(cls, name: str) -> "UseCaseContext":
        """Read a use case from the configured store; in its check, the check's context.

        A check's subflows (its builders) run under its lease, where the use case does not
        change: they share what the check read as it started instead of reading it again.
        """
        checking = _CHECKING.get()
        if checking is not None and checking.name == name:
            return checking
        settings = get_settings()
        return cls(Store(settings.store_url).require_use_case(name), settings)

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

    @cached_property
    def _configurations(self) -> dict[int, Configuration]:
        return {}

    def configuration(self, configuration_id: int) -> Configuration:
        """A configuration of this use case: one this check built or found, else the stored one."""
        known = self._configurations.get(configuration_id)
        return known or self.store.get_configuration(configuration_id)

    def configuration_for(self, draft: ConfigurationDraft) -> Configuration:
        """The configuration with the draft's content: the stored one, else (in a check) the
        draft kept for the check's decision to store (`adopt`); elsewhere stored now."""
        if self.unstored is None:
            return self.store.save_configuration(self.name, draft)
        return self.adopt(draft, self.store.find_configuration(self.name, draft))

    def adopt(self, draft: ConfigurationDraft, stored: Configuration | None) -> Configuration:
        """In a check: `stored` (found with the draft's content), else the draft, kept under a
        provisional id for the check's decision to store."""
        config = stored or self.unstored.keep_configuration(draft, self.use_case.id)
        self._configurations[config.id] = config
        return config

    def keep_run(self, run: EvalRun) -> EvalRun:
        """A scored run kept for the check's decision to store; elsewhere, stored now.

        A run that is no measurement is stored now all the same (with what it names), to be
        read when diagnosing the check it fails.
        """
        if self.unstored is None:
            return self.store.record_eval_run(run)
        kept = self.unstored.keep_run(run)
        return kept if kept.valid else as_stored(kept, self.store_unstored())

    def find_run(self, config: Configuration, set_hash: str) -> EvalRun | None:
        """The run of a configuration on an item set: kept by this check, else stored (read
        as the check started, for the active configuration)."""
        read = self.start.active_run if self.start is not None else None
        if read is not None and read.configuration_id == config.id:
            if read.eval_set_hash == set_hash:
                return read
        if self.unstored is not None:
            kept = self.unstored.find_run(config.id, set_hash, self.spec.metric)
            if kept is not None or config.id < 0:  # built by this check: no stored run
                return kept
        return self.store.find_eval_run(self.name, config.id, set_hash, self.spec.metric)

    def store_unstored(self) -> dict[int, int]:
        """Store what the check kept ahead of its decision; the stored id of each provisional."""
        if not self.unstored:
            return {}
        ids = self.store.store_unstored(self.name, self.unstored)
        self.unstored.clear()
        return ids

    def remember_prompt_version(self, version: PromptVersion) -> None:
        """Know a prompt version the check read or stored, so that it is not read again."""
        self._prompt_versions[version.id] = version

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


@contextmanager
def checking(ctx: UseCaseContext) -> Iterator[None]:
    """Make `ctx` the context of the check running here, for its subflows (`load`)."""
    token = _CHECKING.set(ctx)
    try:
        yield
    finally:
        _CHECKING.reset(token)
