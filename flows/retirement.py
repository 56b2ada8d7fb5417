"""The retirement watch: hold every use case whose active model shuts down within its horizon."""

from datetime import UTC, date, datetime

from prefect import flow, get_run_logger

from flows.context import current_run_id
from flows.phase_check import check_phase
from state.domain import Configuration, DecisionDraft, NoticeRecorded, RetirementNotice
from state.phases import DecisionKind
from state.settings import get_settings, provider_options
from state.store_api import Store
from tasks.events import emit_model_retiring
from tasks.gates.retirement import gate_model_retirement
from tasks.retirement import notices_for, read_shutdowns


def _models(store: Store, config: Configuration) -> list[str]:
    """The models a configuration runs on: its own and, for a tuned model, its base model."""
    models = [config.model]
    if config.model_version_id is not None:
        version = store.get_model_version(config.model_version_id)
        if version is not None:
            models.append(version.base_model)
    return models


@flow(name="watch-retirements")
def watch_retirements(today: date | None = None) -> list[RetirementNotice]:
    """Read announced shutdown dates, hold every use case on a retiring model, then migrate it.

    A newly noted retirement starts a phase check of the use case, which records the golden
    set and gates the successor (flows/migration.py); later checks (the sweep) retry it.
    """
    settings = get_settings()
    store = Store(settings.store_url)
    today = today or datetime.now(UTC).date()
    shutdowns = read_shutdowns(provider_options(settings), settings.retirements)
    notices: list[RetirementNotice] = []
    for use_case in store.list_use_cases():
        if use_case.active_configuration_id is None:
            continue
        config = store.get_configuration(use_case.active_configuration_id)
        horizon = use_case.spec.retirement.horizon_days
        found = notices_for(
            use_case.name,
            config.id,
            _models(store, config),
            shutdowns,
            today=today,
            horizon_days=horizon,
        )
        recorded = [hold_for_retirement(notice, horizon) for notice in found]
        if any(r.decision is not None for r in recorded):
            # Newly noted: migrate now, while the model still answers (the golden set).
            check_phase(use_case.name, wait_for_approval=False)
        notices += found
    return notices


@flow(name="hold-for-retirement", flow_run_name="hold-{notice.use_case}-{notice.model}")
def hold_for_retirement(notice: RetirementNotice, horizon_days: int) -> NoticeRecorded:
    """Record a `held` decision for a retiring model once; announce the model once per date."""
    store = Store(get_settings().store_url)
    use_case = store.require_use_case(notice.use_case)
    gate = gate_model_retirement(notice, horizon_days)
    draft = DecisionDraft(
        kind=DecisionKind.HELD,
        to_phase=use_case.active_phase,
        configuration_id=notice.configuration_id,
        reason=f"model_retirement: {gate.detail}",
        flow_run_id=current_run_id(),
        gate_results=[gate],
    )
    recorded = store.record_retirement(notice, draft)
    if recorded.first_for_model:
        emit_model_retiring(
            notice.model,
            {
                "shutdown_date": notice.shutdown_date.isoformat(),
                "source": notice.source,
                "days_left": notice.days_left,
                "use_case": notice.use_case,
            },
        )
    if recorded.decision is not None:
        get_run_logger().info("%s: held, %s", notice.use_case, gate.detail)
    return recorded
