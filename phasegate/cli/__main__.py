"""`python -m phasegate.cli`: the same as the `phasegate` command."""

from phasegate.cli import main

main()
