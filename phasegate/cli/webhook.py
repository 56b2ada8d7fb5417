"""The `phasegate webhook` command: serve the signed webhook API with uvicorn."""

from typing import Annotated

import typer

from phasegate.cli.app import app


@app.command("webhook")
def webhook_command(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8787,
) -> None:
    """Run the webhook API: check requests, usage, interactions, the active configuration."""
    import uvicorn

    from phasegate.webhooks import create_app
    from state.settings import get_settings

    settings = get_settings()
    if settings.webhook_secret is None:
        typer.echo(
            "warning: PHASEGATE_WEBHOOK_SECRET is not set; signed endpoints answer 503",
            err=True,
        )
    # One process, no --workers: the replay cache lives in its memory, so a second worker
    # would accept a request the first one already took. The access log is off for
    # throughput; error answers name their cause in the body.
    uvicorn.run(
        create_app(settings, secrets_by_use_case=settings.webhook_secrets),
        host=host,
        port=port,
        access_log=False,
        server_header=False,
        log_level="info",
    )
