"""`phasegate prompts list|show`: the prompt library of a use case."""

from typing import Annotated

import typer

from phasegate.cli.app import AsJson, app, console, print_json, store

prompts_app = typer.Typer(help="The prompt library of a use case.", no_args_is_help=True)
app.add_typer(prompts_app, name="prompts")


@prompts_app.command("list")
def prompts_list(use_case: str, as_json: AsJson = False) -> None:
    """List the prompt versions of a use case."""
    from phasegate.cli import outputs, records
    from phasegate.cli.views import prompts_view

    versions = store().list_prompt_versions(use_case)
    if as_json:
        listed = [records.prompt_version(v) for v in versions]
        print_json(outputs.PromptListOutput(use_case=use_case, versions=listed))
        return
    console.print(prompts_view(console, use_case, versions), crop=False)


@prompts_app.command("show")
def prompts_show(
    use_case: str,
    version: Annotated[str, typer.Argument(help="name or name@vN")],
    as_json: AsJson = False,
) -> None:
    """Show one prompt version's content."""
    from phasegate.cli import outputs, records

    found = store().find_prompt_version(use_case, version)
    if as_json:
        shown = records.prompt_version(found).model_dump()
        print_json(outputs.PromptShowOutput(**shown, use_case=use_case, variant=found.variant))
        return
    console.print(f"{found.label} ({found.variant.kind}, {found.content_hash[:12]})", style="bold")
    console.print(found.variant.model_dump_json(indent=2), soft_wrap=True)
