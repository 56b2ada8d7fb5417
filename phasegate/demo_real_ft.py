"""The real fine-tune: support-qa's ladder to a LoRA-tuned Gemma 3 270M, with the real gates.

`phasegate demo-real-ft` (`make demo-real-ft`) serves the converted model with
`phasegate.model_server` (the base model and every adapter the local trainer saves), then runs
the same commands as a person would: the baseline, prompting → RAG, and RAG → fine-tuning with
`fine_tuning.trainer: local` — a real LoRA job on this machine, every checkpoint scored on the
validation split, the best one on the eval set, all gated. It prints the loss per epoch, the
checkpoints' validation scores, the eval scores with their intervals and the decision.
"""

import contextvars
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from phasegate.demo import REPORTS, ROOT
from phasegate.demo_real import run_command, scores_table
from phasegate.demo_services import free_port
from phasegate.local_model import MODEL_ALIAS, wait_ready
from phasegate.open_model import convert_model, require_train_extra
from phasegate.temporary_api import prefect_api
from state.domain import EvalRun
from state.phases import Phase
from state.settings import get_settings
from state.store_api import Store

NAME = "support-qa-ft-real"
SPEC = ROOT / "usecases-real" / "support-qa-ft" / "spec.yaml"
DEMO_DIR = ROOT / ".phasegate" / "demo-real-ft"
# One call at a time (the model server generates one at a time); a RAG call on a loaded
# machine can take a minute.
SETTINGS = {"PHASEGATE_CONCURRENCY": "1", "PHASEGATE_REQUEST_TIMEOUT": "300"}
APPROVER = "demo"


@contextmanager
def model_server(base: Path, jobs_root: Path, log: Path) -> Iterator[str]:
    """`python -m phasegate.model_server` on a free loopback port; yields its base URL."""
    port = free_port()
    command = [
        sys.executable, "-m", "phasegate.model_server", "--base", str(base),
        "--jobs", str(jobs_root), "--model-name", MODEL_ALIAS, "--port", str(port),
    ]  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    env = os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
        try:
            wait_ready(process, url, log, 300, what="the model server")
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _settings(base_url: str, base_dir: Path) -> None:
    """The demo's store and trainer under DEMO_DIR, every model call to the model server."""
    os.environ |= SETTINGS | {
        "PHASEGATE_DATA_DIR": str(DEMO_DIR),
        "PHASEGATE_BASE_URL": base_url,
        "PHASEGATE_DEFAULT_MODEL": MODEL_ALIAS,
        "PHASEGATE_LOCAL_BASE_MODEL_DIR": str(base_dir),
    }
    os.environ.pop("PHASEGATE_DATABASE_URL", None)
    get_settings.cache_clear()


def _timed_check(console: Console, app: typer.Typer, title: str) -> None:
    """One unattended check: a move whose gates all pass advances, any other is held."""
    console.print(f"\n[bold]{title}[/]")
    started = time.monotonic()
    run_command(app, "check", NAME, "--auto-approve")
    console.print(f"  [dim]{time.monotonic() - started:.0f} s[/]")


def _check_rag(console: Console, app: typer.Typer) -> None:
    """Prompting → RAG; if its gates ask a person (an inconclusive one), the demo answers.

    Approving is a person's act: the demo does it in the open, as `phasegate approve`, so that
    the fine-tuning step has a RAG configuration to start from. A failed gate holds the move.
    """
    console.print("\n[bold]3. Prompting → RAG[/] (the fine-tuning phase starts from RAG)")
    started = time.monotonic()
    context, failed = contextvars.copy_context(), []

    def check() -> None:
        try:
            run_command(app, "check", NAME)
        except Exception as exc:  # raised again in the demo's thread, below
            failed.append(exc)

    worker = threading.Thread(target=context.run, args=(check,))
    worker.start()
    while worker.is_alive():
        if Store(get_settings().store_url).pending_approvals(use_case=NAME):
            console.print(
                f"  the gates ask a person (an inconclusive check); {APPROVER} approves it "
                f"(phasegate approve {NAME} --reason … --as {APPROVER})"
            )
            reason = "demo-real-ft: go on to the fine-tuning phase on this evidence"
            run_command(app, "approve", NAME, "--reason", reason, "--as", APPROVER)
            break
        time.sleep(1)
    worker.join()
    if failed:
        raise failed[0]
    console.print(f"  [dim]{time.monotonic() - started:.0f} s[/]")


