"""`--json`: each command prints one JSON document, valid against its schema in docs/cli-json/.

Runs real flow runs (check, hybrid, monitor) on a copy of the tiny journey's store, and eval
against the test sandbox; `--fail-on` and `--fail-under` turn refused outcomes into exit 4 —
an approval that expires included (support-qa from the journey's RAG step).
"""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from phasegate import schemas
from phasegate.cli.exits import run
from state.settings import Settings, get_settings
from tests.flows.journey import USE_CASE, Journey
from tests.flows.tiny_usecase import GUARDED, TUNED


def _json(capsys: pytest.CaptureFixture[str], document: str, *args: str) -> tuple[int, Any]:
    """Run a command with --json; its exit code and its stdout parsed as one document."""
    code = run([*args, "--json"])
    out = capsys.readouterr().out
    parsed = json.loads(out)  # the whole of stdout: one document, nothing around it
    schema = json.loads((schemas.CLI_JSON_DIR / f"{document}.schema.json").read_text())
    jsonschema.validate(parsed, schema)
    return code, parsed


def test_status_json_lists_every_use_case(tiny: Settings, capsys) -> None:
    code, status = _json(capsys, "status", "status")
    assert code == 0
    phases = {row["name"]: row["phase"] for row in status["use_cases"]}
    assert phases == {TUNED: "fine_tuning", GUARDED: "rag"}


def test_history_json_holds_each_decision_with_its_gates(tiny: Settings, capsys) -> None:
    code, history = _json(capsys, "history", "history", TUNED)
    assert code == 0
    kinds = [decision["kind"] for decision in history["decisions"]]
    assert kinds[0] == "baselined" and "advanced" in kinds
    assert any(decision["gates"] for decision in history["decisions"])


def test_prompts_json_lists_then_shows_a_version(tiny: Settings, capsys) -> None:
    code, listed = _json(capsys, "prompts-list", "prompts", "list", TUNED)
    assert code == 0 and listed["versions"]
    label = listed["versions"][0]["label"]
    code, shown = _json(capsys, "prompts-show", "prompts", "show", TUNED, label)
    assert (code, shown["label"]) == (0, label)
    assert shown["variant"]["template"]


def test_usage_json_records_then_imports(tiny: Settings, tmp_path: Path, capsys) -> None:
    code, recorded = _json(
        capsys, "usage-record", "usage", "record", TUNED, "7", "--day", "2026-01-02"
    )
    assert (code, recorded["count"], recorded["day"]) == (0, 7, "2026-01-02")
    rows = tmp_path / "usage.csv"
    rows.write_text(f"use_case,day,count\n{TUNED},2026-01-03,4\n{TUNED},2026-01-04,5\n")
    code, imported = _json(capsys, "usage-import", "usage", "import", str(rows))
    assert (code, imported["imported"]) == (0, 2)


def test_check_json_prints_the_recorded_decision(tiny: Settings, capsys) -> None:
    code, check = _json(capsys, "check", "check", TUNED)
    assert (code, check["decision"], check["failed_on"]) == (0, "held", False)
    assert check["recorded"]["kind"] == "held"


def test_check_fail_on_its_decision_exits_4_after_printing_it(tiny: Settings, capsys) -> None:
    code = run(["check", TUNED, "--fail-on", "held,rejected,expired", "--json"])
    captured = capsys.readouterr()
    assert code == 4
    assert json.loads(captured.out)["failed_on"] is True
    assert f"{TUNED}: decision held is one of --fail-on held,rejected,expired" in captured.err


def test_check_fail_on_other_decisions_exits_0(tiny: Settings, capsys) -> None:
    assert run(["check", TUNED, "--fail-on", "rejected,expired"]) == 0
    captured = capsys.readouterr()
    assert "held: fine_tuning is the last phase" in captured.out
    # Piped: the progress is one timestamped line per stage, on stderr.
    assert f" {TUNED}: measuring the active configuration, " in captured.err


def test_hybrid_json_prints_its_decision(tiny: Settings, capsys) -> None:
    code = run(["hybrid", TUNED, "--json"])
    captured = capsys.readouterr()
    hybrid = json.loads(captured.out)
    jsonschema.validate(
        hybrid, json.loads((schemas.CLI_JSON_DIR / "hybrid.schema.json").read_text())
    )
    assert code == 0
    assert hybrid["decision"] in {"advanced", "held"} and hybrid["decision_id"] is not None
    # Its progress goes to stderr: the interleaved timing, with one line a configuration.
    assert " interleaved on " in captured.err
    assert "  hybrid (tuned model, else RAG): " in captured.err


def test_monitor_json_prints_one_result_per_use_case(tiny: Settings, capsys) -> None:
    code, monitored = _json(capsys, "monitor", "monitor", TUNED)
    assert code == 0
    assert [(r["use_case"], r["status"]) for r in monitored["results"]] == [(TUNED, "healthy")]


def test_eval_json_prints_the_recorded_run(tiny: Settings, capsys) -> None:
    code, evaluated = _json(capsys, "eval", "eval", TUNED)
    assert code == 0
    assert evaluated["use_case"] == TUNED and evaluated["n"] > 0
    assert evaluated["failed_under"] is False and evaluated["fail_under"] is None


@pytest.mark.parametrize(
    ("options", "code"),
    [
        (["--fail-under", "1"], 4),  # the tuned model abstains on offices: its mean is below 1
        (["--fail-under", "0"], 0),
        (["--fail-under", "1.0", "--lower-bound"], 4),
    ],
)
def test_eval_fail_under_exits_4_when_the_figure_is_below_it(
    tiny: Settings, capsys, options: list[str], code: int
) -> None:
    got, evaluated = _json(capsys, "eval", "eval", TUNED, *options)
    assert (got, evaluated["failed_under"]) == (code, code == 4)
    assert evaluated["compared"] == ("ci_low" if "--lower-bound" in options else "mean")


@pytest.mark.prefect
def test_check_fail_on_expired_exits_4_when_no_one_answers(
    journey_from: Callable[..., Journey], capsys
) -> None:
    journey_from("rag", approval={"timeout_seconds": 2})
    code = run(["check", USE_CASE, "--fail-on", "expired", "--json"])
    captured = capsys.readouterr()
    assert code == 4
    assert json.loads(captured.out)["decision"] == "expired"
    assert f"{USE_CASE}: decision expired is one of --fail-on expired" in captured.err


def test_monitor_against_a_dead_provider_exits_3_and_records_nothing(
    tiny: Settings, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    before = _json(capsys, "history", "history", TUNED)[1]["decisions"]
    monkeypatch.setenv("PHASEGATE_BASE_URL", "http://127.0.0.1:1/v1")
    get_settings.cache_clear()
    code = run(["monitor", TUNED, "--json"])
    captured = capsys.readouterr()
    assert code == 3, captured.err
    assert "http://127.0.0.1:1/v1" in captured.err
    assert _json(capsys, "history", "history", TUNED)[1]["decisions"] == before


def test_build_scores_a_candidate_and_exits_0_without_deciding(tiny: Settings, capsys) -> None:
    before = _json(capsys, "history", "history", GUARDED)[1]["decisions"]
    assert run(["build", GUARDED, "--phase", "rag"]) == 0
    assert f"{GUARDED} rag: configuration #" in capsys.readouterr().out
    assert _json(capsys, "history", "history", GUARDED)[1]["decisions"] == before
