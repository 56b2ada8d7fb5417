"""The temporary Prefect API of one command: its events reach it before it stops."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMAND = """
from prefect import flow
from phasegate.temporary_api import prefect_api

@flow
def noop() -> int:
    return 1

for _ in range(2):  # two commands in one process, as the demos run them
    with prefect_api():
        assert noop() == 1
"""


@pytest.mark.prefect
def test_a_command_leaves_no_events_for_its_stopped_server(tmp_path: Path) -> None:
    """A flow run's last events reach its command's server before it stops.

    Left queued, they are retried against the stopped server during the next command, with
    a warning and an error that prints each event.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PHASEGATE_"))}
    env |= {
        "PHASEGATE_DATA_DIR": str(tmp_path / "data"),  # no background server recorded there
        "PREFECT_HOME": str(tmp_path),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",  # a new database migrates
    }
    done = subprocess.run(
        [sys.executable, "-c", COMMAND], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "Unable to connect" not in done.stderr
    assert "failed to process" not in done.stderr
