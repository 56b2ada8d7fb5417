"""Monitoring: re-score each active configuration and roll back the ones that regressed.

A monitored configuration is scored afresh (no stored run, no cached response: a degraded
model must be asked again) on the eval set plus the latest labelled interactions, and on the
canary set when the spec has one. `tasks.gates.monitoring` holds the rule. On a regression the
previous configurations of the activation history (`state.history`) are scored the same way,
newest first, and the first healthy one becomes active with a `rolled_back` decision carrying
both measurements; with none healthy, a `held` decision records the regression. Either way
the event `phasegate.regression.detected` tells automations. A healthy configuration records
nothing (the run's logs and return value say it was checked). A fresh run that is no
measurement (too many failed calls) stops the monitor with MeasurementInvalid ("could not
measure"): nothing changes, nothing is recorded but that invalid run, no event is emitted.
"""

import hashlib
from datetime import UTC, datetime, timedelta

from prefect import flow, get_run_logger
from pydantic import BaseModel, Field

from flows.context import UseCaseContext, current_run_id, use_case_lease
from flows.labels import monitor_run_name, monitor_use_case_run_name
from flows.recording import record
from flows.results import CheckOutcome
from flows.scoring import score_on
from state.domain import Activation, Configuration, EvalItem, EvalRun, GateResult
from state.phases import DecisionKind, GateStatus, MonitorStatus, Phase
from state.settings import get_settings
from state.store_api import Store
from tasks.eval_sets import load_eval_set
from tasks.events import emit_regression
from tasks.gates import (
    MONITOR,
    MONITOR_CHECKS,
    RESTORED,
    GateInputs,
    Roles,
    apply_checks,
    transition_into,
)

MONITORED = (Phase.RAG, Phase.FINE_TUNING)
INTERACTION_DAYS = 30


class MonitorOutcome(BaseModel):
    """What monitoring found for one use case and what it did."""

    use_case: str
    status: MonitorStatus
    reason: str
    configuration_id: int | None = Field(None, description="active configuration afterwards")
    decision_id: int | None = None
    event_id: str | None = None
    gates: list[GateResult] = Field(default_factory=list)


def monitoring_set(ctx: UseCaseContext, sample: int) -> tuple[list[EvalItem], str]:
    """The eval items plus the latest labelled interactions (label as expected), and their hash."""
    items, eval_hash = ctx.eval_set
    since = datetime.now(UTC) - timedelta(days=INTERACTION_DAYS)
    recent = ctx.store.list_labelled_interactions(ctx.name, since=since, limit=sample)
    extra = [EvalItem(id=f"interaction-{i.id}", input=i.input, expected=i.label) for i in recent]
    # Never the eval file's hash: a phase check must not reuse a monitoring run as its own.
    key = "\n".join(["monitor", eval_hash, *(item.id for item in extra)])
    return items + extra, hashlib.sha256(key.encode()).hexdigest()


def _baseline(ctx: UseCaseContext, activation: Activation) -> EvalRun | None:
    """The valid run of the configuration that the activating decision recorded."""
    runs = ctx.store.get_eval_runs(activation.eval_run_ids)
    wanted = activation.configuration_id
    return next((r for r in runs if r and r.valid and r.configuration_id == wanted), None)


def _canary_runs(ctx: UseCaseContext, config: Configuration) -> dict[str, EvalRun | None]:
    """The configuration's stored canary run and a fresh one (none without a canary set)."""
    path = ctx.data_path("canary")
    if path is None:
        return {}
    items, canary_hash = load_eval_set(path)
    baseline = ctx.store.find_eval_run(ctx.name, config.id, canary_hash, ctx.spec.metric)
    current = None
    if baseline is not None:
        fresh_hash = hashlib.sha256(f"monitor\n{canary_hash}".encode()).hexdigest()
        current = score_on(ctx, config, items, fresh_hash, use_cache=False, purpose="monitor")
    return {"canary_baseline": baseline, "canary_subject": current}


def assess(
    ctx: UseCaseContext,
    config: Configuration,
    baseline: EvalRun | None,
    sample: tuple[list[EvalItem], str],
    tolerated_drop: float,
    roles: Roles = MONITOR,
) -> tuple[EvalRun, list[GateResult]]:
    """Score a configuration afresh and check it against its baseline, floor and canary."""
    items, set_hash = sample
    current = score_on(ctx, config, items, set_hash, use_cache=False, purpose="monitor")
    # The thresholds of the gate that guarded the move into this phase (prompting: its own).
    transition = transition_into(config.phase)
    inputs = GateInputs(
        use_case=ctx.name,
        transition=transition,
        thresholds=getattr(ctx.spec.gates, transition),
        constraints=ctx.spec.constraints,
        roles=roles,
        baseline=baseline,
        subject=current,
        tolerated_drop=tolerated_drop,
        guardrails=ctx.spec.guardrails,
        # One configuration measured twice: one price for both runs (a cost guardrail reads it).
        prices_active=ctx.settings.price_for(config.model),
        prices_candidate=ctx.settings.price_for(config.model),
        **_canary_runs(ctx, config),
    )
    return current, apply_checks(MONITOR_CHECKS, inputs)


def regressed(gates: list[GateResult]) -> bool:
    """Whether any monitoring check failed."""
    return any(gate.status == GateStatus.FAIL for gate in gates)


