"""`phasegate prompts list|show`: the prompt library of a use case."""

from typing import Annotated

import typer
from rich.table import Table

from phasegate.cli.app import app, console, store_session

prompts_app = typer.Typer(help="The prompt library of a use case.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")


@prompts_app.command("list")
def prompts_list(use_case: str) -> None:
    """List the prompt versions of a use case."""
    from state.prompt_library import list_prompt_versions

    with store_session() as session:
        versions = list_prompt_versions(use_case, session=session)
    table = Table(title=f"Prompt versions of {use_case}", header_style="bold")
    for column in ("id", "version", "kind", "content hash", "created"):
        table.add_column(column)
    for v in versions:
        table.add_row(
            str(v.id),
            v.label,
            v.variant.kind,
            v.content_hash[:12],
            f"{v.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@prompts_app.command("show")
def prompts_show(
    use_case: str, version: Annotated[str, typer.Argument(help="name or name@vN")]
) -> None:
    """Show one prompt version's content."""
    from state.prompt_library import find_prompt_version

    with store_session() as session:
        found = find_prompt_version(use_case, version, session=session)
    console.print(f"[bold]{found.label}[/] ({found.variant.kind}, {found.content_hash[:12]})")
    console.print(found.variant.model_dump_json(indent=2), highlight=False)
