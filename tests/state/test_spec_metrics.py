"""The spec's `metrics:` (primary and guardrails), its `metric:` shorthand, and stable hashes."""

from typing import Any

import pytest
import yaml

from state.errors import SpecError
from state.spec import UseCaseSpec, parse_spec
from tests.specs import BASE_SPEC

# The hash of BASE_SPEC before `metrics:` and `min_detectable_gain` existed (main at 74da7fb).
OLD_HASH = "2d4e16c95790f46f0978601d3ef35c4008cb121393b616b6c543e94bf116504a"


def _spec(**overrides: Any) -> UseCaseSpec:
    raw = {key: value for key, value in (BASE_SPEC | overrides).items() if value is not None}
    return parse_spec(yaml.safe_dump(raw), "spec.yaml")


def test_a_spec_without_the_new_fields_keeps_its_hash() -> None:
    assert _spec().spec_hash() == OLD_HASH
    assert "metrics" not in _spec().canonical_json()


def test_metrics_primary_alone_stands_for_metric() -> None:
    spec = _spec(metric=None, metrics={"primary": "token_f1"})
    assert spec.metric == "token_f1"
    assert spec.guardrails == []
    assert spec.spec_hash() != OLD_HASH


def test_guardrails_are_read_with_their_margins_and_bounds() -> None:
    spec = _spec(
        metrics={
            "primary": "token_f1",
            "guardrails": [
                {"metric": "max_length", "max_chars": 400, "margin": 0.05},
                {"metric": "output_tokens", "margin": 0.1, "relative": True, "ceiling": 120},
            ],
        }
    )
    assert [g.gate for g in spec.guardrails] == ["guardrail_max_length", "guardrail_output_tokens"]
    assert spec.guardrails[1].relative is True


@pytest.mark.parametrize(
    ("metrics", "message"),
    [
        (
            {"primary": "token_f1", "guardrails": [{"metric": "verbosity"}]},
            "metrics.guardrails.0.metric: Input should be 'json_valid'",
        ),
        ({"primary": "bleu"}, "metrics.primary: Input should be 'exact_match'"),
        (
            {"primary": "token_f1", "guardrails": [{"metric": "regex_match"}]},
            "metrics.guardrails.0: Value error, metric regex_match needs `pattern`",
        ),
        (
            {"primary": "token_f1", "guardrails": [{"metric": "regex_match", "pattern": "(a"}]},
            "pattern: invalid regular expression",
        ),
        (
            {"primary": "token_f1", "guardrails": [{"metric": "json_schema", "json_schema": {}}]},
            "",
        ),
        (
            {
                "primary": "token_f1",
                "guardrails": [{"metric": "json_schema", "json_schema": {"type": "banana"}}],
            },
            "json_schema: invalid JSON Schema",
        ),
        (
            {"primary": "token_f1", "guardrails": [{"metric": "refusal"}] * 2},
            "guardrails need distinct names",
        ),
        (
            {"primary": "token_f1", "guardrails": [{"metric": "refusal", "margin": -1}]},
            "metrics.guardrails.0.margin: must be ≥ 0",
        ),
    ],
    ids=[
        "unknown-guardrail",
        "unknown-primary",
        "missing-pattern",
        "bad-regex",
        "empty-schema-is-fine",
        "bad-schema",
        "duplicate",
        "negative-margin",
    ],
)
def test_bad_metrics_are_refused_naming_the_field(metrics: dict, message: str) -> None:
    if not message:
        assert _spec(metrics=metrics).guardrails[0].metric == "json_schema"
        return
    with pytest.raises(SpecError, match="spec.yaml: ") as caught:
        _spec(metrics=metrics)
    assert message in str(caught.value)


def test_metric_and_metrics_primary_must_agree() -> None:
    with pytest.raises(SpecError, match="metric: token_f1 differs from metrics.primary: accuracy"):
        _spec(metrics={"primary": "accuracy"})


def test_min_detectable_gain_changes_the_hash_only_when_set() -> None:
    gates = {"prompting_to_rag": {"min_detectable_gain": 0.05}}
    assert _spec(gates=gates).spec_hash() != OLD_HASH
    assert _spec(gates={"prompting_to_rag": {"target": 0.8}}).spec_hash() == OLD_HASH
