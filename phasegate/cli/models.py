"""`phasegate models check`: read announced shutdown dates and hold use cases on retiring models."""

from typing import Annotated

import typer

from phasegate.cli.app import app, console, require_prefect
from phasegate.temporary_api import prefect_api
from state.errors import OutcomeRefused

models_app = typer.Typer(help="The models under the use cases.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("check")
def models_check(
    fail_on_retiring: Annotated[
        bool,
        typer.Option("--fail-on-retiring", help="exit 4 when a use case's model is retiring"),
    ] = False,
) -> None:
    """Run the retirement watch now: hold every use case whose model shuts down soon."""
    from flows.retirement import watch_retirements

    require_prefect()
    with prefect_api():
        notices = watch_retirements()
    for notice in notices:
        left = f"in {notice.days_left} days" if notice.days_left >= 0 else "already"
        console.print(
            f"{notice.use_case}: {notice.model} shuts down on {notice.shutdown_date} ({left}; "
            f"{notice.source})",
            soft_wrap=True,
        )
    if not notices:
        console.print("no use case runs on a model retiring within its horizon")
    if notices and fail_on_retiring:
        raise OutcomeRefused(f"{len(notices)} use case model(s) retiring (--fail-on-retiring)")
