"""Runtime configuration of the sandbox server (latency, faults, job timing, thresholds)."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ENV_PREFIX = "SANDBOX_"


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
