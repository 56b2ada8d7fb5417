"""Builders shared by the gate tests: eval runs, gate inputs, statuses and a $1 price."""

import statistics
from collections.abc import Sequence
from typing import Any

from state.domain import EvalRun, ItemResult
from state.phases import GateStatus
from state.settings import Price
from tasks.gates import THRESHOLDS, GateInputs, Transition

PASS, FAIL, INCONCLUSIVE = GateStatus.PASS, GateStatus.FAIL, GateStatus.INCONCLUSIVE


def eval_run(
    scores: Sequence[float | ItemResult] | dict[str, float] = (),
    *,
    run_id: int | None = 1,
    mean: float | None = None,
    p95_ms: float = 500.0,
    tokens: tuple[float, float] = (1000.0, 0.0),
    **fields: Any,
) -> EvalRun:
    """An eval run of per-item scores (ids q000… for a list) or items, with chosen aggregates.

    `fields` set any other field of the run (use_case, metric, n, purpose, …).
    """
    if isinstance(scores, dict):
        results = [ItemResult(item_id=item, score=score) for item, score in scores.items()]
    else:
        results = [
            s if isinstance(s, ItemResult) else ItemResult(item_id=f"q{i:03d}", score=s)
            for i, s in enumerate(scores)
        ]
    values = [r.score for r in results if r.score is not None]
    if mean is None:
        mean = statistics.fmean(values) if values else 0.0
    defaults: dict[str, Any] = {
        "id": run_id,
        "use_case": "support-qa",
        "configuration_id": run_id,
        "eval_set_hash": "e" * 64,
        "metric": "accuracy",
        "n": len(results),
        "mean": mean,
        "ci_low": 0.0,
        "ci_high": 1.0,
        "error_rate": 0.0,
        "latency_p50_ms": p95_ms / 2,
        "latency_p95_ms": p95_ms,
        "prompt_tokens_per_query": tokens[0],
        "completion_tokens_per_query": tokens[1],
        "results": results,
    }
    return EvalRun(**(defaults | fields))


def gate_inputs(transition: Transition = "prompting_to_rag", **fields: Any) -> GateInputs:
    """Inputs for one transition with the spec's default thresholds unless given."""
    fields.setdefault("thresholds", THRESHOLDS[transition]())
    return GateInputs(use_case="support-qa", transition=transition, **fields)


def fine_tuning(**fields: Any) -> GateInputs:
    """Inputs of the RAG → fine-tuning transition."""
    return gate_inputs("rag_to_fine_tuning", **fields)


# $1 per 1M prompt tokens, nothing for completions.
DOLLAR = Price(input_per_m=1.0, output_per_m=0.0)
