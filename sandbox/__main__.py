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
    parser.add_argument(
        "--shutdown-date",
        action="append",
        metavar="MODEL=YYYY-MM-DD",
        help="announce a model's shutdown date (repeatable; overrides SANDBOX_SHUTDOWN_DATES)",
    )
    parser.add_argument(
        "--extra-model",
        action="append",
        metavar="MODEL=BEHAVIOUR",
        help="serve MODEL with a built-in model's mechanics (repeatable; overrides "
        "SANDBOX_EXTRA_MODELS)",
    )
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    config = SandboxConfig.from_env()
    overrides = {
        "latency_ms": args.latency_ms,
        "job_seconds": args.job_seconds,
        "shutdown_dates": ",".join(args.shutdown_date) if args.shutdown_date else None,
        "extra_models": ",".join(args.extra_model) if args.extra_model else None,
    }
    try:
        config = SandboxConfig.model_validate(
            config.model_dump() | {k: v for k, v in overrides.items() if v is not None}
        )
    except ValueError as exc:
        parser.error(str(exc))
    print(f"Phasegate sandbox on http://{args.host}:{args.port}/v1")  # noqa: T201
    uvicorn.run(
        create_app(config), host=args.host, port=args.port, log_level=args.log_level, backlog=4096
    )


if __name__ == "__main__":
    main()
