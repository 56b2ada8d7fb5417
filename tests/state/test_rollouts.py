"""Rollouts in the store: one live per use case, steps and status under a version, arms."""

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from state.domain import RolloutDraft
from state.errors import Conflict, InputError
from state.phases import Phase
from state.spec_rollout import RolloutStep
from state.store_api import Store
from tests.rollouts import control_and_canary, start


@pytest.fixture(name="arms")
def arms_fixture(use_case: str, store_url: str, engine: Engine) -> tuple[int, int]:
    """The control's and the canary's configuration ids of demo-qa."""
    return control_and_canary(store_url, use_case)


def test_start_rollout_serves_the_active_configuration_as_control(
    use_case: str, store_url: str, arms: tuple[int, int]
) -> None:
    rollout = start(store_url, use_case, arms[1])
    assert [(a.name, a.configuration_id) for a in rollout.arms] == [
        ("control", arms[0]),
        ("canary", arms[1]),
    ]
    assert (rollout.status, rollout.step, rollout.weight, rollout.weights) == (
        "running",
        0,
        10,
        [90, 10],
    )
    assert Store(store_url).get_live_rollout(use_case) == rollout


def test_start_rollout_refuses_a_second_live_one(
    use_case: str, store_url: str, arms: tuple[int, int]
) -> None:
    first = start(store_url, use_case, arms[1])
    with pytest.raises(Conflict, match=f"already has rollout {first.id}"):
        start(store_url, use_case, arms[1])


def test_start_rollout_refuses_the_control_as_canary(
    use_case: str, store_url: str, arms: tuple[int, int]
) -> None:
    with pytest.raises(InputError, match="arms"):
        start(store_url, use_case, arms[0])
    assert Store(store_url).list_rollouts(use_case) == []


def test_start_rollout_needs_an_active_configuration(
    use_case: str, store_url: str, engine: Engine
) -> None:
    steps = [RolloutStep(weight=10)]
    draft = RolloutDraft(to_phase=Phase.RAG, canaries={"canary": 1}, steps=steps)
    with pytest.raises(Conflict, match="no active configuration"):
        Store(store_url).start_rollout(use_case, draft)


def test_change_rollout_moves_the_step_and_restarts_its_clock(
    use_case: str, store_url: str, arms: tuple[int, int]
) -> None:
    rollout = start(store_url, use_case, arms[1])
    moved = Store(store_url).change_rollout(rollout.id, expected_version=1, step=1)
    assert (moved.step, moved.weight, moved.version) == (1, 50, 2)
    assert moved.step_started_at >= rollout.step_started_at


def test_change_rollout_refuses_a_stale_version(
    use_case: str, store_url: str, arms: tuple[int, int]
) -> None:
    rollout = start(store_url, use_case, arms[1])
    Store(store_url).change_rollout(rollout.id, expected_version=1, step=1)
    with pytest.raises(Conflict, match="changed meanwhile"):
        Store(store_url).change_rollout(rollout.id, expected_version=1, status="aborted")
    assert Store(store_url).get_rollout(rollout.id).status == "running"


def test_ended_rollout_is_not_live_and_a_new_one_may_start(
    use_case: str, store_url: str, arms: tuple[int, int]
) -> None:
    rollout = start(store_url, use_case, arms[1])
    ended = Store(store_url).change_rollout(
        rollout.id, expected_version=1, status="aborted", reason="worse"
    )
    assert ended.ended_at is not None and ended.reason == "worse"
    assert Store(store_url).get_live_rollout(use_case) is None
    with pytest.raises(Conflict, match="ended or changed"):
        Store(store_url).change_rollout(rollout.id, expected_version=2, step=1)
    assert start(store_url, use_case, arms[1]).id != rollout.id


def test_rollout_survives_a_new_store_object(
    use_case: str, store_url: str, arms: tuple[int, int], tmp_path: Path
) -> None:
    rollout = start(store_url, use_case, arms[1])
    Store(store_url).change_rollout(rollout.id, expected_version=1, step=1, status="paused")
    again = Store(store_url).get_live_rollout(use_case)
    assert (again.id, again.step, again.status) == (rollout.id, 1, "paused")
