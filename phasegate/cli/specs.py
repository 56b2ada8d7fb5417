"""`phasegate apply`: register or update use cases from their spec files."""

from pathlib import Path
from typing import Annotated

import typer

from phasegate.cli.app import app, console, store
from state.errors import InputError


@app.command()
def apply(paths: Annotated[list[Path], typer.Argument(help="spec files or directories")]) -> None:
    """Register or update use cases from spec files (idempotent); their data files must parse.

    All or nothing: every spec and every eval, training and document file it names is read
    before anything is written, and the first bad line is reported.
    """
    from state.spec import find_spec_files, load_spec
    from tasks.data_files import check_data_files

    loaded = [load_spec(path) for path in find_spec_files(paths)]
    if not loaded:
        raise InputError(f"no spec files found in {', '.join(map(str, paths))}")
    seen: dict[str, Path] = {}
    for item in loaded:
        if item.spec.name in seen:
            raise InputError(
                f"{item.path}: name: duplicate use case {item.spec.name!r} "
                f"(also in {seen[item.spec.name]})"
            )
        seen[item.spec.name] = item.path
    for item in loaded:
        check_data_files(item)
    for result in store().apply_specs(loaded):
        console.print(f"{result.outcome:>9}  {result.name}  {result.spec_hash[:12]}")
