"""Being told about rollouts: one `approval.requested` per pause or form, one per decision.

The scenario and helpers of test_rollout: a rollout step that stays inconclusive past its
max_duration (rollout time compressed), paused by the schedule, then answered in a form.
"""

from datetime import timedelta

import pytest

from flows.rollout import roll_out_all
from state.models import utcnow
from state.settings import get_settings
from state.store_api import Store
from tasks import events
from tasks.rollout_answers import RolloutAnswer, answer_paused
from tests.flows.journey import flow_run_state, in_thread, wait_until
from tests.flows.test_rollout import (  # noqa: F401  (store_url is a fixture)
    NAME,
    SAME,
    _arms,
    _events,
    _report,
    _run,
    _start,
    store_url_fixture,
)

pytestmark = pytest.mark.usefixtures("flows_api")


def test_paused_rollout_tells_people_once_then_its_form_and_its_decision(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    since = utcnow() - timedelta(seconds=1)
    _, canary = _arms(store_url)
    rollout = _start(store_url, canary, 10)
    _report(store_url, rollout, 900, SAME, seed=8)
    monkeypatch.setenv("PHASEGATE_ROLLOUT_TIME_SCALE", "100000")
    get_settings.cache_clear()
    # The schedule pauses the rollout; with no `rollout` deployment no form opens: told once,
    # with the command that answers, however many scheduled looks follow.
    assert roll_out_all() == {NAME: "Awaiting Person"}
    assert roll_out_all() == {NAME: "Awaiting Person"}
    pauser = Store(store_url).get_live_rollout(NAME).flow_run_id
    (told,) = _events(events.APPROVAL_REQUESTED, since, want=1)
    assert (told.payload["kind"], told.payload["flow_run_id"]) == ("rollout", pauser)
    assert told.payload["move"] == "canary 10 %"
    assert told.payload["how"].startswith(f"phasegate rollout promote|abort {NAME}")
    # A run that opens the form tells people where it is, once, then records the answer.
    states = []
    thread = in_thread(lambda: states.append(_run()))

    def asking() -> str | None:
        live = Store(store_url).get_live_rollout(NAME)
        return live.flow_run_id if live.flow_run_id != pauser else None

    run_id = wait_until(asking, 60, "the rollout to ask")
    wait_until(lambda: flow_run_state(run_id).is_paused(), 30, "the pause")
    answer = RolloutAnswer(promote=False, reason="users complain", person="ana")
    assert answer_paused(run_id, answer)
    thread.join(timeout=60)
    assert states[0].name == "Aborted"
    asked = [
        e
        for e in _events(events.APPROVAL_REQUESTED, since, want=2)
        if e.payload.get("flow_run_id") in {pauser, run_id}
    ]
    assert sorted(e.payload["flow_run_id"] for e in asked) == sorted([pauser, run_id])
    form = next(e for e in asked if e.payload["flow_run_id"] == run_id)
    assert form.payload["url"].endswith(f"/runs/flow-run/{run_id}")
    # Filtered by run: the previous test's decision of the same use case may fall in `since`.
    (decided,) = wait_until(
        lambda: [
            e
            for e in _events(events.DECISION_RECORDED, since, want=1)
            if e.payload["flow_run_id"] == run_id
        ],
        30,
        "the decision's event",
    )
    assert (decided.payload["decision"], decided.payload["decided_by"]) == ("rolled_back", "ana")
    assert decided.payload["flow_run_id"] == run_id
