"""The demo's online A/B step, run as the demo runs it: real sandbox, Prefect and webhook API.

Whatever the sandbox's mechanics decide, the step must end in one of two honest ways: a
winner recorded as the baseline (the rollout promoted), or the A/B still running and the step
saying its arms are not told apart yet.
"""

import functools
from pathlib import Path

import pytest
from rich.console import Console

from phasegate.cli.commands import app
from phasegate.demo import ROOT, _run
from phasegate.demo_ab import USE_CASE, online_ab
from phasegate.demo_services import webhook_api
from phasegate.signing import new_secret
from state.phases import DecisionKind
from state.settings import Settings, get_settings
from state.store_api import Store
from tests.plugins.sandbox_server import SandboxServer


def test_demo_ab_step_records_a_winner_or_says_not_told_apart(
    flows_api: None,
    settings: Settings,
    sandbox_server: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PHASEGATE_BASE_URL", sandbox_server.url)
    monkeypatch.setenv("PHASEGATE_WEBHOOK_SECRET", new_secret())
    get_settings.cache_clear()
    sandbox_server.reset()
    with webhook_api(get_settings()) as url:
        ended = online_ab(Console(), functools.partial(_run, app), ROOT, tmp_path, url)
    store = Store(get_settings().store_url)
    (rollout,) = store.list_rollouts(USE_CASE)
    assert rollout.kind == "ab" and len(rollout.arms) == 2
    assert "live_ab_arms" in capsys.readouterr().out  # the per-arm table was printed
    if rollout.status == "promoted":
        decision = store.list_decisions(USE_CASE)[-1]
        active = store.active_parts(USE_CASE)
        assert (decision.kind, decision.configuration_id) == (
            DecisionKind.BASELINED,
            active.configuration.id,
        )
        assert ended == f"winner: {active.prompt.label}"
    else:
        assert rollout.status == "running"
        assert ended.startswith("not told apart yet: still serving control")
