"""`phasegate usage record|import`: how many queries a use case serves per day."""

from pathlib import Path
from typing import Annotated

import typer

from phasegate.cli.app import AsJson, app, console, print_json, store, today
from state.errors import InputError

# The error of a field names the option that set it.
OPTIONS = {"day": "--day", "source": "--source"}
usage_app = typer.Typer(help="Report how many queries a use case serves.", no_args_is_help=True)
app.add_typer(usage_app, name="usage")


@usage_app.command("record")
def usage_record(
    use_case: str,
    count: Annotated[int, typer.Argument(help="queries served that day (0 to 2,147,483,647)")],
    day: Annotated[
        str | None, typer.Option(help="YYYY-MM-DD from 2000-01-01 to tomorrow; default today (UTC)")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="who reports the count: a slug (a-z, 0-9, '-'), ≤ 63; default 'default'"),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Record the queries a use case served on one day (replaces that day's count)."""
    from phasegate.cli import outputs
    from state.domain import UsageCount
    from state.inputs import DEFAULT_SOURCE, parse_day, usage_report

    when = today() if day is None else parse_day(day)
    if when is None:
        raise InputError("--day: not an ISO date (YYYY-MM-DD)")
    source = DEFAULT_SOURCE if source is None else source
    report = usage_report(use_case, when, count, source, labels=OPTIONS)
    counted = UsageCount(report.use_case, report.day, report.count, report.source)
    total = store().record_daily_usage(counted, today=today())
    if as_json:
        print_json(
            outputs.UsageRecordOutput(
                use_case=use_case, day=when, count=count, source=source, volume_30d=total
            )
        )
        return
    console.print(f"{use_case}: {count:,} on {when} ({source}); 30-day volume {total:,}")


@usage_app.command("import")
def usage_import(
    path: Annotated[Path, typer.Argument(help="CSV with use_case,day,count[,source]")],
    as_json: AsJson = False,
) -> None:
    """Import daily counts from a CSV file; all rows or none."""
    from phasegate.cli import outputs
    from phasegate.usage_csv import read_usage_csv

    imported = store().import_usage(read_usage_csv(path), path)
    if as_json:
        print_json(outputs.UsageImportOutput(path=str(path), imported=imported))
        return
    console.print(f"imported {imported:,} usage rows from {path}")
