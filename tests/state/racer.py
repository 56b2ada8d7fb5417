"""A process that tries to advance a use case's phase; used by the race test."""

from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier

from state.configurations import save_configuration
from state.db import make_engine, session_scope
from state.decisions import record_decision
from state.domain import ConfigurationDraft, DecisionDraft
from state.errors import Conflict
from state.phases import DecisionKind, Phase


def advance(url: str, expected_version: int, label: str, barrier: Barrier, results: Queue) -> None:
    """Try to move `demo-qa` to RAG; put (label, 'won' or 'conflict') on `results`."""
    results.put((label, _advance(url, expected_version, label, barrier)))


def _advance(url: str, expected_version: int, label: str, barrier: Barrier) -> str:
    engine = make_engine(url)
    try:
        barrier.wait(timeout=30)
        with session_scope(engine) as session:
            config = save_configuration(
                "demo-qa", ConfigurationDraft(phase=Phase.RAG, model=label), session=session
            )
            record_decision(
                "demo-qa",
                DecisionDraft(
                    kind=DecisionKind.ADVANCED,
                    to_phase=Phase.RAG,
                    configuration_id=config.id,
                    flow_run_id=label,
                ),
                expected_version=expected_version,
                session=session,
            )
        return "won"
    except Conflict:
        return "conflict"
    finally:
        engine.dispose()
