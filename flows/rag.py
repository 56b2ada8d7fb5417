"""The RAG phase: index the documents, put the top-k passages into the prompt, score it."""

from prefect import flow, get_run_logger

from flows.context import UseCaseContext
from flows.labels import build_rag_run_name
from flows.results import Candidate
from flows.scoring import retrieve_for, score_configuration
from state.domain import Configuration, ConfigurationDraft, IngestReport
from state.errors import SpecError
from state.phases import Phase
from tasks import progress
from tasks.embedding_index import index_embeddings
from tasks.retrieval import index_documents, retrieval_hit_rate


def _index(ctx: UseCaseContext, indexed: IngestReport | None) -> tuple[IngestReport, dict]:
    """Index the documents unless the check's entry did, embed them for the embeddings
    retriever; the report and the retrieval fields."""
    logger = get_run_logger()
    documents_dir = ctx.data_path("documents")
    if documents_dir is None:
        raise SpecError(f"{ctx.use_case.spec_path}: data.documents: needed for the RAG phase")
    rag = ctx.spec.rag
    if indexed is None:
        progress.stage(f"{ctx.name}: indexing the documents of {documents_dir}")
    report = indexed or index_documents(
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
        progress.stage(f"{ctx.name}: embedding {report.chunks} chunks with {ctx.embedding_model}")
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


def _configuration(ctx: UseCaseContext, draft: ConfigurationDraft) -> Configuration:
    """The RAG configuration on the active configuration's prompt version, else the spec's first.

    In a check on a prompted active configuration, it is kept for the decision to store.
    """
    active = ctx.start.active if ctx.start is not None else None
    if active is None or active.prompt_version_id is None:
        return ctx.store.save_rag_configuration(
            ctx.name,
            draft,
            active_id=ctx.use_case.active_configuration_id,
            first_prompt=ctx.spec.prompts[0],
        )
    return ctx.configuration_for(
        draft.model_copy(update={"prompt_version_id": active.prompt_version_id})
    )


@flow(name="build-rag", flow_run_name=build_rag_run_name)
def build_rag(
    use_case: str, use_cache: bool = True, indexed: IngestReport | None = None
) -> Candidate:
    """Index the use case's documents and score retrieval-augmented prompts on its eval set.

    `indexed`: the report of the check's entry, which indexed the documents already.
    """
    ctx = UseCaseContext.load(use_case)
    report, retrieval = _index(ctx, indexed)
    config = _configuration(
        ctx,
        ConfigurationDraft(
            phase=Phase.RAG, model=ctx.model, retrieval=retrieval, **ctx.output_settings
        ),
    )
    items, _ = ctx.eval_set
    passages = retrieve_for(ctx, config, items)  # once: for scoring and the hit rate
    run = score_configuration(
        ctx, config, use_cache=use_cache, passages=passages, with_decision=True
    )
    top_k = ctx.spec.rag.top_k
    hit_rate = retrieval_hit_rate(items, passages, top_k)
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
        passages=passages,
    )
