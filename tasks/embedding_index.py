"""The embeddings retriever: embed chunks that have no vector yet, rank chunks by cosine similarity.

Vectors are kept per chunk and model in the state store, so re-indexing unchanged documents
sends nothing to the provider; a re-chunked document loses its vectors with its chunks.
"""

import numpy as np
from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from state.domain import ChunkText, EmbeddingMatrix
from state.errors import Conflict
from state.settings import ProviderOptions
from state.store_api import Store
from tasks.llm_embeddings import EMBEDDING_BATCH, embed_texts
from tasks.prompts import Passage

# Query rows scored against the matrix at a time: bounds the score matrix to ~32 MB at 32k chunks.
QUERY_BLOCK = 256


class EmbeddingReport(BaseModel):
    """What one embedding pass did: chunks embedded now, HTTP requests sent, retries among them."""

    model_config = ConfigDict(frozen=True)

    model: str
    embedded: int
    provider_calls: int
    retries: int


def embedding_input(chunk: ChunkText) -> str:
    """What is embedded for a chunk: its heading path, then its text."""
    return f"{chunk.heading}\n\n{chunk.text}" if chunk.heading else chunk.text


def embed_missing(
    use_case: str, model: str, store_url: str, provider: ProviderOptions
) -> EmbeddingReport:
    """Embed the chunks that have no vector from `model`; each batch is stored on its own.

    Work goes in rounds of as many batches as may run at once, so a provider failure keeps
    the vectors of earlier rounds and a rerun embeds only what is still missing.
    """
    store = Store(store_url)
    missing = store.chunks_without_embedding(use_case, model)
    calls = retries = 0
    round_size = EMBEDDING_BATCH * provider.concurrency
    for start in range(0, len(missing), round_size):
        chunks = missing[start : start + round_size]
        result = embed_texts(provider, model, [embedding_input(c) for c in chunks])
        calls, retries = calls + result.provider_calls, retries + result.retries
        for offset in range(0, len(chunks), EMBEDDING_BATCH):
            batch = chunks[offset : offset + EMBEDDING_BATCH]
            store.save_embeddings(
                model,
                [c.chunk_id for c in batch],
                result.vectors[offset : offset + EMBEDDING_BATCH],
            )
    return EmbeddingReport(
        model=model, embedded=len(missing), provider_calls=calls, retries=retries
    )


@task(name="index-embeddings", cache_policy=NO_CACHE)
def index_embeddings(
    use_case: str, model: str, store_url: str, provider: ProviderOptions
) -> EmbeddingReport:
    """Embed the use case's chunks that have no vector from `model` yet."""
    return embed_missing(use_case, model, store_url, provider)


def nearest(matrix: EmbeddingMatrix, queries: np.ndarray, k: int) -> list[list[int]]:
    """Chunk ids of the `k` rows most similar (cosine) to each query vector, best first."""
    if not matrix.chunk_ids or k < 1:
        return [[] for _ in range(len(queries))]
    if queries.shape[1] != matrix.vectors.shape[1]:
        raise Conflict(
            f"query vectors have {queries.shape[1]} dimensions but the stored ones "
            f"{matrix.vectors.shape[1]}: re-index with the same embedding model"
        )
    norms = np.linalg.norm(queries, axis=1, keepdims=True)
    unit = queries / np.where(norms == 0, 1, norms)
    k = min(k, len(matrix.chunk_ids))
    found: list[list[int]] = []
    for start in range(0, len(unit), QUERY_BLOCK):
        scores = unit[start : start + QUERY_BLOCK] @ matrix.vectors.T
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        for row, candidates in zip(scores, top, strict=True):
            # Best first; equal scores in chunk order, so that results are reproducible.
            ranked = sorted(candidates, key=lambda j: (-row[j], j))
            found.append([matrix.chunk_ids[j] for j in ranked])
    return found


def search_embeddings(
    use_case: str,
    queries: list[str],
    k: int,
    store_url: str,
    model: str,
    provider: ProviderOptions,
) -> list[list[Passage]]:
    """The top `k` passages per query by cosine similarity; queries are embedded together.

    Chunks without a vector (documents re-indexed since the last embedding pass) are embedded
    first, so an answer never comes from a partial index. Blank queries find nothing.
    """
    embed_missing(use_case, model, store_url, provider)
    asked = [i for i, query in enumerate(queries) if query.strip()]
    vectors = embed_texts(provider, model, [queries[i] for i in asked]).vectors
    # Ranked and read in one unit of work: a re-index cannot remove the chunks in between.
    ranked, chunks = Store(store_url).nearest_chunks(
        use_case, model, lambda matrix: nearest(matrix, vectors, k) if asked else []
    )
    passages: list[list[Passage]] = [[] for _ in queries]
    for index, ids in zip(asked, ranked, strict=True):
        passages[index] = [Passage(source=chunks[c].document_id, text=chunks[c].text) for c in ids]
    return passages
