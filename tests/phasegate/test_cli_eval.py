"""`phasegate eval` through Typer's CliRunner, against the real sandbox and a temporary store."""

import json
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
import typer
from typer.testing import CliRunner, Result

from phasegate.cli.evaluate import eval_command
from state import db, use_cases
from state.errors import InputError, MeasurementInvalid, NotFound, SpecError
from state.evals import get_eval_run
from state.settings import Settings, get_settings
from state.spec import load_spec
from tests.plugins.sandbox_server import dead_url
from tests.specs import write_spec


def store_session() -> AbstractContextManager:
    """A unit of work on the store the settings name."""
    return db.store_session(get_settings().store_url)


app = typer.Typer()
app.command("eval")(eval_command)
app.command("noop")(lambda: None)  # two commands keep `eval` a subcommand, as in the real CLI


@pytest.fixture(name="cli_settings")
def cli_settings_fixture(
    settings: Settings, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings on a temporary store that reach the test sandbox."""
    monkeypatch.setenv("PHASEGATE_BASE_URL", sandbox_url)
    get_settings.cache_clear()
    return get_settings()


def _apply(path: Path) -> None:
    with store_session() as session:
        use_cases.apply_spec(load_spec(path), session=session)


def _eval(*args: str) -> Result:
    return CliRunner().invoke(app, ["eval", *args])


def _chat_calls(settings: Settings) -> int:
    root = settings.base_url.removesuffix("/v1")
    return httpx.get(f"{root}/sandbox/stats").json()["chat_completions"]


def test_eval_command_records_the_run_and_prints_its_figures(
    cli_settings: Settings, tmp_path: Path
) -> None:
    _apply(write_spec(tmp_path))
    result = _eval("demo-qa")
    assert result.exit_code == 0, result.output
    assert "eval run 1: demo-qa · zero-shot · sandbox-base" in result.output
    assert "provider calls" in result.output and "3 (0 retries)" in result.output
    with store_session() as session:
        run = get_eval_run(1, session=session)
    assert run is not None and run.n == 3 and run.purpose == "cli"
    assert run.extra["prompt"] == "zero-shot" and run.extra["model"] == "sandbox-base"


def test_eval_command_again_makes_no_provider_calls(cli_settings: Settings, tmp_path: Path) -> None:
    _apply(write_spec(tmp_path))
    _eval("demo-qa")
    before = _chat_calls(cli_settings)
    result = _eval("demo-qa")
    assert result.exit_code == 0, result.output
    assert _chat_calls(cli_settings) == before
    assert "0 (0 retries)" in result.output


def test_eval_command_no_cache_calls_the_provider_again(
    cli_settings: Settings, tmp_path: Path
) -> None:
    _apply(write_spec(tmp_path))
    _eval("demo-qa")
    before = _chat_calls(cli_settings)
    assert _eval("demo-qa", "--no-cache").exit_code == 0
    assert _chat_calls(cli_settings) == before + 3


def test_eval_command_uses_the_model_option(cli_settings: Settings, tmp_path: Path) -> None:
    _apply(write_spec(tmp_path))
    result = _eval("demo-qa", "--model", "sandbox-small")
    assert "demo-qa · zero-shot · sandbox-small" in result.output


def test_eval_command_few_shot_takes_training_pairs_that_are_not_eval_inputs(
    cli_settings: Settings, tmp_path: Path
) -> None:
    prompts = [
        {"name": "zero-shot", "kind": "zero_shot", "template": "Input: {input}"},
        {"name": "few-shot", "kind": "few_shot", "template": "Input: {input}", "k": 2},
    ]
    path = write_spec(
        tmp_path,
        metric="exact_match",
        prompts=prompts,
        data={"eval": "eval.jsonl", "training": "train.jsonl"},
    )
    item = {"id": "q0", "input": "the capital city of Japan?", "expected": "Tokyo"}
    (tmp_path / "eval.jsonl").write_text(json.dumps(item) + "\n")
    pairs = [
        ("The capital city of  Japan?", "LEAKED"),
        ("capital of France", "Paris"),
        ("capital city of Japan", "Tokyo"),
    ]
    lines = [
        {
            "messages": [
                {"role": "user", "content": f"Input: {q}"},
                {"role": "assistant", "content": a},
            ]
        }
        for q, a in pairs
    ]
    (tmp_path / "train.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    _apply(path)
    result = _eval("demo-qa", "--prompt", "few-shot")
    assert result.exit_code == 0, result.output
    with store_session() as session:
        run = get_eval_run(1, session=session)
    assert run is not None and run.results[0].output == "Tokyo" and run.mean == 1.0


def test_eval_command_few_shot_without_training_file_raises(
    cli_settings: Settings, tmp_path: Path
) -> None:
    prompts = [{"name": "few-shot", "kind": "few_shot"}]
    _apply(write_spec(tmp_path, prompts=prompts))
    result = _eval("demo-qa")
    assert isinstance(result.exception, SpecError)
    assert "prompts.few-shot: few-shot needs data.training" in str(result.exception)


def test_eval_command_unknown_use_case_raises_not_found(cli_settings: Settings) -> None:
    result = _eval("nope")
    assert isinstance(result.exception, NotFound)


def test_eval_command_unknown_prompt_names_the_known_ones(
    cli_settings: Settings, tmp_path: Path
) -> None:
    _apply(write_spec(tmp_path))
    result = _eval("demo-qa", "--prompt", "nope")
    assert isinstance(result.exception, InputError)
    assert "no prompt 'nope'" in str(result.exception) and "(zero-shot)" in str(result.exception)


def test_eval_command_shows_every_guardrail_metric_with_its_interval(
    cli_settings: Settings, tmp_path: Path
) -> None:
    guardrails = [{"metric": "max_length", "max_chars": 500}, {"metric": "latency_ms"}]
    _apply(write_spec(tmp_path, metrics={"primary": "token_f1", "guardrails": guardrails}))
    result = CliRunner().invoke(app, ["eval", "demo-qa"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "guardrail_max_length (higher is better)" in result.output
    assert "1  [1, 1] 95% CI, n=3" in result.output
    assert "guardrail_latency_ms (lower is better)" in result.output


def test_eval_command_json_includes_every_guardrail_metric_with_its_interval(
    cli_settings: Settings, tmp_path: Path
) -> None:
    guardrails = [{"metric": "max_length", "max_chars": 500}, {"metric": "refusal"}]
    _apply(write_spec(tmp_path, metrics={"primary": "token_f1", "guardrails": guardrails}))
    result = _eval("demo-qa", "--json")
    assert result.exit_code == 0, result.output
    figures = {g["name"]: g for g in json.loads(result.stdout)["guardrails"]}
    length = figures["guardrail_max_length"]
    assert (length["mean"], length["ci_low"], length["ci_high"], length["n"]) == (1.0, 1.0, 1.0, 3)
    assert figures["guardrail_refusal"]["direction"] == "lower"


def test_eval_command_against_an_unreachable_provider_stores_the_run_invalid_and_raises(
    cli_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _apply(write_spec(tmp_path))
    url = dead_url()
    monkeypatch.setenv("PHASEGATE_BASE_URL", url)
    get_settings.cache_clear()
    result = _eval("demo-qa")
    assert isinstance(result.exception, MeasurementInvalid)
    assert f"at {url} with model sandbox-base" in str(result.exception)
    assert "eval run #1 is stored as invalid" in str(result.exception)
    assert "error: connection error" in result.output
    with store_session() as session:
        run = get_eval_run(1, session=session)
    assert run is not None and not run.valid and run.error_rate == 1.0


def test_eval_command_with_a_missing_model_raises_after_one_call(
    cli_settings: Settings, tmp_path: Path
) -> None:
    _apply(write_spec(tmp_path))
    result = _eval("demo-qa", "--model", "gpt-nowhere")
    assert isinstance(result.exception, MeasurementInvalid)
    assert "with model gpt-nowhere; first error: HTTP 404" in str(result.exception)
    assert _chat_calls(cli_settings) == 1


def test_a_check_scores_a_few_shot_prompt_without_training_as_eval_does(
    cli_settings: Settings, tmp_path: Path
) -> None:
    """The check's scoring (`score_configuration`) refuses it with the same SpecError."""
    from flows.context import UseCaseContext
    from flows.scoring import score_configuration
    from state.domain import ConfigurationDraft
    from state.phases import Phase
    from state.store_api import Store

    prompts = [{"name": "few-shot", "kind": "few_shot"}]
    loaded = load_spec(write_spec(tmp_path, prompts=prompts))
    _apply(loaded.path)
    draft = ConfigurationDraft(phase=Phase.PROMPTING, model="sandbox-base")
    store = Store(cli_settings.store_url)
    _, config = store.save_prompted_configuration("demo-qa", loaded.spec.prompts[0], draft)
    before = _chat_calls(cli_settings)
    with pytest.raises(SpecError, match="prompts.few-shot: few-shot needs data.training"):
        score_configuration(UseCaseContext.load("demo-qa"), config)
    assert _chat_calls(cli_settings) == before
    assert store.list_eval_runs("demo-qa") == []
