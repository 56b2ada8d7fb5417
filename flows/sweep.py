"""The nightly sweep: close expired approvals, prune past retention, check every use case."""

from datetime import timedelta

from prefect import flow, get_run_logger
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from flows.labels import sweep_run_name
from flows.phase_check import check_phase
from state.approvals import expired_approvals, resolve_approval
from state.db import store_session
from state.domain import DecisionDraft
from state.errors import ApprovalError
from state.phases import DecisionKind
from state.retention import PruneReport, prune
from state.settings import get_settings
from state.store import list_use_cases, record_decision, require_use_case
from tasks.flow_runs import delete_artifacts


def expire_stale_approvals(store_url: str) -> int:
    """Record `expired` for approvals whose time ran out while nobody waited on them.

    A paused check whose process died never records its expiry; this does, once per flow run
    (the decision's idempotency key is the paused run's id).
    """
    closed = 0
    with store_session(store_url) as session:
        stale = expired_approvals(session=session)
    for approval in stale:
        with store_session(store_url) as session:
            try:
                resolve_approval(
                    approval.flow_run_id,
                    "expired",
                    approver="timeout",
                    reason="approval window closed",
                    session=session,
                )
            except ApprovalError:
                continue
            use_case = require_use_case(approval.use_case, session=session)
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
            record_decision(
                approval.use_case, draft, expected_version=use_case.version, session=session
            )
            closed += 1
    return closed


def prune_store(store_url: str, older_than: timedelta) -> tuple[PruneReport, int]:
    """Prune the store past retention, then delete the pruned flow runs' Prefect artifacts."""
    with store_session(store_url) as session:
        report = prune(older_than=older_than, session=session)
    return report, delete_artifacts(report.flow_run_ids)


@flow(name="sweep", flow_run_name=sweep_run_name)
def sweep(auto_approve: bool = False) -> dict[str, str]:
    """Expire stale approvals, prune past retention, check every use case; returns each outcome.

    A check that needs a person's approval does not hold up the sweep: it is handed to a run
    of the phase-check deployment, which pauses for the approval on its own.
    """
    logger = get_run_logger()
    settings = get_settings()
    store_url = settings.store_url
    if closed := expire_stale_approvals(store_url):
        logger.warning("closed %d expired approvals", closed)
    if settings.retention_days:
        report, artifacts = prune_store(store_url, timedelta(days=settings.retention_days))
        logger.info(
            "pruned past %d days: %s; %d artifacts", settings.retention_days, report, artifacts
        )
    with store_session(store_url) as session:
        names = [u.name for u in list_use_cases(session=session)]
    outcomes = {}
    # The checks run as subflows in this process, whose own heartbeat shows it is alive;
    # joining a heartbeat thread per subflow would cost ≈ 0.8 s per use case.
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        for name in names:
            state = check_phase(
                name, auto_approve=auto_approve, wait_for_approval=False, return_state=True
            )
            outcomes[name] = state.name if state.is_completed() else f"{state.type.value}"
    logger.info("sweep: %s", outcomes)
    return outcomes
