"""The CLI's edge: run the application and turn every way it can end into an exit code.

0 ok; 2 bad input (usage errors included: unknown command, option or value); 3 a dependency
unavailable (provider, store, Prefect API); 4 an outcome refused by `--fail-on` or
`--fail-under`; 1 anything unexpected. Messages go to stderr as plain text, never as markup.
"""

import sys

import typer

from phasegate.cli.commands import app
from state.errors import PhasegateError

USAGE_ERROR = 2
INTERRUPTED = 130


def error(message: str) -> None:
    """Print one error message on stderr, as plain text."""
    typer.secho("error: ", fg="red", err=True, nl=False)
    typer.echo(message, err=True)


def run(args: list[str] | None = None) -> int:
    """Run the CLI on `args` (default: the process's) and return its exit code."""
    try:
        code = app(args, prog_name="phasegate", standalone_mode=False)
    except PhasegateError as exc:
        error(str(exc))
        return exc.exit_code
    except typer.TyperException as exc:  # Typer's own click: usage errors and the like
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            error(exc.format_message())
        return USAGE_ERROR
    except typer.Abort:
        error("aborted")
        return INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the edge: anything else is unexpected
        error(f"unexpected error: {type(exc).__name__}: {exc}")
        return 1
    return code if isinstance(code, int) else 0


def main() -> None:
    """Entry point of the `phasegate` command."""
    sys.exit(run())
