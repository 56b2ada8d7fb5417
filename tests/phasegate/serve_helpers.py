"""Shared pieces of the `phasegate serve` tests: the project root, stand-in processes, a stack."""

import sys
from pathlib import Path

from phasegate import prefect_api, processes
from phasegate.processes import Child
from phasegate.serve import LocalPrefect

ROOT = Path(__file__).resolve().parents[2]


def sleeper(tmp_path: Path, name: str, code: str = "import time; time.sleep(60)") -> Child:
    """A child process `name` running `code` (by default, a minute of sleep)."""
    return processes.spawn(name, [sys.executable, "-c", code], {}, tmp_path)


def stack(tmp_path: Path) -> LocalPrefect:
    """An empty stack for an API on a free port where nothing listens."""
    return LocalPrefect(prefect_api.api_url_for(processes.free_port()), {}, tmp_path)
