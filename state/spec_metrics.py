"""The spec's `metrics:` section: the primary metric and the guardrails that must not regress."""

import re
from typing import Literal

from jsonschema import SchemaError
from jsonschema.validators import validator_for
from pydantic import BaseModel, ConfigDict, Field, model_validator

Metric = Literal["exact_match", "accuracy", "token_f1", "contains", "llm_judge"]
GuardrailMetric = Literal[
    "json_valid",
    "json_schema",
    "regex_match",
    "max_length",
    "output_tokens",
    "refusal",
    "llm_judge",
    "latency_ms",
    "cost_per_query",
]
Direction = Literal["higher", "lower"]
GATE_NAME = r"^[a-z0-9][a-z0-9_]{0,40}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Guardrail(_Strict):
    """A metric that must not regress: paired non-inferiority against the active configuration."""

    metric: GuardrailMetric
    name: str | None = Field(
        None, pattern=GATE_NAME, description="gate `guardrail_<name>`; default: the metric"
    )
    direction: Direction | None = Field(
        None, description="whether higher or lower is better; default: the metric's own"
    )
    margin: float = Field(0.0, ge=0, description="how much worse than the active is still fine")
    relative: bool = Field(
        False, description="margin as a share of the active configuration's mean"
    )
    floor: float | None = Field(None, description="the subject's mean must reach this")
    ceiling: float | None = Field(None, description="the subject's mean must not exceed this")
    pattern: str | None = Field(None, min_length=1, description="regex_match: the pattern")
    json_schema: dict | None = Field(None, description="json_schema: the schema")
    max_chars: int | None = Field(None, ge=1, description="max_length: the longest fine answer")
    phrases: list[str] | None = Field(None, min_length=1, description="refusal: its phrases")
    rubric: str | None = Field(None, min_length=1, description="llm_judge: the grading rubric")

    @model_validator(mode="after")
    def _parameters_fit_metric(self) -> "Guardrail":
        needs = {"regex_match": "pattern", "json_schema": "json_schema", "max_length": "max_chars"}
        wanted = needs.get(self.metric)
        if wanted and getattr(self, wanted) is None:
            raise ValueError(f"metric {self.metric} needs `{wanted}`")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern: invalid regular expression ({exc})") from exc
        if self.json_schema is not None:
            try:
                validator_for(self.json_schema).check_schema(self.json_schema)
            except SchemaError as exc:
                raise ValueError(f"json_schema: invalid JSON Schema ({exc.message})") from exc
        return self

    @property
    def gate(self) -> str:
        """The gate check's name: `guardrail_<name>`."""
        return f"guardrail_{self.name or self.metric}"


class Metrics(_Strict):
    """The primary metric that must improve, and guardrails that must not regress."""

    primary: Metric
    guardrails: list[Guardrail] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_gates(self) -> "Metrics":
        gates = [g.gate for g in self.guardrails]
        if len(gates) != len(set(gates)):
            raise ValueError("guardrails need distinct names (set `name:` on repeated metrics)")
        return self
