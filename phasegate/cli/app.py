"""The Typer application every command module registers on, and what the commands share."""

from contextlib import AbstractContextManager
from datetime import UTC, date, datetime

import typer
from rich.console import Console
from typer.core import TyperGroup


class _Commands(TyperGroup):
    """The command group, listed alphabetically in --help whatever the import order."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        """Command names in alphabetical order."""
        return sorted(super().list_commands(ctx))


app = typer.Typer(
    cls=_Commands,
    help="Move LLM use cases from prompting to RAG to fine-tuning through evidence-backed gates.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()


def store_session() -> AbstractContextManager:
    """A unit of work on the configured (and migrated) state store."""
    # Imported on use: the store costs about a second of CPU to import, which --help skips.
    from state import db
    from state.settings import get_settings

    return db.store_session(get_settings().store_url)


def require_use_case(name: str) -> None:
    """Raise NotFound, naming it, unless `name` is a registered use case."""
    from state import store

    with store_session() as session:
        store.require_use_case(name, session=session)


def today() -> date:
    """Today in UTC."""
    return datetime.now(UTC).date()
