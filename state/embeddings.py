"""Store functions for chunk embeddings: chunks still to embed, saving and loading vectors.

Vectors sit in `chunk_embedding` (migration 0004) as little-endian float32 bytes, one row per
chunk and embedding model; a deleted chunk takes its vectors with it. Functions take the
session as keyword-only `session=`, return domain values and never commit.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import and_, insert, text
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from state import lookup
from state.domain.documents import ChunkText, EmbeddingMatrix
from state.errors import Conflict, InputError
from state.models import ChunkEmbeddingRecord, ChunkRecord, DocumentRecord

if TYPE_CHECKING:
    import numpy as np

# numpy reads a dtype from its name: the store (every `Store`) need not import numpy for it.
FLOAT32 = "<f4"
# Bound parameters per IN (...) list, as in state/documents.py.
_BATCH = 900
# Plain SQL, not an ORM select: the rows are bytes to concatenate, and ORM row handling
# costs about a third of the load time at 25,000 vectors.
_LOAD = text(
    """
    SELECT e.chunk_id, e.dimensions, e.vector
    FROM chunk_embedding AS e
    JOIN chunk AS c ON c.id = e.chunk_id
    WHERE c.use_case_id = :use_case_id AND e.model = :model
    ORDER BY e.chunk_id
    """
)


def _chunk_texts() -> Select:
    return select(
        ChunkRecord.id, DocumentRecord.doc_id, ChunkRecord.heading, ChunkRecord.text
    ).join(DocumentRecord, col(DocumentRecord.id) == ChunkRecord.document_id)


def chunks_without_embedding(use_case: str, model: str, *, session: Session) -> list[ChunkText]:
    """The chunks of a use case that have no vector from `model` yet, in id order."""
    rows = session.exec(
        _chunk_texts()
        .outerjoin(
            ChunkEmbeddingRecord,
            and_(
                col(ChunkEmbeddingRecord.chunk_id) == ChunkRecord.id,
                col(ChunkEmbeddingRecord.model) == model,
            ),
        )
        .where(
            ChunkRecord.use_case_id == lookup.use_case_id(session, use_case),
            col(ChunkEmbeddingRecord.chunk_id).is_(None),
        )
        .order_by(col(ChunkRecord.id))
    ).all()
    return [ChunkText(chunk_id=i, document_id=d, heading=h, text=t) for i, d, h, t in rows]


def save_embeddings(
    model: str, chunk_ids: Sequence[int], vectors: "np.ndarray", *, session: Session
) -> int:
    """Keep one vector per chunk (row i for `chunk_ids[i]`); returns how many were written."""
    if vectors.ndim != 2 or vectors.shape[0] != len(chunk_ids):
        raise InputError(f"{len(chunk_ids)} chunk ids but vectors of shape {vectors.shape}")
    if not chunk_ids:
        return 0
    rows = vectors.astype(FLOAT32, copy=False)
    session.execute(
        insert(ChunkEmbeddingRecord),
        [
            {"chunk_id": chunk_id, "model": model, "dimensions": rows.shape[1], "vector": row}
            for chunk_id, row in zip(chunk_ids, (r.tobytes() for r in rows), strict=True)
        ],
    )
    return len(chunk_ids)


def load_embeddings(use_case: str, model: str, *, session: Session) -> EmbeddingMatrix:
    """Every vector of a use case's chunks from `model`, normalised, in chunk id order."""
    import numpy as np  # here, not at the top: only retrieval by embeddings needs it

    rows = session.execute(
        _LOAD, {"use_case_id": lookup.use_case_id(session, use_case), "model": model}
    ).all()
    if not rows:
        return EmbeddingMatrix(chunk_ids=[], vectors=np.zeros((0, 0), FLOAT32))
    # Unpacked as tuples: reading 25,000 rows by column name costs more than the query.
    chunk_ids, sizes, blobs = zip(*rows, strict=True)
    dimensions = set(sizes)
    if len(dimensions) > 1:
        raise Conflict(
            f"use case {use_case!r}: vectors from {model!r} of different dimensions "
            f"{sorted(dimensions)}: re-index with one embedding model output size"
        )
    matrix = np.frombuffer(b"".join(blobs), dtype=FLOAT32).reshape(len(rows), dimensions.pop())
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    # A zero vector stays zero (similarity 0 to everything) instead of becoming NaN.
    unit = matrix / np.where(norms == 0, 1, norms)
    return EmbeddingMatrix(chunk_ids=list(chunk_ids), vectors=unit)


def get_chunks(chunk_ids: Sequence[int], *, session: Session) -> dict[int, ChunkText]:
    """The chunks with these ids, by id; unknown ids are left out."""
    found: dict[int, ChunkText] = {}
    unique = sorted(set(chunk_ids))
    for start in range(0, len(unique), _BATCH):
        batch = unique[start : start + _BATCH]
        rows = session.exec(_chunk_texts().where(col(ChunkRecord.id).in_(batch))).all()
        found |= {i: ChunkText(chunk_id=i, document_id=d, heading=h, text=t) for i, d, h, t in rows}
    return found
