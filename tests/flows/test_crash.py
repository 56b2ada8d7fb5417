"""Crashes: a re-run continues once and marks a killed run Crashed; no process outlives it; a
check that dies as it records leaves none of what it scored behind."""

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from prefect.settings import PREFECT_API_URL
from sqlmodel import select

from flows.phase_check import check_phase
from phasegate.processes import alive, descendants
from state import decisions
from state.db import store_session
from state.decisions import list_decisions
from state.models import ConfigurationRecord, EvalRunRecord
from state.settings import Settings
from tests.flows.checks import run_check
from tests.flows.journey import (
    ROOT,
    USE_CASE,
    Journey,
    activations,
    flow_run_state,
    leases,
    wait_until,
)

#: Candidate scoring of the 142 eval items then takes ≈ 9 waves × 0.5 s: time to kill it.
LATENCY_MS = 500
EVAL_ITEMS = 142
CHILD = f"from flows.phase_check import check_phase; check_phase({USE_CASE!r})"


def _child_env(journey: Journey, prefect_home: Path) -> dict[str, str]:
    """The environment of a check in its own process, on the session's Prefect API."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PHASEGATE_", "PREFECT_"))
    }
    return (
        env
        | journey.env()
        | {
            "PYTHONPATH": str(ROOT),
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_API_URL": str(PREFECT_API_URL.value()),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL",
        }
    )


def _kill_during_candidate_eval(journey: Journey, tmp_path: Path) -> tuple[str, int]:
    """Run a check in a child process; SIGKILL its process group mid-scoring.

    Returns the flow run id that held the lease and the chat calls made before the kill.
    """
    log = tmp_path / "child.log"
    with log.open("w") as out:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD],
            env=_child_env(journey, tmp_path / "prefect-home"),
            cwd=tmp_path,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # The active configuration's eval run is stored, so every chat call is the candidate's.
        wait_until(
            lambda: child.poll() is not None or journey.sandbox.stats()["chat_completions"] > 0,
            120,
            "the candidate's first provider calls",
        )
        assert child.poll() is None, f"the check ended on its own:\n{log.read_text()[-3000:]}"
        [holder] = leases(journey.store_url)
        calls = journey.sandbox.stats()["chat_completions"]
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    return holder, calls


@pytest.mark.prefect
def test_check_phase_after_sigkill_mid_eval_takes_over_and_decides_once(
    journey_from: Callable[..., Journey], tmp_path: Path
) -> None:
    journey = journey_from("baselined")
    before = journey.use_case()
    journey.sandbox.admin("POST", "/sandbox/faults", {"latency_ms": LATENCY_MS})
    dead, calls = _kill_during_candidate_eval(journey, tmp_path)
    assert 0 < calls < EVAL_ITEMS
    journey.sandbox.admin("POST", "/sandbox/faults", {"latency_ms": 0})

    step = run_check(journey)

    assert (step.state.name, step.decision.kind, step.decision.to_phase) == (
        "Advanced",
        "advanced",
        "rag",
    ), step.decision.reason
    with store_session(journey.store_url) as session:
        decisions = list_decisions(USE_CASE, session=session)
    assert [d.kind for d in decisions] == ["baselined", "advanced"]
    assert dead not in {d.flow_run_id for d in decisions}
    assert flow_run_state(dead).is_crashed()
    assert len({d.flow_run_id for d in decisions}) == len(decisions)
    assert activations(journey.store_url) == [
        (d.id, d.configuration_id, d.to_phase) for d in decisions
    ]
    after = journey.use_case()
    assert (after.version, after.active_configuration_id) == (
        before.version + 1,
        step.decision.configuration_id,
    )
    assert leases(journey.store_url) == []


def _stored_ids(store_url: str) -> tuple[set[int], set[int]]:
    """The ids of every configuration and every eval run in the store."""
    with store_session(store_url) as session:
        configs = set(session.exec(select(ConfigurationRecord.id)).all())
        return configs, set(session.exec(select(EvalRunRecord.id)).all())


@pytest.mark.prefect
def test_check_that_dies_as_it_records_leaves_no_configuration_or_eval_run(
    journey_from: Callable[..., Journey],
) -> None:
    journey = journey_from("baselined")
    before = _stored_ids(journey.store_url)

    def die(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("killed as it recorded its decision")

    # Dies inside the unit that records, after it stored the candidate's configuration and run.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(decisions, "record_decision", die)
        died = check_phase(USE_CASE, return_state=True)

    assert died.is_failed()
    assert _stored_ids(journey.store_url) == before
    assert leases(journey.store_url) == []
    step = run_check(journey)  # a re-run scores again (from the response cache) and decides
    assert (step.decision.kind, step.decision.to_phase) == ("advanced", "rag")
    configs, runs = _stored_ids(journey.store_url)
    assert configs - before[0] == {step.decision.candidate_configuration_id}
    assert runs - before[1] == set(step.decision.eval_run_ids) - before[1] != set()


def _uvicorn_below(pid: int) -> int | None:
    """The id of a uvicorn process started below `pid`, if one runs."""
    for child in descendants(pid):
        try:
            if "uvicorn" in psutil.Process(child).cmdline():
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def test_cli_check_killed_with_sigkill_leaves_no_prefect_server_behind(
    settings: Settings, tmp_path: Path
) -> None:
    specs = ROOT / "usecases"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect-home"), "PYTHONPATH": str(ROOT)}
    main = [sys.executable, "-c", "from phasegate.cli import main; main()"]
    subprocess.run([*main, "apply", str(specs)], env=env, check=True, capture_output=True)
    child = subprocess.Popen(
        [*main, "check", USE_CASE], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        server = wait_until(lambda: _uvicorn_below(child.pid), 120, "the temporary Prefect server")
    finally:
        child.kill()
        child.wait(timeout=30)
    wait_until(lambda: not alive(server), 30, "the server to end with the killed command")
