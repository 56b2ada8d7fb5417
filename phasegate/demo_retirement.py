"""The demo's retirement step: a use case on a retiring sandbox model moves to its successor."""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import typer
import yaml
from rich.console import Console

LEGACY = "support-qa-legacy"
RETIRING, NOTICE_DAYS = "sandbox-small", 21


def retirement_step(
    console: Console,
    app: typer.Typer,
    run: Callable[..., None],
    base_url: str,
    root: Path,
    demo_dir: Path,
) -> None:
    """support-qa on sandbox-small, in RAG; the sandbox announces its shutdown; the watch migrates.

    `run` runs one `phasegate` command as typed. The successor is sandbox-small-2, which reads
    the whole prompt: it answers as sandbox-small did, so agreement and quality hold.
    """
    target = demo_dir / "usecases" / LEGACY
    target.mkdir(parents=True)
    source = root / "usecases" / "support-qa"
    # Every fourth eval item (36 of 142), no judge: the step stays cheap.
    lines = (source / "eval.jsonl").read_text().splitlines(keepends=True)
    (target / "eval.jsonl").write_text("".join(lines[::4]))
    spec = yaml.safe_load((source / "spec.yaml").read_text())
    # 36 items cannot show support-qa's min_detectable_gain of 0.1; any real gain will do here.
    spec["gates"]["prompting_to_rag"].pop("min_detectable_gain", None)
    spec |= {
        "name": LEGACY,
        "description": "support-qa still on sandbox-small, which is being retired",
        "model": RETIRING,
        "prompts": spec["prompts"][:1],
        "metrics": {"primary": spec["metrics"]["primary"]},
        # An absolute path: the copied spec reads support-qa's own documents.
        "data": {"eval": "eval.jsonl", "documents": str(source / spec["data"]["documents"])},
    }
    (target / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    when = datetime.now(UTC).date() + timedelta(days=NOTICE_DAYS)
    console.print(
        f"\n[bold]7b. A model retires[/]: {LEGACY} runs on {RETIRING}; the provider announces "
        f"its shutdown on {when} (shutdown_date on GET /v1/models)"
    )
    started = time.monotonic()
    run(app, "apply", str(target / "spec.yaml"))
    for step in ("baseline", "RAG"):
        with console.status(f"checking {LEGACY}: {step} …"):
            run(app, "check", LEGACY)
    root_url = base_url.removesuffix("/v1")
    httpx.post(
        f"{root_url}/sandbox/faults", json={"shutdown_dates": {RETIRING: str(when)}}
    ).raise_for_status()
    console.print(
        "  the retirement watch (daily in prefect.yaml): held, golden set, successor, gates"
        "  (phasegate models check)"
    )
    with console.status("watching for retirements and migrating …"):
        run(app, "models", "check")
    console.print(f"  [dim]step 7b took {time.monotonic() - started:.1f} s[/]")
    run(app, "history", LEGACY, "--gates")
