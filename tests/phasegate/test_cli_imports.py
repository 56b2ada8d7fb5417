"""Commands import only what they need: --help loads no store, Prefect or HTTP stack; `status`
on a migrated store loads none either, nor pydantic (it reads with plain SQL); `eval` loads
no Prefect (its start-up was most of its cost beside the bare SDK, issue 28).

The CPU figures are in bench/cli.py; these tests keep the heavy packages out, whatever the
machine's speed.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from state.settings import Settings
from state.store_api import Store
from tests.specs import write_spec

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


def test_eval_imports_no_prefect(
    settings: Settings, sandbox_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHASEGATE_BASE_URL", sandbox_url)
    judged = {"primary": "token_f1", "guardrails": [{"metric": "llm_judge", "margin": 0.1}]}
    assert _loaded("apply", str(write_spec(tmp_path, metrics=judged)))[0] == 0
    code, heavy = _loaded("eval", "demo-qa", "--no-cache")
    assert code == 0  # the answers and the judge guardrail's grades, all without Prefect
    assert "openai" in heavy and "prefect" not in heavy
    # The process froze its objects at exit (no collection at teardown): its run is stored whole.
    store = Store(settings.store_url)
    (listed,) = store.list_eval_runs("demo-qa")
    (run,) = store.get_eval_runs([listed.id])
    assert run is not None and run.n == 3 and len(run.results) == 3 and "judge_scores" in run.extra
