"""The RAG phase with the embeddings retriever, through real phase-check flow runs."""

from collections.abc import Callable

import pytest

from tests.flows.checks import JourneyRecord, run_check
from tests.flows.journey import Journey

SUPPORT_QA_RAG = {"top_k": 3, "chunk_size": 600, "chunk_overlap": 80}


@pytest.mark.prefect
def test_check_phase_fts_configuration_names_no_embedding_model(
    journey_record: JourneyRecord,
) -> None:
    retrieval = journey_record.steps["rag"].active.retrieval
    assert sorted(retrieval) == [
        "chunk_overlap",
        "chunk_size",
        "documents_hash",
        "retriever",
        "top_k",
    ]


@pytest.mark.prefect
def test_check_phase_advances_to_rag_with_the_embeddings_retriever(
    journey_from: Callable[..., Journey],
) -> None:
    # No embedding_model: PHASEGATE_EMBEDDING_MODEL's default, the sandbox's sandbox-base.
    journey = journey_from("baselined", rag=SUPPORT_QA_RAG | {"retriever": "embeddings"})
    step = run_check(journey)
    assert (step.state.name, step.decision.kind, step.decision.to_phase) == (
        "Advanced",
        "advanced",
        "rag",
    )
    retrieval = step.active.retrieval
    assert (retrieval["retriever"], retrieval["embedding_model"]) == ("embeddings", "sandbox-base")
    # 87 chunks in one request; the 142 questions in two for scoring and the hit rate (they
    # share the passages, and so does the interleaved latency timing of the candidate).
    assert journey.sandbox.stats()["embeddings"] == 1 + 2


@pytest.mark.prefect
def test_check_phase_holds_when_the_embedding_model_fails(
    journey_from: Callable[..., Journey],
) -> None:
    rag = SUPPORT_QA_RAG | {"retriever": "embeddings", "embedding_model": "no-such-model"}
    journey = journey_from("baselined", rag=rag)
    step = run_check(journey)
    assert (step.state.name, step.decision.kind, step.decision.to_phase) == (
        "Held",
        "held",
        "rag",
    )
    assert step.decision.reason.startswith("embeddings with model 'no-such-model' failed: HTTP 404")
    assert step.use_case.active_phase == "prompting"
