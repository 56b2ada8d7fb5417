"""Generation settings and answer extraction reach the provider and the scores (sandbox, HTTP)."""

import hashlib
import json

import httpx
from pydantic import SecretStr

from state.domain import EvalItem
from state.settings import ProviderOptions
from state.spec import AnswerExtraction, GenerationSettings
from tasks.evaluation import EvalTarget, PreparedRequest, evaluate, output_fields
from tasks.llm import ChatRequest

CONTEXT = "Context:\n[kb-1] Refunds are processed within five business days.\n\n"
QUESTION = "Question: How are refunds processed?"
ANSWER = "Refunds are processed within five business days."
MESSAGES = [{"role": "user", "content": f"{CONTEXT}{QUESTION}"}]


def _options(url: str) -> ProviderOptions:
    return ProviderOptions(base_url=url, api_key=SecretStr("sk-test"), timeout=5.0)


def _run(url: str, generation: dict | None, answers: dict | None, expected: str = ANSWER):
    items = [EvalItem(id="q1", input="How are refunds processed?", expected=expected)]
    fields = output_fields(generation, answers)
    requests = [PreparedRequest(item_id="q1", model="sandbox-base", messages=MESSAGES, **fields)]
    target = EvalTarget(use_case="demo-qa", eval_set_hash="h" * 64, metric="exact_match")
    return evaluate(requests, items, target, _options(url))


def test_chat_request_cache_key_without_stop_is_unchanged() -> None:
    request = ChatRequest("m", [{"role": "user", "content": "hi"}], max_tokens=5)
    before = json.dumps(["m", request.messages, 0.0, 5], sort_keys=True, separators=(",", ":"))
    assert request.cache_key() == hashlib.sha256(before.encode()).hexdigest()
    assert ChatRequest("m", request.messages, 0.0, 5, ("\n",)).cache_key() != request.cache_key()


def test_output_fields_default_to_the_calls_made_before_generation_existed() -> None:
    fields = output_fields(None, None)
    assert fields == {"max_tokens": None, "temperature": 0.0, "stop": [], "answers": None}
    settings = GenerationSettings(max_tokens=8, temperature=0.7, stop=["\n"])
    assert output_fields(settings, {"lowercase": False})["answers"] == AnswerExtraction(
        lowercase=False
    )
    assert output_fields(settings, None)["temperature"] == 0.7


def test_generation_stop_reaches_the_provider(sandbox_url: str) -> None:
    run = _run(sandbox_url, {"stop": [" within"]}, None, expected="Refunds are processed")
    assert run.results[0].output == "Refunds are processed"
    assert run.mean == 1.0


def test_generation_max_tokens_reaches_the_provider(sandbox_url: str) -> None:
    run = _run(sandbox_url, {"max_tokens": 2}, None)
    assert run.results[0].output == "Refunds are"
    assert run.results[0].completion_tokens == 2


def test_answers_extraction_runs_before_the_metric(sandbox_url: str) -> None:
    plain = _run(
        sandbox_url, None, None, expected="refunds are processed within five business days"
    )
    extracted = _run(
        sandbox_url, None, {}, expected="refunds are processed within five business days"
    )
    assert (plain.mean, extracted.mean) == (0.0, 1.0)
    assert extracted.results[0].output == ANSWER


def test_sandbox_refuses_a_malformed_stop(sandbox_url: str) -> None:
    body = {"model": "sandbox-base", "messages": MESSAGES, "stop": ["a", ""]}
    response = httpx.post(f"{sandbox_url}/chat/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "stop"
