"""`phasegate sandbox`: run the offline OpenAI-compatible provider."""

import os
import sys
from typing import Annotated

import typer

from phasegate.cli.app import app


@app.command("sandbox")
def sandbox_command(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port")] = 8900,
    latency_ms: Annotated[float | None, typer.Option(help="added latency per call")] = None,
    job_seconds: Annotated[float | None, typer.Option(help="fine-tuning job duration")] = None,
) -> None:
    """Run the offline OpenAI-compatible sandbox provider until interrupted."""
    args = [sys.executable, "-m", "sandbox", "--host", host, "--port", str(port)]
    if latency_ms is not None:
        args += ["--latency-ms", str(latency_ms)]
    if job_seconds is not None:
        args += ["--job-seconds", str(job_seconds)]
    os.execv(sys.executable, args)
