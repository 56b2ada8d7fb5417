"""Benchmark: retrieval hit rate of fts against embeddings on support-qa, with the sandbox.

.venv/bin/python bench/retrievers.py [--embedding-model sandbox-base]

Indexes usecases/support-qa/docs with the spec's chunk settings in a temporary SQLite store,
retrieves for every eval question with each retriever and prints the share of questions whose
source document is among the top k (k = 1, 3, 5), with time and provider calls. Figures only:
the sandbox's embeddings are feature-hashed words and bigrams, not a trained model, so they say
how the machinery behaves, not how a provider's embedding model would rank.
"""

import argparse
import tempfile
import time
from pathlib import Path

import httpx
from eval_throughput import sandbox  # a sibling script: run this one as bench/retrievers.py
from pydantic import SecretStr

from state.settings import ProviderOptions
from state.spec import load_spec
from state.store_api import Store
from tasks.embedding_index import index_embeddings
from tasks.eval_sets import load_eval_set
from tasks.retrieval import index_documents, retrieval_hit_rate, retrieve_passages

SUPPORT_QA = Path(__file__).resolve().parent.parent / "usecases" / "support-qa"
KS = (1, 3, 5)


def main() -> None:
    """Index support-qa once, retrieve with both retrievers, print hit rates side by side."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedding-model", default="sandbox-base", help="a sandbox model")
    args = parser.parse_args()
    loaded = load_spec(SUPPORT_QA / "spec.yaml")
    rag = loaded.spec.rag
    items, _ = load_eval_set(SUPPORT_QA / "eval.jsonl")
    queries = [item.input for item in items]
    sourced = sum(item.source is not None for item in items)
    with tempfile.TemporaryDirectory() as tmp, sandbox() as root:
        url = f"sqlite:///{tmp}/retrievers.db"
        Store(url).apply_specs([loaded])
        name = loaded.spec.name
        report = index_documents.fn(
            name, str(SUPPORT_QA / "docs"), rag.chunk_size, rag.chunk_overlap, url
        )
        provider = ProviderOptions(base_url=f"{root}/v1", api_key=SecretStr("sk-bench"))
        started = time.perf_counter()
        embedded = index_embeddings.fn(name, args.embedding_model, url, provider)
        embed_s = time.perf_counter() - started
        print(
            f"support-qa: {report.documents} documents, {report.chunks} chunks, "
            f"{len(items)} eval questions ({sourced} with a source)"
        )
        print(
            f"embedding the chunks: {embed_s:.2f} s, {embedded.provider_calls} provider calls "
            f"({args.embedding_model})"
        )
        print(f"{'retriever':<11} " + " ".join(f"{'@' + str(k):>6}" for k in KS) + "  time   calls")
        for retriever in ("fts", "embeddings"):
            before = httpx.get(f"{root}/sandbox/stats").json()["embeddings"]
            started = time.perf_counter()
            passages = retrieve_passages.fn(
                name,
                queries,
                max(KS),
                url,
                retriever=retriever,
                embedding_model=args.embedding_model,
                provider=provider,
            )
            elapsed = time.perf_counter() - started
            calls = httpx.get(f"{root}/sandbox/stats").json()["embeddings"] - before
            rates = [retrieval_hit_rate(items, passages, k) or 0.0 for k in KS]
            print(
                f"{retriever:<11} "
                + " ".join(f"{rate:6.3f}" for rate in rates)
                + f"  {elapsed:5.2f}s {calls:>5}"
            )
        Store(url).close()


if __name__ == "__main__":
    main()
