"""Benchmark: the CPU of one phase check, split four ways, against the 1 s overhead limit.

.venv/bin/python bench/check_cost.py [--modes running,temporary,warm] [--no-profile] [--trips]

Each check is `phasegate check support-qa --auto-approve` in a process of its own, as a user
starts it, against the sandbox (a subprocess: its CPU is the provider's, not ours) on SQLite
in a fresh data dir. Two checks per mode, as in issue 28's table: the first (baseline: prompt
A/B of the spec's variants, 3 × 142 calls and the judge) and the second (prompting → RAG).
Modes: `running` — a `prefect server start` the bench starts once (what `phasegate server
start` or `phasegate serve` leave running; its process's CPU during the check is read from
/proc and shown apart); `temporary` — none running, so the command starts its own (a child:
its CPU is the child's, counted whole); `warm` — as `running`, plus a warm runner (what
`phasegate server start` starts beside the server): the check process is a thin client and the
check runs in the runner's forked child, which measures itself as a check process does (a
forked child's `getrusage` starts at zero) and writes its figures where the client's
environment says; the client's CPU and the runner's own (accept, fork; from /proc) are added.

How the CPU is split (no sampling profiler):
- total: the check process's user + system CPU (`getrusage`, itself and its children);
- start-up (imports): thread CPU spent inside the outermost import of each thread, measured by
  wrapping the import system's `_find_and_load` — every module a command imports, at start or
  on first use, whatever runs while it loads;
- the rest, split by a second run of the same check under cProfile (one profiler per thread,
  clocked by thread CPU, off during imports): each function's own time goes to the nearest
  caller that belongs to a category — Prefect (`prefect/` — client, engine, API calls),
  provider (`openai/`), own work (`phasegate/`, `flows/`, `tasks/`, `state/`) — shared by
  call-graph edges when a library (httpx, pydantic, SQLAlchemy, asyncio, …) has several
  callers. The shares are applied to the unprofiled run's CPU, so the profiler's own cost
  does not count. Time with no categorised caller (thread roots) is shown as unattributed.
  asyncio's loop under our own code (the provider calls' event loop) counts as own work.
The overhead is start-up + Prefect (+ the running server's CPU while the check runs); its
ratio to the 1 s limit is printed. Store round trips are the units of work (`Store` sessions)
the check opens, counted in the unprofiled run; `--trips` lists each one as `Store` method ←
the function that called it.
"""

import argparse
import contextlib
import cProfile
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIMIT_S = 1.0
USE_CASE = "support-qa"
CHECKS = ("first check (baseline, prompt A/B)", "second check (prompting → RAG)")
CATEGORIES = ("start-up (imports)", "Prefect", "provider calls", "own work", "unattributed")
# Set by the bench in a warm client's environment: where its child writes its figures.
WARM_OUT, WARM_PROFILE = "PHASEGATE_BENCH_WARM_OUT", "PHASEGATE_BENCH_WARM_PROFILE"
OWN = tuple(f"{ROOT}/{package}/" for package in ("phasegate", "flows", "tasks", "state"))


# The child: one `phasegate` command, measured from inside.


class ImportClock:
    """Thread CPU spent inside each thread's outermost import (profilers off meanwhile)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.local = threading.local()
        self.lock = threading.Lock()

    def install(self) -> None:
        """Wrap the import system's `_find_and_load` (what every import of a new module runs)."""
        bootstrap = sys.modules["_frozen_importlib"]
        original = bootstrap._find_and_load

        def find_and_load(name, import_):  # noqa: ANN001, ANN202 - importlib's signature
            if getattr(self.local, "depth", 0):
                return original(name, import_)
            profile = getattr(self.local, "profile", None)
            if profile is not None:
                profile.disable()
            self.local.depth, started = 1, time.thread_time()
            try:
                return original(name, import_)
            finally:
                self.local.depth = 0
                with self.lock:
                    self.seconds += time.thread_time() - started
                if profile is not None:
                    profile.enable()

        bootstrap._find_and_load = find_and_load


