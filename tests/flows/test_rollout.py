"""The rollout flow on real flow runs: promote step by step, abort, wait then ask, resume.

Interactions are reported as an application would: each routing key is served the arm that
`state/split.py` gives it, and its outcome is drawn (seeded) from that arm's own rates.
"""

import json
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest
from prefect.states import State
from sqlalchemy import text
from typer.testing import CliRunner

from flows.rollout import roll_out, roll_out_all
from phasegate.cli.commands import app
from phasegate.cli.exits import run
from state.db import store_session
from state.domain import Rollout
from state.models import utcnow
from state.phases import DecisionKind, Phase
from state.settings import Settings, get_settings
from state.spec import load_spec
from state.store_api import Store
from tasks import events
from tasks.rollout_answers import RolloutAnswer, answer_paused
from tests.flows.journey import flow_run_state, in_thread, wait_until
from tests.flows.stored_events import stored_events
from tests.rollouts import control_and_canary, report, start_small
from tests.specs import write_spec

NAME = "demo-qa"
pytestmark = pytest.mark.usefixtures("flows_api")


@pytest.fixture(name="store_url")
def store_url_fixture(settings: Settings, tmp_path: Path) -> str:
    """demo-qa on a fresh SQLite store, its prompting configuration active, a RAG canary kept."""
    url = settings.store_url
    Store(url).apply_specs([load_spec(write_spec(tmp_path / "specs"))])
    return url


def _arms(store_url: str) -> tuple[int, int]:
    return control_and_canary(store_url, NAME)


def _report(store_url: str, rollout: Rollout, n: int, rates: dict[str, dict], seed: int) -> None:
    report(store_url, NAME, rollout, n, rates, seed)


def _run(**options) -> State:
    return roll_out(NAME, poll_seconds=1, return_state=True, **options)


def _events(name: str, since: datetime, want: int) -> list:
    return stored_events(name, since, f"phasegate.usecase.{NAME}", want)


GOOD = {"control": {"rating": 0.5}, "canary": {"rating": 0.9}}
SAME = {"control": {"rating": 0.6}, "canary": {"rating": 0.6}}


def _start(store_url: str, canary: int, *weights: float) -> Rollout:
    return start_small(store_url, NAME, canary, *weights)


def test_good_canary_is_promoted_step_by_step_then_active(store_url: str) -> None:
    control, canary = _arms(store_url)
    rollout = _start(store_url, canary, 10, 50)
    _report(store_url, rollout, 900, GOOD, seed=1)
    first = _run()
    assert first.name == "Canary 50 %"
    moved = Store(store_url).get_live_rollout(NAME)
    _report(store_url, moved, 300, GOOD, seed=2)
    last = _run()
    assert last.name == "Promoted"
    use = Store(store_url).require_use_case(NAME)
    assert (use.active_configuration_id, use.active_phase) == (canary, Phase.RAG)
    decision = Store(store_url).list_decisions(NAME)[-1]
    assert decision.kind == DecisionKind.ADVANCED
    assert decision.flow_run_id == str(last.state_details.flow_run_id)
    checks = {g.check for g in decision.gate_results}
    assert checks == {"live_sample_ratio", "live_rating", "live_error_rate"}


def test_bad_canary_is_aborted_at_ten_per_cent_with_the_control_restored(store_url: str) -> None:
    since = utcnow()  # the previous test (the other store) emitted the same events just before
    control, canary = _arms(store_url)
    rollout = _start(store_url, canary, 10, 50)
    bad = {"control": {"rating": 0.6}, "canary": {"rating": 0.6, "error": 0.5}}
    _report(store_url, rollout, 900, bad, seed=3)
    state = _run()
    assert state.name == "Aborted"
    decision = Store(store_url).list_decisions(NAME)[-1]
    assert (decision.kind, decision.configuration_id) == (DecisionKind.ROLLED_BACK, control)
    assert "live_error_rate" in decision.reason
    assert Store(store_url).require_use_case(NAME).active_configuration_id == control
    (event,) = _events(events.ROLLOUT_ABORTED, since, want=1)
    assert event.payload["rollout_id"] == rollout.id
    assert event.payload["weight"] == 10


