"""The gates: which checks guard each transition, the comparative checks, and what results decide.

A gate is a list of pure checks registered in `CHECKS`, each answering pass, fail or
inconclusive as a `GateResult` value; adding a gate is one function added to that table.
Single-threshold checks and `GateInputs` live in `tasks.gate_checks`; the two checks that
compare the candidate with the active configuration (paired bootstrap, break-even) live here.

The RAG → fine-tuning need is ONE entry check, `need`: it passes when either need holds
(active quality below the target, or 30-day volume at or above the break-even volume) and
carries both answers in its evidence. Every registered check must therefore pass, and the
rules stay uniform:

- entry: met only when every entry check passes (`entry_met`); otherwise the flow holds with
  `entry_reason`;
- promotion (`verdict`): any fail → "hold"; all pass → "advance"; otherwise (something
  inconclusive, nothing failed) → "ask" a person. An inconclusive result never advances.

A check that does not apply returns None and is left out of the results: `canary` runs only
when the spec declares a canary set (`data.canary`), so a use case without one is gated as
before, with no result that would pass on no evidence.
"""

from collections.abc import Callable, Sequence
from typing import Literal

from state.domain import GateResult
from state.phases import GateStatus
from state.spec import PromptingToRag, RagToFineTuning
from tasks.costs import TokensPerQuery, break_even
from tasks.gate_checks import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    GateInputs,
    Stage,
    Transition,
    fine_tuning_thresholds,
    gate_data_documents,
    gate_data_examples,
    gate_latency,
    gate_need,
    gate_need_quality,
    gate_privacy,
    gate_quality_floor,
    gate_result,
    passed,
    worst,
)
from tasks.stats import bootstrap_interval, mean, paired_scores

Check = Callable[[GateInputs], GateResult | None]
Verdict = Literal["advance", "hold", "ask"]
CONFIDENCE = 0.95


def _runs(inputs: GateInputs) -> dict[str, int | None]:
    """Collect the ids of the active and candidate eval runs, for evidence."""
    return {
        "active_eval_run_id": inputs.active.id if inputs.active else None,
        "candidate_eval_run_id": inputs.candidate.id if inputs.candidate else None,
    }


def _relative_gain(
    gate: PromptingToRag | RagToFineTuning, active_mean: float, candidate_mean: float
) -> tuple[GateStatus, float | None]:
    """Check candidate mean / active mean − 1 against `min_relative_gain`, when one is set."""
    if gate.min_relative_gain is None:
        return PASS, None
    if active_mean == 0:
        return INCONCLUSIVE, None
    relative = candidate_mean / active_mean - 1
    return passed(relative >= gate.min_relative_gain), relative


def gate_quality_gain(inputs: GateInputs) -> GateResult:
    """Pass when a seeded paired bootstrap shows the candidate beats the active configuration."""
    gate, active, candidate = inputs.thresholds, inputs.active, inputs.candidate
    if active is None or candidate is None:
        detail = "needs eval runs of both the active and the candidate configuration"
        return gate_result("quality_gain", "promotion", INCONCLUSIVE, detail, **_runs(inputs))
    active_scores, candidate_scores = active.scores(), candidate.scores()
    pairs = paired_scores(active_scores, candidate_scores)
    counts = {
        "paired": len(pairs),
        "active_only": len(active_scores) - len(pairs),
        "candidate_only": len(candidate_scores) - len(pairs),
        "min_paired": gate.min_paired,
    }
    if len(pairs) < gate.min_paired:
        detail = f"{len(pairs)} paired eval items; {gate.min_paired} needed for a verdict"
        return gate_result(
            "quality_gain",
            "promotion",
            INCONCLUSIVE,
            detail,
            threshold=gate.min_gain,
            **_runs(inputs),
            **counts,
        )
    gains = [after - before for _, before, after in pairs]
    gain = mean(gains)
    low, high = bootstrap_interval(
        gains, samples=gate.bootstrap_samples, seed=gate.seed, confidence=CONFIDENCE
    )
    bootstrap = PASS if low >= gate.min_gain else FAIL if high < gate.min_gain else INCONCLUSIVE
    active_mean, candidate_mean = mean([p[1] for p in pairs]), mean([p[2] for p in pairs])
    relative_status, relative = _relative_gain(gate, active_mean, candidate_mean)
    detail = (
        f"paired mean gain {gain:+.3f} over {len(pairs)} items, {CONFIDENCE:.0%} interval "
        f"[{low:+.3f}, {high:+.3f}] against min_gain {gate.min_gain:+.3f}"
    )
    if gate.min_relative_gain is not None:
        shown = "undefined (active mean 0)" if relative is None else f"{relative:+.1%}"
        detail += f"; relative gain {shown} against {gate.min_relative_gain:+.1%}"
    return gate_result(
        "quality_gain",
        "promotion",
        worst(bootstrap, relative_status),
        detail,
        observed=gain,
        threshold=gate.min_gain,
        **_runs(inputs),
        **counts,
        active_mean=active_mean,
        candidate_mean=candidate_mean,
        ci_low=low,
        ci_high=high,
        confidence=CONFIDENCE,
        bootstrap_samples=gate.bootstrap_samples,
        seed=gate.seed,
        relative_gain=relative,
        min_relative_gain=gate.min_relative_gain,
    )


