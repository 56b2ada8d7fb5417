"""RAG tasks: index a use case's documents, retrieve passages for queries, score retrieval."""

from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from state.domain import Chunk, EvalItem, IngestReport
from state.errors import InputError
from state.settings import ProviderOptions
from state.spec import Retriever
from state.store_api import Store
from tasks.chunking import chunk_document, chunker_id
from tasks.document_files import SUFFIXES, decode_document, find_documents
from tasks.embedding_index import search_embeddings
from tasks.prompts import Passage


# The result depends on the files and the store, not only on the parameters: never cache it.
@task(name="index-documents", cache_policy=NO_CACHE)
def index_documents(
    use_case: str, documents_dir: str, chunk_size: int, chunk_overlap: int, store_url: str
) -> IngestReport:
    """Index a use case's documents; only new or changed ones are re-chunked and written."""

    def chunk(doc_id: str, path: Path, raw: bytes) -> list[Chunk]:
        text = decode_document(path, raw)
        return chunk_document(doc_id, text, chunk_size, chunk_overlap, SUFFIXES[path.suffix])

    files = find_documents(Path(documents_dir))
    chunker = chunker_id(chunk_size, chunk_overlap)
    return Store(store_url).sync_document_files(use_case, files, chunker, chunk)


@task(name="retrieve-passages", cache_policy=NO_CACHE)
def retrieve_passages(
    use_case: str,
    queries: list[str],
    k: int,
    store_url: str,
    retriever: Retriever = "fts",
    embedding_model: str | None = None,
    provider: ProviderOptions | None = None,
) -> list[list[Passage]]:
    """Retrieve the top `k` passages for every query of a batch: full-text or embeddings."""
    if retriever == "embeddings":
        if embedding_model is None or provider is None:
            raise InputError("the embeddings retriever needs an embedding model and a provider")
        return search_embeddings(use_case, queries, k, store_url, embedding_model, provider)
    found = Store(store_url).search_chunks(use_case, queries, k)
    return [[Passage(source=c.document_id, text=c.text) for c in chunks] for chunks in found]


def retrieval_hit_rate(
    items: list[EvalItem], passages: list[list[Passage]], k: int
) -> float | None:
    """Share of items naming a source whose top `k` passages include it; None if none name one."""
    if len(items) != len(passages):
        raise InputError(f"{len(items)} eval items but {len(passages)} passage lists")
    judged = [
        any(p.source == item.source for p in found[:k])
        for item, found in zip(items, passages, strict=True)
        if item.source is not None
    ]
    return sum(judged) / len(judged) if judged else None
