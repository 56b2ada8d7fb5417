"""Break-even arithmetic, checked against numbers computed by hand."""

import pytest

from state.settings import Price
from tasks.costs import TokensPerQuery, break_even, cost_per_query, training_cost

RAG_MODEL = Price(input_per_m=2.50, output_per_m=10.00)
TUNED_MODEL = Price(input_per_m=0.30, output_per_m=1.20, training_per_m=3.00)


def test_cost_per_query_prices_prompt_and_completion_tokens() -> None:
    # (1200 × 2.50 + 200 × 10.00) / 1e6 = (3000 + 2000) / 1e6
    assert cost_per_query(RAG_MODEL, TokensPerQuery(1200, 200)) == pytest.approx(0.005)


def test_training_cost_prices_trained_tokens() -> None:
    # 1M tokens × 3 epochs at $3.00 per 1M
    assert training_cost(TUNED_MODEL, 3_000_000) == pytest.approx(9.0)


def test_break_even_shows_every_number_of_a_hand_computed_case() -> None:
    numbers = break_even(
        volume_30d=10_000,
        price_active=RAG_MODEL,
        price_candidate=TUNED_MODEL,
        tokens_active=TokensPerQuery(1200, 200),
        tokens_candidate=TokensPerQuery(200, 200),
        training_tokens=3_000_000,
    )
    # candidate: (200 × 0.30 + 200 × 1.20) / 1e6 = 0.0003; savings 10,000 × 0.0047 = 47.0
    assert numbers.cost_per_query_active == pytest.approx(0.005)
    assert numbers.cost_per_query_candidate == pytest.approx(0.0003)
    assert numbers.monthly_savings == pytest.approx(47.0)
    assert numbers.training_cost == pytest.approx(9.0)
    assert numbers.months == pytest.approx(9.0 / 47.0)
    assert (numbers.volume_30d, numbers.training_tokens, numbers.training_per_m) == (
        10_000,
        3_000_000,
        3.0,
    )


def test_break_even_subtracts_the_candidates_hosting() -> None:
    hosted = TUNED_MODEL.model_copy(update={"hosting_per_month": 40.0})
    numbers = break_even(
        volume_30d=10_000,
        price_active=RAG_MODEL,
        price_candidate=hosted,
        tokens_active=TokensPerQuery(1200, 200),
        tokens_candidate=TokensPerQuery(200, 200),
        training_tokens=3_000_000,
    )
    assert numbers.hosting_per_month == 40.0
    assert numbers.monthly_savings == pytest.approx(7.0)
    assert numbers.months == pytest.approx(9.0 / 7.0)


@pytest.mark.parametrize(
    ("hosting", "savings"), [(1.0, 0.0), (1.5, -0.5)], ids=["zero", "negative"]
)
def test_break_even_never_recovers_without_positive_savings(hosting: float, savings: float) -> None:
    # 1,000 queries × 1,000 prompt tokens at $1 per 1M = $1.00 a month, all saved before hosting.
    numbers = break_even(
        volume_30d=1_000,
        price_active=Price(input_per_m=1.0, output_per_m=0.0),
        price_candidate=Price(input_per_m=0.0, output_per_m=0.0, hosting_per_month=hosting),
        tokens_active=TokensPerQuery(1000, 0),
        tokens_candidate=TokensPerQuery(1000, 0),
        training_tokens=3_000_000,
    )
    assert numbers.monthly_savings == savings
    assert numbers.months is None
