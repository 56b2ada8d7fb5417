"""The `phasegate` command line: parse, call, print; errors become exit codes.

One module per command group. A command registers itself with a decorator on the shared
Typer application of `phasegate.cli.app`:

    from phasegate.cli.app import app

    @app.command("lease")              # or, for a group: group = typer.Typer(...);
    def lease_command(...) -> None:    # app.add_typer(group, name="lease"); @group.command()
        \"\"\"One line for --help.\"\"\"

A new module is imported once below, which is what registers its commands. Keep module-level
imports light (no Prefect, flows or tasks): every command's module is imported for
`phasegate --help`, so a command imports what only it needs inside its function.
`main()` (in `phasegate.cli.exits`) turns errors into exit codes and plain-text messages.
"""

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
from phasegate.cli.exits import main

__all__ = ["app", "main"]
