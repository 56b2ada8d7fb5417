"""The offline demo: the whole journey of the example use cases on a fresh store.

It drives the `phasegate` commands themselves, through the application the CLI hands it, so
what it shows is what a user typing them would see.
"""

import contextvars
import functools
import os
import shutil
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import typer
import yaml
from rich.console import Console
from rich.table import Table

from phasegate import demo_ab, demo_rollout
from phasegate.demo_retirement import retirement_step
from phasegate.demo_services import sandbox, webhook_api
from phasegate.demo_tuning import add_pilot, show_tuning
from phasegate.signing import new_secret, signed_request
from phasegate.temporary_api import prefect_api
from state.errors import PhasegateError, ProviderError
from state.settings import get_settings
from state.store_api import Store

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / ".phasegate" / "demo"
REPORTS = ROOT / "reports"
DAILY_USAGE = {"support-qa": 240, "feedback-triage": 90}
BRIEF = "support-qa-brief"


def _shown(path: Path) -> str:
    """A path as a user would type it from where they are: relative when it is below."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _fresh_settings(base_url: str) -> None:
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    os.environ |= {
        "PHASEGATE_DATA_DIR": str(DEMO_DIR),
        "PHASEGATE_BASE_URL": base_url,
        "PHASEGATE_WEBHOOK_SECRET": new_secret(),
    }
    os.environ.pop("PHASEGATE_DATABASE_URL", None)
    get_settings.cache_clear()


def _report_usage(console: Console, url: str) -> None:
    """Post 30 days of usage through the signed webhook API, as an application would."""
    secret = get_settings().webhook_secret[0].get_secret_value()
    today = datetime.now(UTC).date()
    for name, per_day in DAILY_USAGE.items():
        counts = [
            {
                "day": (today - timedelta(days=d)).isoformat(),
                "count": per_day + (d * 7) % 40,
                "source": "app",
            }
            for d in range(30)
        ]
        path = f"/v1/usecases/{name}/usage"
        body, headers = signed_request(secret, "POST", path, {"counts": counts})
        response = httpx.post(f"{url}{path}", content=body, headers=headers)
        response.raise_for_status()
        console.print(
            f"  {name}: {response.json()['recorded']} days reported "
            f"(signed POST /v1/usecases/{name}/usage)"
        )


def _read_active(console: Console, url: str, name: str, etag: str = "") -> str:
    """Read what an application should call now, as it would (signed GET, If-None-Match)."""
    secret = get_settings().webhook_secret[0].get_secret_value()
    path = f"/v1/usecases/{name}/active"
    _, headers = signed_request(secret, "GET", path)
    response = httpx.get(f"{url}{path}", headers=headers | {"If-None-Match": etag})
    shown = f"  signed GET /v1/usecases/{name}/active → {response.status_code}"
    if response.status_code == 304:
        console.print(f"{shown} Not Modified: the application keeps what it has")
        return etag
    response.raise_for_status()
    active = response.json()
    prompt = (active["prompt"] or {}).get("label", "—")
    console.print(
        f"{shown}: phase [bold]{active['phase']}[/], model {active['configuration']['model']}, "
        f"prompt {prompt} (ETag {response.headers['etag'][1:13]}…)"
    )
    return response.headers["etag"]


def _run(app: typer.Typer, *args: str) -> None:
    """Run one `phasegate` command in this process, as typed; a non-zero exit stops the demo."""
    code = app(list(args), prog_name="phasegate", standalone_mode=False)
    if code:
        raise PhasegateError(f"`phasegate {' '.join(args)}` exited with {code}")


def _check(console: Console, app: typer.Typer, name: str, *options: str) -> None:
    # No spinner: the check shows its own progress (stages, calls) on stderr.
    started = time.monotonic()
    _run(app, "check", name, *options)
    console.print(f"  [dim]{time.monotonic() - started:.1f} s[/]")


def _check_with_approval(console: Console, app: typer.Typer, name: str, approver: str) -> None:
    """Run a check that pauses for approval; approve it through the Prefect API meanwhile."""
    # A copied context: the thread sees the demo's Prefect API (a context setting).
    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(_run, app, "check", name), daemon=True)
    worker.start()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and worker.is_alive():
        if Store(get_settings().store_url).pending_approvals(use_case=name):
            break
        time.sleep(0.5)
    console.print(
        f"  the check is [bold]paused[/] in Prefect, waiting for a person; "
        f"{approver} approves it (phasegate approve {name} --reason … --as {approver})"
    )
    reason = "gates pass and the break-even is under 2 months"
    _run(app, "approve", name, "--reason", reason, "--as", approver)
    worker.join(timeout=120)


def _guardrail_hold(console: Console, app: typer.Typer) -> None:
    """support-qa for a chat widget (answers ≤ 60 characters): RAG wins on F1, its guardrail holds.

    The sandbox's RAG reader quotes whole sentences from the documents, so the candidate
    answers better and longer: `guardrail_max_length` fails and the move is held.
    """
    target = DEMO_DIR / "usecases" / BRIEF
    shutil.copytree(ROOT / "usecases" / "support-qa", target)
    spec = yaml.safe_load((target / "spec.yaml").read_text()) | {
        "name": BRIEF,
        "description": "support-qa answered in a chat widget: at most 60 characters",
        "metrics": {
            "primary": "token_f1",
            "guardrails": [{"metric": "max_length", "max_chars": 60, "margin": 0.05}],
        },
    }
    (target / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    console.print(
        f"\n[bold]4b. A guardrail[/]: {BRIEF} must answer in at most 60 characters; "
        "its RAG candidate wins on token F1 but quotes whole sentences"
    )
    _run(app, "apply", str(target / "spec.yaml"))
    for _ in range(2):  # the baseline, then the move to RAG
        _check(console, app, BRIEF)


def _provider_outage(console: Console, app: typer.Typer, base_url: str) -> None:
    """support-qa checked while its provider is unreachable: the check fails and records nothing.

    The endpoint is a loopback port nothing listens on; the check fails within seconds, names
    it, and leaves no decision. The provider is back for the next check, which decides normally.
    """
    with socket.socket() as sock:  # a port that was free a moment ago: connections are refused
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    console.print(
        f"\n[bold]3b. A provider outage[/]: support-qa is checked while its provider is "
        f"unreachable (PHASEGATE_BASE_URL={dead})",
        highlight=False,
    )
    store = Store(get_settings().store_url)
    before = len(store.list_decisions("support-qa"))
    os.environ["PHASEGATE_BASE_URL"] = dead
    get_settings.cache_clear()
    started = time.monotonic()
    try:
        _run(app, "check", "support-qa")
    except ProviderError as exc:
        console.print(f"  error: {exc}", style="red", markup=False, highlight=False)
        console.print(f"  [dim]exit {exc.exit_code} after {time.monotonic() - started:.1f} s[/]")
    else:
        raise PhasegateError("the check of support-qa succeeded with its provider down")
    finally:
        os.environ["PHASEGATE_BASE_URL"] = base_url
        get_settings.cache_clear()
    recorded = len(store.list_decisions("support-qa")) - before
    console.print(
        f"  decisions recorded: {recorded}. The provider is back: the next check measures "
        "and decides"
    )


def _degrade_active_model(base_url: str) -> None:
    """Ask the sandbox to corrupt half of the active tuned model's answers (its admin API)."""
    model = Store(get_settings().store_url).active_parts("support-qa").configuration.model
    root = base_url.removesuffix("/v1")
    httpx.post(f"{root}/sandbox/models/{model}/degrade", json={"share": 0.5}).raise_for_status()


