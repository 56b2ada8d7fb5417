"""`phasegate db upgrade`: the state store's migrations."""

import typer

from phasegate.cli.app import app, console

db_app = typer.Typer(help="Manage the state store.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations to the state store."""
    from state.settings import get_settings
    from state.store_api import Store

    console.print(f"state store at head: {Store(get_settings().store_url).upgrade()}")
