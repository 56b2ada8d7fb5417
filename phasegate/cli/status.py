"""`phasegate status` and `phasegate history`: what every use case is doing, and why."""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from phasegate.cli.app import AsJson, app, console, print_json, store, today

if TYPE_CHECKING:
    from state.domain import StatusRow
    from state.settings import Settings
    from state.store_location import StoreLocation


@app.command()
def status(as_json: AsJson = False) -> None:
    """Show every use case: phase, active configuration, last decision, volume."""
    from state.status_read import read_status
    from state.store_location import store_location

    # One query for the table and --json: through plain SQL from a store at head, without
    # importing the store's models (seconds of CPU otherwise); settings to validate or a
    # store to migrate send the same query through the store's session.
    location = store_location()
    rows = read_status(location.store_url, today=today()) if location is not None else None
    if rows is None:
        rows = store().status_rows(today=today())
    if as_json:
        from phasegate.cli import outputs

        print_json(outputs.status(rows))
        return
    if location is None:
        from state.settings import get_settings

        _print_status(rows, get_settings())
        return
    _print_status(rows, location)


def _print_status(rows: Sequence["StatusRow"], settings: "StoreLocation | Settings") -> None:
    """The status table, or where the empty store is and how to fill it."""
    from phasegate.cli.views import status_view

    if not rows:
        where = "PHASEGATE_DATABASE_URL" if settings.database_url else settings.data_dir
        console.print(
            f"no use cases in the store at {where}: register some with "
            "`phasegate apply usecases/`; after `make demo`, look at its store with "
            "`PHASEGATE_DATA_DIR=.phasegate/demo phasegate status`",
            soft_wrap=True,
        )
        return
    console.print(status_view(console, rows), crop=False)


@app.command()
def history(
    use_case: str,
    gates: Annotated[bool, typer.Option("--gates", help="also the gate results of each")] = False,
    as_json: AsJson = False,
) -> None:
    """Show the decisions of a use case, one line each (`--gates`: with their gate results)."""
    from phasegate.cli import outputs, records
    from phasegate.cli.views import history_view

    decisions = store().list_decisions(use_case)
    if as_json:
        print_json(outputs.HistoryOutput(use_case=use_case, decisions=records.decisions(decisions)))
        return
    if not decisions:
        console.print(f"{use_case}: no decisions yet (run `phasegate check {use_case}`)")
        return
    console.print(history_view(console, use_case, decisions, gates=gates), crop=False)
