"""`phasegate lease list|break`: who holds the check lease of each use case; break one."""

import os
from datetime import UTC, datetime
from typing import Annotated

import typer

from phasegate.cli.app import AsJson, app, console, print_json, store

lease_app = typer.Typer(help="The check lease of each use case.", no_args_is_help=True)
app.add_typer(lease_app, name="lease")


@lease_app.command("list")
def lease_list(as_json: AsJson = False) -> None:
    """Show the leases held now (holder, host, last heartbeat) and the latest breaks."""
    from phasegate.cli import outputs, records
    from phasegate.cli.views import leases_view

    held, broken = store().leases_and_breaks()
    if as_json:
        print_json(
            outputs.LeaseListOutput(
                held=[records.Lease(**lease.model_dump()) for lease in held],
                broken=[records.LeaseBreak(**item.model_dump()) for item in broken],
            )
        )
        return
    console.print(leases_view(console, held, broken, datetime.now(UTC)), crop=False)


@lease_app.command("break")
def lease_break(
    use_case: Annotated[str, typer.Argument(help="a registered use case")],
    reason: Annotated[str, typer.Option("--reason", help="why (kept in the store)")],
    by: Annotated[str | None, typer.Option("--as", help="who breaks it (default: $USER)")] = None,
    as_json: AsJson = False,
) -> None:
    """Break a use case's lease so that the next check runs; records who, when and why."""
    from phasegate.cli import records
    from state.errors import InputError

    if not reason.strip():
        raise InputError("--reason: must say why the lease is broken")
    who = by or os.environ.get("USER") or "cli"
    broken = store().break_lease(use_case, broken_by=who, reason=reason)
    if as_json:
        print_json(records.LeaseBreak(**broken.model_dump()))
        return
    console.print(
        f"{use_case}: broke the lease of flow run {broken.flow_run_id} on {broken.host} "
        f"({who}: {reason})"
    )
