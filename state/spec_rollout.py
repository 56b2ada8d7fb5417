"""The spec's `rollout:` section: the live-traffic steps of a move and how arms are compared."""

import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
LivePrimary = Literal["rating", "label_agreement"]


def parse_duration(value: object) -> object:
    """`90s`, `30m`, `24h`, `2d` or a number of seconds → whole seconds (others fail later)."""
    if isinstance(value, str) and (match := DURATION.match(value)):
        return round(float(match[1]) * UNIT_SECONDS[match[2]])
    return value


# Written `24h` in a spec, kept as seconds in the canonical JSON.
Duration = Annotated[
    int,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {
            "type": ["integer", "string"],
            "minimum": 1,
            "pattern": DURATION.pattern,
            "description": "seconds, or a number with s, m, h or d (`24h`)",
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RolloutStep(_Strict):
    """One step of live traffic: the canary's share, and how long it is watched."""

    weight: float = Field(gt=0, lt=100, description="per cent of routing keys served the canary")
    min_interactions: int = Field(
        200, ge=1, description="interactions reported in the step before it may be promoted"
    )
    max_duration: Duration = Field(
        86400,
        ge=1,
        description="still inconclusive after this long: a person is asked (never promoted)",
    )


class LiveMetrics(_Strict):
    """How the arms are compared on interactions: the primary metric and two guardrails."""

    primary: LivePrimary = Field(
        "rating",
        description="rating: the reported rating; label_agreement: output equals the label "
        "(interactions with a label only)",
    )
    min_effect: float = Field(
        0.05,
        gt=0,
        description="the difference of the primary metric the rollout should detect; an "
        "interval inside ±min_effect shows no such difference and keeps waiting",
    )
    error_rate_margin: float = Field(
        0.01, ge=0, le=1, description="the canary's error rate may exceed the control's by this"
    )
    latency_margin_ms: float = Field(
        200, ge=0, description="the canary's mean latency may exceed the control's by this"
    )
    alpha: float = Field(
        0.05, gt=0, lt=0.5, description="error rate of the always-valid confidence sequences"
    )
    min_per_arm: int = Field(
        100, ge=2, description="interactions each arm needs before any verdict"
    )


class OnlineAB(_Strict):
    """The prompting phase's A/B on live traffic: every eligible variant next to the winner."""

    online: bool = Field(
        False,
        description="after the offline A/B picks the baseline, serve it (the control) and "
        "every other eligible variant to shares of live traffic; the live winner becomes the "
        "baseline",
    )
    weight: float | None = Field(
        None,
        gt=0,
        lt=100,
        description="per cent of routing keys the variants share; default: equal shares of "
        "all arms, the control included",
    )
    min_interactions: int = Field(
        200, ge=1, description="interactions reported before the A/B may end"
    )
    max_duration: Duration = Field(
        604800,
        ge=1,
        description="still undecided after this long: a person is asked (never a default winner)",
    )
    max_offline_gap: float | None = Field(
        None,
        ge=0,
        le=1,
        description="a variant more than this below the offline winner's mean stays offline; "
        "default: every variant that passes its guardrails goes online",
    )


class RolloutSettings(_Strict):
    """Live traffic in steps before a candidate becomes active; `steps: []` switches at once."""

    steps: list[RolloutStep] = Field(
        [RolloutStep(weight=10)],
        max_length=10,
        description="canary shares in increasing order; after the last, 100 % (active)",
    )
    live_metrics: LiveMetrics = Field(LiveMetrics(), description="how the arms are compared")
    ab: OnlineAB = Field(
        OnlineAB(), description="the prompting phase's A/B of prompt variants on live traffic"
    )

    @model_validator(mode="after")
    def _increasing_weights(self) -> "RolloutSettings":
        weights = [step.weight for step in self.steps]
        if any(b <= a for a, b in zip(weights, weights[1:], strict=False)):
            raise ValueError(f"steps: weights must increase ({weights})")
        return self
