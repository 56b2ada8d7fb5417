"""A use case with an active configuration and a canary, a rollout of it, and its traffic."""

import random

from state.db import store_session
from state.domain import ConfigurationDraft, DecisionDraft, NewInteraction, Rollout, RolloutDraft
from state.interactions import record_interactions
from state.phases import DecisionKind, Phase
from state.rollout_models import RolloutRecord
from state.spec_rollout import RolloutStep
from state.split import arm_index, routing_point
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


def start_small(store_url: str, name: str, canary_id: int, *weights: float) -> Rollout:
    """`start`, with 30 interactions per arm enough for a verdict: a step is a few hundred."""
    rollout = start(store_url, name, canary_id, *weights)
    metrics = rollout.live_metrics.model_copy(update={"min_per_arm": 30})
    with store_session(store_url) as session:
        row = session.get(RolloutRecord, rollout.id)
        row.live_metrics = metrics.model_dump(mode="json")
        session.add(row)
    return Store(store_url).get_rollout(rollout.id)


def report(
    store_url: str, name: str, rollout: Rollout, n: int, rates: dict[str, dict], seed: int
) -> None:
    """`n` keys read their arm and report one interaction each, drawn from the arm's rates.

    Each key is served the arm `state/split.py` gives it, as an application would be.
    """
    draw = random.Random(seed)
    news = []
    for k in range(n):
        arm = rollout.arms[arm_index(rollout.weights, routing_point(rollout.id, f"u{seed}-{k}"))]
        rate = rates[arm.name]
        news.append(
            NewInteraction(
                client_id=f"{seed}-{k}",
                input="q",
                configuration_id=arm.configuration_id,
                rating=float(draw.random() < rate["rating"]),
                error=draw.random() < rate.get("error", 0.0),
            )
        )
    with store_session(store_url) as session:
        record_interactions(name, news, session=session)


__all__ = ["control_and_canary", "report", "start", "start_ab", "start_small", "variants"]
