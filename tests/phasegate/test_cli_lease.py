"""`phasegate lease list|break`: operators see and break check leases; breaks are recorded."""

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from phasegate.cli.commands import app
from state.db import store_session
from state.leases import acquire_lease, list_lease_breaks, list_leases
from state.settings import Settings
from tests.specs import write_spec

runner = CliRunner()


@pytest.fixture(name="held")
def held_fixture(settings: Settings, tmp_path: Path) -> str:
    """demo-qa registered, with its lease held by flow run `run-on-lost-pod`."""
    assert runner.invoke(app, ["apply", str(write_spec(tmp_path / "specs"))]).exit_code == 0
    with store_session(settings.store_url) as session:
        acquire_lease("demo-qa", "run-on-lost-pod", ttl_seconds=60, session=session)
    return "run-on-lost-pod"


def _main(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from phasegate.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_lease_list_shows_the_holder(held: str) -> None:
    result = runner.invoke(app, ["lease", "list"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "demo-qa" in result.output and held in result.output and "live" in result.output


def test_lease_break_frees_the_use_case_and_records_who_and_why(
    held: str, settings: Settings
) -> None:
    result = runner.invoke(app, ["lease", "break", "demo-qa", "--reason", "pod gone", "--as", "op"])
    assert result.exit_code == 0, result.output
    assert f"broke the lease of flow run {held}" in result.output
    with store_session(settings.store_url) as session:
        assert list_leases(session=session) == []
        [broken] = list_lease_breaks(session=session)
    assert (broken.flow_run_id, broken.broken_by, broken.reason) == (held, "op", "pod gone")
    listed = runner.invoke(app, ["lease", "list"], env={"COLUMNS": "200"}).output
    assert "pod gone" in listed and "no lease is held" in listed


def test_lease_break_without_a_lease_exits_2_and_records_nothing(
    held: str, settings: Settings
) -> None:
    assert _main("lease", "break", "demo-qa", "--reason", "first").returncode == 0
    again = _main("lease", "break", "demo-qa", "--reason", "second")
    assert again.returncode == 2
    assert "demo-qa: no lease is held" in again.stderr
    with store_session(settings.store_url) as session:
        assert [b.reason for b in list_lease_breaks(session=session)] == ["first"]


def test_lease_break_with_an_empty_reason_exits_2_and_keeps_the_lease(
    held: str, settings: Settings
) -> None:
    result = _main("lease", "break", "demo-qa", "--reason", " ")
    assert result.returncode == 2
    assert "--reason: must say why" in result.stderr
    with store_session(settings.store_url) as session:
        assert [lease.flow_run_id for lease in list_leases(session=session)] == [held]
