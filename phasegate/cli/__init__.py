"""The `phasegate` command line: parse, call, print; errors become exit codes.

One module per command group. A command registers itself with a decorator on the shared
Typer application of `phasegate.cli.app`:

    from phasegate.cli.app import app

    @app.command("lease")              # or, for a group: group = typer.Typer(...);
    def lease_command(...) -> None:    # app.add_typer(group, name="lease"); @group.command()
        \"\"\"One line for --help.\"\"\"

A new module is imported once in `phasegate.cli.commands`, which is what registers its
commands. Keep module-level imports light (no Prefect, flows or tasks): every command's module
is imported for `phasegate --help`, so a command imports what only it needs inside its function.
`main()` first offers a command that runs flows to the warm runner of `phasegate server`
(`phasegate.warm_client`, which imports nothing heavy); otherwise, or when none fits,
`phasegate.cli.exits` runs it here and turns errors into exit codes and plain-text messages.
"""

import sys


def main() -> None:
    """Entry point of the `phasegate` command."""
    from phasegate.warm_client import run_in_warm_runner

    code = run_in_warm_runner(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from phasegate.cli.exits import main as run_here

    run_here()