def _journey(console: Console, app: typer.Typer, base_url: str, url: str) -> None:
    """Steps 3–7: baseline, RAG, fine-tuning, hybrid, an injected regression and its rollback."""
    console.print("\n[bold]3. First checks: the prompting baseline[/] (A/B of prompt variants)")
    for name in DAILY_USAGE:
        _check(console, app, name)
    _provider_outage(console, app, base_url)
    console.print(
        "\n[bold]3c. An online A/B of prompt variants[/]: the offline winner is the baseline, "
        "the other variant takes an equal share of live traffic until the analysis decides"
    )
    run = functools.partial(_run, app)
    demo_ab.online_ab(console, run, ROOT, DEMO_DIR, url)
    console.print("\n[bold]4. Second checks: prompting → RAG[/]")
    for name in DAILY_USAGE:
        _check(console, app, name)
    _guardrail_hold(console, app)
    console.print(
        "\n[bold]5. RAG → fine-tuning[/]: a pilot on 20 % of the data, every checkpoint scored "
        "on the validation split, a person's approval, then live traffic"
    )
    demo_rollout.enable_rollout(console, run, ROOT, DEMO_DIR)
    add_pilot(console, run, DEMO_DIR / "usecases" / "support-qa")
    _check_with_approval(console, app, "support-qa", approver="ana")
    show_tuning(console, "support-qa")
    console.print("\n[bold]5b. A canary that degrades in production[/] is aborted at 10 %")
    model = demo_rollout.degrade_canary(console, base_url, 0.9)
    demo_rollout.traffic_and_analysis(console, run, url, seed=1)
    _read_active(console, url, "support-qa")
    console.print("\n[bold]5c. The fault is gone[/]: a new check rolls the tuned model out again")
    demo_rollout.set_degradation(base_url, model, 0.0)
    _check(console, app, "support-qa", "--auto-approve")
    demo_rollout.traffic_and_analysis(console, run, url, seed=2)
    etag = _read_active(console, url, "support-qa")
    _read_active(console, url, "support-qa", etag)
    console.print(
        "\n[bold]6. Hybrid routing[/]: tuned model near its training data, RAG "
        "for the rest  (phasegate hybrid support-qa)"
    )
    _run(app, "hybrid", "support-qa")
    console.print(
        "\n[bold]7. An injected regression[/]: the sandbox corrupts half of the "
        "tuned model's answers; monitoring notices and rolls back"
    )
    _degrade_active_model(base_url)
    _run(app, "monitor", "support-qa")
    _read_active(console, url, "support-qa", etag)
    retirement_step(console, app, _run, base_url, ROOT, DEMO_DIR)


