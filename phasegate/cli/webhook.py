"""The `phasegate webhook` command: serve the signed webhook API with uvicorn."""

from typing import Annotated

import typer

from phasegate.cli.app import app


@app.command("webhook")
def webhook_command(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8787,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="processes serving the port; they share the replay ids through the store",
        ),
    ] = 1,
) -> None:
    """Run the webhook API: check requests, usage, interactions, the active configuration."""
    from phasegate.webhook_server import serve_webhooks
    from state.settings import get_settings

    settings = get_settings()
    if not settings.webhook_secret and not settings.webhook_secrets:
        typer.echo(
            "warning: PHASEGATE_WEBHOOK_SECRET is not set; signed endpoints answer 503",
            err=True,
        )
    serve_webhooks(settings, host=host, port=port, workers=workers)
