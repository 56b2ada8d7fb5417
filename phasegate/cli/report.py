"""`phasegate report`: a self-contained HTML report of a use case."""

from pathlib import Path
from typing import Annotated

import typer

from phasegate.cli.app import app, console, store_session


@app.command("report")
def report_command(
    use_case: str,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="HTML file")] = None,
) -> None:
    """Write a self-contained HTML report of a use case (no network needed to view it)."""
    from phasegate.report_html import ReportData, render_report
    from state import store
    from state.evals import get_eval_run

    with store_session() as session:
        registered = store.require_use_case(use_case, session=session)
        decisions = store.list_decisions(use_case, session=session)
        run_ids = sorted({i for d in decisions for i in d.eval_run_ids})
        runs = {i: run for i in run_ids if (run := get_eval_run(i, session=session))}
        config_ids = {r.configuration_id for r in runs.values() if r.configuration_id}
        configs = {i: store.get_configuration(i, session=session) for i in config_ids}
    target = output or Path("reports") / f"{use_case}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_report(ReportData(registered, decisions, runs, configs)))
    console.print(f"report written to {target}")
