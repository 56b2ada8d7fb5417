"""Issue 23's CLI edges: an alias bomb, bad thresholds, paths and ports exit 2 naming what is
wrong, and the store stays unchanged — on SQLite and PostgreSQL.
"""

import time
from pathlib import Path

import pytest

from state.settings import Settings, get_settings
from tests.phasegate.test_cli_inputs import (  # noqa: F401 - the fixture is used by name
    NAME,
    _cli,
    _phasegate,
    _snapshot,
    cli_store_fixture,
)
from tests.specs import write_spec


def _alias_bomb(levels: int) -> str:
    """'Billion laughs': each level a list of nine aliases of the one before; `name` the last."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, levels)]
    return "\n".join(lines) + f"\nname: *l{levels - 1}\n"


def test_apply_alias_bomb_exits_2_at_once_naming_the_file(
    cli_store: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_spec(tmp_path / "specs", name="good-one")
    bomb = tmp_path / "specs" / "bomb.yaml"
    bomb.write_text(_alias_bomb(9))
    before = _snapshot(cli_store)
    started = time.monotonic()
    code, err = _cli(capsys, "apply", str(tmp_path / "specs"))
    elapsed = time.monotonic() - started
    # The acceptance bound (generous: the refusal takes milliseconds; before, the walk
    # of the expanded tree ran for minutes of CPU and never ended).
    assert (code, elapsed < 2.0) == (2, True), (err, elapsed)
    assert f"error: {bomb}: line 6: invalid YAML (aliases expand this node to" in err
    assert _snapshot(cli_store) == before


@pytest.fixture(name="reachable_store")
def reachable_store_fixture(
    cli_store: str, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    """`cli_store` with the provider set to the test sandbox, so that an eval could run."""
    monkeypatch.setenv("PHASEGATE_BASE_URL", sandbox_url)
    get_settings.cache_clear()
    return cli_store


EVAL = {
    "fail-under nan": (["--fail-under", "nan"], "--fail-under: must be a number from 0 to 1"),
    "fail-under -1": (["--fail-under", "-1"], "--fail-under: must be a number from 0 to 1"),
    "fail-under 1.5": (["--fail-under", "1.5"], "--fail-under: must be a number from 0 to 1"),
    "empty model": (["--model", ""], "--model: must not be empty"),
    "blank model": (["--model", "  "], "--model: must not be empty"),
    "lower bound alone": (["--lower-bound"], "--lower-bound: compares against --fail-under"),
}


@pytest.mark.parametrize("case", sorted(EVAL))
def test_eval_bad_option_exits_2_naming_it_and_runs_nothing(
    reachable_store: str, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    args, message = EVAL[case]
    before = _snapshot(reachable_store)
    code, err = _cli(capsys, "eval", NAME, *args)
    assert (code, f"error: {message}" in err) == (2, True), err
    assert _snapshot(reachable_store) == before


def test_report_into_a_directory_writes_use_case_html_there(
    cli_store: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "out").mkdir()
    code, err = _cli(capsys, "report", NAME, "-o", str(tmp_path / "out"))
    assert code == 0, err
    assert (tmp_path / "out" / f"{NAME}.html").read_text().startswith("<!doctype html>")


def test_report_under_a_file_exits_2_naming_the_path(
    cli_store: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "taken").write_text("not a directory")
    target = tmp_path / "taken" / "report.html"
    code, err = _cli(capsys, "report", NAME, "-o", str(target))
    assert (code, f"error: -o: {target}: {target.parent} is a file" in err) == (2, True), err


@pytest.mark.parametrize("port", ["-1", "65536", "99999999999999999999"])
def test_sandbox_bad_port_exits_2_like_webhook(
    capsys: pytest.CaptureFixture[str], port: str
) -> None:
    # A process: `sandbox` replaces its process with the server's (os.execv).
    sandbox = _phasegate("sandbox", "--port", port)
    webhook_code, webhook_err = _cli(capsys, "webhook", "--port", port)
    assert (sandbox.returncode, webhook_code) == (2, 2), sandbox.stderr
    assert "Invalid value for '--port'" in sandbox.stderr
    assert "Traceback" not in sandbox.stderr


@pytest.mark.parametrize("under", ["", "sub/"])
def test_data_dir_that_is_a_file_exits_2_naming_the_setting(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, under: str
) -> None:
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setenv("PHASEGATE_DATA_DIR", f"{tmp_path / 'file'}/{under}")
    get_settings.cache_clear()
    for command in (["status"], ["apply", str(write_spec(tmp_path / "specs"))]):
        result = _phasegate(*command)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(
            f"error: PHASEGATE_DATA_DIR: Value error, must be a directory ({tmp_path / 'file'} is"
        ), result.stderr