def run_demo(console: Console, app: typer.Typer) -> None:
    """The journey: apply, usage, baseline, RAG, fine-tuning, hybrid, rollback, reports.

    `app` is the `phasegate` command line; the demo runs its commands in this process.
    """
    started = time.monotonic()
    with sandbox() as base_url, prefect_api():
        _fresh_settings(base_url)
        console.rule("[bold]Phasegate demo[/] — offline: sandbox provider, SQLite, local Prefect")
        console.print("\n[bold]1. Register the example use cases[/]  (phasegate apply usecases/)")
        _run(app, "apply", str(ROOT / "usecases"))
        console.print("\n[bold]2. Applications report their daily volume[/]")
        with webhook_api(get_settings()) as url:
            _report_usage(console, url)
            _journey(console, app, base_url, url)
        console.print("\n[bold]8. Status[/]  (phasegate status)")
        _run(app, "status")
        _run(app, "history", "support-qa", "--gates")
        console.print("\n[bold]9. Reports[/]  (phasegate report …)")
        for name in DAILY_USAGE:
            _run(app, "report", name, "-o", str(REPORTS / f"{name}.html"))
    table = Table(show_header=False, box=None)
    table.add_row("store", str(DEMO_DIR / "phasegate.db"))
    table.add_row("reports", str(REPORTS))
    table.add_row("took", f"{time.monotonic() - started:.0f} s")
    console.print(table)
    console.print(
        f"\nLook at the demo's store: PHASEGATE_DATA_DIR={_shown(DEMO_DIR)} phasegate status",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    console.print(
        "Checks from your shell: `phasegate server start` once (a Prefect server and a warm "
        "runner), then each `phasegate check <use case>` costs about 0.5 s of CPU besides its "
        "provider calls, instead of 3 s of imports and a temporary server.",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