class ThreadProfiles:
    """A cProfile profiler per thread, clocked by that thread's CPU time."""

    def __init__(self, clock: ImportClock) -> None:
        self.clock = clock
        self.profiles: list[cProfile.Profile] = []

    def start(self) -> None:
        """Profile this thread and every thread started from now on."""
        self._enable()
        original = threading.Thread._bootstrap_inner
        profiles = self

        def bootstrap_inner(thread: threading.Thread) -> None:
            profile = profiles._enable()
            try:
                original(thread)
            finally:
                profile.disable()

        threading.Thread._bootstrap_inner = bootstrap_inner  # type: ignore[method-assign]

    def _enable(self) -> cProfile.Profile:
        profile = cProfile.Profile(time.thread_time)
        self.profiles.append(profile)
        self.clock.local.profile = profile
        profile.enable()
        return profile

    def shares(self) -> dict[str, float]:
        """Profiled seconds per category (imports excluded: the profilers were off)."""
        stats: dict = {}
        for profile in self.profiles:
            profile.snapshot_stats()  # threads still running are read as they are
            for key, (cc, nc, tt, ct, callers) in profile.stats.items():
                if key in stats:
                    merged = dict(stats[key][4])
                    for caller, edge in callers.items():
                        old = merged.get(caller, (0, 0, 0.0, 0.0))
                        merged[caller] = tuple(a + b for a, b in zip(old, edge, strict=True))
                    old = stats[key]
                    stats[key] = (old[0] + cc, old[1] + nc, old[2] + tt, old[3] + ct, merged)
                else:
                    stats[key] = (cc, nc, tt, ct, dict(callers))
        return attribute(stats)


def category(key: tuple[str, int, str]) -> str | None:
    """The category a function belongs to by its file; None for libraries in between."""
    path = key[0]
    if "/prefect/" in path:
        return "Prefect"
    if "/openai/" in path:
        return "provider calls"
    if path.startswith(OWN):
        return "own work"
    return None


def attribute(stats: dict) -> dict[str, float]:
    """Each function's own time to its nearest categorised callers, shared by edge time.

    A caller already on the path being followed (recursion) is skipped; each function's mix is
    worked out once.
    """
    memo: dict = {}
    on_path: set = set()

    def weights(key: tuple) -> dict[str, float]:
        if (found := category(key)) is not None:
            return {found: 1.0}
        if key in memo:
            return memo[key]
        on_path.add(key)
        edges = stats.get(key, (0, 0, 0, 0, {}))[4].items()
        callers = {c: edge[3] for c, edge in edges if c not in on_path and edge[3] > 0}
        total = sum(callers.values())
        mix: dict[str, float] = defaultdict(float)
        for caller, edge_time in callers.items():
            for name, share in weights(caller).items():
                mix[name] += share * edge_time / total
        on_path.discard(key)
        memo[key] = dict(mix) or {"unattributed": 1.0}
        return memo[key]

    sys.setrecursionlimit(100_000)
    seconds: dict[str, float] = defaultdict(float)
    for key, (_, _, own_time, _, _) in stats.items():
        for name, share in weights(key).items():
            seconds[name] += own_time * share
    return dict(seconds)


def count_round_trips() -> list[str]:
    """Record every unit of work the command opens: `Store` method ← the function calling it."""
    from state.store_api import Store

    calls: list[str] = []
    original = Store._session

    def session(self: Store):  # noqa: ANN202 - a context manager, as the original
        method, caller = sys._getframe(1), sys._getframe(2)
        while caller.f_code.co_filename == contextlib.__file__:  # a `with` names its caller
            caller = caller.f_back
        where = Path(caller.f_code.co_filename).stem
        calls.append(f"{method.f_code.co_name} ← {where}.{caller.f_code.co_name}")
        return original(self)

    Store._session = session  # type: ignore[method-assign]
    return calls


def measured(out: Path, profile: bool, command: Callable[[], int], *, trips: bool = True) -> int:
    """Run `command` in this process; write its CPU figures to `out` as JSON; its exit code."""
    clock = ImportClock()
    clock.install()
    profiles = ThreadProfiles(clock) if profile else None
    before = resource.getrusage(resource.RUSAGE_SELF)
    if profiles is not None:
        profiles.start()
    round_trips = count_round_trips() if trips else []
    code = 1
    try:
        code = command()
    finally:
        if profiles is not None:
            threading.setprofile(None)
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        figures = {
            "code": code,
            "cpu": own.ru_utime + own.ru_stime - before.ru_utime - before.ru_stime,
            "children_cpu": children.ru_utime + children.ru_stime,
            "imports": clock.seconds,
            "round_trips": round_trips,
            "shares": profiles.shares() if profiles is not None else {},
        }
        out.write_text(json.dumps(figures))
    return code


def child(out: Path, profile: bool, args: list[str]) -> None:
    """Run `phasegate ARGS` in this process; write its CPU figures to `out` as JSON."""

    def command() -> int:
        from phasegate.cli import main

        sys.argv = ["phasegate", *args]
        try:
            main()
        except SystemExit as exc:
            return exc.code if isinstance(exc.code, int) else 1
        return 0

    # A client of the warm runner imports no store: its round trips are counted in the runner.
    code = measured(out, profile, command, trips=WARM_OUT not in os.environ)
    os._exit(code)  # threads still running (Prefect's) must not hold the figures back


