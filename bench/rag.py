"""Benchmark: ingest 10,000 documents, then time 1,000 retrieval queries (SQLite by default).

.venv/bin/python bench/rag.py [--documents 10000] [--queries 1000] [--url postgresql://...]

Targets on SQLite: ingest ≥ 500 documents/s; query p95 ≤ 20 ms.
"""

import argparse
import itertools
import random
import statistics
import tempfile
import time
from pathlib import Path

from state.db import engine_for, session_scope
from state.documents import search_chunks
from state.spec import LoadedSpec, UseCaseSpec
from state.store import apply_spec
from tasks.retrieval import index_documents

USE_CASE = "bench-rag"
TARGET_DOCS_PER_S = 500.0
TARGET_P95_MS = 20.0
CHUNK_SIZE, CHUNK_OVERLAP, TOP_K = 800, 100, 3
SYLLABLES = "ka lo mi ne ru sa ti vo ze pa qu ri sh to ba de fi go hu je".split()
# The most frequent English words, most frequent first: like real text, the corpus's Zipf head
# is function words; only some of them are on the store's stopword list.
FUNCTION_WORDS = (
    "the of and to a in is it you that he was for on are with as his they be at one have this "
    "from or had by not word but what some we can out other were all there when up use your how "
    "said an each she which do their time if will way about many then them write would like so "
    "these her long make thing see him two has look more day could go come did number sound no "
    "most people my over know water than call first who may down side been now find"
).split()


def _vocabulary(rng: random.Random, size: int = 20_000) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choices(SYLLABLES, k=rng.randint(2, 5))))
    content = sorted(words)
    rng.shuffle(content)
    return FUNCTION_WORDS + content


class Corpus:
    """A deterministic corpus: Zipf-distributed words, a few headed paragraphs per document."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.words = _vocabulary(self.rng)
        self.cumulative = list(
            itertools.accumulate(1 / rank for rank in range(1, len(self.words) + 1))
        )

    def sentence(self) -> str:
        """One sentence of 8 to 14 words."""
        words = self.rng.choices(self.words, cum_weights=self.cumulative, k=self.rng.randint(8, 14))
        return " ".join(words).capitalize() + "."

    def document(self, number: int) -> str:
        """A Markdown document: a title, two or three sections of one or two paragraphs."""
        lines = [f"# Topic {number}", ""]
        for section in range(self.rng.randint(2, 3)):
            lines += [f"## Part {section + 1}", ""]
            for _ in range(self.rng.randint(1, 2)):
                lines += [" ".join(self.sentence() for _ in range(self.rng.randint(3, 5))), ""]
        return "\n".join(lines)

    def query(self, text: str) -> str:
        """A question built from five words of one sentence of `text`."""
        sentences = [s for s in text.split(".") if len(s.split()) >= 8 and "#" not in s]
        words = self.rng.sample(self.rng.choice(sentences).split(), 5)
        return "How do I " + " ".join(words).lower() + "?"


def _spec() -> LoadedSpec:
    spec = UseCaseSpec(
        name=USE_CASE,
        task="qa",
        metric="token_f1",
        data={"eval": "eval.jsonl", "documents": "docs"},
        prompts=[{"name": "zero-shot", "kind": "zero_shot"}],
    )
    return LoadedSpec(spec=spec, path=Path(f"/bench/{USE_CASE}.yaml"))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    """Write the corpus, time ingest and re-ingest, time the queries, print ratios to targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--url", default=None, help="store URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    corpus = Corpus(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        texts = {f"doc-{n:05d}": corpus.document(n) for n in range(args.documents)}
        for doc_id, content in texts.items():
            (docs / doc_id[:6]).mkdir(parents=True, exist_ok=True)
            (docs / doc_id[:6] / f"{doc_id}.md").write_text(content)
        url = args.url or f"sqlite:///{tmp}/bench.db"
        with session_scope(engine_for(url)) as session:
            apply_spec(_spec(), session=session)

        started = time.perf_counter()
        report = index_documents.fn(USE_CASE, str(docs), CHUNK_SIZE, CHUNK_OVERLAP, url)
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        again = index_documents.fn(USE_CASE, str(docs), CHUNK_SIZE, CHUNK_OVERLAP, url)
        reingest_s = time.perf_counter() - started
        assert again.unchanged == args.documents and again.chunks_written == 0

        doc_ids = corpus.rng.choices(sorted(texts), k=args.queries)
        queries = [(doc_id, corpus.query(texts[doc_id])) for doc_id in doc_ids]
        timings, cpu, hits = [], [], 0
        with session_scope(engine_for(url)) as session:
            for doc_id, query in queries:
                started, started_cpu = time.perf_counter(), time.thread_time()
                found = search_chunks(USE_CASE, query, TOP_K, session=session)
                timings.append((time.perf_counter() - started) * 1000)
                cpu.append((time.thread_time() - started_cpu) * 1000)
                hits += any(chunk.document_id.endswith(doc_id) for chunk in found)
        engine_for(url).dispose()

    docs_per_s = args.documents / ingest_s
    p50, p95 = statistics.median(timings), _percentile(timings, 0.95)
    print(f"store: {url.split(':')[0]}; {report.documents:,} documents, {report.chunks:,} chunks")
    print(f"ingest: {ingest_s:.2f} s, {docs_per_s:,.0f} documents/s")
    print(f"re-ingest, nothing changed: {reingest_s:.2f} s")
    print(
        f"queries: {len(timings):,}, p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {max(timings):.2f} ms"
    )
    # CPU time of this thread: what the query costs when other processes compete for the cores.
    print(
        f"query CPU time: p50 {statistics.median(cpu):.2f} ms, p95 {_percentile(cpu, 0.95):.2f} ms"
    )
    print(f"hit rate @{TOP_K} (source of the query's sentence): {hits / len(queries):.3f}")
    print(f"ratio ingest/target: {docs_per_s / TARGET_DOCS_PER_S:.2f} (≥ 1.00 passes)")
    print(f"ratio p95/target:    {p95 / TARGET_P95_MS:.2f} (≤ 1.00 passes)")


if __name__ == "__main__":
    main()
