"""Break-even arithmetic of fine-tuning: what a query costs and when training pays for itself."""

from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from state.settings import Price

PER_MILLION = 1_000_000


class TokensPerQuery(NamedTuple):
    """Measured mean tokens of one query."""

    prompt: float
    completion: float


class BreakEven(BaseModel):
    """Every number of the break-even computation, in US dollars, queries and months."""

    model_config = ConfigDict(frozen=True)

    volume_30d: int = Field(description="queries in the last 30 days, taken as one month")
    cost_per_query_active: float
    cost_per_query_candidate: float
    hosting_per_month: float = Field(description="fixed monthly cost of the candidate")
    monthly_savings: float = Field(description="volume × per-query saving − hosting")
    training_tokens: int
    training_per_m: float
    training_cost: float
    months: float | None = Field(description="training cost / monthly savings; None if ≤ 0")


def cost_per_query(price: Price, tokens: TokensPerQuery) -> float:
    """Price one query at its measured prompt and completion tokens, in dollars."""
    return (tokens.prompt * price.input_per_m + tokens.completion * price.output_per_m) / (
        PER_MILLION
    )


def training_cost(price: Price, training_tokens: int) -> float:
    """Price training on `training_tokens` (tokens in the file × epochs), in dollars."""
    return training_tokens * price.training_per_m / PER_MILLION


def break_even(
    *,
    volume_30d: int,
    price_active: Price,
    price_candidate: Price,
    tokens_active: TokensPerQuery,
    tokens_candidate: TokensPerQuery,
    training_tokens: int,
) -> BreakEven:
    """Compute the candidate's monthly savings and the months to recover its training cost."""
    per_query_active = cost_per_query(price_active, tokens_active)
    per_query_candidate = cost_per_query(price_candidate, tokens_candidate)
    savings = (
        volume_30d * (per_query_active - per_query_candidate) - price_candidate.hosting_per_month
    )
    training = training_cost(price_candidate, training_tokens)
    return BreakEven(
        volume_30d=volume_30d,
        cost_per_query_active=per_query_active,
        cost_per_query_candidate=per_query_candidate,
        hosting_per_month=price_candidate.hosting_per_month,
        monthly_savings=savings,
        training_tokens=training_tokens,
        training_per_m=price_candidate.training_per_m,
        training_cost=training,
        months=training / savings if savings > 0 else None,
    )
