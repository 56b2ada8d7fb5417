"""An online A/B in the store: several arms, one dropped (the split stays sticky), a winner."""

import pytest
from sqlalchemy.engine import Engine

from state.domain import DecisionDraft, GateResult, RolloutDraft
from state.errors import InputError
from state.phases import DecisionKind, GateStatus, Phase, Stage
from state.spec_rollout import RolloutStep
from state.split import routing_point
from state.store_api import Store
from tests.rollouts import control_and_canary, start_ab, variants

LIVE = GateResult(check="live_rating", stage=Stage.ROLLOUT, status=GateStatus.PASS)
KEYS = [f"user-{n}" for n in range(3000)]


@pytest.fixture(name="arms")
def arms_fixture(use_case: str, store_url: str, engine: Engine) -> dict[str, int]:
    """demo-qa's control (active) and two variants: the three arms of an A/B."""
    control, _ = control_and_canary(store_url, use_case)
    first, second = variants(store_url, use_case, 2)
    return {"control": control, "b": first, "c": second}


def _ab(store_url: str, use_case: str, arms: dict[str, int]):
    return start_ab(store_url, use_case, {"b": arms["b"], "c": arms["c"]}, 200 / 3)


def _served(rollout) -> dict[str, str]:
    return {k: rollout.arms[rollout.serve(routing_point(rollout.id, k))].name for k in KEYS}


def test_ab_serves_three_arms_equal_shares(
    use_case: str, store_url: str, arms: dict[str, int]
) -> None:
    rollout = _ab(store_url, use_case, arms)
    assert (rollout.kind, [a.name for a in rollout.arms]) == ("ab", ["control", "b", "c"])
    assert rollout.weights == pytest.approx([100 / 3] * 3)
    shares = list(_served(rollout).values())
    for name in ("control", "b", "c"):
        assert shares.count(name) / len(KEYS) == pytest.approx(1 / 3, abs=0.03)


def test_dropping_an_arm_keeps_every_other_key_on_its_arm(
    use_case: str, store_url: str, arms: dict[str, int]
) -> None:
    rollout = _ab(store_url, use_case, arms)
    before = _served(rollout)
    moved = Store(store_url).move_rollout(
        rollout.id, "drop", expected_version=1, reason="worse", gates=[LIVE], arm="b"
    )
    after = _served(moved.rollout)
    assert (moved.rollout.step, moved.rollout.dropped, moved.decision) == (1, ["b"], None)
    assert moved.rollout.weights == pytest.approx([200 / 3, 0, 100 / 3])
    assert [a.name for a in moved.rollout.serving] == ["control", "c"]
    assert (rollout.label, moved.rollout.label) == ("A/B of 3 arms", "A/B of 2 arms")
    assert all(after[k] == "control" for k in KEYS if before[k] == "b")
    assert all(after[k] == before[k] for k in KEYS if before[k] != "b")
    assert moved.rollout.step_started_at >= rollout.step_started_at


def test_ab_promote_makes_the_named_winner_the_baseline(
    use_case: str, store_url: str, arms: dict[str, int]
) -> None:
    rollout = _ab(store_url, use_case, arms)
    moved = Store(store_url).move_rollout(
        rollout.id, "promote", expected_version=1, reason="better", gates=[LIVE], arm="c"
    )
    assert moved.rollout.status == "promoted"
    decision = moved.decision
    assert (decision.kind, decision.configuration_id, decision.to_phase) == (
        DecisionKind.BASELINED,
        arms["c"],
        Phase.PROMPTING,
    )
    assert Store(store_url).require_use_case(use_case).active_configuration_id == arms["c"]
    assert Store(store_url).get_live_rollout(use_case) is None


@pytest.mark.parametrize("arm", [None, "nope"])
def test_ab_promote_without_a_known_arm_changes_nothing(
    use_case: str, store_url: str, arms: dict[str, int], arm: str | None
) -> None:
    rollout = _ab(store_url, use_case, arms)
    with pytest.raises(InputError, match="arm"):
        Store(store_url).move_rollout(
            rollout.id, "promote", expected_version=1, reason="go", gates=[], arm=arm
        )
    with pytest.raises(InputError, match="can drop"):
        Store(store_url).move_rollout(
            rollout.id, "drop", expected_version=1, reason="go", gates=[], arm="control"
        )
    assert Store(store_url).get_live_rollout(use_case) == rollout
    assert Store(store_url).require_use_case(use_case).active_configuration_id == arms["control"]


def test_baseline_decision_starts_its_ab_in_the_same_unit(
    use_case: str, store_url: str, engine: Engine
) -> None:
    winner, other = variants(store_url, use_case, 2)
    version = Store(store_url).require_use_case(use_case).version
    decision = DecisionDraft(
        kind=DecisionKind.BASELINED,
        to_phase=Phase.PROMPTING,
        configuration_id=winner,
        candidate_configuration_id=winner,
        flow_run_id="run-ab",
    )
    draft = RolloutDraft(
        to_phase=Phase.PROMPTING,
        canaries={"b": other},
        steps=[RolloutStep(weight=50)],
        kind="ab",
    )
    recorded, rollout = Store(store_url).start_rollout_for_check(
        use_case, decision, draft, approval_status=None, expected_version=version
    )
    assert recorded.kind == DecisionKind.BASELINED
    assert Store(store_url).require_use_case(use_case).active_configuration_id == winner
    assert [(a.name, a.configuration_id) for a in rollout.arms] == [
        ("control", winner),
        ("b", other),
    ]


def test_start_refuses_an_ab_of_several_steps_and_a_canary_of_two(
    use_case: str, store_url: str, arms: dict[str, int]
) -> None:
    steps = [RolloutStep(weight=20), RolloutStep(weight=60)]
    variants_ = {"b": arms["b"], "c": arms["c"]}
    ab = RolloutDraft(to_phase=Phase.PROMPTING, canaries=variants_, steps=steps, kind="ab")
    with pytest.raises(InputError, match="steps: an A/B runs one step"):
        Store(store_url).start_rollout(use_case, ab)
    canary = RolloutDraft(to_phase=Phase.PROMPTING, canaries=variants_, steps=steps[:1])
    with pytest.raises(InputError, match="canaries: a canary rollout has one"):
        Store(store_url).start_rollout(use_case, canary)
    assert Store(store_url).list_rollouts(use_case) == []
