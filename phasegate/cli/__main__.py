"""`python -m phasegate.cli`: the same as the `phasegate` command."""

from phasegate.cli.exits import main

main()
