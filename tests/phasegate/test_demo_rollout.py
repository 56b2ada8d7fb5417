"""The demo's live traffic: more traffic while the analysis waits, a bounded number of rounds."""

from pathlib import Path

import pytest
from rich.console import Console

from phasegate import demo_rollout
from state.settings import Settings
from state.store_api import Store
from tests.phasegate.webhook_client import NAME, register
from tests.rollouts import control_and_canary, start


@pytest.fixture(name="live_store")
def live_store_fixture(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Store:
    """A SQLite store where demo-qa's canary is in a running 10 % step (the demo's use case)."""
    register(settings, tmp_path / "specs", NAME)
    _, canary = control_and_canary(settings.store_url, NAME)
    start(settings.store_url, NAME, canary, 10)
    monkeypatch.setattr(demo_rollout, "USE_CASE", NAME)
    return Store(settings.store_url)


def test_a_step_the_evidence_does_not_decide_gets_more_traffic_then_the_demo_moves_on(
    live_store: Store,
) -> None:
    commands: list[tuple[str, ...]] = []
    console = Console(record=True, width=120)

    demo_rollout.traffic_and_analysis(console, lambda *a: commands.append(a), "http://x", seed=1)

    assert [c[:2] for c in commands] == [("simulate", "traffic"), ("rollout", "analyse")] * 3
    seeds = [c[c.index("--seed") + 1] for c in commands if "--seed" in c]
    assert seeds == ["1", "101", "201"]  # each round is new traffic, not the same keys again
    assert console.export_text().count("does not decide the step yet") == 2


def test_a_decided_step_ends_the_traffic(live_store: Store) -> None:
    commands: list[tuple[str, ...]] = []

    def run(*command: str) -> None:
        commands.append(command)
        if command[:2] == ("rollout", "analyse"):
            live = live_store.get_live_rollout(NAME)
            live_store.change_rollout(live.id, expected_version=live.version, status="aborted")

    demo_rollout.traffic_and_analysis(Console(record=True), run, "http://x", seed=1)

    assert [c[:2] for c in commands] == [("simulate", "traffic"), ("rollout", "analyse")]