def warm_runner(data_dir: Path) -> None:
    """The warm runner of `data_dir`, each forked child measuring itself into $WARM_OUT.

    The child's `run_command` is wrapped: a forked child's CPU counters start at zero, so
    `getrusage` in the child is the command's CPU; the client cannot read it.
    """
    from phasegate import warm_child, warm_runner

    run_child = warm_child.run_command

    def run_measured(request: dict, fds: list[int]) -> int:
        out = request["env"].get(WARM_OUT)
        if out is None:
            return run_child(request, fds)
        profile = request["env"].get(WARM_PROFILE) == "1"
        return measured(Path(out), profile, lambda: run_child(request, fds))

    warm_child.run_command = run_measured
    sys.argv = [sys.argv[0], str(data_dir), "phasegate server"]
    warm_runner.main()


# The parent: the sandbox, the servers, the data dirs, the table.


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process and its descendants (from /proc)."""
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
        pids += [int(child) for child in children]
    return total


IMPORTS = {
    "phasegate --help": "phasegate.cli.commands",
    "phasegate status": "phasegate.cli.commands, state.status_read",
    "phasegate check": "phasegate.cli.commands, flows.phase_check",
}


def import_cpu(modules: str, runs: int = 5) -> float:
    """The least CPU seconds, over `runs` fresh processes, of importing `modules`."""
    code = f"import time; t = time.process_time(); import {modules}; print(time.process_time() - t)"
    return min(
        float(
            subprocess.run(
                [sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True
            ).stdout
        )
        for _ in range(runs)
    )


def own_cpu(pid: int) -> float:
    """User + system CPU seconds of one process itself (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_check(
    env: dict[str, str], profile: bool, server_pid: int | None, runner_pid: int | None = None
) -> dict:
    """One `phasegate check` in a process of its own (and its warm runner's child); its figures."""
    with (
        tempfile.NamedTemporaryFile(suffix=".json") as out,
        tempfile.NamedTemporaryFile(suffix=".json") as warm,
    ):
        args = [sys.executable, __file__, "--child", out.name]
        args += [] if profile and not runner_pid else ["--no-profile"]
        args += ["--", "check", USE_CASE, "--auto-approve"]
        if runner_pid:
            env = {**env, WARM_OUT: warm.name, WARM_PROFILE: "1" if profile else "0"}
        server_before = process_cpu(server_pid) if server_pid else 0.0
        runner_before = own_cpu(runner_pid) if runner_pid else 0.0
        started = time.perf_counter()
        done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True)
        wall = time.perf_counter() - started
        server = process_cpu(server_pid) - server_before if server_pid else 0.0
        runner = own_cpu(runner_pid) - runner_before if runner_pid else 0.0
        if done.returncode != 0:
            sys.exit(f"check failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        figures = json.loads(Path(out.name).read_text())
        if runner_pid:
            if "warm runner" not in done.stderr:
                sys.exit(f"the check did not run in the warm runner:\n{done.stderr}")
            forked = json.loads(Path(warm.name).read_text())
            figures = {
                **forked,
                "client_cpu": figures["cpu"],
                "cpu": figures["cpu"] + forked["cpu"],
                "imports": figures["imports"] + forked["imports"],
                "children_cpu": figures["children_cpu"] + forked["children_cpu"],
            }
    return {**figures, "wall": wall, "server_cpu": server, "runner_cpu": runner}


def split(plain: dict, profiled: dict | None) -> dict[str, float]:
    """Seconds per category: imports measured; the rest shared as the profiled run shares it."""
    rest = plain["cpu"] - plain["imports"]
    shares = (profiled or {}).get("shares") or {"unattributed": 1.0}
    total = sum(shares.values())
    seconds = {name: rest * shares.get(name, 0.0) / total for name in CATEGORIES[1:]}
    return {CATEGORIES[0]: plain["imports"], **seconds}


def report(mode: str, title: str, plain: dict, profiled: dict | None, trips_listed: bool) -> None:
    """Print one check's split and its overhead against the limit."""
    parts = split(plain, profiled)
    server = plain["server_cpu"] + plain["children_cpu"]
    runner = plain["runner_cpu"]
    total = plain["cpu"] + server + runner
    where = "temporary server (child)" if mode == "temporary" else "running server's process"
    print(f"\n{title}, {mode} server: wall {plain['wall']:.1f} s, CPU {total:.2f} s")
    if mode == "warm":
        client = plain["client_cpu"]
        forked = plain["cpu"] - client
        print(f"  (client process {client:.2f} s, the runner's forked child {forked:.2f} s)")
    for name, seconds in parts.items():
        print(f"  {name:<28} {seconds:6.2f} s  {100 * seconds / total:5.1f} %")
    if mode == "warm":
        print(
            f"  {'warm runner (accept, fork)':<28} {runner:6.2f} s  {100 * runner / total:5.1f} %"
        )
    print(f"  {where:<28} {server:6.2f} s  {100 * server / total:5.1f} %")
    overhead = parts["start-up (imports)"] + parts["Prefect"] + runner
    print(
        f"  overhead in the check process: {overhead:.2f} s "
        f"({overhead / LIMIT_S:.2f} × the 1 s limit)"
    )
    print(
        f"  with the server's CPU:         {overhead + server:.2f} s "
        f"({(overhead + server) / LIMIT_S:.2f} × the limit)"
    )
    trips = plain["round_trips"]
    print(f"  store round trips:             {len(trips)}")
    if trips_listed:
        for n, trip in enumerate(trips, 1):
            print(f"    {n:3d}  {trip}")


def start_warm_runner(data: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """This bench's warm runner on `data`, started with `env` (the checks' own), once ready."""
    from phasegate.warm_client import RECORD

    runner = subprocess.Popen(
        [sys.executable, __file__, "--runner", str(data)],
        env=env,
        cwd=data,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and runner.poll() is None:
        try:
            if json.loads((data / RECORD).read_text())["pid"] == runner.pid:
                return runner
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.1)
    runner.kill()
    sys.exit("the warm runner did not start")


def measure(
    mode: str, template: Path, env: dict[str, str], profile: bool, trips_listed: bool
) -> None:
    """Both checks in `mode`, each once plain and once profiled, on copies of the data dir."""
    from phasegate import serve

    runs: dict[bool, list[dict]] = {}
    for profiled in (False, True) if profile else (False,):
        data = template.parent / f"{mode}-{profiled}"
        shutil.copytree(template, data)
        stack = None
        env = {**env, "PHASEGATE_DATA_DIR": str(data)}
        env.pop("PREFECT_API_URL", None)
        runner = None
        if mode in ("running", "warm"):
            stack = serve.LocalPrefect.start(
                log_dir=data / "logs", env={"PREFECT_HOME": str(data / "prefect")}
            )
            env["PREFECT_API_URL"] = stack.api_url
        try:
            if mode == "warm":
                runner = start_warm_runner(data, env)
            pid = stack.children[0].process.pid if stack else None
            runs[profiled] = [
                run_check(env, profiled, pid, runner.pid if runner else None) for _ in CHECKS
            ]
        finally:
            if runner is not None:
                runner.terminate()
                runner.wait()
            if stack is not None:
                stack.stop()
    for i, title in enumerate(CHECKS):
        report(mode, title, runs[False][i], runs[True][i] if profile else None, trips_listed)


def main() -> None:
    """Apply the use case once, then measure each mode on a copy of that data dir."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="running,temporary,warm")
    parser.add_argument("--no-profile", action="store_true", help="imports and totals only")
    parser.add_argument("--imports", action="store_true", help="only the import CPU by command")
    parser.add_argument(
        "--trips", action="store_true", help="list each store round trip with its caller"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--runner", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        return child(options.child, not options.no_profile, options.args)
    if options.runner:
        return warm_runner(options.runner)
    from phasegate import demo_services, serve

    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"load average at the start: {' '.join(load)} on {os.cpu_count()} cores")
    print("import CPU before a command runs (least of 5 processes):")
    for command, modules in IMPORTS.items():
        print(f"  {command:<18} {import_cpu(modules):5.2f} s  (import {modules})")
    if options.imports:
        return None
    with tempfile.TemporaryDirectory(prefix="phasegate-bench-cost-") as tmp:
        template = Path(tmp) / "template"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PHASEGATE_")}
        env.update({**serve.QUIET, "PHASEGATE_DATA_DIR": str(template), "PYTHONPATH": str(ROOT)})
        env.update({"PREFECT_HOME": str(Path(tmp) / "prefect"), "PREFECT_LOGGING_LEVEL": "WARNING"})
        with demo_services.sandbox() as base_url:
            env["PHASEGATE_BASE_URL"] = base_url
            apply = [sys.executable, "-m", "phasegate.cli", "apply", f"usecases/{USE_CASE}"]
            subprocess.run(apply, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            for mode in options.modes.split(","):
                measure(mode, template, env, not options.no_profile, options.trips)
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"\nload average at the end: {' '.join(load)}")


if __name__ == "__main__":
    main()
