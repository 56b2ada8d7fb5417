"""Units of work that read for people: status rows, a use case's report, leases.

Each function takes the session as a keyword and reads in it, so that `Store` gives one
consistent view.
"""

from collections.abc import Sequence
from datetime import date

from sqlmodel import Session, func, select

from state import (
    approvals,
    configurations,
    decisions,
    evals,
    leases,
    retirements,
    usage,
    use_cases,
)
from state.domain.evals import ReportRead
from state.domain.operations import IntakeTotals, LeaseBreak, LeaseInfo
from state.domain.use_cases import ApplyResult
from state.models import UsageRecord, WebhookDeliveryRecord
from state.spec import LoadedSpec


def apply_specs(loaded: Sequence[LoadedSpec], *, session: Session) -> list[ApplyResult]:
    return [use_cases.apply_spec(item, session=session) for item in loaded]


def leases_and_breaks(*, session: Session) -> tuple[list[LeaseInfo], list[LeaseBreak]]:
    return leases.list_leases(session=session), leases.list_lease_breaks(session=session)


def _retiring(use_case: str, *, session: Session) -> str | None:
    """The active model's noted shutdown, as `status` shows it: "model on YYYY-MM-DD"."""
    found = retirements.open_retirement(use_case, session=session)
    return f"{found.model} on {found.shutdown_date.isoformat()}" if found else None


def status_rows(*, today: date, session: Session) -> list[tuple]:
    """Every use case with its active configuration, last decision, volume, pending approval
    and the active model's noted retirement."""
    volumes = usage.volumes(today=today, session=session)
    pending = {a.use_case: a for a in approvals.pending_approvals(session=session)}
    rows = []
    for use_case in use_cases.list_use_cases(session=session):
        active_id = use_case.active_configuration_id
        config = configurations.get_configuration(active_id, session=session) if active_id else None
        last = decisions.list_decisions(use_case.name, session=session, limit=1)
        rows.append(
            (
                use_case,
                config,
                last[-1] if last else None,
                volumes[use_case.name],
                pending.get(use_case.name),
                _retiring(use_case.name, session=session),
            )
        )
    return rows


def read_report(use_case: str, *, session: Session) -> ReportRead:
    registered = use_cases.require_use_case(use_case, session=session)
    recorded = decisions.list_decisions(use_case, session=session)
    runs = evals.list_eval_runs(use_case, session=session)
    if registered.spec.guardrails:  # guardrail metrics are computed from per-item results
        runs = [evals.get_eval_run(r.id, session=session) or r for r in runs]
    config_ids = {r.configuration_id for r in runs if r.configuration_id is not None}
    configs = {i: configurations.get_configuration(i, session=session) for i in sorted(config_ids)}
    return ReportRead(registered, recorded, runs, configs)


def intake_totals(*, session: Session) -> IntakeTotals:
    """Usage rows and their summed counts, and the webhook ids kept, over every use case."""
    rows, total = session.exec(
        select(func.count(), func.coalesce(func.sum(UsageRecord.count), 0))
    ).one()
    deliveries = session.exec(select(func.count()).select_from(WebhookDeliveryRecord)).one()
    return IntakeTotals(usage_rows=rows, usage_total=total, deliveries=deliveries)
