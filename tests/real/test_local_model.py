"""The local model over HTTP: llama.cpp honours the generation settings; answers extract."""

import openai
import pytest

from phasegate.local_model import MODEL_ALIAS
from state.spec import AnswerExtraction
from tasks.answers import extract

pytestmark = pytest.mark.real

CONTEXT = (
    "Context:\n[getting-started] On first launch Lumen creates a notebook called Inbox. "
    "The desktop installer is a 180 MB download.\n\n"
)


def _ask(url: str, question: str, **generation: object) -> openai.types.chat.ChatCompletion:
    client = openai.OpenAI(base_url=url, api_key="sk-local", timeout=120)
    messages = [
        {"role": "system", "content": "You answer questions about the Lumen app. Answer briefly."},
        {"role": "user", "content": f"{CONTEXT}Question: {question}"},
    ]
    return client.chat.completions.create(model=MODEL_ALIAS, messages=messages, **generation)


def test_local_model_lists_its_alias(real_url: str) -> None:
    models = openai.OpenAI(base_url=real_url, api_key="sk-local").models.list()
    assert [m.id for m in models.data] == [MODEL_ALIAS]


def test_local_model_stops_within_max_tokens(real_url: str) -> None:
    completion = _ask(real_url, "What is the size of the desktop installer?", max_tokens=4)
    assert completion.usage.completion_tokens <= 4
    assert completion.choices[0].finish_reason in ("length", "stop")


def test_local_model_answers_from_the_context_through_the_extraction(real_url: str) -> None:
    completion = _ask(
        real_url,
        "What is the name of the notebook created on first launch?",
        max_tokens=24,
        temperature=0,
        stop=["\n\n", "###"],
    )
    text = completion.choices[0].message.content
    assert "###" not in text and "\n\n" not in text
    assert "inbox" in extract(AnswerExtraction(), text).split()
