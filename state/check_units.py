"""Units of work of a phase check: what it reads as it starts, what it saves, its decision.

Each function takes the session as a keyword and does several store functions in it, so
that `Store` runs them as one transaction (or one consistent read).
"""

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlmodel import Session

from state import (
    approvals,
    configurations,
    decisions,
    evals,
    history,
    lease_loss,
    leases,
    model_versions,
    prompt_library,
    retirements,
    rollouts,
    usage,
    use_cases,
)
from state.domain.check_start import CheckStart
from state.domain.decisions import Activation, Approval, Decision, DecisionDraft
from state.domain.evals import EvalRun
from state.domain.operations import LeaseTaken
from state.domain.use_cases import (
    Configuration,
    ConfigurationDraft,
    ModelVersion,
    PromptVersion,
)
from state.errors import ApprovalError
from state.phases import DecisionKind
from state.spec import PromptVariant


def load_check_context(name: str, *, today: date, session: Session) -> CheckStart:
    use_case = use_cases.require_use_case(name, session=session)
    active_id = use_case.active_configuration_id
    active = configurations.get_configuration(active_id, session=session) if active_id else None
    return CheckStart(
        use_case,
        active,
        usage.volume(name, today=today, session=session),
        retirement=retirements.open_retirement(name, session=session),
        live_rollout=rollouts.get_live_rollout(name, session=session),
        active_prompt=prompt_library.get_prompt_version(active.prompt_version_id, session=session)
        if active and active.prompt_version_id is not None
        else None,
        active_run=evals.latest_eval_run(name, active.id, use_case.spec.metric, session=session)
        if active
        else None,
    )


def open_check(
    name: str, flow_run_id: str, *, today: date, ttl_seconds: float, session: Session
) -> tuple[LeaseTaken, CheckStart]:
    """Take a check's lease, then read what it starts from, under that lease.

    When a live holder has the lease the read is the same: the check records that it skipped.
    """
    taken = leases.acquire_lease(name, flow_run_id, ttl_seconds=ttl_seconds, session=session)
    return taken, load_check_context(name, today=today, session=session)


def record_check(
    use_case: str,
    draft: DecisionDraft,
    *,
    expected_version: int,
    approval_status: str | None,
    session: Session,
    lease_holder: str | None = None,
) -> Decision:
    # A check that lost its lease decides nothing (LeaseLost); the lease row stays locked
    # until the decision is written, so a break cannot land in between.
    if lease_holder is not None:
        lease_loss.require_lease(use_case, lease_holder, session=session)
    decision = decisions.record_decision(
        use_case, draft, expected_version=expected_version, session=session
    )
    if approval_status is not None:
        try:
            approvals.resolve_approval(
                draft.flow_run_id,
                approval_status,
                approver=draft.decided_by,
                reason=draft.reason,
                session=session,
            )
        except ApprovalError:
            pass  # answered already by the expiry sweeper; the decision is the same
    return decision


def expire_approval(approval: Approval, *, session: Session) -> bool:
    try:
        approvals.resolve_approval(
            approval.flow_run_id,
            "expired",
            approver="timeout",
            reason="approval window closed",
            session=session,
        )
    except ApprovalError:
        return False
    use_case = use_cases.require_use_case(approval.use_case, session=session)
    draft = DecisionDraft(
        kind=DecisionKind.EXPIRED,
        to_phase=approval.to_phase,
        configuration_id=use_case.active_configuration_id,
        candidate_configuration_id=approval.candidate_configuration_id,
        decided_by="timeout",
        reason=f"approval requested at {approval.requested_at:%Y-%m-%d %H:%M} UTC "
        "expired with no answer",
        flow_run_id=approval.flow_run_id,
    )
    decisions.record_decision(
        approval.use_case, draft, expected_version=use_case.version, session=session
    )
    return True


def save_prompted_configuration(
    use_case: str, variant: PromptVariant, draft: ConfigurationDraft, *, session: Session
) -> tuple[PromptVersion, Configuration]:
    version = prompt_library.save_prompt_version(use_case, variant, session=session)
    draft = draft.model_copy(update={"prompt_version_id": version.id})
    return version, configurations.save_configuration(use_case, draft, session=session)


