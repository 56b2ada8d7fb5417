"""The automation contract: every documented exit code, produced for every command.

0 ok · 1 unexpected · 2 bad input (usage errors included) · 3 a dependency unavailable ·
4 an outcome refused by --fail-on / --fail-under. Exit 0 and 4 of the commands that run flows
are in tests/flows/test_cli_json.py; these run in-process, with no flow run.
"""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from phasegate import schemas
from phasegate.cli.exits import run
from state import db, status_read
from state.approvals import request_approval
from state.decisions import list_decisions
from state.leases import acquire_lease
from state.phases import Phase
from state.settings import Settings, get_settings
from state.spec import load_spec
from state.use_cases import apply_spec
from tests.specs import write_spec

DEAD_STORE = "postgresql://nobody:secret@127.0.0.1:1/phasegate"
DEAD_PREFECT = "http://127.0.0.1:1/api"
EVERY_COMMAND = [
    ["apply", "specs"],
    ["status"],
    ["history", "demo-qa"],
    ["check", "demo-qa"],
    ["approve", "demo-qa", "--reason", "ok"],
    ["reject", "demo-qa", "--reason", "no"],
    ["build", "demo-qa", "--phase", "rag"],
    ["hybrid", "demo-qa"],
    ["monitor", "demo-qa"],
    ["eval", "demo-qa"],
    ["prompts", "list", "demo-qa"],
    ["prompts", "show", "demo-qa", "zero-shot"],
    ["report", "demo-qa"],
    ["usage", "record", "demo-qa", "5"],
    ["usage", "import", "usage.csv"],
    ["db", "upgrade"],
    ["lease", "list"],
    ["lease", "break", "demo-qa", "--reason", "stuck"],
    ["prune", "--older-than", "90d"],
    ["rollout", "status", "demo-qa"],
    ["rollout", "analyse", "demo-qa"],
    ["rollout", "promote", "demo-qa", "--reason", "ok"],
    ["rollout", "abort", "demo-qa", "--reason", "no"],
    ["simulate", "traffic", "demo-qa", "--rate", "1", "--for", "1"],
    ["sandbox"],
    ["webhook"],
    ["serve"],
    ["server", "start"],
    ["server", "stop"],
    ["server", "status"],
    ["demo"],
    ["demo-real"],
    ["demo-real-ft"],
]
# Commands that never reach the store: they serve until stopped.
SERVERS = {"sandbox", "webhook", "serve", "server", "demo", "demo-real", "demo-real-ft"}
STORE_COMMANDS = [args for args in EVERY_COMMAND if args[0] not in SERVERS]
USE_CASE_COMMANDS = [args for args in STORE_COMMANDS if "demo-qa" in args]
PREFECT_COMMANDS = [args for args in USE_CASE_COMMANDS if args[0] in {"check", "build", "hybrid"}]
PREFECT_COMMANDS += [["monitor", "demo-qa"], ["approve", "demo-qa", "--reason", "ok"]]


def _ids(args: list[str]) -> str:
    return " ".join(args)


