"""`phasegate usage record|import`: how many queries a use case serves per day."""

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from phasegate.cli.app import app, console, store_session, today
from state.errors import InputError

usage_app = typer.Typer(help="Report how many queries a use case serves.", no_args_is_help=True)
app.add_typer(usage_app, name="usage")


@usage_app.command("record")
def usage_record(
    use_case: str,
    count: Annotated[int, typer.Argument(min=0, help="queries served that day")],
    day: Annotated[str | None, typer.Option(help="ISO date; default today (UTC)")] = None,
    source: Annotated[str, typer.Option(help="who reports the count")] = "default",
) -> None:
    """Record the queries a use case served on one day (replaces that day's count)."""
    from state import usage

    try:
        when = date.fromisoformat(day) if day else today()
    except ValueError as exc:
        raise InputError(f"--day: not an ISO date: {day!r}") from exc
    with store_session() as session:
        usage.record_usage(use_case, when, count, source=source, session=session)
        total = usage.volume(use_case, today=today(), session=session)
    console.print(f"{use_case}: {count:,} on {when} ({source}); 30-day volume {total:,}")


@usage_app.command("import")
def usage_import(
    path: Annotated[Path, typer.Argument(help="CSV with use_case,day,count[,source]")],
) -> None:
    """Import daily counts from a CSV file; all rows or none."""
    from phasegate.usage_csv import read_usage_csv
    from state import usage

    rows = read_usage_csv(path)
    with store_session() as session:
        imported = usage.record_usage_many(rows, session=session)
    console.print(f"imported {imported:,} usage rows from {path}")
