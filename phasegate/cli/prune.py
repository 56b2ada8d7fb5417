"""`phasegate prune`: remove monitoring results, cache entries and skipped checks past retention."""

import re
from datetime import timedelta
from typing import Annotated

import typer

from phasegate.cli.app import app, console

UNITS = {"d": "days", "h": "hours"}


def parse_age(value: str) -> timedelta:
    """`90d` or `12h` as a timedelta; InputError naming `--older-than` otherwise."""
    from state.errors import InputError

    found = re.fullmatch(r"(\d{1,6})([dh])", value.strip())
    if found is None or int(found[1]) == 0:
        raise InputError(f"--older-than: expected a positive age such as 90d or 12h, got {value!r}")
    return timedelta(**{UNITS[found[2]]: int(found[1])})


@app.command("prune")
def prune_command(
    older_than: Annotated[
        str | None,
        typer.Option("--older-than", help="90d or 12h; default PHASEGATE_RETENTION_DAYS"),
    ] = None,
) -> None:
    """Remove old monitoring results, cache entries and skipped decisions, and their artifacts.

    Run summaries, every eval run a decision cites and every decision with evidence stay.
    """
    from flows.sweep import prune_store
    from phasegate.temporary_api import prefect_api
    from state.errors import InputError
    from state.settings import get_settings

    settings = get_settings()
    if older_than is None and not settings.retention_days:
        raise InputError("--older-than: needed, since PHASEGATE_RETENTION_DAYS is 0 (keep all)")
    age = parse_age(older_than) if older_than else timedelta(days=settings.retention_days)
    report, artifacts = prune_store(settings.store_url, age, api=prefect_api)
    console.print(
        f"pruned before {report.cutoff:%Y-%m-%d %H:%M} UTC: {report.eval_results:,} results of "
        f"{report.eval_runs:,} monitor runs (their summaries stay), {report.cache_entries:,} "
        f"cache entries, {report.skipped_decisions:,} skipped decisions, {report.batch_waits:,} "
        f"batch waits, {artifacts:,} artifacts",
        soft_wrap=True,
    )
