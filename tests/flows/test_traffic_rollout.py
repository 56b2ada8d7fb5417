"""A broken split, made by the traffic simulator, stops the rollout on its sample-ratio check.

The simulator serves both arms of a 50 % rollout through the signed API but never reports the
canary's interactions (`drop_arm`), as an application with a broken reporting path would; the
rollout flow's next analysis then pauses the rollout for a person instead of judging the arms.
"""

import pytest

from flows.rollout import roll_out
from phasegate.traffic import Traffic, simulate_traffic
from state.settings import Settings
from state.store_api import Store
from tests.phasegate.test_traffic import (  # noqa: F401  (fixtures)
    SECRET,
    USE_CASE,
    ab_arms_fixture,
    api_url_fixture,
    arms_fixture,
    traffic_settings_fixture,
)

pytestmark = pytest.mark.usefixtures("flows_api")


def test_dropped_canary_reports_stop_the_rollout_on_the_sample_ratio(
    traffic_settings: Settings, arms: dict[str, int], api_url: str
) -> None:
    traffic = Traffic(rate=50, duration=4, speed=4, seed=5, drop_arm="canary")
    tally = simulate_traffic(USE_CASE, traffic, api_url=api_url, secret=SECRET)
    assert tally.served["canary"] > 50 and tally.reported["canary"] == 0
    state = roll_out(USE_CASE, ask=False, return_state=True)
    assert state.name == "Awaiting Person"
    paused = Store(traffic_settings.store_url).get_live_rollout(USE_CASE)
    assert paused.status == "paused"
    assert paused.reason.startswith("sample-ratio mismatch")


def test_dropped_reports_of_one_ab_arm_stop_the_ab_on_the_sample_ratio_over_three_arms(
    traffic_settings: Settings, ab_arms: dict[str, int], api_url: str
) -> None:
    traffic = Traffic(rate=60, duration=4, speed=4, seed=6, drop_arm="cot")
    tally = simulate_traffic(USE_CASE, traffic, api_url=api_url, secret=SECRET)
    assert tally.served["cot"] > 40 and tally.reported["cot"] == 0
    state = roll_out(USE_CASE, ask=False, return_state=True)
    assert state.name == "Awaiting Person"
    paused = Store(traffic_settings.store_url).get_live_rollout(USE_CASE)
    assert (paused.kind, paused.status) == ("ab", "paused")
    assert paused.reason.startswith("sample-ratio mismatch")
    assert Store(traffic_settings.store_url).list_decisions(USE_CASE)[-1].kind == "baselined"
