"""Commands import only what they need: --help loads no store, Prefect or HTTP stack; `status`
on a migrated store loads none either, nor pydantic (it reads with plain SQL).

The CPU figures are in bench/cli.py; these tests keep the heavy packages out, whatever the
machine's speed.
"""

import subprocess
import sys

from state.settings import Settings

HEAVY = (
    *("prefect", "sqlalchemy", "sqlmodel", "alembic", "psycopg", "fastapi", "openai", "httpx"),
    *("uvicorn", "pydantic", "pydantic_settings", "jsonschema"),
)
PROBE = """
import sys
from phasegate.cli.exits import run
code = run(sys.argv[1:])
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
print("CODE", code, "HEAVY", ",".join(heavy), file=sys.stderr)
"""


def _loaded(*args: str) -> tuple[int, list[str]]:
    """Run the CLI in a fresh interpreter; its exit code and the heavy packages it imported."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    _, code, _, *heavy = done.stderr.strip().splitlines()[-1].split()
    return int(code), heavy[0].split(",") if heavy else []


def test_help_imports_no_heavy_package() -> None:
    assert _loaded("--help") == (0, [])


def test_status_imports_neither_prefect_nor_the_web_stack(settings: Settings) -> None:
    assert _loaded("status")[0] == 0  # first run: migrations (alembic)
    assert _loaded("status") == (0, [])
