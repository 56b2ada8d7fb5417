"""The domain's glossary: every value the `Store` takes or returns, and the module it is in.

Import a term from here (`from state.domain import UseCase`). Each term loads its module on
first use, so that `phasegate status` reads its rows without loading pydantic or numpy.
"""

from importlib import import_module
from typing import Any

_TERMS = {
    # use_cases: a use case, what it runs, and what a check reads as it starts
    "UseCase": "use_cases",
    "ApplyResult": "use_cases",
    "ConfigurationDraft": "use_cases",
    "Configuration": "use_cases",
    "configuration_label": "use_cases",
    "PromptVersion": "use_cases",
    "ModelVersion": "use_cases",
    "ActiveParts": "use_cases",
    "ServedArms": "use_cases",
    "CheckStart": "check_start",
    # decisions: what a check decided and why, the activations, a person's approval
    "GateResult": "decisions",
    "DecisionDraft": "decisions",
    "Decision": "decisions",
    "Activation": "decisions",
    "Approval": "decisions",
    "ApprovalStatus": "decisions",
    "Scalar": "decisions",
    # evals: the eval set, a scored run, and the report read from them
    "EvalItem": "evals",
    "ItemResult": "evals",
    "EvalFigures": "evals",
    "EvalRun": "evals",
    "LatencyPairs": "evals",
    "ReportRead": "evals",
    # unstored: what a check scored, kept until its decision stores it
    "Unstored": "unstored",
    "as_stored": "unstored",
    # intake: what applications report, and the signed deliveries it comes in
    "UsageCount": "intake",
    "NewInteraction": "intake",
    "Interaction": "intake",
    "Delivery": "intake",
    "Replays": "intake",
    "provider_scope": "intake",
    "Observation": "intake",
    # documents: knowledge documents, their chunks, the passages retrieved
    "Chunk": "documents",
    "DocumentInput": "documents",
    "IngestReport": "documents",
    "ChunkText": "documents",
    "RetrievedChunk": "documents",
    "EmbeddingMatrix": "documents",
    "Chunker": "documents",
    # rollouts: live traffic split between the control and canaries
    "Arm": "rollouts",
    "RolloutDraft": "rollouts",
    "Rollout": "rollouts",
    "RolloutStatus": "rollouts",
    "RolloutAction": "rollouts",
    "RolloutMoved": "rollouts",
    # retirements: a model's noted shutdown, the golden outputs kept before it
    "RetirementNotice": "retirements",
    "NoticeRecorded": "retirements",
    "Retirement": "retirements",
    "GoldenSet": "retirements",
    # operations: leases, their breaks, a prune; status: one row of `phasegate status`
    "LeaseInfo": "operations",
    "LeaseBreak": "operations",
    "LeaseTaken": "operations",
    "PruneReport": "operations",
    "IntakeTotals": "operations",
    "BatchWait": "operations",
    "StatusRow": "status",
}


def __getattr__(name: str) -> Any:
    """A term of the glossary, from the module that declares it."""
    if name not in _TERMS:
        raise AttributeError(f"state.domain has no term {name!r}")
    return getattr(import_module(f"state.domain.{_TERMS[name]}"), name)


def __dir__() -> list[str]:
    return sorted(_TERMS)
