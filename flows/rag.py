"""The RAG phase: index the documents, put the top-k passages into the prompt, score it."""

from prefect import flow, get_run_logger

from flows.context import UseCaseContext
from flows.labels import build_rag_run_name
from flows.results import Candidate
from flows.scoring import score_configuration
from state.db import store_session
from state.documents import IngestReport
from state.domain import ConfigurationDraft
from state.errors import SpecError
from state.phases import Phase
from state.prompt_library import save_prompt_version
from state.store import get_configuration, save_configuration
from tasks.embedding_index import index_embeddings
from tasks.retrieval import index_documents, retrieval_hit_rate, retrieve_passages


def base_prompt_version(ctx: UseCaseContext) -> int:
    """The prompt version RAG builds on: the active configuration's, else the spec's first."""
    with store_session(ctx.store_url) as session:
        active_id = ctx.use_case.active_configuration_id
        active = get_configuration(active_id, session=session) if active_id else None
        if active is not None and active.prompt_version_id is not None:
            return active.prompt_version_id
        return save_prompt_version(ctx.name, ctx.spec.prompts[0], session=session).id


def _index(ctx: UseCaseContext) -> tuple[IngestReport, dict]:
    """Index the documents (and embed them for the embeddings retriever); the retrieval fields."""
    logger = get_run_logger()
    documents_dir = ctx.data_path("documents")
    if documents_dir is None:
        raise SpecError(f"{ctx.use_case.spec_path}: data.documents: needed for the RAG phase")
    rag = ctx.spec.rag
    report = index_documents(
        ctx.name, str(documents_dir), rag.chunk_size, rag.chunk_overlap, ctx.store_url
    )
    logger.info(
        "%s: %d documents (%d added, %d changed, %d removed), %d chunks",
        ctx.name,
        report.documents,
        report.added,
        report.changed,
        report.removed,
        report.chunks,
    )
    # The embedding model is no part of an fts configuration: changing it changes nothing.
    retrieval = rag.model_dump(exclude={"embedding_model"}) | {
        "documents_hash": report.documents_hash
    }
    if rag.retriever == "embeddings":
        embedded = index_embeddings(ctx.name, ctx.embedding_model, ctx.store_url, ctx.provider)
        logger.info(
            "%s: %d chunks embedded with %s in %d provider calls",
            ctx.name,
            embedded.embedded,
            embedded.model,
            embedded.provider_calls,
        )
        retrieval["embedding_model"] = ctx.embedding_model
    return report, retrieval


def _hit_rate(ctx: UseCaseContext, retrieval: dict) -> float | None:
    """The retrieval hit rate @k on the eval items that name their passage."""
    items, _ = ctx.eval_set
    passages = retrieve_passages(
        ctx.name,
        [i.input for i in items],
        ctx.spec.rag.top_k,
        ctx.store_url,
        retriever=ctx.spec.rag.retriever,
        embedding_model=retrieval.get("embedding_model"),
        provider=ctx.provider,
    )
    return retrieval_hit_rate(items, passages, ctx.spec.rag.top_k)


@flow(name="build-rag", flow_run_name=build_rag_run_name)
def build_rag(use_case: str, use_cache: bool = True) -> Candidate:
    """Index the use case's documents and score retrieval-augmented prompts on its eval set."""
    ctx = UseCaseContext.load(use_case)
    report, retrieval = _index(ctx)
    with store_session(ctx.store_url) as session:
        config = save_configuration(
            use_case,
            ConfigurationDraft(
                phase=Phase.RAG,
                model=ctx.model,
                prompt_version_id=base_prompt_version(ctx),
                retrieval=retrieval,
                **ctx.output_settings,
            ),
            session=session,
        )
    run = score_configuration(ctx, config, use_cache=use_cache)
    hit_rate = _hit_rate(ctx, retrieval)
    top_k = ctx.spec.rag.top_k
    get_run_logger().info(
        "%s: RAG scored %.3f, retrieval hit rate @%d %s",
        use_case,
        run.mean,
        top_k,
        "n/a" if hit_rate is None else f"{hit_rate:.3f}",
    )
    return Candidate(
        phase=Phase.RAG,
        configuration_id=config.id,
        eval_run=run,
        evidence={
            "documents": report.documents,
            "chunks": report.chunks,
            "retrieval_hit_rate": hit_rate,
            "top_k": top_k,
        },
    )
