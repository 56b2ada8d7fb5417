"""A use case's knowledge documents: their chunks, an ingest's report, retrieved passages."""

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from state.domain.frozen import Frozen

if TYPE_CHECKING:  # numpy loads with the vectors, not with every document term
    import numpy as np


class Chunk(Frozen):
    """One passage cut from a document, with where it sits in it."""

    document: str
    heading_path: tuple[str, ...] = ()
    ordinal: int
    text: str


class DocumentInput(Frozen):
    """A document found on disk; `chunks` may be None when it is unchanged since last time."""

    doc_id: str
    content_hash: str
    chunker: str
    chunks: list[Chunk] | None = None

    @property
    def version(self) -> tuple[str, str]:
        """What decides whether the stored chunks are still right: content hash, chunker."""
        return self.content_hash, self.chunker


class IngestReport(Frozen):
    """What one ingest did, and the index it left behind."""

    added: int
    changed: int
    unchanged: int
    removed: int
    chunks_written: int
    documents: int
    chunks: int
    documents_hash: str


class ChunkText(Frozen):
    """A chunk's id, its document's id, its heading path and its text."""

    chunk_id: int
    document_id: str
    heading: str
    text: str


class RetrievedChunk(ChunkText):
    """A chunk found for a query; a higher score is a better match."""

    score: float


@dataclass(frozen=True, eq=False)
class EmbeddingMatrix:
    """A use case's vectors from one model: row i belongs to `chunk_ids[i]`; unit length or 0."""

    chunk_ids: list[int]
    vectors: "np.ndarray"


#: Chunks a document's text: (document id, its file, its bytes) -> chunks.
Chunker = Callable[[str, Path, bytes], list[Chunk]]
