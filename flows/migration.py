"""A retirement migration: the same phase on the successor model, gated against the golden set.

While the retiring model still answers, its outputs on the eval set are kept as the golden set
(stored, cited by id). The successor configuration is the active one with the successor model
or, for a tuned configuration whose base model retires, a new fine-tune of the successor base on
the use case's checked training data (`build_fine_tuning` with that base, no pilot). It is
scored and held against the golden set's run with the retirement checks: quality may not
fall by more than `max_quality_loss` (paired), the successor must agree with the golden outputs,
and the guardrails, floor and latency hold as for any move. No call goes to the retiring model
once its golden set exists, so the migration still works after the shutdown date.
"""

from flows.context import UseCaseContext
from flows.fine_tuning import build_fine_tuning
from flows.recording import Draft
from flows.results import Candidate, CheckOutcome
from flows.scoring import score_configuration
from state.domain import (
    Configuration,
    ConfigurationDraft,
    EvalRun,
    GateResult,
    GoldenSet,
    Retirement,
)
from state.errors import MeasurementInvalid, ProviderError, ProviderUnreachable
from state.phases import GateStatus
from tasks.gates import (
    RETIREMENT_CHECKS,
    GateInputs,
    Objective,
    Verdict,
    apply_checks,
    transition_into,
    verdict,
)
from tasks.gates.registry import CANDIDATE_BUILD, GOLDEN_SET, SUCCESSOR
from tasks.gates.results import Gate
from tasks.retirement import successor_of


def _golden_set(ctx: UseCaseContext, config: Configuration, model: str) -> GoldenSet | str:
    """The configuration's golden set: stored, else recorded now; why not, when it cannot be."""
    golden = ctx.store.get_golden_set(ctx.name, config.id)
    if golden is not None:
        return golden
    try:
        run = score_configuration(ctx, config)
    except (ProviderError, MeasurementInvalid) as exc:
        return f"{model} no longer answers and no golden set was recorded while it did: {exc}"
    return ctx.store.record_golden_set(ctx.name, run, model)


def _refused(draft: Draft, check: Gate, detail: str, **evidence: object) -> CheckOutcome:
    """Hold the use case with one failed retirement check."""
    draft.gates.append(check.result(GateStatus.FAIL, detail, **evidence))
    return draft.hold(f"retirement migration: {detail}")


def _golden_result(golden: GoldenSet) -> GateResult:
    """The golden set the successor is held against, cited by id."""
    detail = (
        f"golden set #{golden.id}: {len(golden.outputs)} outputs of {golden.model} "
        f"(eval run #{golden.eval_run_id}, recorded {golden.created_at:%Y-%m-%d})"
    )
    return GOLDEN_SET.result(
        GateStatus.PASS,
        detail,
        observed=golden.id,
        golden_set_id=golden.id,
        eval_run_id=golden.eval_run_id,
        model=golden.model,
        items=len(golden.outputs),
    )


def _prerequisites(
    ctx: UseCaseContext, draft: Draft, config: Configuration, notice: Retirement
) -> CheckOutcome | tuple[str, GoldenSet, EvalRun]:
    """The successor, the golden set and its run; a hold when one of them is missing."""
    successor = successor_of(notice.model, ctx.spec.retirement.successors)
    if successor is None:
        detail = f"no successor known for {notice.model}: name one in retirement.successors"
        return _refused(draft, SUCCESSOR, detail, model=notice.model)
    if config.routing:
        detail = (
            f"hybrid configuration #{config.id} routes to a model tuned on {notice.model}: "
            f"re-tuning its route on {successor} is not done by a migration; tune again, then "
            "build the hybrid phase"
        )
        return _refused(draft, SUCCESSOR, detail, model=notice.model, successor=successor)
    golden = _golden_set(ctx, config, config.model)
    if isinstance(golden, str):
        return _refused(draft, GOLDEN_SET, golden, model=notice.model)
    (baseline,) = ctx.store.get_eval_runs([golden.eval_run_id])
    if baseline is None:
        detail = f"golden set #{golden.id} cites eval run #{golden.eval_run_id}, since pruned"
        return _refused(draft, GOLDEN_SET, detail, golden_set_id=golden.id)
    return successor, golden, baseline


def _successor_run(
    ctx: UseCaseContext, config: Configuration, successor: str
) -> tuple[EvalRun, list[GateResult]]:
    """The successor configuration's eval run and the checks of its build.

    A plain configuration moves to the successor model as it is; a tuned one is tuned again on
    the successor base (every checkpoint scored on validation, the best one on the eval set).
    """
    if config.model_version_id is None:
        fields = config.model_dump(include=set(ConfigurationDraft.model_fields))
        draft = ConfigurationDraft(**(fields | {"model": successor}))
        return score_configuration(ctx, ctx.store.save_configuration(ctx.name, draft)), []
    built = build_fine_tuning(ctx.name, base_model=successor)
    assert isinstance(built, Candidate), "a re-tune runs no pilot, the one step that stops early"
    return built.eval_run, built.gate_results


def migrate(
    ctx: UseCaseContext, config: Configuration, notice: Retirement
) -> CheckOutcome | tuple[Draft, Verdict]:
    """Build and gate the successor of a retiring configuration; a hold, or the verdict."""
    draft = Draft(ctx, ctx.use_case.active_phase, config.id, at_once=True)
    ready = _prerequisites(ctx, draft, config, notice)
    if isinstance(ready, CheckOutcome):
        return ready
    successor, golden, draft.active = ready
    try:
        draft.candidate, built_gates = _successor_run(ctx, config, successor)
    except (MeasurementInvalid, ProviderUnreachable):
        raise
    except ProviderError as exc:  # a fine-tuning job that failed, too
        return _refused(draft, CANDIDATE_BUILD, str(exc), successor=successor)
    transition = transition_into(config.phase)
    why = (
        f"{notice.model} shuts down on {notice.shutdown_date}; its successor {successor} must "
        f"keep quality and answer as the golden set #{golden.id} did"
    )
    inputs = GateInputs(
        use_case=ctx.name,
        transition=transition,
        thresholds=getattr(ctx.spec.gates, transition),
        constraints=ctx.spec.constraints,
        baseline=draft.active,
        subject=draft.candidate,
        guardrails=ctx.spec.guardrails,
        golden=golden.outputs,
        min_agreement=ctx.spec.retirement.min_agreement,
        objective=Objective.RETIREMENT,
        objective_reason=why,
    )
    draft.gates += [_golden_result(golden), *built_gates, *apply_checks(RETIREMENT_CHECKS, inputs)]
    return draft, verdict(draft.gates)