def test_inconclusive_step_waits_then_asks_a_person_once(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    since = utcnow()  # the previous test (the other store) emitted the same events just before
    _, canary = _arms(store_url)
    rollout = _start(store_url, canary, 10, 50)
    _report(store_url, rollout, 900, SAME, seed=4)
    assert _run().name == "Canary 10 %"
    assert Store(store_url).get_live_rollout(NAME).status == "running"
    # A day of the step passes in a second: the documented compression of rollout time.
    monkeypatch.setenv("PHASEGATE_ROLLOUT_TIME_SCALE", "100000")
    get_settings.cache_clear()
    asked = _run(ask=False)
    assert asked.name == "Awaiting Person"
    paused = Store(store_url).get_live_rollout(NAME)
    assert (paused.status, paused.step) == ("paused", 0)
    assert "max_duration" in paused.reason
    assert _run(ask=False).name == "Awaiting Person"  # asked once, not once per look
    told = _events(events.ROLLOUT_STEP, since, want=1)
    assert [e.payload["status"] for e in told] == ["paused"]
    assert Store(store_url).list_decisions(NAME)[-1].kind == DecisionKind.BASELINED


def test_broken_split_stops_on_the_sample_ratio_and_asks(store_url: str) -> None:
    _, canary = _arms(store_url)
    rollout = _start(store_url, canary, 50)
    dropped = {"control": {"rating": 0.6}, "canary": {"rating": 0.6}}
    _report(store_url, rollout, 600, dropped, seed=5)
    with store_session(store_url) as session:  # the canary's reports mostly lost on the way
        session.execute(
            text("DELETE FROM interaction WHERE configuration_id = :c AND id % 3 != 0"),
            {"c": canary},
        )
    assert _run(ask=False).name == "Awaiting Person"
    paused = Store(store_url).get_live_rollout(NAME)
    assert paused.reason.startswith("sample-ratio mismatch")


def test_crashed_run_changes_nothing_and_the_next_resumes_at_the_same_step(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, canary = _arms(store_url)
    rollout = _start(store_url, canary, 10, 50)
    _report(store_url, rollout, 900, GOOD, seed=6)
    assert _run().name == "Canary 50 %"
    at_fifty = Store(store_url).get_live_rollout(NAME)
    _report(store_url, at_fifty, 300, GOOD, seed=7)

    def crash(*args, **kwargs):
        raise RuntimeError("the worker died")

    with monkeypatch.context() as patched:
        patched.setattr(Store, "move_rollout", crash)
        assert _run().is_failed()
    again = Store(store_url).get_live_rollout(NAME)
    assert (again.step, again.version, again.step_started_at) == (
        1,
        at_fifty.version,
        at_fifty.step_started_at,
    )
    assert _run().name == "Promoted"


def test_schedule_pauses_then_a_person_aborts_through_the_form(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    control, canary = _arms(store_url)
    rollout = _start(store_url, canary, 10)
    _report(store_url, rollout, 900, SAME, seed=8)
    monkeypatch.setenv("PHASEGATE_ROLLOUT_TIME_SCALE", "100000")
    get_settings.cache_clear()
    # The schedule's run pauses the rollout but opens no form (no `rollout` deployment here).
    assert roll_out_all() == {NAME: "Awaiting Person"}
    first_asker = Store(store_url).get_live_rollout(NAME).flow_run_id
    states: list[State] = []
    thread = in_thread(lambda: states.append(_run()))  # a run that opens the form

    def asking() -> str | None:
        live = Store(store_url).get_live_rollout(NAME)
        return live.flow_run_id if live.flow_run_id != first_asker else None

    run_id = wait_until(asking, 60, "the rollout to ask")
    wait_until(lambda: flow_run_state(run_id).is_paused(), 30, "the pause")
    answer = RolloutAnswer(promote=False, reason="users complain", person="ana")
    assert answer_paused(run_id, answer)
    thread.join(timeout=60)
    assert states[0].name == "Aborted"
    decision = Store(store_url).list_decisions(NAME)[-1]
    assert (decision.kind, decision.decided_by, decision.configuration_id) == (
        DecisionKind.ROLLED_BACK,
        "ana",
        control,
    )


runner = CliRunner()
SCHEMA = json.loads((Path(__file__).parents[2] / "docs/cli-json/rollout.schema.json").read_text())


def test_cli_rollout_status_shows_the_step_and_its_checks(store_url: str) -> None:
    _, canary = _arms(store_url)
    rollout = _start(store_url, canary, 10, 50)
    _report(store_url, rollout, 300, SAME, seed=9)
    result = runner.invoke(app, ["rollout", "status", NAME, "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    assert (document["rollout"]["status"], document["rollout"]["weight"]) == ("running", 10)
    assert [c["check"] for c in document["checks"]][:2] == ["live_sample_ratio", "live_rating"]
    assert Store(store_url).get_rollout(rollout.id).version == rollout.version  # read only


def test_cli_rollout_abort_restores_the_control_at_once(store_url: str) -> None:
    since = utcnow()  # the previous test (the other store) emitted the same events just before
    control, canary = _arms(store_url)
    _start(store_url, canary, 10, 50)
    args = ["rollout", "abort", NAME, "--reason", "support tickets", "--as", "bo", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["rollout"]["status"] == "aborted"
    decision = document["decision"]
    assert (decision["kind"], decision["decided_by"], decision["configuration_id"]) == (
        "rolled_back",
        "bo",
        control,
    )
    assert Store(store_url).require_use_case(NAME).active_configuration_id == control
    assert len(_events(events.ROLLOUT_ABORTED, since, want=1)) == 1


def test_cli_rollout_promote_without_a_live_rollout_exits_2(
    store_url: str, capsys: pytest.CaptureFixture
) -> None:
    _arms(store_url)
    assert run(["rollout", "promote", NAME, "--reason", "go"]) == 2
    assert "no live rollout" in capsys.readouterr().err
    assert run(["rollout", "abort", "nope", "--reason", "go"]) == 2
    assert run(["rollout", "abort", NAME, "--reason", " "]) == 2
    assert Store(store_url).list_decisions(NAME)[-1].kind == DecisionKind.BASELINED


def test_cli_rollout_analyse_runs_the_flow_once_and_prints_its_outcome(store_url: str) -> None:
    _, canary = _arms(store_url)
    rollout = _start(store_url, canary, 10)
    _report(store_url, rollout, 900, GOOD, seed=10)
    result = runner.invoke(app, ["rollout", "analyse", NAME, "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    assert (document["outcome"], document["rollout"]["status"]) == ("Promoted", "promoted")
    assert document["decision"]["kind"] == "advanced"
    assert run(["rollout", "analyse", NAME]) == 2  # nothing live any more
