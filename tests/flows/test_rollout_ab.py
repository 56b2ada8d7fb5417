"""The online A/B of prompt variants: started by a new use case's check, analysed by roll-out.

support-qa with `rollout.ab.online` on each store backend: its first check scores the prompt
variants offline, makes the winner active and starts an A/B of every eligible variant against
it. Interactions are then reported as an application would (each key served the arm the split
gives it, its rating drawn seeded from that arm's rate): a worse variant is dropped while the
others keep their keys, and the clearly better one becomes the baseline.
"""

import random
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from flows.rollout import roll_out
from state.db import store_session
from state.domain import NewInteraction, Rollout
from state.interactions import record_interactions
from state.models import utcnow
from state.phases import DecisionKind
from state.settings import get_settings
from state.split import routing_point
from state.store_api import Store
from tasks import events
from tests.flows.checks import run_check
from tests.flows.journey import USE_CASE, Journey, copy_use_cases, point_settings_at, register
from tests.flows.stored_events import stored_events
from tests.flows.stores import Stores
from tests.plugins.sandbox_server import SandboxServer

ONLINE = {
    "ab": {"online": True, "min_interactions": 100, "max_duration": "1h"},
    "live_metrics": {"min_per_arm": 30},
}
KEYS = [f"user-{n}" for n in range(2000)]


@pytest.fixture(name="journey")
def journey_fixture(
    flows_api: None,
    stores: Stores,
    sandbox_server: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Journey]:
    """support-qa, not yet baselined, with the online A/B on; settings point at it."""
    journey = Journey(
        stores.new(), copy_use_cases(tmp_path / "usecases", rollout=ONLINE), sandbox_server
    )
    register(journey.store_url, journey.specs_dir)
    sandbox_server.reset()
    point_settings_at(monkeypatch, journey)
    yield journey
    get_settings.cache_clear()


def _report(store_url: str, rollout: Rollout, n: int, rates: dict[str, float], seed: int) -> None:
    """`n` keys read their arm and report one interaction each, rated at the arm's rate."""
    draw = random.Random(seed)
    news = []
    for k in range(n):
        arm = rollout.arms[rollout.serve(routing_point(rollout.id, f"u{seed}-{k}"))]
        news.append(
            NewInteraction(
                client_id=f"{seed}-{k}",
                input="q",
                configuration_id=arm.configuration_id,
                rating=float(draw.random() < rates[arm.name]),
            )
        )
    with store_session(store_url) as session:
        record_interactions(USE_CASE, news, session=session)


def read_events(name: str, since: datetime, want: int) -> list:
    """The events `name` of support-qa since `since`, once `want` of them arrived (or 30 s)."""
    return stored_events(name, since, f"phasegate.usecase.{USE_CASE}", want)


def _served(rollout: Rollout) -> dict[str, str]:
    return {k: rollout.arms[rollout.serve(routing_point(rollout.id, k))].name for k in KEYS}


def _started(journey: Journey) -> Rollout:
    step = run_check(journey)
    assert (step.state.name, step.decision.kind) == ("Baselined", DecisionKind.BASELINED)
    assert "online A/B of 3 arms" in step.decision.reason
    online = next(g for g in step.decision.gate_results if g.check == "online_ab")
    live = Store(journey.store_url).get_live_rollout(USE_CASE)
    assert (live.kind, live.arms[0].configuration_id) == ("ab", step.active.id)
    assert [a.name for a in live.arms[1:]] == list(online.evidence["online"])
    assert live.weights == pytest.approx([100 / 3] * 3)
    again = run_check(journey)
    assert again.decision.kind == DecisionKind.HELD
    assert again.decision.reason.startswith(
        f"online A/B {live.id} of prompt variants is running, the variants at 66.7 %"
    )
    return live


def test_new_use_case_runs_its_ab_online_drops_the_worse_and_the_better_wins(
    journey: Journey,
) -> None:
    since: datetime = utcnow()
    live = _started(journey)
    control, better, worse = (a.name for a in live.arms)
    _report(journey.store_url, live, 600, {control: 0.5, better: 0.9, worse: 0.2}, seed=1)
    assert roll_out(USE_CASE, return_state=True).name == "A/B of 2 arms"
    after = Store(journey.store_url).get_live_rollout(USE_CASE)
    assert (after.dropped, after.step, after.status) == ([worse], 1, "running")
    before, now = _served(live), _served(after)
    assert all(now[k] == before[k] for k in KEYS if before[k] != worse)  # sticky
    assert all(now[k] == control for k in KEYS if before[k] == worse)
    _report(journey.store_url, after, 600, {control: 0.5, better: 0.9}, seed=2)
    assert roll_out(USE_CASE, return_state=True).name == "Promoted"
    decision = Store(journey.store_url).list_decisions(USE_CASE)[-1]
    winner = after.arms[1].configuration_id
    assert (decision.kind, decision.configuration_id) == (DecisionKind.BASELINED, winner)
    table = next(g for g in decision.gate_results if g.check == "live_ab_arms")
    assert [a["name"] for a in table.evidence["arms"]] == [control, better]
    assert table.evidence["alpha_each"] == pytest.approx(0.05 / 3)
    assert journey.use_case().active_configuration_id == winner
    runs = Store(journey.store_url).get_eval_runs(decision.eval_run_ids)
    assert winner in {run.configuration_id for run in runs}  # monitoring's baseline run
    (promoted,) = read_events(events.ROLLOUT_PROMOTED, since, want=1)
    assert promoted.payload["winner"] == better
    dropped = read_events(events.ROLLOUT_STEP, since, want=1)
    assert [e.payload["dropped_now"] for e in dropped] == [[worse]]
