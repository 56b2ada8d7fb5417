"""A system message that asks for JSON gets the reader's answer wrapped in a JSON object."""

from __future__ import annotations

import json

from tests.sandbox.helpers import ask, client_for

LABELS = "Labels: billing, shipping, other"
JSON_SYSTEM = 'Reply with a JSON object {"label": ...} only.'


def _messages(system: str, user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def test_a_classification_asked_for_json_answers_a_json_object(sandbox_url: str) -> None:
    messages = _messages(f"{JSON_SYSTEM}\n{LABELS}", "Input: the shipping address is wrong")
    answer = ask(client_for(sandbox_url), "", messages=messages)
    assert json.loads(answer) == {"label": "shipping"}


def test_a_question_asked_for_json_answers_a_json_object(sandbox_url: str) -> None:
    context = "Context:\n[kb-2] Parcels ship from the Leipzig warehouse.\n"
    messages = _messages(f"{JSON_SYSTEM}\n{context}", "Question: Where do parcels ship from?")
    answer = ask(client_for(sandbox_url), "", messages=messages)
    assert json.loads(answer) == {"answer": "Parcels ship from the Leipzig warehouse."}


def test_step_by_step_wraps_the_json_in_prose(sandbox_url: str) -> None:
    system = f"Think step by step. {JSON_SYSTEM}\n{LABELS}"
    answer = ask(client_for(sandbox_url), "", messages=_messages(system, "Input: billing error"))
    reasoning, final = answer.split("\nAnswer: ")
    assert reasoning.startswith("Reasoning: ")
    assert json.loads(final) == {"label": "billing"}


def test_json_in_the_user_message_asks_for_nothing(sandbox_url: str) -> None:
    messages = _messages(LABELS, "Input: my JSON export fails on shipping")
    assert ask(client_for(sandbox_url), "", messages=messages) == "shipping"
