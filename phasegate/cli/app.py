"""The Typer application every command module registers on, and what the commands share."""

import os
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console, ConsoleDimensions
from typer.core import TyperGroup

if TYPE_CHECKING:
    from pydantic import BaseModel
    from typer._click import Command, Parameter  # Typer's own click

    from state.store_api import Store


def _untyped_flags_off(params: list["Parameter"]) -> list["Parameter"]:
    """Typer's own flags (--help, --install-completion, ...) read False, not None, when absent.

    Typer coerces a None through pydantic, which it imports for that (≈ 0.1 s of CPU, a third
    of what `phasegate status` may spend), and passes a bool as it is. Their callbacks treat
    False as they treat None.
    """
    for param in params:
        if getattr(param, "is_flag", False) and not param.expose_value and param.default is None:
            param.default = False
    return params


class _Commands(TyperGroup):
    """The command group, listed alphabetically in --help whatever the import order."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        """Command names in alphabetical order."""
        return sorted(super().list_commands(ctx))

    def get_params(self, ctx: typer.Context) -> list["Parameter"]:
        """The group's options, Typer's flags off when absent."""
        return _untyped_flags_off(super().get_params(ctx))

    def get_command(self, ctx: typer.Context, cmd_name: str) -> "Command | None":
        """A command, its --help flag off when absent."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _untyped_flags_off(command.get_params(ctx))
        return command


app = typer.Typer(
    cls=_Commands,
    help="Move LLM use cases from prompting to RAG to fine-tuning through evidence-backed gates.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Plain help, like every other message: no Rich panels to import and draw.
    rich_markup_mode=None,
)
PIPE_WIDTH = 120


class _Console(Console):
    """rich's console, but 120 columns into a pipe that sets no COLUMNS (rich assumes 80)."""

    @property
    def size(self) -> ConsoleDimensions:
        """The terminal's size; into a pipe, COLUMNS or 120 wide."""
        size = super().size
        if self._width is None and not self.is_terminal and not os.environ.get("COLUMNS"):
            return ConsoleDimensions(PIPE_WIDTH, size.height)
        return size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]


# Markup off: names, reasons and errors print as written, brackets included.
console = _Console(markup=False, highlight=False)
AsJson = Annotated[
    bool, typer.Option("--json", help="print one JSON document (schema in docs/cli-json/)")
]


def print_json(document: "BaseModel") -> None:
    """Print one JSON document as the whole of stdout: never wrapped, nothing else."""
    typer.echo(document.model_dump_json(indent=2))


def store() -> "Store":
    """The configured (and, on first use, migrated) state store."""
    # Imported on use: the store costs about a second of CPU to import, which --help skips.
    from state.settings import get_settings
    from state.store_api import Store

    return Store(get_settings().store_url)


def require_use_case(name: str) -> None:
    """Raise NotFound, naming it, unless `name` is a registered use case."""
    store().require_use_case(name)


def require_prefect() -> None:
    """Raise PrefectUnavailable unless the configured Prefect API answers (none configured: ok).

    Without an API URL, Prefect starts a temporary local server of its own.
    """
    from prefect.settings import get_current_settings

    from phasegate.prefect_api import require_api

    api_url = get_current_settings().api.url
    if api_url:
        require_api(str(api_url).rstrip("/"))


def today() -> date:
    """Today in UTC."""
    return datetime.now(UTC).date()
