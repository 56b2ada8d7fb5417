"""A store holding use cases in every phase, as `phasegate status` shows them."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from state import configurations, decisions, use_cases
from state.approvals import request_approval, resolve_approval
from state.domain import ConfigurationDraft, DecisionDraft, UsageCount
from state.phases import DecisionKind, Phase
from state.spec import load_spec
from state.usage import record_usage_many
from tests.specs import write_spec

NAMES = ("alpha-new", "beta-rag", "gamma-tuned")


def _decide(name: str, kind: DecisionKind, to: Phase, config: int | None, session: Session) -> None:
    version = use_cases.require_use_case(name, session=session).version
    draft = DecisionDraft(kind=kind, to_phase=to, configuration_id=config, reason=f"{kind}")
    decisions.record_decision(name, draft, expected_version=version, session=session)


def fill_store(specs: Path, today: date, *, session: Session) -> None:
    """alpha-new: registered only; beta-rag: in RAG with retrieval, held since, an approval
    pending, usage in and out of the 30-day window; gamma-tuned: fine-tuned and routed."""
    for name in NAMES:
        use_cases.apply_spec(load_spec(write_spec(specs, name=name)), session=session)
    base = configurations.save_configuration(
        "beta-rag", ConfigurationDraft(phase=Phase.PROMPTING, model="sandbox-base"), session=session
    )
    _decide("beta-rag", DecisionKind.BASELINED, Phase.PROMPTING, base.id, session)
    rag = ConfigurationDraft(
        phase=Phase.RAG, model="sandbox-base", retrieval={"top_k": 3, "retriever": "bm25"}
    )
    rag_id = configurations.save_configuration("beta-rag", rag, session=session).id
    _decide("beta-rag", DecisionKind.ADVANCED, Phase.RAG, rag_id, session)
    _decide("beta-rag", DecisionKind.HELD, Phase.RAG, None, session)
    expires = datetime.now(UTC) + timedelta(hours=1)
    for run in ("run-answered", "run-pending"):
        request_approval(
            "beta-rag",
            run,
            to_phase=Phase.FINE_TUNING,
            candidate_configuration_id=None,
            expires_at=expires,
            session=session,
        )
    resolve_approval("run-answered", "rejected", approver="ana", reason="no", session=session)
    for days_ago, count in ((0, 1200), (29, 34), (30, 5000)):  # the last is outside the window
        record_usage_many(
            [UsageCount("beta-rag", today - timedelta(days=days_ago), count)], session=session
        )
    record_usage_many([UsageCount("gamma-tuned", today, 7, "app")], session=session)
    tuned = ConfigurationDraft(
        phase=Phase.FINE_TUNING,
        model="ft:sandbox-base:gamma:1a2b",
        routing={"simple": "sandbox-small", "threshold": 0.5},
    )
    tuned_id = configurations.save_configuration("gamma-tuned", tuned, session=session).id
    _decide("gamma-tuned", DecisionKind.ADVANCED, Phase.FINE_TUNING, tuned_id, session)
