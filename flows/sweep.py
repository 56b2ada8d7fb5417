"""The nightly sweep: close expired approvals, prune past retention, check every use case."""

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime, timedelta
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from flows.idle import hold_if_idle
from flows.labels import sweep_run_name
from flows.phase_check import check_phase
from state.domain import PruneReport
from state.errors import PrefectUnavailable
from state.settings import get_settings
from state.store_api import Store
from tasks.approvals import check_deployment, hand_off_check
from tasks.flow_runs import delete_artifacts, prefect_run_ids


def expire_stale_approvals(store_url: str) -> int:
    """Record `expired` for approvals whose time ran out while nobody waited on them.

    A paused check whose process died never records its expiry; this does, once per flow run
    (the decision's idempotency key is the paused run's id).
    """
    store = Store(store_url)
    # Each in its own unit of work: one that another process closed first is skipped.
    return sum(store.expire_approval(approval) for approval in store.expired_approvals())


def prune_store(
    store_url: str,
    older_than: timedelta,
    api: Callable[[], AbstractContextManager] = nullcontext,
) -> tuple[PruneReport, int]:
    """Delete the Prefect artifacts of what pruning removes, then prune the store.

    Artifacts first: with the Prefect API down, PrefectUnavailable leaves the store untouched
    (pruned first, the runs' ids would be lost with their artifacts still there). `api` gives
    the Prefect API to use; it is entered only when there are artifacts to delete.
    """
    store, now = Store(store_url), datetime.now(UTC)  # one cutoff for the plan and the prune
    planned = store.prune(older_than=older_than, now=now, dry_run=True).flow_run_ids
    deleted = 0
    if prefect_run_ids(planned):
        try:
            with api():
                deleted = delete_artifacts(planned)
        except PrefectUnavailable as exc:
            raise PrefectUnavailable(f"{exc}; the store was not pruned") from exc
    report = store.prune(older_than=older_than, now=now)
    # A decision recorded meanwhile can only keep more runs: nothing is left with artifacts.
    return report, deleted


@flow(name="sweep", flow_run_name=sweep_run_name)
def sweep(auto_approve: bool = False) -> dict[str, str]:
    """Expire stale approvals, prune past retention, check every use case; returns each outcome.

    With the phase-check deployment, idle use cases are held here (flows/idle.py) and every
    other one gets a run of that deployment, started without waiting ("Started"): the
    deployment's concurrency limit bounds how many run at once. Without it (a temporary API)
    the checks run here in turn. Either way a check that needs a person's approval does not
    hold up the sweep: it is handed to a run of the deployment, or held.
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
    names = [u.name for u in Store(store_url).list_use_cases()]
    if (deployment_id := check_deployment()) is not None:
        outcomes = spread(deployment_id, names, auto_approve)
    else:
        outcomes = in_turn(names, auto_approve)
    logger.info("sweep: %s", outcomes)
    return outcomes


def spread(deployment_id: UUID, names: list[str], auto_approve: bool) -> dict[str, str]:
    """Hold the idle use cases here; start a run of the deployment for each other one."""
    outcomes = {}
    for name in names:
        if (held := hold_if_idle(name)) is not None:
            outcomes[name] = held.decision.value.title()
            continue
        # Queued at once: the deployment's concurrency limit (a Prefect global concurrency
        # limit) lets a few run at a time, on whichever workers poll the pool.
        run_name = hand_off_check(deployment_id, name, auto_approve=auto_approve)
        get_run_logger().info("%s: needs a look; flow run %s checks it", name, run_name)
        outcomes[name] = "Started"
    return outcomes


def in_turn(names: list[str], auto_approve: bool) -> dict[str, str]:
    """Check every use case here, one after another, each in a subflow run."""
    outcomes = {}
    # The checks run as subflows in this process, whose own heartbeat shows it is alive;
    # joining a heartbeat thread per subflow would cost ≈ 0.8 s per use case.
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        for name in names:
            state = check_phase(
                name, auto_approve=auto_approve, wait_for_approval=False, return_state=True
            )
            outcomes[name] = state.name if state.is_completed() else f"{state.type.value}"
    return outcomes
