"""Gather what the entry checks of a transition read: volume, documents, clean examples."""

from datetime import UTC, datetime
from typing import Any

from flows.context import UseCaseContext
from flows.fine_tuning import prepare
from state.db import store_session
from state.domain import GateResult
from state.errors import LeakageError
from state.phases import GateStatus, Phase, Stage
from state.usage import volume
from tasks.gates import gate_result
from tasks.retrieval import index_documents


def volume_30d(ctx: UseCaseContext) -> int:
    """Queries of the use case in the last 30 days."""
    with store_session(ctx.store_url) as session:
        return volume(ctx.name, today=datetime.now(UTC).date(), session=session)


def rag_entry(ctx: UseCaseContext) -> tuple[dict[str, Any], list[GateResult]]:
    """Index the documents (local, no provider cost) and count documents and chunks."""
    documents_dir = ctx.data_path("documents")
    if documents_dir is None:
        return {"documents": 0, "chunks": 0}, []
    rag = ctx.spec.rag
    report = index_documents(
        ctx.name, str(documents_dir), rag.chunk_size, rag.chunk_overlap, ctx.store_url
    )
    return {"documents": report.documents, "chunks": report.chunks}, []


def fine_tuning_entry(ctx: UseCaseContext) -> tuple[dict[str, Any], list[GateResult]]:
    """Validate the training data (local) and count clean examples; leakage is refused."""
    fields = {"self_hosted": ctx.settings.endpoint_self_hosted}
    if ctx.data_path("training") is None:
        return fields | {"clean_examples": 0}, []
    try:
        prepared = prepare(ctx)
    except LeakageError as exc:
        refused = gate_result(
            "data_leakage",
            Stage.ENTRY,
            GateStatus.FAIL,
            str(exc),
            observed="eval inputs in training data",
            threshold="none",
        )
        return fields | {"clean_examples": 0}, [refused]
    return fields | {"clean_examples": len(prepared.report.examples)}, []


ENTRY_DATA = {Phase.RAG: rag_entry, Phase.FINE_TUNING: fine_tuning_entry}
