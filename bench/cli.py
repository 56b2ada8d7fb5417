"""Benchmark: CPU time of `phasegate --help` and `phasegate status` (limit 0.3 s each).

.venv/bin/python bench/cli.py [--runs 7] [--database-url postgresql://...]

Each command runs as its own process, as a user starts it; the figure is the median of the
child's user + system CPU seconds, and its ratio to the limit (≤ 1.00 is within). `status`
runs on a store holding the two example use cases (registered and migrated beforehand, so the
figure is the steady state, not the first run): SQLite in a temporary data dir, or the
(empty) store at --database-url. `status --json` reads through the full store path.
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT_S = 0.3
COMMANDS = {
    "phasegate --help": ["--help"],
    "phasegate status": ["status"],
    "phasegate status --json": ["status", "--json"],
}


def cpu_seconds(args: list[str], env: dict[str, str]) -> float:
    """User + system CPU seconds of one `phasegate` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "phasegate.cli", *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    """Print each command's median CPU time and its ratio to the limit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", help="an empty store to use instead of SQLite")
    options = parser.parse_args()
    runs = options.runs
    with tempfile.TemporaryDirectory() as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PHASEGATE_")}
        env["PHASEGATE_DATA_DIR"] = data_dir
        if options.database_url:
            env["PHASEGATE_DATABASE_URL"] = options.database_url
        subprocess.run(
            [sys.executable, "-m", "phasegate.cli", "apply", str(ROOT / "usecases")],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=ROOT,
        )
        store = (options.database_url or "sqlite").split(":")[0]
        print(f"CPU seconds per process, median of {runs}, store {store} (limit {LIMIT_S} s):")
        for name, args in COMMANDS.items():
            seconds = statistics.median(cpu_seconds(args, env) for _ in range(runs))
            verdict = "ok" if seconds < LIMIT_S else "over"
            print(f"  {name:<24} {seconds:6.3f} s  {seconds / LIMIT_S:5.2f} × limit  {verdict}")


if __name__ == "__main__":
    main()
