"""Benchmark: ingest 10,000 documents, then time 1,000 retrieval queries (SQLite by default).

.venv/bin/python bench/rag.py [--documents 10000] [--queries 1000] [--url postgresql://...]
                              [--retriever fts|embeddings] [--embedding-model sandbox-base]

Targets on SQLite, for the fts retriever: ingest ≥ 500 documents/s; query p95 ≤ 20 ms.
`--retriever embeddings` runs the same corpus and queries through the embeddings retriever
against the sandbox (a subprocess, as in bench/eval_throughput.py) and prints figures only:
ingest includes embedding every chunk; a query is one `retrieve_passages` call (embed the
query, load the use case's vectors, rank them); provider calls are the sandbox's count.
"""

import argparse
import itertools
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from eval_throughput import sandbox  # a sibling script: run this one as bench/rag.py
from pydantic import SecretStr

from state.domain import IngestReport
from state.settings import ProviderOptions
from state.spec import LoadedSpec, UseCaseSpec
from state.store_api import Store
from tasks.embedding_index import index_embeddings
from tasks.prompts import Passage
from tasks.retrieval import index_documents, retrieve_passages

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


@contextmanager
def _provider(retriever: str) -> Iterator[tuple[ProviderOptions | None, str | None]]:
    """Provider options and the sandbox root URL for embeddings; (None, None) for fts."""
    if retriever == "fts":
        yield None, None
        return
    with sandbox() as root:
        yield ProviderOptions(base_url=f"{root}/v1", api_key=SecretStr("sk-bench")), root


def _embedding_calls(root: str | None) -> int:
    """Embedding requests the sandbox has answered so far (0 without a sandbox)."""
    if root is None:
        return 0
    return httpx.get(f"{root}/sandbox/stats").raise_for_status().json()["embeddings"]


class Bench:
    """One corpus in one store, indexed and queried through one retriever."""

    def __init__(self, url: str, provider: ProviderOptions | None, model: str) -> None:
        """Use the store at `url`; a provider means the embeddings retriever."""
        self.url, self.provider, self.model = url, provider, model

    def ingest(self, docs: Path) -> IngestReport:
        """Index the documents, and embed new chunks when the retriever is embeddings."""
        report = index_documents.fn(USE_CASE, str(docs), CHUNK_SIZE, CHUNK_OVERLAP, self.url)
        if self.provider is not None:
            index_embeddings.fn(USE_CASE, self.model, self.url, self.provider)
        return report

    def query(self, queries: list[tuple[str, str]]) -> tuple[list[float], list[float], int]:
        """Time each query alone: wall ms, this thread's CPU ms, hits within the top k."""
        timings, cpu, hits = [], [], 0
        store = Store(self.url)
        for doc_id, query in queries:
            started, started_cpu = time.perf_counter(), time.thread_time()
            if self.provider is None:
                [chunks] = store.search_chunks(USE_CASE, [query], TOP_K)
                found = [chunk.document_id for chunk in chunks]
            else:
                found = [passage.source for passage in self.search([query])[0]]
            timings.append((time.perf_counter() - started) * 1000)
            cpu.append((time.thread_time() - started_cpu) * 1000)
            hits += any(source.endswith(doc_id) for source in found)
        return timings, cpu, hits

    def search(self, queries: list[str]) -> list[list[Passage]]:
        """The embeddings retriever's passages for a batch of queries."""
        return retrieve_passages.fn(
            USE_CASE,
            queries,
            TOP_K,
            self.url,
            retriever="embeddings",
            embedding_model=self.model,
            provider=self.provider,
        )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--url", default=None, help="store URL (default: a temporary SQLite file)")
    parser.add_argument("--retriever", choices=["fts", "embeddings"], default="fts")
    parser.add_argument("--embedding-model", default="sandbox-base", help="a sandbox model")
    return parser.parse_args()


def _write_corpus(corpus: Corpus, documents: int, docs: Path) -> dict[str, str]:
    """Write `documents` documents under `docs` (a folder per thousand); their texts by id."""
    texts = {f"doc-{n:05d}": corpus.document(n) for n in range(documents)}
    for doc_id, content in texts.items():
        (docs / doc_id[:6]).mkdir(parents=True, exist_ok=True)
        (docs / doc_id[:6] / f"{doc_id}.md").write_text(content)
    return texts


def main() -> None:
    """Write the corpus, time ingest and re-ingest, time the queries, print ratios to targets."""
    args = _arguments()
    corpus = Corpus(args.seed)
    with tempfile.TemporaryDirectory() as tmp, _provider(args.retriever) as (provider, root):
        docs = Path(tmp) / "docs"
        texts = _write_corpus(corpus, args.documents, docs)
        url = args.url or f"sqlite:///{tmp}/bench.db"
        Store(url).apply_specs([_spec()])
        bench = Bench(url, provider, args.embedding_model)

        started = time.perf_counter()
        report = bench.ingest(docs)
        ingest_s = time.perf_counter() - started
        ingest_calls = _embedding_calls(root)
        started = time.perf_counter()
        again = bench.ingest(docs)
        reingest_s = time.perf_counter() - started
        reingest_calls = _embedding_calls(root) - ingest_calls
        assert again.unchanged == args.documents and again.chunks_written == 0
        assert reingest_calls == 0

        doc_ids = corpus.rng.choices(sorted(texts), k=args.queries)
        queries = [(doc_id, corpus.query(texts[doc_id])) for doc_id in doc_ids]
        timings, cpu, hits = bench.query(queries)
        query_calls = _embedding_calls(root) - ingest_calls
        batch_s = None
        if provider is not None:
            started = time.perf_counter()
            bench.search([query for _, query in queries])
            batch_s = time.perf_counter() - started
        batch_calls = _embedding_calls(root) - ingest_calls - query_calls
        Store(url).close()

    docs_per_s = args.documents / ingest_s
    p50, p95 = statistics.median(timings), _percentile(timings, 0.95)
    print(f"store: {url.split(':')[0]}; retriever: {args.retriever}")
    print(f"{report.documents:,} documents, {report.chunks:,} chunks")
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
    if batch_s is not None:
        print(
            f"provider calls ({args.embedding_model}): ingest {ingest_calls}, re-ingest "
            f"{reingest_calls}, queries one by one {query_calls}, all queries in one call "
            f"{batch_calls} ({batch_s:.2f} s, {batch_s / len(queries) * 1000:.2f} ms/query)"
        )
        return
    print(f"ratio ingest/target: {docs_per_s / TARGET_DOCS_PER_S:.2f} (≥ 1.00 passes)")
    print(f"ratio p95/target:    {p95 / TARGET_P95_MS:.2f} (≤ 1.00 passes)")


if __name__ == "__main__":
    main()
