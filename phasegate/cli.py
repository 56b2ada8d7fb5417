"""The `phasegate` command line: parse, call, print; errors become exit codes."""

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console

from phasegate import cli_phases
from phasegate.cli_eval import eval_command
from phasegate.cli_serve import serve_command
from phasegate.cli_webhook import webhook_command
from phasegate.context import store_session
from phasegate.usage_csv import read_usage_csv
from phasegate.views import history_table, status_table
from state import store, usage
from state.approvals import pending_approvals
from state.db import engine_for
from state.errors import InputError, PhasegateError
from state.settings import get_settings
from state.spec import find_spec_files, load_spec

app = typer.Typer(
    help="Move LLM use cases from prompting to RAG to fine-tuning through evidence-backed gates.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
usage_app = typer.Typer(help="Report how many queries a use case serves.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the state store.", no_args_is_help=True)
app.add_typer(usage_app, name="usage")
app.add_typer(db_app, name="db")
app.add_typer(cli_phases.prompts_app, name="prompts")
app.command("check")(cli_phases.check_command)
app.command("approve")(cli_phases.approve_command)
app.command("reject")(cli_phases.reject_command)
app.command("build")(cli_phases.build_command)
app.command("monitor")(cli_phases.monitor_command)
app.command("hybrid")(cli_phases.hybrid_command)
app.command("report")(cli_phases.report_command)
app.command("eval")(eval_command)
app.command("sandbox")(cli_phases.sandbox_command)
app.command("webhook")(webhook_command)
app.command("serve")(serve_command)
console = Console()


def today() -> date:
    """Today in UTC."""
    return datetime.now(UTC).date()


@app.command()
def apply(paths: Annotated[list[Path], typer.Argument(help="spec files or directories")]) -> None:
    """Register or update use cases from spec files (idempotent)."""
    loaded = [load_spec(path) for path in find_spec_files(paths)]
    if not loaded:
        raise InputError(f"no spec files found in {', '.join(map(str, paths))}")
    seen: dict[str, Path] = {}
    for item in loaded:
        if item.spec.name in seen:
            raise InputError(
                f"{item.path}: name: duplicate use case {item.spec.name!r} "
                f"(also in {seen[item.spec.name]})"
            )
        seen[item.spec.name] = item.path
    with store_session() as session:
        results = [store.apply_spec(item, session=session) for item in loaded]
    for result in results:
        console.print(f"{result.outcome:>9}  {result.name}  [dim]{result.spec_hash[:12]}[/]")


@app.command()
def status() -> None:
    """Show every use case: phase, active configuration, last decision, volume."""
    rows = []
    with store_session() as session:
        volumes = usage.volumes(today=today(), session=session)
        pending = {a.use_case: a for a in pending_approvals(session=session)}
        for use_case in store.list_use_cases(session=session):
            config = (
                store.get_configuration(use_case.active_configuration_id, session=session)
                if use_case.active_configuration_id
                else None
            )
            last = store.list_decisions(use_case.name, session=session, limit=1)
            waiting = pending.get(use_case.name)
            note = f"approval → {waiting.to_phase}" if waiting else ""
            rows.append(
                (use_case, config, last[-1] if last else None, volumes[use_case.name], note)
            )
    console.print(status_table(rows))


@app.command()
def history(use_case: str) -> None:
    """Show the decisions of a use case with their gate results."""
    with store_session() as session:
        decisions = store.list_decisions(use_case, session=session)
    if not decisions:
        console.print(f"{use_case}: no decisions yet (run `phasegate check {use_case}`)")
        return
    console.print(history_table(use_case, decisions))


@usage_app.command("record")
def usage_record(
    use_case: str,
    count: Annotated[int, typer.Argument(min=0, help="queries served that day")],
    day: Annotated[str | None, typer.Option(help="ISO date; default today (UTC)")] = None,
    source: Annotated[str, typer.Option(help="who reports the count")] = "default",
) -> None:
    """Record the queries a use case served on one day (replaces that day's count)."""
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
    rows = read_usage_csv(path)
    with store_session() as session:
        imported = usage.record_usage_many(rows, session=session)
    console.print(f"imported {imported:,} usage rows from {path}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations to the state store."""
    settings = get_settings()
    engine_for(settings.store_url)
    console.print(f"state store at head: {engine_for(settings.store_url).url!r}")


@app.command()
def demo() -> None:
    """Run the whole journey offline on the example use cases."""
    from phasegate.demo import run_demo

    run_demo(console)


def main() -> None:
    """Entry point: run the CLI and turn errors into exit codes (2 bad input, 1 unexpected)."""
    try:
        code = app(standalone_mode=False)
    except PhasegateError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the edge: anything else is unexpected
        console.print(f"[red]unexpected error:[/] {type(exc).__name__}: {exc}")
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
