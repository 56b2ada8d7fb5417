"""The demo drives the CLI's own commands, in process, through the app it is handed."""

import pytest
import typer

from phasegate.cli.commands import app
from phasegate.demo import _run
from state.errors import NotFound, PhasegateError
from state.settings import Settings


def test_demo_runs_a_command_as_typed(settings: Settings, capsys) -> None:
    _run(app, "status")
    assert "no use cases in the store" in capsys.readouterr().out


def test_demo_stops_at_a_command_that_fails(settings: Settings) -> None:
    with pytest.raises(NotFound, match="unknown use case: 'ghost'"):
        _run(app, "history", "ghost")


def _stop() -> None:
    raise typer.Exit(3)


def test_demo_stops_at_a_command_that_exits_non_zero() -> None:
    exits = typer.Typer()
    exits.command("stop")(_stop)
    exits.command("go")(lambda: None)
    _run(exits, "go")
    with pytest.raises(PhasegateError, match="`phasegate stop` exited with 3"):
        _run(exits, "stop")
