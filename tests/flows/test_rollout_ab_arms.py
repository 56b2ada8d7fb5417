"""An A/B of demo-qa's three arms: every variant worse, `rollout status|promote` on an A/B."""

import json

import jsonschema
import pytest
from typer.testing import CliRunner

from flows.rollout import roll_out
from phasegate.cli.commands import app
from phasegate.cli.exits import run
from state.phases import DecisionKind
from state.settings import get_settings
from state.store_api import Store
from tasks.rollout_answers import RolloutAnswer, answer_paused
from tests.flows.journey import flow_run_state, in_thread, wait_until
from tests.flows.test_rollout import (  # noqa: F401  (store_url is a fixture)
    NAME,
    SCHEMA,
    _report,
    store_url_fixture,
)
from tests.rollouts import control_and_canary, start_ab, variants

pytestmark = pytest.mark.usefixtures("flows_api")
runner = CliRunner()


def _ab(store_url: str):
    control, _ = control_and_canary(store_url, NAME)
    first, second = variants(store_url, NAME, 2)
    rollout = start_ab(store_url, NAME, {"b": first, "c": second}, 200 / 3)
    return rollout, {"control": control, "b": first, "c": second}


def test_cli_status_of_an_ab_shows_every_arm_and_its_table(store_url: str) -> None:
    rollout, _ = _ab(store_url)
    _report(store_url, rollout, 300, {n: {"rating": 0.6} for n in ("control", "b", "c")}, seed=3)
    result = runner.invoke(app, ["rollout", "status", NAME, "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    jsonschema.validate(document, SCHEMA)
    assert document["rollout"]["kind"] == "ab"
    arms = [(a["name"], round(a["weight"], 1)) for a in document["rollout"]["arms"]]
    assert arms == [("control", 33.3), ("b", 33.3), ("c", 33.3)]
    table = next(c for c in document["checks"] if c["check"] == "live_ab_arms")
    assert [a["name"] for a in table["evidence"]["arms"]] == ["control", "b", "c"]
    shown = runner.invoke(app, ["rollout", "status", NAME])
    assert "A/B of 3 arms" in shown.stdout
    assert all(f"  {arm}  33.3 %" in shown.stdout for arm in ("control", "b", "c"))


def test_cli_promote_of_an_ab_without_its_arm_exits_2_and_changes_nothing(
    store_url: str, capsys: pytest.CaptureFixture
) -> None:
    rollout, ids = _ab(store_url)
    assert run(["rollout", "promote", NAME, "--reason", "looks good"]) == 2
    assert "--arm: rollout" in capsys.readouterr().err
    assert run(["rollout", "promote", NAME, "--reason", "go", "--arm", "nope"]) == 2
    assert run(["rollout", "abort", NAME, "--reason", "go", "--arm", "b"]) == 2
    assert Store(store_url).get_rollout(rollout.id) == rollout
    assert Store(store_url).list_decisions(NAME)[-1].kind == DecisionKind.BASELINED
    assert Store(store_url).require_use_case(NAME).active_configuration_id == ids["control"]


def test_cli_promote_of_an_ab_makes_the_named_arm_the_baseline(store_url: str) -> None:
    _, ids = _ab(store_url)
    args = ["rollout", "promote", NAME, "--reason", "c reads better", "--arm", "c", "--json"]
    result = runner.invoke(app, [*args, "--as", "bo"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["rollout"]["status"] == "promoted"
    decision = document["decision"]
    assert (decision["kind"], decision["configuration_id"], decision["decided_by"]) == (
        "baselined",
        ids["c"],
        "bo",
    )
    assert Store(store_url).require_use_case(NAME).active_configuration_id == ids["c"]


def test_ab_whose_every_variant_is_worse_drops_them_and_the_control_wins(store_url: str) -> None:
    rollout, ids = _ab(store_url)
    rates = {"control": {"rating": 0.8}, "b": {"rating": 0.2}, "c": {"rating": 0.3}}
    _report(store_url, rollout, 600, rates, seed=4)
    assert roll_out(NAME, return_state=True).name == "Promoted"
    ended = Store(store_url).get_rollout(rollout.id)
    assert (ended.status, ended.dropped) == ("promoted", ["b", "c"])
    decision = Store(store_url).list_decisions(NAME)[-1]
    assert (decision.kind, decision.configuration_id) == (DecisionKind.BASELINED, ids["control"])
    assert decision.reason.startswith(f"A/B {rollout.id}: control wins: every variant was dropped")
    shown = runner.invoke(app, ["rollout", "status", NAME]).stdout
    assert f"rollout {rollout.id} to prompting promoted A/B of 3 arms" in shown
    assert "arms: control 100.0 %, b dropped, c dropped" in shown


def test_form_answer_promoting_an_ab_without_an_arm_leaves_it_paused(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rollout, _ = _ab(store_url)
    _report(store_url, rollout, 300, {n: {"rating": 0.6} for n in ("control", "b", "c")}, seed=5)
    monkeypatch.setenv("PHASEGATE_ROLLOUT_TIME_SCALE", "100000")  # max_duration passes at once
    get_settings.cache_clear()
    states = []
    thread = in_thread(lambda: states.append(roll_out(NAME, poll_seconds=1, return_state=True)))
    asker = wait_until(lambda: Store(store_url).get_live_rollout(NAME).flow_run_id, 60, "asking")
    wait_until(lambda: flow_run_state(asker).is_paused(), 30, "the pause")
    assert answer_paused(asker, RolloutAnswer(promote=True, reason="b it is", person="ana"))
    thread.join(timeout=60)
    assert states[0].name == "Awaiting Person"
    assert "--arm" in states[0].message
    live = Store(store_url).get_live_rollout(NAME)
    assert (live.status, live.dropped) == ("paused", [])
    assert Store(store_url).list_decisions(NAME)[-1].kind == DecisionKind.BASELINED
