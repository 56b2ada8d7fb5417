"""The offline demo: the journey of the example use cases, on a fresh store."""

import os
import shutil
from datetime import timedelta
from pathlib import Path

from rich.console import Console

from state.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent
DEMO_DIR = ROOT / ".phasegate" / "demo"
DAILY_USAGE = {"support-qa": 240, "feedback-triage": 90}


def _fresh_store() -> None:
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    os.environ["PHASEGATE_DATA_DIR"] = str(DEMO_DIR)
    os.environ.pop("PHASEGATE_DATABASE_URL", None)
    get_settings.cache_clear()


def run_demo(console: Console) -> None:
    """Apply the example use cases, report usage, and show status and history."""
    from phasegate import cli

    _fresh_store()
    console.rule("[bold]Phasegate demo[/] — offline, on a fresh store in .phasegate/demo")
    console.print("\n[bold]1. Register the example use cases[/]  (phasegate apply usecases/)")
    cli.apply([ROOT / "usecases"])
    console.print("\n[bold]2. Applications report their daily volume[/]  (phasegate usage record)")
    for name, per_day in DAILY_USAGE.items():
        for offset in range(30):
            day = cli.today() - timedelta(days=offset)
            cli.usage_record(name, per_day + (offset * 7) % 40, day=day.isoformat(), source="app")
    console.print("\n[bold]3. Status[/]  (phasegate status)")
    cli.status()
    console.print("\n[bold]4. History[/]  (phasegate history support-qa)")
    cli.history("support-qa")
