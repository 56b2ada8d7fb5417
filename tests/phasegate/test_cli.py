"""The CLI as users run it: exit codes, messages, and a store left unchanged on bad input."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from phasegate.cli.commands import app
from state.settings import Settings
from tests.specs import write_spec

runner = CliRunner()


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from phasegate.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _store_snapshot(settings: Settings) -> str:
    return _run("status").stdout if settings.data_dir.exists() else ""


def test_apply_then_again_reports_created_then_unchanged(
    settings: Settings, tmp_path: Path
) -> None:
    write_spec(tmp_path / "specs")
    assert "created  demo-qa" in runner.invoke(app, ["apply", str(tmp_path / "specs")]).output
    assert "unchanged  demo-qa" in runner.invoke(app, ["apply", str(tmp_path / "specs")]).output


def test_apply_changed_threshold_reports_updated(settings: Settings, tmp_path: Path) -> None:
    write_spec(tmp_path / "specs")
    runner.invoke(app, ["apply", str(tmp_path / "specs")])
    write_spec(tmp_path / "specs", gates={"prompting_to_rag": {"target": 0.4}})
    assert "updated  demo-qa" in runner.invoke(app, ["apply", str(tmp_path / "specs")]).output


BAD_SPECS = {
    "yaml syntax": ("name: [oops\n", "line 2: invalid YAML"),
    "missing field": ({"metric": None}, "metric:"),
    "wrong type": ({"prompts": "zero-shot"}, "prompts: Input should be a valid list"),
    "unknown metric": ({"metric": "rouge"}, "metric: Input should be"),
    "threshold out of range": (
        {"gates": {"rag_to_fine_tuning": {"min_examples": 0}}},
        "gates.rag_to_fine_tuning.min_examples: must be ≥ 1",
    ),
    "missing data file": ({"data": {"eval": "nowhere.jsonl"}}, "data.eval: file not found"),
}


@pytest.mark.parametrize("kind", sorted(BAD_SPECS))
def test_apply_bad_spec_exits_2_naming_file_and_field_and_writes_nothing(
    settings: Settings, tmp_path: Path, kind: str
) -> None:
    good = write_spec(tmp_path / "specs", name="good-one")
    bad = write_spec(tmp_path / "specs", name="bad-one")
    change, message = BAD_SPECS[kind]
    if isinstance(change, str):
        bad.write_text(change)
    else:
        raw = yaml.safe_load(bad.read_text()) | change
        bad.write_text(yaml.safe_dump({k: v for k, v in raw.items() if v is not None}))
    result = _run("apply", str(tmp_path / "specs"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert str(bad) in result.stderr.replace("\n", "")
    assert message in result.stderr.replace("\n", "")
    assert "good-one" not in _store_snapshot(settings)
    assert good.exists()


def test_apply_duplicate_name_exits_2_and_writes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    write_spec(tmp_path / "a")
    write_spec(tmp_path / "b")
    result = _run("apply", str(tmp_path / "a"), str(tmp_path / "b"))
    assert result.returncode == 2
    assert "name: duplicate use case 'demo-qa'" in result.stderr.replace("\n", "")
    assert "demo-qa" not in _store_snapshot(settings)


def test_status_and_history_show_a_registered_use_case(settings: Settings, tmp_path: Path) -> None:
    write_spec(tmp_path / "specs")
    runner.invoke(app, ["apply", str(tmp_path / "specs")])
    runner.invoke(app, ["usage", "record", "demo-qa", "1200", "--source", "app"])
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0
    assert "demo-qa" in status.output and "1,200" in status.output
    assert "no decisions yet" in runner.invoke(app, ["history", "demo-qa"]).output


def test_history_of_unknown_use_case_exits_2(settings: Settings) -> None:
    result = _run("history", "ghost")
    assert result.returncode == 2
    assert "unknown use case: 'ghost'" in result.stderr


def test_usage_import_reads_csv(settings: Settings, tmp_path: Path) -> None:
    write_spec(tmp_path / "specs")
    runner.invoke(app, ["apply", str(tmp_path / "specs")])
    csv_path = tmp_path / "usage.csv"
    csv_path.write_text("use_case,day,count,source\ndemo-qa,2026-11-24,7,app\n")
    result = runner.invoke(app, ["usage", "import", str(csv_path)])
    assert result.exit_code == 0
    assert "imported 1 usage rows" in result.output


def test_usage_import_bad_line_exits_2_and_imports_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    write_spec(tmp_path / "specs")
    _run("apply", str(tmp_path / "specs"))
    csv_path = tmp_path / "usage.csv"
    today = __import__("datetime").date.today().isoformat()
    csv_path.write_text(f"use_case,day,count\ndemo-qa,{today},5\ndemo-qa,yesterday,3\n")
    result = _run("usage", "import", str(csv_path))
    assert result.returncode == 2
    assert f"{csv_path}: line 3: day: not an ISO date" in result.stderr.replace("\n", "")
    assert " 5 " not in _run("status").stdout


def test_usage_record_unknown_use_case_exits_2(settings: Settings) -> None:
    result = _run("usage", "record", "ghost", "5")
    assert result.returncode == 2
    assert "unknown use case" in result.stderr


def test_help_works_for_every_command() -> None:
    for command in ([], ["apply"], ["usage", "record"], ["usage", "import"], ["db", "upgrade"]):
        assert _run(*command, "--help").returncode == 0


def test_db_upgrade_creates_the_store(settings: Settings) -> None:
    result = _run("db", "upgrade")
    assert result.returncode == 0
    assert (settings.data_dir / "phasegate.db").exists()


def test_status_of_an_empty_store_says_where_the_demo_store_is(settings: Settings) -> None:
    result = _run("status")
    assert result.returncode == 0
    hint = result.stdout.replace("\n", "")
    assert f"no use cases in the store at {settings.data_dir}" in hint
    assert "PHASEGATE_DATA_DIR=.phasegate/demo phasegate status" in hint
