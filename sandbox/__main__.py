"""Command line entry point: ``python -m sandbox --host 127.0.0.1 --port 8900``."""

from __future__ import annotations

import argparse

import uvicorn

from sandbox.app import create_app
from sandbox.config import SandboxConfig


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve the sandbox with uvicorn until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--latency-ms", type=float, help="override SANDBOX_LATENCY_MS")
    parser.add_argument("--job-seconds", type=float, help="override SANDBOX_JOB_SECONDS")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    config = SandboxConfig.from_env()
    overrides = {"latency_ms": args.latency_ms, "job_seconds": args.job_seconds}
    config = config.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    print(f"Phasegate sandbox on http://{args.host}:{args.port}/v1")  # noqa: T201
    uvicorn.run(
        create_app(config), host=args.host, port=args.port, log_level=args.log_level, backlog=4096
    )


if __name__ == "__main__":
    main()