@pytest.fixture(name="workdir")
def workdir_fixture(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with a spec dir and a usage CSV; `demo-qa` registered."""
    monkeypatch.chdir(tmp_path)
    spec = write_spec(tmp_path / "specs")
    (tmp_path / "usage.csv").write_text("use_case,day,count\ndemo-qa,2026-01-02,5\n")
    with db.store_session(settings.store_url) as session:
        apply_spec(load_spec(spec), session=session)
    return tmp_path


def _phasegate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize("args", EVERY_COMMAND, ids=_ids)
def test_unknown_option_exits_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = _phasegate(capsys, *args, "--no-such-option")
    assert (code, out) == (2, "")
    assert "No such option: --no-such-option" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["histroy", "demo-qa"], "No such command 'histroy'"),
        (["status", "--jsn"], "No such option: --jsn"),
        (["build", "demo-qa", "--phase", "rga"], "'rga' is not one of"),
        (["usage", "record", "demo-qa", "-5"], "No such option: -5"),
        (["check", "demo-qa", "--fail-on", "held,late"], "--fail-on: unknown decision 'late'"),
    ],
    ids=lambda value: value if isinstance(value, str) else _ids(value),
)
def test_usage_error_exits_2_naming_the_mistake(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = _phasegate(capsys, *args)
    assert code == 2
    assert message in err


@pytest.mark.parametrize(
    "args", [[a.replace("demo-qa", "ghost") for a in args] for args in USE_CASE_COMMANDS], ids=_ids
)
def test_unknown_use_case_exits_2_and_writes_nothing(
    workdir: Path, settings: Settings, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = _phasegate(capsys, *args)
    assert (code, out) == (2, "")
    assert "unknown use case: 'ghost'" in err
    with db.store_session(settings.store_url) as session:
        assert list_decisions("demo-qa", session=session) == []
    assert not (workdir / "reports").exists()


@pytest.mark.parametrize("args", STORE_COMMANDS, ids=_ids)
def test_unreachable_store_exits_3_naming_it_without_its_password(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list
) -> None:
    monkeypatch.setenv("PHASEGATE_DATABASE_URL", DEAD_STORE)
    get_settings.cache_clear()
    code, out, err = _phasegate(capsys, *args)
    assert (code, out) == (3, "")
    assert "the state store at postgresql://nobody:***@127.0.0.1:1/phasegate cannot be" in err
    assert "secret" not in err


@pytest.mark.parametrize("args", PREFECT_COMMANDS, ids=_ids)
def test_unreachable_prefect_api_exits_3_naming_it(
    workdir: Path, settings: Settings, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    paused_run = "00000000-0000-0000-0000-000000000001"
    with db.store_session(settings.store_url) as session:
        # A live check asked: it holds the lease (one that lost it is refused with exit 2).
        acquire_lease("demo-qa", paused_run, ttl_seconds=600, session=session)
        request_approval(
            "demo-qa",
            paused_run,
            to_phase=Phase.RAG,
            candidate_configuration_id=None,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
            session=session,
        )
    with temporary_settings(updates={PREFECT_API_URL: DEAD_PREFECT}):
        code, out, err = _phasegate(capsys, *args)
    assert (code, out) == (3, "")
    assert f"the Prefect API at {DEAD_PREFECT} cannot be reached" in err


@pytest.mark.parametrize("args", STORE_COMMANDS, ids=_ids)
def test_unexpected_error_exits_1_naming_its_type(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args: list
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(db, "store_session", broken)
    monkeypatch.setattr(db, "engine_for", broken)
    monkeypatch.setattr(status_read, "read_status", broken)  # how `status` reads a migrated store
    code, out, err = _phasegate(capsys, *args)
    assert (code, out) == (1, "")
    assert err.strip() == "error: unexpected error: RuntimeError: the disk caught fire"


@pytest.mark.parametrize("name", ["[/x]", "[bold]x[/bold]", r"^a[0-9]+$"])
def test_error_message_prints_brackets_as_written(
    workdir: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    code, _, err = _phasegate(capsys, "history", name)
    assert code == 2
    assert f"unknown use case: {name!r}" in err


@pytest.mark.parametrize(
    ("args", "document"),
    [
        (["lease", "list"], "lease-list"),
        (["lease", "break", "demo-qa", "--reason", "stuck"], "lease-break"),
    ],
    ids=["lease list", "lease break"],
)
def test_lease_json_is_one_document_valid_against_its_schema(
    workdir: Path,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    document: str,
) -> None:
    with db.store_session(settings.store_url) as session:
        acquire_lease("demo-qa", "run-on-lost-pod", ttl_seconds=60, session=session)
    code, out, _ = _phasegate(capsys, *args, "--json")
    parsed = json.loads(out)
    jsonschema.validate(
        parsed, json.loads((schemas.CLI_JSON_DIR / f"{document}.schema.json").read_text())
    )
    assert code == 0
    assert "run-on-lost-pod" in out


def test_unreachable_provider_exits_3_naming_the_endpoint(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PHASEGATE_BASE_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("PHASEGATE_MAX_RETRIES", "0")
    get_settings.cache_clear()
    code, _, err = _phasegate(capsys, "eval", "demo-qa")
    assert code == 3
    assert "http://127.0.0.1:1/v1" in err


@pytest.mark.parametrize(
    "args",
    [
        ["apply", "specs"],
        ["status"],
        ["history", "demo-qa"],
        ["prompts", "list", "demo-qa"],
        ["report", "demo-qa"],
        ["usage", "record", "demo-qa", "5"],
        ["usage", "import", "usage.csv"],
        ["db", "upgrade"],
        ["lease", "list"],
    ],
    ids=_ids,
)
def test_store_command_exits_0_on_good_input(
    workdir: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = _phasegate(capsys, *args)
    assert (code, err) == (0, "")
    assert out
