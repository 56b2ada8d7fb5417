"""Chat completions: the extractive reader, usage, parameters and errors."""

from __future__ import annotations

import openai
import pytest

from tests.sandbox.helpers import ask, client_for

GENERIC = "I don't have enough information to answer that."
CONTEXT = (
    "Answer using the context.\n"
    "Context:\n"
    "[kb-1] Refunds are processed within five business days. Contact support by email.\n"
    "[kb-2] Parcels ship from the Leipzig warehouse.\n"
)


def test_chat_without_context_gives_generic_answer(sandbox_url: str) -> None:
    assert ask(client_for(sandbox_url), "How long does a refund take?") == GENERIC


def test_chat_context_returns_best_matching_sentence(sandbox_url: str) -> None:
    answer = ask(client_for(sandbox_url), CONTEXT + "Question: How are refunds processed?")
    assert answer == "Refunds are processed within five business days."


def test_chat_context_in_system_message_is_read(sandbox_url: str) -> None:
    messages = [
        {"role": "system", "content": CONTEXT},
        {"role": "user", "content": "Where do parcels ship from?"},
    ]
    answer = ask(client_for(sandbox_url), "", messages=messages)
    assert answer == "Parcels ship from the Leipzig warehouse."


def test_chat_unrelated_context_gives_generic_answer(sandbox_url: str) -> None:
    answer = ask(client_for(sandbox_url), CONTEXT + "Question: Which planet has rings?")
    assert answer == GENERIC


def test_chat_fewshot_message_pairs_answer_matching_example(sandbox_url: str) -> None:
    messages = [
        {"role": "user", "content": "Input: capital city of France"},
        {"role": "assistant", "content": "Paris"},
        {"role": "user", "content": "Input: capital city of Japan"},
        {"role": "assistant", "content": "Tokyo"},
        {"role": "user", "content": "Input: what is the capital city of Japan?"},
    ]
    assert ask(client_for(sandbox_url), "", messages=messages) == "Tokyo"


def test_chat_inline_examples_are_used(sandbox_url: str) -> None:
    prompt = (
        "Input: boiling point of water\nOutput: 100 C\n\n"
        "Input: freezing point of water\nOutput: 0 C\n\n"
        "Input: the freezing point of water?\nOutput:"
    )
    assert ask(client_for(sandbox_url), prompt) == "0 C"


def test_chat_classification_uses_most_similar_example(sandbox_url: str) -> None:
    system = (
        "Labels: billing, shipping, other\n"
        "Input: my card was charged twice\nOutput: billing\n\n"
        "Input: the parcel is late\nOutput: shipping"
    )
    messages = [
        {"role": "system", "content": system},
        {"role": "user", "content": "Input: where is my late parcel"},
    ]
    assert ask(client_for(sandbox_url), "", messages=messages) == "shipping"


def test_chat_classification_without_examples_picks_overlapping_label(sandbox_url: str) -> None:
    prompt = "Labels: billing, shipping, other\nInput: the shipping address is wrong"
    assert ask(client_for(sandbox_url), prompt) == "shipping"


def test_chat_classification_without_overlap_picks_first_label(sandbox_url: str) -> None:
    prompt = "Labels: billing, shipping, other\nInput: hello there"
    assert ask(client_for(sandbox_url), prompt) == "billing"


def test_chat_step_by_step_adds_reasoning_line(sandbox_url: str) -> None:
    prompt = "Think step by step.\n" + CONTEXT + "Question: How are refunds processed?"
    answer = ask(client_for(sandbox_url), prompt)
    reasoning, final = answer.split("\n")
    assert reasoning.startswith("Reasoning: ") and "[kb-1]" in reasoning
    assert final == "Answer: Refunds are processed within five business days."


def test_chat_same_request_gives_same_answer(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    prompt = CONTEXT + "Question: How are refunds processed?"
    answers = {ask(client, prompt, temperature=1.0) for _ in range(3)}
    assert len(answers) == 1


def test_chat_usage_counts_tokens(sandbox_url: str) -> None:
    reply = client_for(sandbox_url).chat.completions.create(
        model="sandbox-base",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"}],
    )
    assert reply.usage is not None
    assert reply.usage.prompt_tokens == (3 + 4) + (2 + 4)
    assert reply.usage.completion_tokens == 11  # tokens of the generic answer
    assert reply.usage.total_tokens == 24


def test_chat_max_tokens_truncates_answer(sandbox_url: str) -> None:
    reply = client_for(sandbox_url).chat.completions.create(
        model="sandbox-base", messages=[{"role": "user", "content": "Hi"}], max_tokens=3
    )
    assert reply.choices[0].message.content == "I don'"
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 3


def test_chat_response_has_openai_fields(sandbox_url: str) -> None:
    reply = client_for(sandbox_url).chat.completions.create(
        model="sandbox-small", messages=[{"role": "user", "content": "Hi"}]
    )
    assert reply.object == "chat.completion"
    assert reply.model == "sandbox-small"
    assert reply.id.startswith("chatcmpl-")
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].finish_reason == "stop"


def test_chat_small_model_reads_fewer_sentences(sandbox_url: str) -> None:
    filler = " ".join(f"Fact number {k} concerns topic {k}." for k in range(10))
    prompt = (
        f"Context:\n{filler} The zebra sleeps standing up.\nQuestion: How does the zebra sleep?"
    )
    client = client_for(sandbox_url)
    assert ask(client, prompt) == "The zebra sleeps standing up."
    assert ask(client, prompt, model="sandbox-small") == GENERIC


def test_chat_judge_scores_candidate_against_reference(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    same = "Reference: refunds take five days\nCandidate: refunds take five days"
    other = "Reference: refunds take five days\nCandidate: the sky is blue"
    assert ask(client, same, model="sandbox-judge") == "10"
    assert ask(client, other, model="sandbox-judge") == "0"


def test_chat_unknown_model_is_404(sandbox_url: str) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        ask(client_for(sandbox_url), "Hi", model="gpt-nope")
    assert info.value.code == "model_not_found"


def test_chat_n_above_one_is_400(sandbox_url: str) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        ask(client_for(sandbox_url), "Hi", n=2)
    assert info.value.param == "n"


def test_chat_empty_messages_is_400(sandbox_url: str) -> None:
    with pytest.raises(openai.BadRequestError):
        client_for(sandbox_url).chat.completions.create(model="sandbox-base", messages=[])


def test_chat_response_format_is_accepted(sandbox_url: str) -> None:
    answer = ask(client_for(sandbox_url), "Hi", response_format={"type": "json_object"})
    assert answer == GENERIC
