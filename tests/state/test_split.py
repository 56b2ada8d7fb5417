"""The split of live traffic: stable, sticky across steps, and close to its weights."""

import pytest

from state.split import arm_index, canary_weights, routing_point

KEYS = [f"user-{n}" for n in range(10_000)]


def _arms(rollout_id: int, weight: float, arms: int = 2) -> list[int]:
    weights = canary_weights(weight, arms)
    return [arm_index(weights, routing_point(rollout_id, key)) for key in KEYS]


@pytest.mark.parametrize("weight", [10, 50, 90])
def test_split_serves_the_canary_to_its_weight_within_two_points(weight: float) -> None:
    share = sum(arm == 1 for arm in _arms(7, weight)) / len(KEYS)
    assert abs(share - weight / 100) <= 0.02


def test_split_gives_a_key_the_same_arm_on_every_read() -> None:
    assert _arms(7, 10) == _arms(7, 10)


def test_split_keeps_every_canary_key_of_ten_per_cent_at_fifty() -> None:
    at_ten, at_fifty = _arms(7, 10), _arms(7, 50)
    assert all(later == 1 for first, later in zip(at_ten, at_fifty, strict=True) if first == 1)


def test_split_differs_between_rollouts() -> None:
    assert _arms(7, 50) != _arms(8, 50)


def test_split_shares_ab_arms_equally() -> None:
    arms = _arms(3, 100 * 2 / 3, arms=3)
    shares = [arms.count(i) / len(KEYS) for i in range(3)]
    assert all(abs(share - 1 / 3) <= 0.02 for share in shares)


def test_split_without_a_key_draws_points_in_the_unit_interval() -> None:
    points = [routing_point(1, None) for _ in range(1000)]
    assert all(0 <= p < 1 for p in points)
    assert 0.4 < sum(p < 0.5 for p in points) / 1000 < 0.6
