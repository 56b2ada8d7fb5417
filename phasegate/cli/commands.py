"""Every command module, imported once: importing one registers its commands on `app`."""

from phasegate.cli import (  # noqa: F401 - importing a command module registers its commands
    db,
    demo,
    evaluate,
    lease,
    models,
    phases,
    prompts,
    prune,
    report,
    rollout,
    sandbox,
    serve,
    server,
    simulate,
    specs,
    status,
    usage,
    webhook,
)
from phasegate.cli.app import app

__all__ = ["app"]
