"""Prompt rendering and answer extraction; the sandbox reads what we render."""

import openai
import pytest

from state.errors import AnswerFormatError
from state.spec import PromptVariant
from tasks.prompts import Passage, build_messages, extract_answer

QA = PromptVariant(
    name="qa", kind="zero_shot", system="Answer briefly.", template="Question: {input}"
)


def _ask(url: str, messages: list[dict[str, str]]) -> str:
    client = openai.OpenAI(base_url=url, api_key="sk-test", max_retries=0)
    reply = client.chat.completions.create(model="sandbox-base", messages=messages)
    return reply.choices[0].message.content or ""


def test_build_messages_zero_shot_is_system_then_rendered_input() -> None:
    assert build_messages(QA, "Where is {x}?") == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Question: Where is {x}?"},
    ]


def test_build_messages_without_system_text_has_no_system_message() -> None:
    variant = PromptVariant(name="bare", kind="zero_shot")
    assert build_messages(variant, "hi") == [{"role": "user", "content": "hi"}]


def test_build_messages_few_shot_examples_are_earlier_pairs() -> None:
    messages = build_messages(QA, "q3", examples=[("q1", "a1"), ("q2", "a2")])
    assert [m["role"] for m in messages] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    assert [m["content"] for m in messages[1:3]] == ["Question: q1", "a1"]


def test_build_messages_puts_passages_in_a_context_block_before_the_question() -> None:
    passages = [
        Passage(source="billing", text="Refunds take five days."),
        Passage(source="uploads", text="Max 5 GB.\n\nPer file."),
    ]
    content = build_messages(QA, "How long?", passages=passages)[-1]["content"]
    assert content == (
        "Context:\n[billing] Refunds take five days.\n\n[uploads] Max 5 GB.\nPer file.\n\n"
        "Question: How long?"
    )


def test_build_messages_ends_the_context_before_a_bare_template() -> None:
    bare = PromptVariant(name="bare", kind="zero_shot")
    passages = [Passage(source="billing", text="Refunds take five days.")]
    content = build_messages(bare, "How long?", passages=passages)[-1]["content"]
    assert content == "Context:\n[billing] Refunds take five days.\n\nQuestion:\nHow long?"


def test_build_messages_appends_a_labels_line_to_the_system_text() -> None:
    system = build_messages(QA, "text", labels=["billing", "other"])[0]["content"]
    assert system == "Answer briefly.\nLabels: billing, other"


def test_build_messages_passages_are_read_by_the_sandbox(sandbox_url: str) -> None:
    passages = [
        Passage(source="billing", text="Refunds are processed within five business days."),
        Passage(source="shipping", text="Parcels ship from the Leipzig warehouse."),
    ]
    messages = build_messages(QA, "Where do parcels ship from?", passages=passages)
    assert _ask(sandbox_url, messages) == "Parcels ship from the Leipzig warehouse."


def test_rag_with_the_default_template_answers_from_the_passages(sandbox_url: str) -> None:
    bare = PromptVariant(name="bare", kind="zero_shot")  # the default template: `{input}`
    passages = [
        Passage(source="billing", text="Refunds are processed within five business days."),
        Passage(source="shipping", text="Parcels ship from the Leipzig warehouse."),
    ]
    question = "Where do parcels ship from?"
    messages = build_messages(bare, question, passages=passages)
    assert _ask(sandbox_url, messages) == "Parcels ship from the Leipzig warehouse."
    # Without the edge the reader takes the question for one more passage of the context.
    unmarked = messages[-1]["content"].replace("Question:\n", "")
    assert _ask(sandbox_url, [{"role": "user", "content": unmarked}]) != (
        "Parcels ship from the Leipzig warehouse."
    )


def test_build_messages_examples_are_read_by_the_sandbox(sandbox_url: str) -> None:
    variant = PromptVariant(name="fs", kind="few_shot", template="Input: {input}")
    examples = [("capital city of France", "Paris"), ("capital city of Japan", "Tokyo")]
    messages = build_messages(variant, "what is the capital city of Japan?", examples=examples)
    assert _ask(sandbox_url, messages) == "Tokyo"


def test_extract_answer_chain_of_thought_takes_the_last_answer_line() -> None:
    text = (
        "Reasoning: Answer: is not at the start.\nAnswer: first\nmore thought\nAnswer:  last one \n"
    )
    assert extract_answer("chain_of_thought", text) == "last one"


def test_extract_answer_chain_of_thought_without_answer_line_raises() -> None:
    with pytest.raises(AnswerFormatError, match="no line starting with 'Answer:'"):
        extract_answer("chain_of_thought", "The answer is 42.")


def test_extract_answer_chain_of_thought_with_empty_answer_raises() -> None:
    with pytest.raises(AnswerFormatError, match="empty"):
        extract_answer("chain_of_thought", "Reasoning: hmm\nAnswer:   \n")


def test_extract_answer_other_kinds_keep_the_whole_output() -> None:
    assert extract_answer("few_shot", "  Answer: Paris \n") == "Answer: Paris"
