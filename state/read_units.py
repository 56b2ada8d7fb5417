"""Units of work that read for people: status rows, a use case's report, leases.

Each function takes the session as a keyword and reads in it, so that `Store` gives one
consistent view.
"""

from collections.abc import Sequence
from datetime import date

from sqlmodel import Session, func, select

from state import (
    configurations,
    decisions,
    evals,
    leases,
    status_read,
    use_cases,
)
from state.domain.evals import ReportRead
from state.domain.operations import IntakeTotals, LeaseBreak, LeaseInfo
from state.domain.status import StatusRow
from state.domain.use_cases import ApplyResult
from state.models import UsageRecord, WebhookDeliveryRecord
from state.spec import LoadedSpec


def apply_specs(loaded: Sequence[LoadedSpec], *, session: Session) -> list[ApplyResult]:
    return [use_cases.apply_spec(item, session=session) for item in loaded]


def leases_and_breaks(*, session: Session) -> tuple[list[LeaseInfo], list[LeaseBreak]]:
    return leases.list_leases(session=session), leases.list_lease_breaks(session=session)


def status_rows(*, today: date, session: Session) -> list[StatusRow]:
    """Every use case as `status` shows it: `status_read.QUERY` through this session's driver."""
    connection = session.connection()
    placeholder = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    bounds = status_read.window(today)
    if connection.dialect.name == "sqlite":
        bounds = tuple(day.isoformat() for day in bounds)
    statement = status_read.QUERY.format(p=placeholder)
    return status_read.status_rows(connection.exec_driver_sql(statement, bounds).all())


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
