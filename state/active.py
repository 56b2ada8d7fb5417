"""What a use case runs now: its active configuration with the prompt and model it names."""

from typing import NamedTuple

from sqlmodel import Session

from state import store
from state.domain import Configuration, UseCase
from state.model_versions import ModelVersion, get_model_version
from state.prompt_library import PromptVersion, get_prompt_version


class ActiveParts(NamedTuple):
    """A use case, its active configuration, and the prompt and tuned model that names."""

    use_case: UseCase
    configuration: Configuration | None
    prompt: PromptVersion | None
    tuned_model: ModelVersion | None


def active_parts(name: str, *, session: Session) -> ActiveParts:
    """The active configuration of a use case with its ids resolved; raises NotFound."""
    use_case = store.require_use_case(name, session=session)
    configuration_id = use_case.active_configuration_id
    configuration = (
        store.get_configuration(configuration_id, session=session)
        if configuration_id is not None
        else None
    )
    prompt = tuned = None
    if configuration and configuration.prompt_version_id is not None:
        prompt = get_prompt_version(configuration.prompt_version_id, session=session)
    if configuration and configuration.model_version_id is not None:
        tuned = get_model_version(configuration.model_version_id, session=session)
    return ActiveParts(use_case, configuration, prompt, tuned)
