"""Guardrail metrics: one small pure function each, registered by name with its direction."""

import pytest

from state.domain import ItemResult
from state.settings import Price
from state.spec_metrics import Guardrail, GuardrailMetric
from tasks.guardrail_metrics import (
    GUARDRAIL_METRICS,
    Context,
    cost_per_query,
    direction_of,
    json_schema,
    json_valid,
    latency_ms,
    llm_judge,
    max_length,
    output_tokens,
    refusal,
    regex_match,
    summarise_metrics,
    values,
)
from tests.tasks.gate_builders import eval_run

NONE = Context()


def _item(output: str = "", **fields: object) -> ItemResult:
    return ItemResult(item_id="q1", score=1.0, output=output, **fields)


def test_every_metric_the_spec_accepts_is_registered() -> None:
    assert set(GUARDRAIL_METRICS) == set(GuardrailMetric.__args__)


@pytest.mark.parametrize(
    ("output", "value"),
    [('{"label": "a"}', 1.0), ('```json\n{"label": "a"}\n```', 1.0), ("label: a", 0.0)],
    ids=["json", "fenced-json", "prose"],
)
def test_json_valid(output: str, value: float) -> None:
    assert json_valid(_item(output), Guardrail(metric="json_valid"), NONE) == value


SCHEMA = {"type": "object", "required": ["label"], "properties": {"label": {"type": "string"}}}


@pytest.mark.parametrize(
    ("output", "value"),
    [('{"label": "a"}', 1.0), ('{"label": 3}', 0.0), ('{"other": "a"}', 0.0), ("a", 0.0)],
    ids=["valid", "wrong-type", "missing-field", "not-json"],
)
def test_json_schema(output: str, value: float) -> None:
    guardrail = Guardrail(metric="json_schema", json_schema=SCHEMA)
    assert json_schema(_item(output), guardrail, NONE) == value


def test_regex_match() -> None:
    guardrail = Guardrail(metric="regex_match", pattern=r"port \d+")
    assert regex_match(_item("it opens port 8080"), guardrail, NONE) == 1.0
    assert regex_match(_item("it opens a port"), guardrail, NONE) == 0.0


@pytest.mark.parametrize(("length", "value"), [(9, 1.0), (10, 1.0), (11, 0.0)])
def test_max_length_at_its_limit(length: int, value: float) -> None:
    guardrail = Guardrail(metric="max_length", max_chars=10)
    assert max_length(_item("x" * length), guardrail, NONE) == value


def test_output_tokens_and_latency_are_read_from_the_item() -> None:
    item = _item("a", completion_tokens=7, latency_ms=120.5)
    assert output_tokens(item, Guardrail(metric="output_tokens"), NONE) == 7.0
    assert latency_ms(item, Guardrail(metric="latency_ms"), NONE) == 120.5


def test_refusal_uses_the_spec_phrases_or_common_ones() -> None:
    assert refusal(_item("I'm sorry, no."), Guardrail(metric="refusal"), NONE) == 1.0
    assert refusal(_item("Port 8080."), Guardrail(metric="refusal"), NONE) == 0.0
    own = Guardrail(metric="refusal", phrases=["not allowed"])
    assert refusal(_item("That is NOT allowed."), own, NONE) == 1.0
    assert refusal(_item("I'm sorry, no."), own, NONE) == 0.0


def test_cost_per_query_needs_a_price() -> None:
    item = _item("a", prompt_tokens=1000, completion_tokens=100)
    price = Price(input_per_m=2.0, output_per_m=10.0)
    guardrail = Guardrail(metric="cost_per_query")
    assert cost_per_query(item, guardrail, Context(price=price)) == pytest.approx(0.003)
    assert cost_per_query(item, guardrail, NONE) is None


def test_llm_judge_reads_the_judge_grades() -> None:
    guardrail = Guardrail(metric="llm_judge")
    assert llm_judge(_item("a"), guardrail, Context(judged={"q1": 0.7})) == 0.7
    assert llm_judge(_item("a"), guardrail, NONE) is None


def test_a_failed_call_has_no_value_it_is_missing() -> None:
    failed = ItemResult(item_id="q1", score=None, output="", error="timeout")
    for name in ("json_valid", "max_length", "refusal", "latency_ms", "output_tokens"):
        guardrail = Guardrail(metric=name, max_chars=5)
        assert GUARDRAIL_METRICS[name].value(failed, guardrail, NONE) is None, name


def test_direction_is_the_metric_s_unless_the_spec_says() -> None:
    assert direction_of(Guardrail(metric="latency_ms")) == "lower"
    assert direction_of(Guardrail(metric="json_valid")) == "higher"
    assert direction_of(Guardrail(metric="json_valid", direction="lower")) == "lower"


def test_values_of_a_run_leave_out_items_without_a_value() -> None:
    results = [
        ItemResult(item_id="a", score=1.0, output='{"x": 1}'),
        ItemResult(item_id="b", score=None, error="timeout"),
    ]
    run = eval_run({"a": 1.0, "b": 0.0}).model_copy(update={"results": results})
    assert values(run, Guardrail(metric="json_valid")) == {"a": 1.0}
    judged = run.model_copy(update={"extra": {"judge_scores": {"a": 0.5}}})
    assert values(judged, Guardrail(metric="llm_judge")) == {"a": 0.5}


def test_summarise_metrics_gives_the_primary_and_each_guardrail_with_an_interval() -> None:
    results = [ItemResult(item_id=f"q{i}", score=1.0, output="x" * (5 + i)) for i in range(10)]
    run = eval_run([1.0] * 10).model_copy(update={"results": results})
    guardrails = [Guardrail(metric="max_length", max_chars=9), Guardrail(metric="json_valid")]

    primary, length, valid = summarise_metrics(run, guardrails)

    assert (primary.role, primary.name, primary.mean) == ("primary", "accuracy", 1.0)
    assert (length.name, length.mean, length.n) == ("guardrail_max_length", 0.5, 10)
    assert length.ci_low < 0.5 < length.ci_high
    assert (valid.mean, valid.ci_low, valid.ci_high) == (0.0, 0.0, 0.0)
