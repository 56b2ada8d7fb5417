"""`phasegate report`: a self-contained HTML report of a use case."""

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from phasegate.cli.app import app, console


@app.command("report")
def report_command(
    use_case: str,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="HTML file, or a directory to write USE_CASE.html in"),
    ] = None,
) -> None:
    """Write a self-contained HTML report of a use case (no network needed to view it)."""
    from phasegate.report_html import load_report, render_report
    from phasegate.report_links import run_links
    from state.errors import InputError
    from state.settings import get_settings

    data = load_report(use_case, store_url=get_settings().store_url)
    runs = [d.flow_run_id for d in data.decisions] + [r.flow_run_id for r in data.eval_runs]
    data = replace(data, links=run_links(runs))
    target = output or Path("reports")
    if target.is_dir() or output is None:
        target = target / f"{use_case}.html"  # a directory is where the report goes, as cp does
    if blocked := next((part for part in target.parents if part.is_file()), None):
        raise InputError(f"-o: {target}: {blocked} is a file, not a directory")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_report(data))
    except OSError as exc:
        raise InputError(f"-o: {target}: cannot write ({exc.strerror})") from exc
    console.print(f"report written to {target}")
