"""Units of work of what comes in: document files and their search, usage, interactions.

Each function takes the session as a keyword and does several store functions in it, so
that `Store` runs them as one transaction; webhook deliveries are reserved in the same one.
"""

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from pathlib import Path

from sqlmodel import Session

from state import (
    deliveries,
    documents,
    embeddings,
    interactions,
    lookup,
    rollouts,
    usage,
    use_cases,
)
from state.domain.documents import (
    Chunker,
    ChunkText,
    DocumentInput,
    EmbeddingMatrix,
    IngestReport,
    RetrievedChunk,
)
from state.domain.intake import Delivery, NewInteraction, Replays, UsageCount
from state.errors import InputError, NotFound


def sync_document_files(
    use_case: str,
    files: Mapping[str, Path],
    chunker: str,
    chunk: Chunker,
    *,
    session: Session,
) -> IngestReport:
    known = documents.document_versions(use_case, session=session)
    inputs = []
    for doc_id, path in files.items():
        raw = path.read_bytes()
        content_hash = hashlib.sha256(raw).hexdigest()
        chunks = None
        if known.get(doc_id) != (content_hash, chunker):
            chunks = chunk(doc_id, path, raw)
        inputs.append(
            DocumentInput(doc_id=doc_id, content_hash=content_hash, chunker=chunker, chunks=chunks)
        )
    return documents.sync_documents(use_case, inputs, session=session)


def search_chunks(
    use_case: str, queries: Sequence[str], k: int, *, session: Session
) -> list[list[RetrievedChunk]]:
    return [documents.search_chunks(use_case, query, k, session=session) for query in queries]


def nearest_chunks(
    use_case: str,
    model: str,
    rank: Callable[[EmbeddingMatrix], list[list[int]]],
    *,
    session: Session,
) -> tuple[list[list[int]], dict[int, ChunkText]]:
    ranked = rank(embeddings.load_embeddings(use_case, model, session=session))
    chunks = embeddings.get_chunks([c for ids in ranked for c in ids], session=session)
    return ranked, chunks


def record_daily_usage(count: UsageCount, *, today: date, session: Session) -> int:
    """Set one day's count; the use case's 30-day volume after it."""
    usage.record_usage_many([count], session=session)
    return usage.volume(count.use_case, today=today, session=session)


def import_usage(rows: Mapping[int, UsageCount], path: Path, *, session: Session) -> int:
    first_line: dict[str, int] = {}
    for line, row in rows.items():
        first_line.setdefault(row.use_case, line)
    for name, line in first_line.items():
        try:
            lookup.use_case_id(session, name)
        except NotFound as exc:
            raise NotFound(f"{path}: line {line}: use_case: {exc}") from exc
    return usage.record_usage_many(list(rows.values()), session=session)


def record_usage_deliveries(
    replays: Replays,
    reports: Sequence[tuple[Sequence[UsageCount], Delivery]],
    *,
    session: Session,
) -> list[int | NotFound | None]:
    """Reserve the deliveries and write the counts of the new ones; None for a replay.

    A report refused (unknown use case) frees its delivery's id.
    """
    new = deliveries.reserve(replays, [delivery for _, delivery in reports], session=session)
    written = iter(
        usage.record_usage_reports(
            [counts for (counts, _), fresh in zip(reports, new, strict=True) if fresh],
            session=session,
        )
    )
    results: list[int | NotFound | None] = []
    for (_, delivery), fresh in zip(reports, new, strict=True):
        if not fresh:
            results.append(None)
            continue
        result = next(written)
        if isinstance(result, NotFound):
            deliveries.release_delivery(delivery, session=session)
        results.append(result)
    return results


def reserve_for_use_case(replays: Replays, delivery: Delivery, *, session: Session) -> bool:
    use_cases.require_use_case(delivery.use_case, session=session)
    return deliveries.reserve(replays, [delivery], session=session)[0]


def reserve_provider_event(replays: Replays, delivery: Delivery, *, session: Session) -> bool:
    """Reserve a provider webhook's id under its scope (`openai:<object id>`); False: a replay."""
    return deliveries.reserve(replays, [delivery], session=session)[0]


def release_delivery(replays: Replays, delivery: Delivery, *, session: Session) -> None:
    deliveries.release_delivery(delivery, session=session)


def record_interactions_once(
    replays: Replays,
    delivery: Delivery,
    records: list[NewInteraction],
    *,
    session: Session,
) -> tuple[int, int] | None:
    """Reserve the delivery and store its interactions; None for a replay.

    An interaction naming a configuration the use case never served (neither the active one
    nor a rollout arm) refuses the whole batch with InputError, before anything is written.
    """
    named = {r.configuration_id for r in records if r.configuration_id is not None}
    if named:
        served = rollouts.served_configuration_ids(delivery.use_case, session=session)
        for index, record in enumerate(records):
            if record.configuration_id is not None and record.configuration_id not in served:
                raise InputError(
                    f"interactions.{index}.configuration_id: {record.configuration_id} is not "
                    f"a configuration {delivery.use_case!r} serves (the active one or a "
                    "rollout arm, as GET .../active names it)"
                )
    if not deliveries.reserve(replays, [delivery], session=session)[0]:
        return None
    return interactions.record_interactions(delivery.use_case, records, session=session)
