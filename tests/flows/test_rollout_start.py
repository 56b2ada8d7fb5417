"""A move that passes its gates starts a rollout instead of switching, and holds later checks."""

from collections.abc import Callable

from state.phases import DecisionKind, Phase
from state.store_api import Store
from tests.flows.checks import run_check
from tests.flows.journey import USE_CASE, Journey


def test_passed_move_starts_a_rollout_and_the_control_stays_active(
    journey_from: Callable[..., Journey],
) -> None:
    journey = journey_from("baselined", rollout={"steps": [{"weight": 10}, {"weight": 50}]})
    step = run_check(journey)
    assert (step.state.name, step.decision.kind) == ("Rolling Out", DecisionKind.ROLLING_OUT)
    assert step.decision.reason == "every gate passed; rollout at 10 % of live traffic"
    assert step.use_case.active_phase == Phase.PROMPTING
    live = Store(journey.store_url).get_live_rollout(USE_CASE)
    assert (live.step, live.weight, live.to_phase) == (0, 10, Phase.RAG)
    assert live.canary.configuration_id == step.decision.candidate_configuration_id
    assert live.arms[0].configuration_id == step.decision.configuration_id
    assert live.evidence["decision_id"] == step.decision.id
    again = run_check(journey)
    assert again.decision.kind == DecisionKind.HELD
    assert again.decision.reason.startswith(f"rollout {live.id} to rag is running at 10 %")
