"""Start-up of the local Prefect stack: health, work pool, deploy and worker readiness."""

import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from phasegate import prefect_api, processes, serve
from phasegate.processes import Child
from phasegate.serve import LocalPrefect
from state.errors import ServeError
from tests.phasegate import serve_helpers


def test_wait_until_healthy_fails_when_the_server_exits(tmp_path: Path) -> None:
    server = serve_helpers.sleeper(tmp_path, "server", "raise SystemExit(3)")
    with pytest.raises(ServeError, match="exited with 3"):
        prefect_api.wait_until_healthy(prefect_api.api_url_for(processes.free_port()), 30, server)


def test_wait_until_healthy_fails_when_nothing_answers_in_time() -> None:
    with pytest.raises(ServeError, match="did not answer within"):
        prefect_api.wait_until_healthy(prefect_api.api_url_for(processes.free_port()), 0.3)


def _record_spawns(monkeypatch: pytest.MonkeyPatch) -> list[Child]:
    """Keep every process `serve.spawn` starts from now on."""
    spawned: list[Child] = []
    real_spawn = serve.spawn

    def spawn(*args: object) -> Child:
        spawned.append(real_spawn(*args))
        return spawned[-1]

    monkeypatch.setattr(serve, "spawn", spawn)
    return spawned


def test_start_stops_the_server_it_started_when_it_never_gets_healthy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spawned = _record_spawns(monkeypatch)
    monkeypatch.setattr(serve, "SERVER_START_SECONDS", 0.2)
    with pytest.raises(ServeError, match="did not answer"):
        LocalPrefect.start(log_dir=tmp_path)
    assert [child.process.poll() is not None for child in spawned] == [True]


def test_start_on_an_unreachable_api_fails_quickly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve, "EXISTING_API_SECONDS", 0.2)
    with pytest.raises(ServeError, match="did not answer within"):
        LocalPrefect.start(log_dir=tmp_path, api_url=prefect_api.api_url_for(processes.free_port()))


def test_wait_ready_fails_when_deploy_fails(tmp_path: Path) -> None:
    stack = serve_helpers.stack(tmp_path)
    deploying = serve_helpers.sleeper(tmp_path, "deploy", "raise SystemExit(1)")
    stack.children.append(deploying)
    with pytest.raises(ServeError, match="deploy --all` exited with 1"):
        stack.wait_ready(deploying)


def test_wait_ready_fails_when_deploy_takes_too_long(tmp_path: Path) -> None:
    stack = serve_helpers.stack(tmp_path)
    deploying = serve_helpers.sleeper(tmp_path, "deploy")
    stack.children.append(deploying)
    try:
        with pytest.raises(ServeError, match="took over"):
            stack.wait_ready(deploying, deploy_timeout=0.2)
    finally:
        stack.stop(grace=1)


def test_wait_ready_fails_when_the_worker_stops(tmp_path: Path) -> None:
    stack = serve_helpers.stack(tmp_path)
    worker = serve_helpers.sleeper(tmp_path, "prefect-worker", "raise SystemExit(2)")
    worker.process.wait(timeout=10)
    stack.children.append(worker)
    deploying = serve_helpers.sleeper(tmp_path, "deploy", "pass")
    stack.children.append(deploying)
    with pytest.raises(ServeError, match="prefect-worker exited with 2"):
        stack.wait_ready(deploying)


@dataclass
class FakePrefectApi:
    """A stand-in for Prefect's API: answers GET paths from `found`, every POST with `post`."""

    url: str = ""
    found: dict[str, int] = field(default_factory=dict)
    post: int = 500
    seen: list[tuple[str, str]] = field(default_factory=list)


@pytest.fixture(name="fake_api")
def fake_api_fixture() -> Iterator[FakePrefectApi]:
    """A fake Prefect API on a free loopback port (no work pool; creating one answers 500)."""
    fake = FakePrefectApi()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int) -> None:
            fake.seen.append((self.command, self.path))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"[]" if status == 200 else b'{"detail": "no"}')

        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            self._answer(fake.found.get(self.path, 404))

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers["Content-Length"]))
            self._answer(fake.post)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_port}/api"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    thread.join(timeout=5)


def test_ensure_work_pool_fails_when_the_api_refuses_to_create_it(fake_api: FakePrefectApi) -> None:
    with pytest.raises(ServeError, match="creating work pool 'phasegate' answered 500"):
        prefect_api.ensure_work_pool(fake_api.url)
    assert fake_api.seen == [("GET", "/api/work_pools/phasegate"), ("POST", "/api/work_pools/")]


def test_ensure_work_pool_keeps_an_existing_pool(fake_api: FakePrefectApi) -> None:
    fake_api.found["/api/work_pools/phasegate"] = 200
    assert prefect_api.ensure_work_pool(fake_api.url) is False
    assert fake_api.seen == [("GET", "/api/work_pools/phasegate")]


def test_wait_ready_fails_when_no_worker_polls_in_time(
    tmp_path: Path, fake_api: FakePrefectApi
) -> None:
    fake_api.post = 200  # the pool's worker list: always empty
    stack = LocalPrefect(fake_api.url, {}, tmp_path)
    stack.children.append(serve_helpers.sleeper(tmp_path, "prefect-worker"))
    stack.worker_names.append("phasegate-test-1")
    deploying = serve_helpers.sleeper(tmp_path, "deploy", "pass")
    stack.children.append(deploying)
    try:
        with pytest.raises(ServeError, match="phasegate-test-1 did not poll pool 'phasegate'"):
            stack.wait_ready(deploying, worker_timeout=0.3)
    finally:
        stack.stop(grace=1)


def test_start_local_prefect_stops_what_it_started_when_deploy_fails(
    tmp_path: Path, fake_api: FakePrefectApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_api.found |= {"/api/health": 200, "/api/work_pools/phasegate": 200}
    spawned = _record_spawns(monkeypatch)

    def prefect_args(*args: str) -> list[str]:
        code = "raise SystemExit(1)" if "deploy" in args else "import time; time.sleep(60)"
        return [sys.executable, "-c", code]

    monkeypatch.setattr(serve, "prefect_args", prefect_args)
    with pytest.raises(ServeError, match="deploy --all` exited with 1"):
        serve.start_local_prefect(log_dir=tmp_path, api_url=fake_api.url)
    assert [child.name for child in spawned] == ["prefect-worker", "prefect-deploy"]
    assert all(child.process.poll() is not None for child in spawned)


def test_launch_starts_each_worker_with_a_name_of_its_own_and_a_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spawned = _record_spawns(monkeypatch)
    commands: list[tuple[str, ...]] = []

    def prefect_args(*args: str) -> list[str]:
        commands.append(args)
        return [sys.executable, "-c", "import time; time.sleep(60)"]

    monkeypatch.setattr(serve, "prefect_args", prefect_args)
    stack = serve_helpers.stack(tmp_path)
    try:
        stack.launch(workers=2, worker_limit=3)
    finally:
        stack.stop(grace=1)
    workers = [args for args in commands if args[0] == "worker"]
    names = [args[args.index("--name") + 1] for args in workers]
    assert names == stack.worker_names == [f"{stack.name}-1", f"{stack.name}-2"]
    assert [args[args.index("--limit") + 1] for args in workers] == ["3", "3"]
    assert [child.name for child in spawned][:2] == ["prefect-worker-1", "prefect-worker-2"]