def gate_cost_break_even(inputs: GateInputs) -> GateResult:
    """Pass when monthly savings recover the training cost within the allowed months."""
    gate, active, candidate = fine_tuning_thresholds(inputs), inputs.active, inputs.candidate
    prices_active, prices_candidate = inputs.prices_active, inputs.prices_candidate
    training_tokens, volume = inputs.training_tokens, inputs.volume_30d
    threshold = gate.max_break_even_months
    known = {
        "active eval run": active,
        "candidate eval run": candidate,
        "price of the active model": prices_active,
        "price of the candidate model": prices_candidate,
        "training tokens": training_tokens,
    }
    if (
        active is None
        or candidate is None
        or prices_active is None
        or prices_candidate is None
        or training_tokens is None
        or volume == 0
    ):
        missing = [name for name, value in known.items() if value is None]
        if volume == 0:
            missing.append("queries in the last 30 days")
        detail = "cannot estimate the break-even without: " + ", ".join(missing)
        return gate_result(
            "cost_break_even",
            "promotion",
            INCONCLUSIVE,
            detail,
            threshold=threshold,
            volume_30d=volume,
            **_runs(inputs),
        )
    tokens_active = TokensPerQuery(
        active.prompt_tokens_per_query, active.completion_tokens_per_query
    )
    tokens_candidate = TokensPerQuery(
        candidate.prompt_tokens_per_query, candidate.completion_tokens_per_query
    )
    numbers = break_even(
        volume_30d=volume,
        price_active=prices_active,
        price_candidate=prices_candidate,
        tokens_active=tokens_active,
        tokens_candidate=tokens_candidate,
        training_tokens=training_tokens,
    )
    months = numbers.months
    spend = (
        f"training ${numbers.training_cost:,.2f}, savings ${numbers.monthly_savings:,.2f} "
        f"a month at {volume} queries"
    )
    if months is None:
        status, detail = FAIL, f"fine-tuning saves nothing: {spend}"
    else:
        status = passed(months <= threshold)
        verb = "within" if status == PASS else "beyond"
        detail = f"break-even in {months:.2f} months, {verb} {threshold:g}: {spend}"
    return gate_result(
        "cost_break_even",
        "promotion",
        status,
        detail,
        observed=months,
        threshold=threshold,
        **_runs(inputs),
        **numbers.model_dump(),
        prices_active=prices_active.model_dump(),
        prices_candidate=prices_candidate.model_dump(),
        tokens_active=tokens_active._asdict(),
        tokens_candidate=tokens_candidate._asdict(),
    )


def gate_canary(inputs: GateInputs) -> GateResult | None:
    """Pass when the candidate does not score below the active configuration on the canary set.

    The paired test of `gate_quality_gain` with a required gain of 0 on the general canary set:
    fail when the whole interval of the change lies below 0 (the candidate forgot), pass when
    its lower bound is at least 0, else inconclusive. None when no canary set is declared.
    """
    if inputs.canary is None and inputs.canary_active is None:
        return None
    no_drop = inputs.thresholds.model_copy(update={"min_gain": 0.0, "min_relative_gain": None})
    paired = gate_quality_gain(
        inputs.model_copy(
            update={
                "thresholds": no_drop,
                "active": inputs.canary_active,
                "candidate": inputs.canary,
            }
        )
    )
    detail = f"on the canary set, {paired.detail}"
    return paired.model_copy(update={"check": "canary", "detail": detail})


CHECKS: dict[Transition, dict[Stage, list[Check]]] = {
    "prompting_to_rag": {
        "entry": [gate_need_quality, gate_data_documents],
        "promotion": [gate_quality_gain, gate_quality_floor, gate_latency],
    },
    "rag_to_fine_tuning": {
        "entry": [gate_need, gate_data_examples, gate_privacy],
        "promotion": [
            gate_quality_gain,
            gate_quality_floor,
            gate_latency,
            gate_cost_break_even,
            gate_canary,
        ],
    },
}


def run_checks(inputs: GateInputs, stage: Stage) -> list[GateResult]:
    """Run the checks registered for the inputs' transition at one stage, in order."""
    results = (check(inputs) for check in CHECKS[inputs.transition][stage])
    return [result for result in results if result is not None]


def verdict(results: Sequence[GateResult]) -> Verdict:
    """Decide: any fail holds, all pass advances, anything else asks a person."""
    statuses = {result.status for result in results}
    if FAIL in statuses:
        return "hold"
    # No result at all is no evidence: like an inconclusive one, it never advances.
    return "advance" if statuses == {PASS} else "ask"


def entry_met(results: Sequence[GateResult]) -> bool:
    """Tell whether every entry check passed (no result at all is not a pass)."""
    return bool(results) and all(result.status == PASS for result in results)


def entry_reason(results: Sequence[GateResult]) -> str:
    """Explain the entry outcome: the checks that did not pass, or all of them when met."""
    if not results:
        return "no entry checks ran"
    if entry_met(results):
        return "entry met: " + "; ".join(f"{r.check}: {r.detail}" for r in results)
    return "entry not met: " + "; ".join(
        f"{r.check} {r.status}: {r.detail}" for r in results if r.status != PASS
    )
