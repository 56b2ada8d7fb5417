"""`phasegate eval --batch` against the real sandbox's Batch API and a temporary store."""

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner, Result

from phasegate.cli.evaluate import eval_command
from state.domain import EvalRun
from state.errors import MeasurementInvalid, ProviderError
from state.settings import Settings, get_settings
from state.spec import load_spec
from state.store_api import Store
from tests.plugins.sandbox_server import dead_url
from tests.specs import write_spec

app = typer.Typer()
app.command("eval")(eval_command)
app.command("noop")(lambda: None)  # two commands keep `eval` a subcommand, as in the real CLI
FAST = {"poll_max_seconds": 0.1}
FACTS = [
    ("Refunds take {n} days.", "How many days do refunds take?"),
    ("Shipping costs {n} dollars.", "How many dollars does shipping cost?"),
    ("Support answers in {n} hours.", "In how many hours does support answer?"),
]


@pytest.fixture(name="cli_settings")
def cli_settings_fixture(
    settings: Settings, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings on a temporary store that reach the test sandbox."""
    monkeypatch.setenv("PHASEGATE_BASE_URL", sandbox_url)
    get_settings.cache_clear()
    return get_settings()


def _spec(directory: Path, items: int = 12, **eval_settings: object) -> None:
    """Register a spec whose eval items the reader answers from a few-shot context."""
    prompts = [{"name": "zero-shot", "kind": "zero_shot", "template": "{input}"}]
    path = write_spec(directory, eval=FAST | eval_settings, prompts=prompts)
    rows = [
        {
            "id": f"q{i}",
            "input": f"Context:\n[d] {FACTS[i % 3][0].format(n=i)}\n\nQuestion: {FACTS[i % 3][1]}",
            "expected": FACTS[i % 3][0].format(n=i),
        }
        for i in range(items)
    ]
    (directory / "eval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    Store(get_settings().store_url).apply_specs([load_spec(path)])


def _run(settings: Settings, run_id: int = 1) -> EvalRun:
    """A stored eval run."""
    (run,) = Store(settings.store_url).get_eval_runs([run_id])
    assert run is not None
    return run


def _eval(*args: str) -> Result:
    return CliRunner().invoke(app, ["eval", "demo-qa", "--json", *args])


def _stats(settings: Settings) -> dict[str, int]:
    return httpx.get(settings.base_url.removesuffix("/v1") + "/sandbox/stats").json()


def _sandbox(settings: Settings, **update: object) -> None:
    root = settings.base_url.removesuffix("/v1")
    httpx.post(root + "/sandbox/faults", json=update).raise_for_status()


def test_batch_eval_makes_no_chat_call_and_costs_half(
    cli_settings: Settings, tmp_path: Path
) -> None:
    _spec(tmp_path)
    batch = _eval("--batch", "--no-cache")
    assert batch.exit_code == 0, batch.output
    stats = _stats(cli_settings)
    assert (stats["chat_completions"], stats["batches_create"]) == (0, 1)
    online = _eval("--online", "--no-cache")
    assert online.exit_code == 0, online.output
    by_batch, by_call = json.loads(batch.stdout), json.loads(online.stdout)
    assert by_batch["mean"] == by_call["mean"] > 0.5 and by_batch["n"] == 12
    assert by_batch["cost_per_query"] == pytest.approx(by_call["cost_per_query"] / 2)
    assert by_batch["provider_calls"] == 12 and by_batch["error_rate"] == 0
    assert (by_batch["transport"], len(by_batch["batch_ids"])) == ("batch", 1)
    assert (by_call["transport"], by_call["batch_ids"]) == ("online", [])


def test_batch_eval_splits_files_over_the_limit(cli_settings: Settings, tmp_path: Path) -> None:
    _spec(tmp_path, items=5, batch_max_requests=2)
    result = _eval("--batch", "--no-cache")
    assert result.exit_code == 0, result.output
    assert _stats(cli_settings)["batches_create"] == 3
    stored = _run(cli_settings, json.loads(result.stdout)["eval_run_id"])
    assert len(stored.extra["batch_ids"]) == 3
    assert stored.n == 5 and stored.error_rate == 0


def test_spec_mode_batch_is_the_default_transport(cli_settings: Settings, tmp_path: Path) -> None:
    _spec(tmp_path, mode="batch")
    result = _eval("--no-cache")
    assert result.exit_code == 0, result.output
    assert (_stats(cli_settings)["chat_completions"], _stats(cli_settings)["batches_create"]) == (
        0,
        1,
    )


def test_expired_batch_scores_its_completed_part(cli_settings: Settings, tmp_path: Path) -> None:
    _spec(tmp_path, items=40)
    _sandbox(cli_settings, batch_seconds=2.0, batch_expire_seconds=1.0)
    result = _eval("--batch", "--no-cache")
    assert isinstance(result.exception, MeasurementInvalid)  # over max_error_rate
    run = _run(cli_settings)
    assert run.n == 40 and run.invalid_reason is not None
    expired = [r for r in run.results if r.error and "batch_expired" in r.error]
    scored = [r for r in run.results if r.score is not None]
    assert expired and scored and len(expired) + len(scored) == 40
    assert sum(r.score or 0 for r in scored) > 0
    assert run.error_rate == pytest.approx(len(expired) / 40)


def test_failed_batch_is_no_measurement_naming_the_cause(
    cli_settings: Settings, tmp_path: Path
) -> None:
    _spec(tmp_path, items=3)
    _sandbox(cli_settings, batch_max_requests=2)
    result = _eval("--batch", "--no-cache")
    assert isinstance(result.exception, MeasurementInvalid)
    run = _run(cli_settings)
    assert run.error_rate == 1
    assert "failed: too_many_requests" in (run.results[0].error or "")


def test_batch_line_errors_count_against_max_error_rate(
    cli_settings: Settings, tmp_path: Path
) -> None:
    _spec(tmp_path, items=3)
    result = _eval("--batch", "--no-cache", "--model", "no-such-model")
    assert isinstance(result.exception, MeasurementInvalid)
    run = _run(cli_settings)
    assert {r.error for r in run.results} == {
        "HTTP 404: The model `no-such-model` does not exist or you do not have access to it."
    }


def test_rerun_after_a_crash_waits_for_the_same_batch(
    cli_settings: Settings, tmp_path: Path
) -> None:
    _spec(tmp_path, items=6)
    _sandbox(cli_settings, batch_seconds=8.0)
    command = [sys.executable, "-m", "phasegate.cli", "eval", "demo-qa", "--batch", "--no-cache"]
    crashed = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while _stats(cli_settings)["batches_create"] == 0:
            assert crashed.poll() is None and time.monotonic() < deadline, "no batch created"
            time.sleep(0.05)
    finally:
        crashed.kill()  # SIGKILL while it waits for its batch
        crashed.wait()
    result = _eval("--batch", "--no-cache")
    assert result.exit_code == 0, result.output
    assert _stats(cli_settings)["batches_create"] == 1  # the re-run waited for the same batch
    assert json.loads(result.stdout)["error_rate"] == 0


def test_judged_metric_sends_the_judge_by_batch_too(cli_settings: Settings, tmp_path: Path) -> None:
    prompts = [{"name": "zero-shot", "kind": "zero_shot", "template": "{input}"}]
    path = write_spec(tmp_path, metric="llm_judge", prompts=prompts, eval=FAST)
    Store(cli_settings.store_url).apply_specs([load_spec(path)])
    result = _eval("--batch", "--no-cache")
    assert result.exit_code == 0, result.output
    stats = _stats(cli_settings)
    assert (stats["chat_completions"], stats["batches_create"]) == (0, 2)
    run = _run(cli_settings, json.loads(result.stdout)["eval_run_id"])
    assert len(run.extra["batch_ids"]) == 2 and run.extra["judge_model"] == "sandbox-judge"


def test_unreachable_batch_api_is_a_provider_error_and_records_nothing(
    cli_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _spec(tmp_path, items=3)
    monkeypatch.setenv("PHASEGATE_BASE_URL", dead_url())
    monkeypatch.setenv("PHASEGATE_MAX_RETRIES", "0")
    get_settings.cache_clear()
    result = _eval("--batch", "--no-cache")
    assert isinstance(result.exception, ProviderError)
    assert "Batch API at http://127.0.0.1:" in str(result.exception)
    assert Store(cli_settings.store_url).list_eval_runs("demo-qa") == []
