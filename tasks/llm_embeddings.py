"""Embeddings from the provider: texts in concurrent batches, vectors in input order."""

import asyncio
import base64
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import openai

from state.errors import ProviderError, ProviderUnreachable
from state.settings import ProviderOptions
from tasks.llm import PROBE_FATAL_RETRIES, build_client, run_sync
from tasks.llm_retries import CONNECTION_ERROR, Attempts, with_retries

# Inputs per embeddings request, and a character budget that keeps a request of long chunks
# well under the provider's tokens-per-request limit (300k for OpenAI).
EMBEDDING_BATCH = 128
EMBEDDING_BATCH_CHARS = 400_000
FLOAT32 = np.dtype("<f4")


@dataclass(slots=True)
class EmbeddingResult:
    """Vectors in input order (float32, one row per text), with HTTP requests sent and retries."""

    vectors: np.ndarray
    provider_calls: int = 0
    retries: int = 0


def embedding_batches(
    texts: Sequence[str], size: int = EMBEDDING_BATCH, max_chars: int = EMBEDDING_BATCH_CHARS
) -> list[tuple[int, int]]:
    """(start, stop) of consecutive batches of at most `size` texts and about `max_chars`."""
    bounds: list[tuple[int, int]] = []
    start = chars = 0
    for index, text in enumerate(texts):
        if index > start and (index - start == size or chars + len(text) > max_chars):
            bounds.append((start, index))
            start, chars = index, 0
        chars += len(text)
    if start < len(texts):
        bounds.append((start, len(texts)))
    return bounds


def _vectors(response: Any, count: int) -> np.ndarray:
    """A response's vectors by input index; a body of another shape is a ValueError."""
    try:
        data = sorted(response.data, key=lambda item: item.index)
        rows = [
            np.frombuffer(base64.b64decode(item.embedding), dtype=FLOAT32)
            if isinstance(item.embedding, str)
            else np.asarray(item.embedding, dtype=FLOAT32)
            for item in data
        ]
    except (AttributeError, TypeError) as exc:
        raise ValueError(f"no data[].embedding in the response ({exc})") from exc
    if [item.index for item in data] != list(range(count)):
        raise ValueError(f"{len(data)} embeddings for {count} inputs")
    if len({row.shape for row in rows}) != 1 or rows[0].ndim != 1 or not rows[0].size:
        raise ValueError("embeddings of different or no length")
    return np.stack(rows)


async def embed_all(
    client: openai.AsyncOpenAI,
    model: str,
    texts: Sequence[str],
    *,
    concurrency: int = 16,
    max_retries: int = 4,
) -> EmbeddingResult:
    """Embed texts in concurrent batches; raises ProviderError naming model and endpoint.

    The first batch goes alone (a probe that gives up on an unreachable endpoint after one
    retry); once a batch has failed for good, batches still waiting for a slot are not sent.
    """
    bounds = embedding_batches(texts)
    outcomes: list[Attempts[np.ndarray] | None] = [None] * len(bounds)
    limit = asyncio.Semaphore(concurrency)
    rng = random.Random()

    async def run(index: int, probe: bool = False) -> None:
        """Embed batch `index` unless another batch has failed already."""
        batch = list(texts[slice(*bounds[index])])

        async def call() -> np.ndarray:
            """One attempt; base64 halves the body and skips parsing floats."""
            reply = await client.embeddings.create(
                model=model, input=batch, encoding_format="base64"
            )
            return _vectors(reply, len(batch))

        async with limit:
            if not any(o is not None and o.error for o in outcomes):
                fatal_retries = PROBE_FATAL_RETRIES if probe else None
                outcomes[index] = await with_retries(
                    call, max_retries, rng, fatal_retries=fatal_retries
                )

    if bounds:
        await run(0, probe=True)
        await asyncio.gather(*(run(i) for i in range(1, len(bounds))))
    sent = [o for o in outcomes if o is not None]
    retries = sum(o.retries for o in sent)
    failed = next((o.error for o in sent if o.error), None)
    if failed:
        where = str(client.base_url).rstrip("/")
        error = ProviderUnreachable if failed.startswith(CONNECTION_ERROR) else ProviderError
        raise error(f"embeddings with model {model!r} failed: {failed} at {where}")
    vectors = [cast(np.ndarray, o.value) for o in sent]
    if len({v.shape[1] for v in vectors}) > 1:
        raise ProviderError(f"embeddings with model {model!r}: batches of different lengths")
    return EmbeddingResult(
        vectors=np.concatenate(vectors) if vectors else np.zeros((0, 0), FLOAT32),
        provider_calls=len(sent) + retries,
        retries=retries,
    )


def embed_texts(options: ProviderOptions, model: str, texts: Sequence[str]) -> EmbeddingResult:
    """Embed texts from sync code with a client of its own; nothing to embed sends nothing."""
    if not texts:
        return EmbeddingResult(vectors=np.zeros((0, 0), FLOAT32))

    async def embed() -> EmbeddingResult:
        """The batches on a client that lives and dies in this loop."""
        async with build_client(options) as client:
            return await embed_all(
                client,
                model,
                texts,
                concurrency=options.concurrency,
                max_retries=options.max_retries,
            )

    return run_sync(embed)
