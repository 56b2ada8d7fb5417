"""Judge grades for an llm_judge guardrail, from the sandbox's judge model over HTTP."""

import yaml
from pydantic import SecretStr

from state.domain import EvalItem, ItemResult
from state.settings import ProviderOptions
from state.spec import UseCaseSpec, parse_spec
from state.spec_metrics import Guardrail
from tasks.judging import grade_answers, judge_guardrail, rubric_with
from tests.specs import BASE_SPEC
from tests.tasks.gate_builders import eval_run

ITEMS = [
    EvalItem(id="q1", input="What port does Aurora open?", expected="Aurora opens port 8080."),
    EvalItem(id="q2", input="Where is the Lisbon office?", expected="Zentrix is in Lisbon."),
    EvalItem(id="q3", input="Who founded it?", expected="Ana founded it."),
]


def test_grade_answers_grades_each_answered_item_and_leaves_out_failures(
    sandbox_url: str,
) -> None:
    results = [
        ItemResult(item_id="q1", score=1.0, output="Aurora opens port 8080."),
        ItemResult(item_id="q2", score=0.0, output="I don't have enough information."),
        ItemResult(item_id="q3", score=None, error="timeout"),
    ]
    run = eval_run({"q1": 1.0, "q2": 0.0, "q3": 0.0}).model_copy(update={"results": results})
    provider = ProviderOptions(base_url=sandbox_url, api_key=SecretStr("sk-test"))

    grades = grade_answers(ITEMS, run, provider, "sandbox-judge", "Grade strictly.")

    assert set(grades) == {"q1", "q2"}
    assert grades["q1"] == 1.0 > grades["q2"]


def test_rubric_with_instructions_replaces_only_the_system_message() -> None:
    default = rubric_with(None)(ITEMS[0], "an answer")
    own = rubric_with("Grade strictly.")(ITEMS[0], "an answer")
    assert own[0] == {"role": "system", "content": "Grade strictly."}
    assert own[1:] == default[1:]


def _spec(metric: str, guardrails: list[dict]) -> UseCaseSpec:
    raw = BASE_SPEC | {"metric": metric, "metrics": {"primary": metric, "guardrails": guardrails}}
    return parse_spec(yaml.safe_dump(raw), "spec.yaml")


def test_a_judge_guardrail_needs_its_own_calls_unless_the_primary_is_the_judge() -> None:
    judge = [{"metric": "llm_judge", "margin": 0.05}]
    assert judge_guardrail(_spec("token_f1", judge)) == Guardrail(metric="llm_judge", margin=0.05)
    assert judge_guardrail(_spec("llm_judge", judge)) is None
    assert judge_guardrail(_spec("token_f1", [{"metric": "refusal"}])) is None
