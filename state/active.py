"""What a use case serves now: the active configuration, or a rollout arm, with its parts."""

from sqlalchemy import and_
from sqlmodel import Session, col, select

from state import configurations, lookup, rollouts, use_cases
from state.domain.use_cases import (
    ActiveParts,
    Configuration,
    ModelVersion,
    PromptVersion,
    ServedArms,
)
from state.model_versions import get_model_version
from state.models import UseCaseRecord
from state.prompt_library import get_prompt_version
from state.rollout_models import RolloutRecord
from state.split import routing_point


def _parts(
    configuration_id: int | None, *, session: Session
) -> tuple[Configuration | None, PromptVersion | None, ModelVersion | None]:
    configuration = (
        configurations.get_configuration(configuration_id, session=session)
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
    use_case = use_cases.require_use_case(name, session=session)
    return ActiveParts(use_case, *_parts(use_case.active_configuration_id, session=session))


def served_parts(name: str, key: str | None, *, session: Session) -> ActiveParts:
    """What a routing key is served: its rollout arm, else the active configuration.

    Without a key the arm is drawn at random with the rollout's shares.
    """
    use_case = use_cases.require_use_case(name, session=session)
    rollout = rollouts.get_live_rollout(name, session=session)
    if rollout is None:
        return ActiveParts(use_case, *_parts(use_case.active_configuration_id, session=session))
    arm = rollout.arms[rollout.serve(routing_point(rollout.id, key))]
    parts = _parts(arm.configuration_id, session=session)
    return ActiveParts(use_case, *parts, arm=arm.name, rollout=rollout)


def served_token(name: str, *, session: Session) -> tuple[int, int | None, int | None]:
    """(use case version, live rollout id, its version): what every served arm depends on.

    A decision or a spec update bumps the use case's version, and every move of a rollout its
    own, so an unchanged token means unchanged arms: one indexed query instead of a full read.
    """
    live = and_(
        RolloutRecord.use_case_id == UseCaseRecord.id, col(RolloutRecord.ended_at).is_(None)
    )
    query = (
        select(UseCaseRecord.version, RolloutRecord.id, RolloutRecord.version)
        .select_from(UseCaseRecord)
        .join(RolloutRecord, live, isouter=True)
        .where(UseCaseRecord.name == name)
    )
    row = session.exec(query).first()
    if row is None:
        raise lookup.unknown_use_case(name)
    return (row[0], row[1], row[2])


def served_arms(name: str, *, session: Session) -> ServedArms:
    """Every arm of the use case with its parts, and the token they were read under."""
    token = served_token(name, session=session)
    use_case = use_cases.require_use_case(name, session=session)
    rollout = rollouts.get_live_rollout(name, session=session)
    if rollout is None:
        active = ActiveParts(use_case, *_parts(use_case.active_configuration_id, session=session))
        return ServedArms(token, None, [active])
    arms = [
        ActiveParts(
            use_case, *_parts(arm.configuration_id, session=session), arm=arm.name, rollout=rollout
        )
        for arm in rollout.arms
    ]
    return ServedArms(token, rollout, arms)