def prompted_configurations(
    use_case: str, variants: Sequence[PromptVariant], draft: ConfigurationDraft, *, session: Session
) -> list[tuple[PromptVersion, Configuration | None]]:
    """Each variant's prompt version (stored: the library keeps every prompt a check tried)
    and its configuration if stored, else None (the check keeps it until its decision)."""
    found = []
    for variant in variants:
        version = prompt_library.save_prompt_version(use_case, variant, session=session)
        wanted = draft.model_copy(update={"prompt_version_id": version.id})
        found.append(
            (version, configurations.find_configuration(use_case, wanted, session=session))
        )
    return found


def save_rag_configuration(
    use_case: str,
    draft: ConfigurationDraft,
    *,
    active_id: int | None,
    first_prompt: PromptVariant,
    session: Session,
) -> Configuration:
    """RAG builds on the active configuration's prompt version, else on the spec's first."""
    active = configurations.get_configuration(active_id, session=session) if active_id else None
    if active is not None and active.prompt_version_id is not None:
        version_id = active.prompt_version_id
    else:
        version_id = prompt_library.save_prompt_version(use_case, first_prompt, session=session).id
    draft = draft.model_copy(update={"prompt_version_id": version_id})
    return configurations.save_configuration(use_case, draft, session=session)


def save_tuned_configuration(
    use_case: str,
    version: dict[str, Any],
    variant: PromptVariant,
    draft: ConfigurationDraft,
    *,
    session: Session,
) -> tuple[ModelVersion, Configuration]:
    tuned = model_versions.record_model_version(use_case, **version, session=session)
    prompt = prompt_library.save_prompt_version(use_case, variant, session=session)
    draft = draft.model_copy(update={"prompt_version_id": prompt.id, "model_version_id": tuned.id})
    return tuned, configurations.save_configuration(use_case, draft, session=session)


def get_configurations(ids: Sequence[int], *, session: Session) -> list[Configuration | None]:
    return [configurations.get_configuration(i, session=session) for i in ids]


def get_eval_runs(ids: Sequence[int], *, session: Session) -> list[EvalRun | None]:
    return [evals.get_eval_run(i, session=session) for i in ids]


def activations(
    use_case: str, configuration_id: int, *, session: Session
) -> tuple[Configuration | None, list[Activation]]:
    config = (
        configurations.get_configuration(configuration_id, session=session)
        if configuration_id
        else None
    )
    return config, history.activation_stack(use_case, session=session)


def earlier_configurations(use_case: str, *, session: Session) -> list[Configuration]:
    """The configurations activated before the active one, newest first."""
    stack = history.activation_stack(use_case, session=session)[:-1]
    ids = [a.configuration_id for a in reversed(stack) if a.configuration_id]
    return [
        c for i in ids if (c := configurations.get_configuration(i, session=session)) is not None
    ]


def pending_approvals_of(use_case: str, *, session: Session) -> list[Approval]:
    use_cases.require_use_case(use_case, session=session)
    return approvals.pending_approvals(session=session, use_case=use_case)


def approval_to_answer(use_case: str, *, session: Session) -> Approval:
    """The pending approval of a use case, if its check still holds the use case's lease.

    ApprovalError otherwise: nothing pending, or the check that asked lost its lease (an
    answer would decide nothing).
    """
    use_cases.require_use_case(use_case, session=session)
    pending = approvals.pending_approvals(session=session, use_case=use_case)
    if pending:
        lost = lease_loss.lost_reason(use_case, pending[-1].flow_run_id, session=session)
        if lost is None:
            return pending[-1]
        raise ApprovalError(f"{lost}; an answer would decide nothing")
    latest = approvals.latest_approval(use_case, session=session)
    if latest is not None and latest.status == "cancelled":
        raise ApprovalError(f"{latest.reason}; an answer would decide nothing")
    raise ApprovalError(f"{use_case}: no approval is pending")


def cancel_approval(flow_run_id: str, reason: str, *, session: Session) -> bool:
    """Close a check's pending approval as `cancelled` (it lost its lease); False if none."""
    try:
        approvals.resolve_approval(
            flow_run_id, "cancelled", approver="phasegate", reason=reason, session=session
        )
    except ApprovalError:
        return False
    return True