def _restore(
    ctx: UseCaseContext,
    stack: list[Activation],
    sample: tuple[list[EvalItem], str],
    tolerated_drop: float,
) -> tuple[Configuration, EvalRun, list[GateResult]] | None:
    """The newest earlier configuration that is healthy now, with its fresh run and checks."""
    logger = get_run_logger()
    tried = {ctx.use_case.active_configuration_id}
    for activation in reversed(stack):
        if activation.configuration_id in tried:
            continue
        tried.add(activation.configuration_id)
        config = ctx.store.get_configuration(activation.configuration_id)
        baseline = _baseline(ctx, activation)
        run, gates = assess(ctx, config, baseline, sample, tolerated_drop, RESTORED)
        if not regressed(gates):
            return config, run, gates
        logger.warning("%s: configuration #%d regressed as well", ctx.name, config.id)
    return None


def _act(
    ctx: UseCaseContext,
    config: Configuration,
    current: EvalRun,
    gates: list[GateResult],
    stack: list[Activation],
    sample: tuple[list[EvalItem], str],
    tolerated_drop: float,
) -> MonitorOutcome:
    """Roll back to the newest healthy configuration (or hold), record it, emit the event."""
    failed = "; ".join(f"{g.check}: {g.detail}" for g in gates if g.status == GateStatus.FAIL)
    restored = _restore(ctx, stack, sample, tolerated_drop)
    if restored is None:
        reason = f"regressed with no healthy configuration to roll back to: {failed}"
        outcome = record(
            ctx,
            DecisionKind.HELD,
            config.phase,
            reason,
            gates=gates,
            active=current,
            configuration_id=config.id,
            decided_by="monitor",
        )
        status = MonitorStatus.REGRESSED
    else:
        target, run, checks = restored
        reason = f"rolled back from configuration #{config.id} to #{target.id}: {failed}"
        gates = gates + checks
        outcome = record(
            ctx,
            DecisionKind.ROLLED_BACK,
            target.phase,
            reason,
            gates=gates,
            active=current,
            candidate=run,
            configuration_id=target.id,
            decided_by="monitor",
        )
        status = MonitorStatus.ROLLED_BACK
    event_id = _emit(ctx, config, outcome, gates)
    return MonitorOutcome(
        use_case=ctx.name,
        status=status,
        reason=reason,
        configuration_id=outcome.configuration_id,
        decision_id=outcome.decision_id,
        event_id=event_id,
        gates=gates,
    )


def _emit(
    ctx: UseCaseContext, config: Configuration, outcome: CheckOutcome, gates: list[GateResult]
) -> str | None:
    """Tell automations: the event `phasegate.regression.detected`; returns its id."""
    return emit_regression(
        ctx.name,
        {
            "decision": outcome.decision.value,
            "decision_id": outcome.decision_id,
            "reason": outcome.reason,
            "from_configuration_id": config.id,
            "from_phase": config.phase.value,
            "to_configuration_id": outcome.configuration_id,
            "to_phase": outcome.to_phase.value,
            "flow_run_id": current_run_id(),
            "gates": [gate.model_dump(mode="json") for gate in gates],
        },
    )


def _check(ctx: UseCaseContext, sample_size: int, tolerated_drop: float) -> MonitorOutcome:
    """Check the active configuration of a use case and act on a regression."""
    if ctx.use_case.active_configuration_id is None:
        return MonitorOutcome(
            use_case=ctx.name, status=MonitorStatus.UNMONITORED, reason="no configuration"
        )
    config, stack = ctx.store.activations(ctx.name, ctx.use_case.active_configuration_id)
    sample = monitoring_set(ctx, sample_size)
    baseline = _baseline(ctx, stack[-1]) if stack else None
    current, gates = assess(ctx, config, baseline, sample, tolerated_drop)
    if regressed(gates):
        return _act(ctx, config, current, gates, stack, sample, tolerated_drop)
    reason = "; ".join(f"{g.check} {g.status}: {g.detail}" for g in gates)
    get_run_logger().info("%s: configuration #%d is healthy (%s)", ctx.name, config.id, reason)
    return MonitorOutcome(
        use_case=ctx.name,
        status=MonitorStatus.HEALTHY,
        reason=reason,
        configuration_id=config.id,
        gates=gates,
    )


@flow(name="monitor-use-case", flow_run_name=monitor_use_case_run_name)
def monitor_use_case(
    use_case: str, interactions: int = 200, tolerated_drop: float = 0.0
) -> MonitorOutcome:
    """Re-score one use case's active configuration; roll back if it regressed."""
    ctx = UseCaseContext.load(use_case)
    with use_case_lease(ctx) as held:
        if not held:
            reason = f"check {held.holder} is running"
            get_run_logger().info("%s: not monitored now: %s", use_case, reason)
            return MonitorOutcome(use_case=use_case, status=MonitorStatus.SKIPPED, reason=reason)
        return _check(UseCaseContext.load(use_case), interactions, tolerated_drop)


@flow(name="monitor", flow_run_name=monitor_run_name)
def monitor(use_case: str | None = None) -> dict[str, MonitorOutcome]:
    """Re-score one use case, or every use case in rag or fine_tuning, and roll back regressions."""
    if use_case is not None:
        return {use_case: monitor_use_case(use_case)}
    use_cases = Store(get_settings().store_url).list_use_cases()
    names = [u.name for u in use_cases if u.active_phase in MONITORED]
    outcomes = {}
    for name in names:
        # One use case failing (its provider down, its spec's data gone) stops no other.
        state = monitor_use_case(name, return_state=True)
        if state.is_completed():
            outcomes[name] = state.result()
        else:
            get_run_logger().error("%s: monitoring failed: %s", name, state.message)
            outcomes[name] = MonitorOutcome(
                use_case=name, status=MonitorStatus.FAILED, reason=state.message
            )
    return outcomes
