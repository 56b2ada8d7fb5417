"""Gather what the entry checks of a transition read: volume, documents, clean examples."""

from datetime import UTC, datetime
from typing import Any, NamedTuple

from flows.context import UseCaseContext
from state.domain import GateResult
from state.errors import LeakageError
from state.phases import GateStatus, Phase
from tasks.gates import DATA_LEAKAGE
from tasks.retrieval import index_documents


class EntryData(NamedTuple):
    """The entry checks' fields, the checks refused on the spot, and what the builder reuses."""

    fields: dict[str, Any]
    refused: list[GateResult]
    reuse: dict[str, Any] = {}


def volume_30d(ctx: UseCaseContext) -> int:
    """Queries of the use case in the last 30 days (as the check read them at its start)."""
    if ctx.start is not None:
        return ctx.start.volume_30d
    return ctx.store.volume(ctx.name, today=datetime.now(UTC).date())


def rag_entry(ctx: UseCaseContext) -> EntryData:
    """Index the documents (local, no provider cost) and count documents and chunks.

    The builder gets the index's report, so that one check indexes the documents once.
    """
    documents_dir = ctx.data_path("documents")
    if documents_dir is None:
        return EntryData({"documents": 0, "chunks": 0}, [])
    rag = ctx.spec.rag
    report = index_documents(
        ctx.name, str(documents_dir), rag.chunk_size, rag.chunk_overlap, ctx.store_url
    )
    fields = {"documents": report.documents, "chunks": report.chunks}
    return EntryData(fields, [], {"indexed": report})


def fine_tuning_entry(ctx: UseCaseContext) -> EntryData:
    """Validate the training data (local) and count clean examples; leakage is refused."""
    fields = {"self_hosted": ctx.settings.endpoint_self_hosted}
    if ctx.data_path("training") is None:
        return EntryData(fields | {"clean_examples": 0}, [])
    from flows.fine_tuning import prepare  # the trainer stack, for checks that get this far

    try:
        prepared = prepare(ctx)
    except LeakageError as exc:
        refused = DATA_LEAKAGE.result(
            GateStatus.FAIL,
            str(exc),
            observed="eval inputs in training data",
            threshold="none",
        )
        return EntryData(fields | {"clean_examples": 0}, [refused])
    return EntryData(fields | {"clean_examples": len(prepared.report.examples)}, [])


ENTRY_DATA = {Phase.RAG: rag_entry, Phase.FINE_TUNING: fine_tuning_entry}
