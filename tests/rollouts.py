"""A use case with an active configuration and a canary, and a rollout of it, for tests."""

from state.domain import ConfigurationDraft, DecisionDraft, Rollout, RolloutDraft
from state.phases import DecisionKind, Phase
from state.spec_rollout import RolloutStep
from state.store_api import Store


def control_and_canary(store_url: str, name: str) -> tuple[int, int]:
    """Make a prompting configuration active and store a RAG one; their ids."""
    api = Store(store_url)
    control = api.save_configuration(
        name, ConfigurationDraft(phase=Phase.PROMPTING, model="sandbox-base")
    )
    canary = api.save_configuration(
        name, ConfigurationDraft(phase=Phase.RAG, model="sandbox-base", retrieval={"top_k": 3})
    )
    version = api.require_use_case(name).version
    draft = DecisionDraft(
        kind=DecisionKind.BASELINED, to_phase=Phase.PROMPTING, configuration_id=control.id
    )
    api.record_check(name, draft, expected_version=version, approval_status=None)
    return control.id, canary.id


def start(store_url: str, name: str, canary_id: int, *weights: float) -> Rollout:
    """Start a rollout of `canary_id` with steps of these weights (default: 10 then 50).

    Each step may last an hour: at the tests' time compression (100,000) that is 36 ms of
    wall clock, so a test that waits the step out does not depend on the machine's speed.
    """
    steps = [
        RolloutStep(weight=w, min_interactions=10, max_duration=3600) for w in (weights or (10, 50))
    ]
    draft = RolloutDraft(to_phase=Phase.RAG, canaries={"canary": canary_id}, steps=steps)
    return Store(store_url).start_rollout(name, draft)


def variants(store_url: str, name: str, count: int) -> list[int]:
    """Store `count` prompting configurations (the A/B's variants); their ids."""
    api = Store(store_url)
    return [
        api.save_configuration(
            name, ConfigurationDraft(phase=Phase.PROMPTING, model=f"sandbox-variant-{n}")
        ).id
        for n in range(count)
    ]


def start_ab(store_url: str, name: str, arms: dict[str, int], weight: float) -> Rollout:
    """Start an A/B of these variant arms against the active configuration, one step."""
    step = RolloutStep(weight=weight, min_interactions=10, max_duration=3600)
    draft = RolloutDraft(to_phase=Phase.PROMPTING, canaries=arms, steps=[step], kind="ab")
    return Store(store_url).start_rollout(name, draft)


__all__ = ["control_and_canary", "start", "start_ab", "variants"]
