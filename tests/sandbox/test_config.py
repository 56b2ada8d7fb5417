"""SandboxConfig, runtime settings and the command-line entry point."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from sandbox import SandboxConfig

ROOT = Path(__file__).resolve().parents[2]


def test_config_from_env_reads_sandbox_variables() -> None:
    config = SandboxConfig.from_env(
        {
            "SANDBOX_LATENCY_MS": "250",
            "SANDBOX_FAULT_429": "0.1",
            "SANDBOX_JOB_SECONDS": "1.5",
            "OTHER": "x",
        }
    )
    assert (config.latency_ms, config.fault_429, config.job_seconds) == (250, 0.1, 1.5)
    assert config.hang_seconds == 30


def test_config_rejects_share_above_one() -> None:
    with pytest.raises(ValidationError):
        SandboxConfig(fault_500=1.5)


def test_config_faults_endpoint_returns_updated_settings(sandbox_url: str) -> None:
    root = sandbox_url.removesuffix("/v1")
    updated = httpx.post(f"{root}/sandbox/faults", json={"latency_ms": 5}).json()
    assert updated["latency_ms"] == 5
    assert httpx.get(f"{root}/sandbox/faults").json()["latency_ms"] == 5


def test_config_main_serves_models() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        deadline, ids = time.monotonic() + 15, None
        while ids is None and time.monotonic() < deadline and process.poll() is None:
            try:
                data = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=1).json()["data"]
                ids = [model["id"] for model in data]
            except httpx.HTTPError:
                time.sleep(0.05)
        assert ids is not None and "sandbox-base" in ids
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_config_main_refuses_a_bad_shutdown_date_flag() -> None:
    from sandbox.__main__ import main

    with pytest.raises(SystemExit) as info:
        main(["--shutdown-date", "sandbox-small=someday"])
    assert info.value.code == 2
