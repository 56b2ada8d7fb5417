"""`phasegate lease list|break`: who holds the check lease of each use case; break one."""

import os
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from phasegate.cli.app import app, console, store_session
from phasegate.cli.views import when

lease_app = typer.Typer(help="The check lease of each use case.", no_args_is_help=True)
app.add_typer(lease_app, name="lease")


@lease_app.command("list")
def lease_list() -> None:
    """Show the leases held now (holder, host, last heartbeat) and the latest breaks."""
    from state.leases import list_lease_breaks, list_leases

    with store_session() as session:
        held, broken = list_leases(session=session), list_lease_breaks(session=session)
    now = datetime.now(UTC)
    table = Table(title="Check leases", header_style="bold")
    for column in ("use case", "flow run", "host", "pid", "since", "last heartbeat", "state"):
        table.add_column(column)
    for lease in held:
        state = "live" if lease.expires_at > now else "stale: the next check takes it over"
        table.add_row(
            lease.use_case,
            lease.flow_run_id,
            lease.host,
            str(lease.pid),
            when(lease.acquired_at),
            when(lease.renewed_at),
            state,
        )
    console.print(table if held else "no lease is held")
    if broken:
        table = Table(title="Broken leases (newest first)", header_style="bold")
        for column in ("use case", "flow run", "host", "broken by", "when", "reason"):
            table.add_column(column)
        for item in broken:
            table.add_row(
                item.use_case,
                item.flow_run_id,
                item.host,
                item.broken_by,
                when(item.broken_at),
                item.reason,
            )
        console.print(table)


@lease_app.command("break")
def lease_break(
    use_case: Annotated[str, typer.Argument(help="a registered use case")],
    reason: Annotated[str, typer.Option("--reason", help="why (kept in the store)")],
    by: Annotated[str | None, typer.Option("--as", help="who breaks it (default: $USER)")] = None,
) -> None:
    """Break a use case's lease so that the next check runs; records who, when and why."""
    from state.errors import InputError
    from state.leases import break_lease

    if not reason.strip():
        raise InputError("--reason: must say why the lease is broken")
    who = by or os.environ.get("USER") or "cli"
    with store_session() as session:
        broken = break_lease(use_case, broken_by=who, reason=reason, session=session)
    console.print(
        f"{use_case}: broke the lease of flow run {broken.flow_run_id} on {broken.host} "
        f"({who}: {reason})"
    )
