"""A rollout analysis killed (SIGKILL) inside its write: nothing is half-written, and the next
analysis resumes at the same step and moves it — on SQLite and on PostgreSQL.

`phasegate rollout analyse` runs in a subprocess that stops before the last statement of its
promotion's unit of work (`tests/flows/held_write.py`): the rollout row, the use case's active
configuration and the decision are written in its transaction, not committed. The test waits
for it to get there (a marker file, no sleep), kills it, and reads the store.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL

from flows.rollout import roll_out
from state.phases import DecisionKind, Phase
from state.settings import Settings, get_settings
from state.spec import load_spec
from state.store_api import Store
from tests.flows.journey import wait_until
from tests.rollouts import control_and_canary, report, start_small
from tests.specs import write_spec

NAME = "demo-qa"
GOOD = {"control": {"rating": 0.5}, "canary": {"rating": 0.9}}
ROOT = Path(__file__).parents[2]
# Bounds the wait for the subprocess to start its flow run and reach the write.
PATIENCE = 180.0
# The last statement of a promotion to 100 %: the canary's activation record.
LAST_WRITE = "INSERT INTO activation"
pytestmark = pytest.mark.usefixtures("flows_api")


@pytest.fixture(name="store")
def store_fixture(
    settings: Settings, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Store:
    """demo-qa on the backend under test, which the flows of this process use too."""
    monkeypatch.setenv("PHASEGATE_DATABASE_URL", store_url)
    get_settings.cache_clear()
    store = Store(store_url)
    store.apply_specs([load_spec(write_spec(tmp_path / "specs"))])
    return store


def _analyse_until_killed_in_write(settings: Settings, store_url: str, tmp: Path) -> list[str]:
    """Run `phasegate rollout analyse` until its last write; kill it there; its writes so far."""
    marker, log = tmp / "in-write", tmp / "analyse.log"
    env = os.environ | {
        "PHASEGATE_DATA_DIR": str(settings.data_dir),
        "PHASEGATE_DATABASE_URL": store_url,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
    }
    command = [sys.executable, "-m", "tests.flows.held_write", str(marker), LAST_WRITE]
    with log.open("w") as output:
        analysis = subprocess.Popen(
            [*command, "rollout", "analyse", NAME],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: marker.exists() or analysis.poll() is not None, PATIENCE, "the write")
        assert marker.exists(), f"the analysis ended first:\n{log.read_text()}"
    finally:
        analysis.send_signal(signal.SIGKILL)
        analysis.wait(timeout=PATIENCE)
    assert analysis.returncode == -signal.SIGKILL
    return marker.read_text().splitlines()


def test_analysis_killed_in_its_write_leaves_the_step_and_the_next_one_promotes(
    store: Store, settings: Settings, store_url: str, tmp_path: Path
) -> None:
    control, canary = control_and_canary(store_url, NAME)
    rollout = start_small(store_url, NAME, canary, 10, 50)
    report(store_url, NAME, rollout, 900, GOOD, seed=1)
    assert roll_out(NAME, return_state=True).name == "Canary 50 %"
    at_fifty = store.get_live_rollout(NAME)
    report(store_url, NAME, at_fifty, 300, GOOD, seed=2)
    before = (store.require_use_case(NAME), store.list_decisions(NAME))

    writes = _analyse_until_killed_in_write(settings, store_url, tmp_path)

    # Killed after the rollout, the use case and the decision were written, not committed …
    tables = [" ".join(w.split()[:3]) for w in writes]
    assert tables[:3] == ["UPDATE rollout SET", "UPDATE use_case SET", "INSERT INTO decision"]
    assert store.get_live_rollout(NAME) == at_fifty  # … and none of it stayed
    assert (store.require_use_case(NAME), store.list_decisions(NAME)) == before
    assert before[0].active_configuration_id == control

    resumed = roll_out(NAME, return_state=True)

    assert resumed.name == "Promoted"
    ended = store.get_rollout(at_fifty.id)
    assert (ended.status, ended.step, ended.version) == ("promoted", 1, at_fifty.version + 1)
    use_case = store.require_use_case(NAME)
    assert (use_case.active_configuration_id, use_case.active_phase) == (canary, Phase.RAG)
    decision = store.list_decisions(NAME)[-1]
    assert (decision.kind, decision.configuration_id) == (DecisionKind.ADVANCED, canary)
    assert len(store.list_decisions(NAME)) == len(before[1]) + 1
