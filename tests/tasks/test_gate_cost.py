"""The cost break-even check of fine-tuning: months to recover the training cost."""

from typing import Any

import pytest

from state.phases import GateStatus
from state.settings import Price
from tasks.gates import GateInputs, gate_cost_break_even
from tests.tasks.gate_builders import DOLLAR, FAIL, INCONCLUSIVE, PASS, eval_run, fine_tuning

# 1,000 prompt tokens a query at DOLLAR ($1 per 1M): $0.001 a query; the tuned model costs
# nothing per query, so 1,000 queries save exactly $1.00 a month and N training tokens cost
# $N / 1M.
TUNED = Price(input_per_m=0.0, output_per_m=0.0, training_per_m=1.0)


def cost_inputs(**fields: Any) -> GateInputs:
    """Break-even inputs where the months to recover equal training tokens / 1M."""
    values: dict[str, Any] = {
        "baseline": eval_run([0.5] * 40, tokens=(1000.0, 0.0)),
        "subject": eval_run([0.5] * 40, run_id=2, tokens=(1000.0, 0.0)),
        "volume_30d": 1000,
        "prices_active": DOLLAR,
        "prices_candidate": TUNED,
        "training_tokens": 6_000_000,
    }
    return fine_tuning(**values | fields)


@pytest.mark.parametrize(
    ("training_tokens", "status"),
    [(5_999_999, PASS), (6_000_000, PASS), (6_000_001, FAIL)],
    ids=["just-below", "at", "just-above"],
)
def test_cost_break_even_allows_at_most_the_maximum_months(
    training_tokens: int, status: GateStatus
) -> None:
    result = gate_cost_break_even(cost_inputs(training_tokens=training_tokens))
    assert (result.status, result.observed) == (status, training_tokens / 1_000_000)


def test_cost_break_even_shows_every_number_used() -> None:
    evidence = gate_cost_break_even(cost_inputs()).evidence
    assert evidence["cost_per_query_active"] == 0.001
    assert evidence["cost_per_query_candidate"] == 0.0
    assert evidence["monthly_savings"] == 1.0
    assert evidence["training_cost"] == 6.0
    assert evidence["months"] == 6.0
    assert evidence["volume_30d"] == 1000
    assert evidence["prices_candidate"]["training_per_m"] == 1.0
    assert evidence["tokens_active"] == {"prompt": 1000.0, "completion": 0.0}
    assert (evidence["active_eval_run_id"], evidence["candidate_eval_run_id"]) == (1, 2)


@pytest.mark.parametrize("hosting", [1.0, 2.0], ids=["zero-savings", "negative-savings"])
def test_cost_break_even_fails_without_positive_savings(hosting: float) -> None:
    prices = TUNED.model_copy(update={"hosting_per_month": hosting})
    result = gate_cost_break_even(cost_inputs(prices_candidate=prices))
    assert (result.status, result.observed) == (FAIL, None)


@pytest.mark.parametrize(
    "missing",
    [
        {"prices_active": None},
        {"prices_candidate": None},
        {"training_tokens": None},
        {"subject": None},
        {"volume_30d": 0},
    ],
    ids=["active-price", "candidate-price", "training-tokens", "candidate-run", "no-volume"],
)
def test_cost_break_even_is_inconclusive_without_its_numbers(missing: dict[str, Any]) -> None:
    result = gate_cost_break_even(cost_inputs(**missing))
    assert result.status == INCONCLUSIVE
    assert "cannot estimate the break-even without" in result.detail
