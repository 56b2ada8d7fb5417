"""Runtime configuration of the sandbox server (latency, faults, job timing, thresholds)."""

from __future__ import annotations

import base64
import binascii
import os
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

ENV_PREFIX = "SANDBOX_"
#: The reader mechanics a model can have (see README "Model differences").
BEHAVIOURS = ("sandbox-base", "sandbox-small", "sandbox-judge")


def _pairs(raw: Any) -> Any:
    """`a=x,b=y` (an env var or a CLI flag) as a mapping; a mapping stays as it is."""
    if not isinstance(raw, str):
        return raw
    pairs = [part.split("=", 1) for part in raw.split(",") if part.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"expected MODEL=VALUE pairs separated by commas, got {raw!r}")
    return {key.strip(): value.strip() for key, value in pairs}


class SandboxConfig(BaseModel):
    """Settings of one sandbox instance; every field can be set as env var ``SANDBOX_<NAME>``."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_ms: float = Field(0.0, ge=0, description="Fixed delay added to chat/embeddings.")
    jitter_ms: float = Field(0.0, ge=0, description="Extra uniform random delay 0..jitter_ms.")
    fault_429: float = Field(0.0, ge=0, le=1, description="Share of requests answered 429.")
    fault_500: float = Field(0.0, ge=0, le=1, description="Share of requests answered 500.")
    hang_share: float = Field(0.0, ge=0, le=1, description="Share of requests that hang first.")
    hang_seconds: float = Field(30.0, ge=0, description="How long a hanging request sleeps.")
    malformed_share: float = Field(0.0, ge=0, le=1, description="Share answered with bad JSON.")
    retry_after_seconds: float = Field(0.05, ge=0, description="Retry-After value sent with 429.")
    job_seconds: float = Field(6.0, gt=0, description="Wall time of a fine-tuning job.")
    seed: int = Field(0, description="Seed of the fault/jitter random streams.")
    answer_threshold: float = Field(0.3, ge=0, le=1, description="Min overlap for the reader.")
    tuned_threshold: float = Field(0.5, ge=0, le=1, description="Min overlap for a tuned pair.")
    metrics_sample: int = Field(200, ge=1, description="Max pairs scored per checkpoint metric.")
    overfit_after: float = Field(
        3.0, ge=0, description="Epochs × learning-rate multiplier a checkpoint takes unharmed."
    )
    overfit_rate: float = Field(
        0.15, ge=0, le=1, description="Share of answers confused per epoch trained past that."
    )
    job_failure_share: float = Field(
        0.0, ge=0, le=1, description="Share of fine-tuning jobs that fail once they run."
    )
    batch_seconds: float = Field(6.0, gt=0, description="Wall time of a batch, start to end.")
    batch_expire_seconds: float | None = Field(
        None, gt=0, description="A batch still running this long after creation expires."
    )
    batch_max_requests: int = Field(50_000, ge=1, description="Most requests in a batch file.")
    batch_max_bytes: int = Field(200 * 1024 * 1024, ge=1, description="Largest batch file.")
    webhook_url: str | None = Field(None, description="Where batch/fine-tuning webhooks go.")
    webhook_secret: str | None = Field(None, description="whsec_<base64> key signing webhooks.")

    @field_validator("webhook_secret")
    @classmethod
    def _secret_format(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                base64.b64decode(value.removeprefix("whsec_"), validate=True)
            except binascii.Error:
                raise ValueError("webhook_secret must be whsec_<base64>") from None
            if not value.startswith("whsec_"):
                raise ValueError("webhook_secret must be whsec_<base64>")
        return value

    extra_models: dict[str, str] = Field(
        default_factory=lambda: {"sandbox-small-2": "sandbox-base"},
        description="More model ids, each with the reader mechanics of a built-in model.",
    )
    shutdown_dates: dict[str, date] = Field(
        default_factory=dict,
        description="Announced shutdown date per model id; from that day the model answers 404.",
    )

    @field_validator("extra_models", "shutdown_dates", mode="before")
    @classmethod
    def _from_pairs(cls, raw: Any) -> Any:
        return _pairs(raw)

    @field_validator("extra_models")
    @classmethod
    def _known_behaviour(cls, models: dict[str, str]) -> dict[str, str]:
        for model, behaviour in models.items():
            if behaviour not in BEHAVIOURS:
                raise ValueError(f"{model}: behaviour {behaviour!r} is not one of {BEHAVIOURS}")
        return models

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> SandboxConfig:
        """Build a config from ``SANDBOX_*`` environment variables (unset ones keep defaults)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None and raw.strip() != "":
                values[name] = raw.strip()
        return cls.model_validate(values)
