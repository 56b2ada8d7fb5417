"""Error paths of the commands that run flows: exit 2 with a clear message, nothing written."""

import sys
from pathlib import Path

import pytest

from phasegate.cli import main
from state.approvals import pending_approvals
from state.db import store_session
from state.decisions import list_decisions
from state.settings import Settings
from state.spec import load_spec
from state.use_cases import apply_spec, require_use_case
from tests.specs import write_spec


def _phasegate(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *args: str):
    """Run the CLI's entry point in-process; its exit code and error output."""
    monkeypatch.setattr(sys, "argv", ["phasegate", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    return exited.value.code, capsys.readouterr().err


def _register(settings: Settings, directory: Path) -> None:
    with store_session(settings.store_url) as session:
        apply_spec(load_spec(write_spec(directory)), session=session)


def _store_state(settings: Settings) -> tuple:
    with store_session(settings.store_url) as session:
        return (
            require_use_case("demo-qa", session=session).version,
            list_decisions("demo-qa", session=session),
            pending_approvals(session=session),
        )


@pytest.mark.parametrize(
    "args",
    [
        ("check", "ghost"),
        ("approve", "ghost", "--reason", "ok"),
        ("reject", "ghost", "--reason", "no"),
        ("report", "ghost"),
    ],
)
def test_cli_phases_unknown_use_case_exits_2_naming_it(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    tmp_path: Path,
    args: tuple[str, ...],
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = _phasegate(monkeypatch, capsys, *args)
    assert code == 2
    assert "error: unknown use case: 'ghost'" in output
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("command", ["approve", "reject"])
def test_cli_phases_answer_with_nothing_pending_exits_2_and_writes_nothing(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    tmp_path: Path,
    command: str,
) -> None:
    _register(settings, tmp_path / "specs")
    before = _store_state(settings)
    code, output = _phasegate(monkeypatch, capsys, command, "demo-qa", "--reason", "r")
    assert (code, output.strip()) == (2, "error: demo-qa: no approval is pending")
    assert _store_state(settings) == before