def _jobs(root: Path) -> list[dict]:
    """The local trainer's jobs under `root`: request, status, checkpoints, in start order."""
    jobs = []
    for request in sorted((root / "jobs").glob("*/request.json")):
        directory = request.parent
        lines = (directory / "checkpoints.jsonl").read_text().splitlines()
        status = directory / "status.json"
        jobs.append(
            {
                "request": json.loads(request.read_text()),
                "status": json.loads(status.read_text()) if status.exists() else {},
                "checkpoints": [json.loads(line) for line in lines if line.strip()],
            }
        )
    return sorted(jobs, key=lambda job: job["request"]["created_at"])


def validation_runs(store: Store) -> dict[str, EvalRun]:
    """The use case's eval runs on the validation split, by the model they scored."""
    runs = {}
    for run in store.list_eval_runs(NAME):
        config = store.get_configuration(run.configuration_id)
        if run.purpose == "validation" and config is not None:
            runs[config.model] = run
    return runs


def training_table(root: Path, validation: dict[str, EvalRun]) -> Table:
    """Every checkpoint: its epoch's mean training loss and its score on the validation split."""
    table = Table(title="the LoRA job: loss per epoch, checkpoints on validation")
    for column in ("job", "epoch", "train loss", "validation token F1 [95 %]", "n", "training"):
        table.add_column(column, justify="right" if column != "job" else "left")
    for job in _jobs(root):
        status = job["status"]
        timed = {"started_at", "finished_at"} <= status.keys()
        took = status["finished_at"] - status["started_at"] if timed else None
        for epoch, checkpoint in enumerate(job["checkpoints"], start=1):
            run = validation.get(checkpoint["model"])
            score = f"{run.mean:.3f} [{run.ci_low:.3f}, {run.ci_high:.3f}]" if run else "—"
            table.add_row(
                job["request"]["id"][-8:],
                f"{epoch}/{job['request']['n_epochs']}",
                f"{checkpoint['metrics']['train_loss']:.3f}",
                score,
                str(run.n) if run else "—",
                f"{took:.0f} s" if epoch == 1 and took is not None else "",
            )
    return table


def _phase(store: Store) -> Phase:
    """The use case's active phase now."""
    return store.require_use_case(NAME).active_phase


def _journey(console: Console, app: typer.Typer) -> None:
    """Apply, baseline, RAG, fine-tuning (if RAG became active), then the figures and report."""
    console.print(f"\n[bold]1. Register[/] (phasegate apply {SPEC.relative_to(ROOT)})")
    run_command(app, "apply", str(SPEC))
    _timed_check(console, app, "2. The prompting baseline (zero-shot on the base model)")
    _check_rag(console, app)
    store = Store(get_settings().store_url)
    if _phase(store) != Phase.RAG:
        console.print(f"[bold]RAG did not become active[/] ({_phase(store)}): no fine-tuning move")
    else:
        _timed_check(
            console,
            app,
            "4. RAG → fine-tuning: a LoRA job on this machine (fine_tuning.trainer: local), "
            "every checkpoint on validation, the best one on the eval set, the real gates",
        )
    console.print()
    if (DEMO_DIR / "local-trainer" / "jobs").exists():
        runs = validation_runs(store)
        console.print(training_table(DEMO_DIR / "local-trainer", runs), crop=False)
    console.print(scores_table(NAME), crop=False)
    run_command(app, "report", NAME, "-o", str(REPORTS / f"{NAME}.html"))


def run_demo_real_ft(console: Console, app: typer.Typer) -> None:
    """Convert the model once, serve it, run the journey, say where everything is."""
    started = time.monotonic()
    require_train_extra()
    with console.status("converting Gemma 3 270M from its GGUF package (once) …"):
        base_dir = convert_model()
    # PyTorch's OpenMP threads (server and trainer) sleep while they wait: spinning on a shared
    # machine starves the thread they wait for (phasegate.local_model: what it cost llama.cpp).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    DEMO_DIR.mkdir(parents=True)
    log = DEMO_DIR / "model-server.log"
    console.print(f"starting the model server on {base_dir.name} (log: {log.relative_to(ROOT)}) …")
    with model_server(base_dir, DEMO_DIR / "local-trainer", log) as base_url, prefect_api():
        _settings(base_url, base_dir)
        console.rule(f"[bold]A real LoRA fine-tune[/] — {MODEL_ALIAS}, PyTorch on the CPU")
        _journey(console, app)
    table = Table(show_header=False, box=None)
    table.add_row("model", str(base_dir))
    table.add_row("jobs and adapters", str(DEMO_DIR / "local-trainer" / "jobs"))
    table.add_row("server log", str(log))
    table.add_row("took", f"{time.monotonic() - started:.0f} s")
    console.print(table)
