"""The spec's `rollout:` section: steps, durations, defaults and errors naming the field."""

from pathlib import Path

import pytest

from state.errors import SpecError
from state.spec import load_spec
from tests.specs import write_spec
from tests.state.test_spec import HASH_BEFORE_MAX_ERROR_RATE


def test_rollout_defaults_to_one_ten_per_cent_step(tmp_path: Path) -> None:
    rollout = load_spec(write_spec(tmp_path)).spec.rollout
    assert [(s.weight, s.min_interactions, s.max_duration) for s in rollout.steps] == [
        (10, 200, 86400)
    ]
    assert (rollout.live_metrics.primary, rollout.live_metrics.alpha) == ("rating", 0.05)


def test_rollout_default_keeps_the_spec_hash(tmp_path: Path) -> None:
    assert load_spec(write_spec(tmp_path)).spec.spec_hash() == HASH_BEFORE_MAX_ERROR_RATE


def test_rollout_reads_durations_with_units(tmp_path: Path) -> None:
    steps = [
        {"weight": 10, "min_interactions": 200, "max_duration": "24h"},
        {"weight": 50, "max_duration": "90m"},
        {"weight": 75, "max_duration": 30},
    ]
    spec = load_spec(write_spec(tmp_path, rollout={"steps": steps})).spec
    assert [s.max_duration for s in spec.rollout.steps] == [86400, 5400, 30]
    assert spec.spec_hash() != HASH_BEFORE_MAX_ERROR_RATE


def test_rollout_without_steps_switches_at_once(tmp_path: Path) -> None:
    assert load_spec(write_spec(tmp_path, rollout={"steps": []})).spec.rollout.steps == []


@pytest.mark.parametrize(
    ("rollout", "message"),
    [
        ({"steps": [{"weight": 50}, {"weight": 10}]}, "rollout: .*weights must increase"),
        ({"steps": [{"weight": 100}]}, r"rollout.steps.0.weight: must be < 100"),
        ({"steps": [{"weight": 10, "max_duration": "1 week"}]}, "rollout.steps.0.max_duration"),
        ({"live_metrics": {"primary": "clicks"}}, "rollout.live_metrics.primary"),
        ({"live_metrics": {"min_per_arm": 1}}, "rollout.live_metrics.min_per_arm: must be ≥ 2"),
        ({"ab": {"online": True, "weight": 100}}, r"rollout.ab.weight: must be < 100"),
        ({"ab": {"online": "yes please"}}, "rollout.ab.online"),
        ({"ab": {"max_offline_gap": -0.1}}, r"rollout.ab.max_offline_gap: must be ≥ 0"),
    ],
)
def test_rollout_errors_name_the_field(tmp_path: Path, rollout: dict, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        load_spec(write_spec(tmp_path, rollout=rollout))


def test_rollout_ab_is_offline_by_default_and_reads_its_duration(tmp_path: Path) -> None:
    assert load_spec(write_spec(tmp_path)).spec.rollout.ab.online is False
    ab = {"online": True, "min_interactions": 300, "max_duration": "2d"}
    spec = load_spec(write_spec(tmp_path, rollout={"ab": ab})).spec
    assert (spec.rollout.ab.online, spec.rollout.ab.max_duration) == (True, 172800)
    assert spec.rollout.ab.weight is None
