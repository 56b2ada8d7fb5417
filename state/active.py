"""What a use case serves now: the active configuration, or a rollout arm, with its parts."""

from typing import NamedTuple

from sqlmodel import Session

from state import rollouts, store
from state.domain import Configuration, UseCase
from state.model_versions import ModelVersion, get_model_version
from state.prompt_library import PromptVersion, get_prompt_version
from state.split import CONTROL, arm_index, routing_point


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
    rollout: rollouts.Rollout | None = None


def _parts(
    configuration_id: int | None, *, session: Session
) -> tuple[Configuration | None, PromptVersion | None, ModelVersion | None]:
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
    return configuration, prompt, tuned


def active_parts(name: str, *, session: Session) -> ActiveParts:
    """The active configuration of a use case with its ids resolved; raises NotFound."""
    use_case = store.require_use_case(name, session=session)
    return ActiveParts(use_case, *_parts(use_case.active_configuration_id, session=session))


def served_parts(name: str, key: str | None, *, session: Session) -> ActiveParts:
    """What a routing key is served: its rollout arm, else the active configuration.

    Without a key the arm is drawn at random with the rollout's shares.
    """
    use_case = store.require_use_case(name, session=session)
    rollout = rollouts.get_live_rollout(name, session=session)
    if rollout is None:
        return ActiveParts(use_case, *_parts(use_case.active_configuration_id, session=session))
    arm = rollout.arms[arm_index(rollout.weights, routing_point(rollout.id, key))]
    parts = _parts(arm.configuration_id, session=session)
    return ActiveParts(use_case, *parts, arm=arm.name, rollout=rollout)
