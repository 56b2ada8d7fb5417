"""Every bad input of issue 12 at the CLI's doors: exit 2, the file/line/field named, the store
unchanged — on SQLite and PostgreSQL. Cases run through the CLI's edge (`run`, what `main`
calls); one of each door also runs as a real process.
"""

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from phasegate.cli.exits import run
from state import use_cases
from state.db import store_session
from state.domain import UsageCount
from state.settings import Settings, get_settings
from state.spec import load_spec
from state.usage import record_usage_many
from tests.specs import write_spec

NAME = "demo-qa"
DAY = "2026-11-24"


def _snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every table of the store, to compare before and after."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return {
                table: [tuple(row) for row in connection.execute(text(f'SELECT * FROM "{table}"'))]
                for table in sorted(inspect(connection).get_table_names())
            }
    finally:
        engine.dispose()


def _usage(url: str) -> set[tuple[str, str, int]]:
    """(day, source, count) of every usage row."""
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT day, source, count FROM usage"))
            return {(str(day), source, count) for day, source, count in rows}
    finally:
        engine.dispose()


@pytest.fixture(name="cli_store")
def cli_store_fixture(
    store_url: str, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> str:
    """The configured store (SQLite, then PostgreSQL) holding `demo-qa` and one usage row."""
    monkeypatch.setenv("PHASEGATE_DATABASE_URL", store_url)
    get_settings.cache_clear()
    with store_session(store_url) as session:
        use_cases.apply_spec(
            load_spec(write_spec(tmp_path / "registered", name=NAME)), session=session
        )
        record_usage_many([UsageCount(NAME, date.fromisoformat(DAY), 5, "app")], session=session)
    return store_url


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the CLI in this process: (exit code, stderr on one line)."""
    capsys.readouterr()
    code = run(list(args))
    return code, capsys.readouterr().err.replace("\n", "")


RECORD = {
    "count 3000000000": (["3000000000"], "error: count: must be ≤ 2147483647"),
    "count 10**20": ([str(10**20)], "error: count: must be ≤ 2147483647"),
    "300-character source": (["1", "--source", "s" * 300], "--source: must be at most 63"),
    "source Bad Source!": (["1", "--source", "Bad Source!"], "--source: must match"),
    "empty source": (["1", "--source", ""], "--source: must not be empty"),
    "day 0001-01-01": (["1", "--day", "0001-01-01"], "--day: must be from 2000-01-01 to"),
    "day 9999-12-31": (["1", "--day", "9999-12-31"], "--day: must be from 2000-01-01 to"),
    "day 20261124": (["1", "--day", "20261124"], "--day: not an ISO date (YYYY-MM-DD)"),
    "negative count": (["--", "-1"], "count: must be ≥ 0"),
}


@pytest.mark.parametrize("case", sorted(RECORD))
def test_usage_record_bad_input_exits_2_naming_the_field_and_writes_nothing(
    cli_store: str, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    args, message = RECORD[case]
    before = _snapshot(cli_store)
    code, err = _cli(capsys, "usage", "record", NAME, *args)
    assert (code, message in err) == (2, True), err
    assert _snapshot(cli_store) == before


def test_usage_record_bad_use_case_name_exits_2(
    cli_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(cli_store)
    code, err = _cli(capsys, "usage", "record", "Demo QA", "1")
    assert (code, "use_case: must match" in err) == (2, True), err
    assert _snapshot(cli_store) == before


def test_usage_record_at_the_bounds_is_stored(
    cli_store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _cli(capsys, "usage", "record", NAME, "2147483647", "--day", "2000-01-01")
    assert code == 0, err
    assert ("2000-01-01", "default", 2147483647) in _usage(cli_store)


def _csv(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "usage.csv"
    path.write_bytes(data)
    return path


IMPORT = {
    "duplicate rows": (
        f"use_case,day,count\n{NAME},{DAY},1\n{NAME},{DAY},2\n",
        "line 3: same use_case, day and source as line 2",
    ),
    "extra column": (f"use_case,day,count,note\n{NAME},{DAY},1,x\n", "line 1: unknown column"),
    "extra field": (f"use_case,day,count\n{NAME},{DAY},1,x\n", "line 2: 4 field(s), the header"),
    "count 3000000000": (
        f"use_case,day,count\n{NAME},{DAY},1\n{NAME},2026-11-23,3000000000\n",
        "line 3: count: must be ≤ 2147483647",
    ),
    "day 9999-12-31": (f"use_case,day,count\n{NAME},9999-12-31,1\n", "line 2: day: must be from"),
    "source Bad Source!": (
        f"use_case,day,count,source\n{NAME},{DAY},1,Bad Source!\n",
        "line 2: source: must match",
    ),
    "unknown use case": (
        f"use_case,day,count\n{NAME},{DAY},1\nghost,{DAY},1\n",
        "line 3: use_case: unknown use case: 'ghost'",
    ),
}


@pytest.mark.parametrize("case", sorted(IMPORT))
def test_usage_import_bad_csv_exits_2_naming_the_line_and_imports_nothing(
    cli_store: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str
) -> None:
    content, message = IMPORT[case]
    path = _csv(tmp_path, content.encode())
    before = _snapshot(cli_store)
    code, err = _cli(capsys, "usage", "import", str(path))
    assert (code, f"{path}: {message}" in err) == (2, True), err
    assert _snapshot(cli_store) == before


def test_usage_import_reads_a_csv_with_a_byte_order_mark(
    cli_store: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = _csv(tmp_path, f"\ufeffuse_case,day,count,source\r\n{NAME},{DAY},7,web\r\n".encode())
    code, err = _cli(capsys, "usage", "import", str(path))
    assert code == 0, err
    assert _usage(cli_store) == {(DAY, "app", 5), (DAY, "web", 7)}


CHAT = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}


def _new_spec(directory: Path) -> Path:
    """A valid spec `new-one` with a training file of two good lines."""
    path = write_spec(directory, name="new-one", data={"eval": "eval.jsonl", "training": "t.jsonl"})
    (directory / "t.jsonl").write_text(json.dumps(CHAT) + "\n" + json.dumps(CHAT) + "\n")
    return path


def _append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


APPLY = {
    "duplicate YAML key": ("new-one.yaml", b"metric: accuracy\n", "invalid YAML (duplicate key"),
    "spec not UTF-8": ("new-one.yaml", b"description: caf\xe9\n", "not UTF-8 (byte 0xe9)"),
    "broken eval line": ("eval.jsonl", b'{"id": "q9",\n', "data.eval: {d}/eval.jsonl: line 4:"),
    "broken training line": ("t.jsonl", b"{oops\n", "data.training: {d}/t.jsonl line 3: not valid"),
    "training not UTF-8": ("t.jsonl", b'{"a": "\xff"}\n', "data.training: {d}/t.jsonl: line 3:"),
}


@pytest.mark.parametrize("case", sorted(APPLY))
def test_apply_bad_spec_or_data_exits_2_naming_file_and_line_and_writes_nothing(
    cli_store: str, capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str
) -> None:
    name, appended, message = APPLY[case]
    directory = tmp_path / "specs"
    spec = _new_spec(directory)
    write_spec(tmp_path / "specs" / "other", name="other-one")
    _append(directory / name, appended)
    before = _snapshot(cli_store)
    code, err = _cli(capsys, "apply", str(directory))
    assert (code, f"{spec}:" in err, message.format(d=directory) in err) == (2, True, True), err
    assert _snapshot(cli_store) == before


def test_apply_registers_a_spec_whose_data_files_parse(
    cli_store: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _new_spec(tmp_path / "specs")
    code, err = _cli(capsys, "apply", str(tmp_path / "specs"))
    assert code == 0, err
    engine = create_engine(cli_store.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        names = set(connection.execute(text("SELECT name FROM use_case")).scalars())
    engine.dispose()
    assert names == {NAME, "new-one"}


def _phasegate(*args: str, **env: str) -> subprocess.CompletedProcess:
    """The `phasegate` command as a process, with `env` added to this one's environment."""
    return subprocess.run(
        [sys.executable, "-c", "from phasegate.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | env,
    )


def test_usage_record_out_of_range_count_exits_2_in_a_process(cli_store: str) -> None:
    before = _snapshot(cli_store)
    result = _phasegate("usage", "record", NAME, "3000000000")
    assert result.returncode == 2, result.stderr
    assert result.stderr == "error: count: must be ≤ 2147483647\n"
    assert _snapshot(cli_store) == before


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PHASEGATE_WEBHOOK_SECRETS", '{"demo-qa": "hunter2-secret", ', "Value error, must be a"),
        ("PHASEGATE_WEBHOOK_SECRETS", '["hunter2-secret"]', "Value error, must be a JSON"),
        ("PHASEGATE_WEBHOOK_SECRETS", '{"demo-qa": "hunter2-secret"}', "Value error, demo-qa: "),
        ("PHASEGATE_WEBHOOK_SECRET", "whsec_aHVudGVyMg== hunter2", "Value error, secret 1 of 2"),
        ("PHASEGATE_CONCURRENCY", "hunter2-secret", "Input should be a valid integer"),
    ],
)
def test_bad_setting_exits_2_naming_the_variable_without_its_value(
    settings: Settings, variable: str, value: str, message: str
) -> None:
    result = _phasegate("status", **{variable: value})
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: {variable}: {message}")
    assert "hunter2" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
