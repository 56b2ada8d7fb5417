"""Model listing and retrieval."""

from __future__ import annotations

from datetime import date

import openai
import pytest
from pydantic import ValidationError

from sandbox import SandboxConfig
from tests.sandbox.helpers import admin, client_for


def test_models_list_contains_base_models(sandbox_url: str) -> None:
    ids = [model.id for model in client_for(sandbox_url).models.list()]
    assert ids[:3] == ["sandbox-base", "sandbox-small", "sandbox-judge"]


def test_models_retrieve_base_model(sandbox_url: str) -> None:
    model = client_for(sandbox_url).models.retrieve("sandbox-judge")
    assert model.id == "sandbox-judge" and model.object == "model"


def test_models_retrieve_unknown_is_404(sandbox_url: str) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        client_for(sandbox_url).models.retrieve("ft:sandbox-base:none:deadbeef")
    assert info.value.code == "model_not_found"


def _ask(url: str, model: str, content: str) -> str:
    reply = client_for(url).chat.completions.create(
        model=model, messages=[{"role": "user", "content": content}]
    )
    return reply.choices[0].message.content or ""


def test_models_list_shows_a_configured_shutdown_date(sandbox_url: str) -> None:
    admin(
        sandbox_url, "POST", "/sandbox/faults", {"shutdown_dates": {"sandbox-small": "2099-01-31"}}
    )
    listed = {m.id: m.model_dump() for m in client_for(sandbox_url).models.list()}
    assert listed["sandbox-small"]["shutdown_date"] == "2099-01-31"
    assert listed["sandbox-base"].get("shutdown_date") is None
    retrieved = client_for(sandbox_url).models.retrieve("sandbox-small").model_dump()
    assert retrieved["shutdown_date"] == "2099-01-31"


def test_models_a_shut_down_model_answers_404_and_its_successor_answers(sandbox_url: str) -> None:
    admin(
        sandbox_url, "POST", "/sandbox/faults", {"shutdown_dates": {"sandbox-small": "2020-01-01"}}
    )
    with pytest.raises(openai.NotFoundError) as info:
        _ask(sandbox_url, "sandbox-small", "Question: hello?")
    assert "shut down on 2020-01-01" in str(info.value)
    assert _ask(sandbox_url, "sandbox-small-2", "Question: hello?")


def test_models_the_successor_reads_the_whole_prompt_where_the_small_model_does_not(
    sandbox_url: str,
) -> None:
    # The answer is the tenth context sentence: past sandbox-small's window of eight.
    facts = [f"Fact {i} is about topic{i} alone." for i in range(10)]
    content = "Context:\n" + " ".join(facts) + "\n\nQuestion: What is about topic9?"
    assert _ask(sandbox_url, "sandbox-small-2", content) == facts[9]
    assert _ask(sandbox_url, "sandbox-small", content) != facts[9]
    assert _ask(sandbox_url, "sandbox-base", content) == facts[9]


def test_models_shutdown_dates_and_extra_models_parse_from_env_pairs() -> None:
    config = SandboxConfig.from_env(
        {
            "SANDBOX_SHUTDOWN_DATES": "sandbox-small=2027-01-15, sandbox-base=2027-03-01",
            "SANDBOX_EXTRA_MODELS": "legacy=sandbox-small",
        }
    )
    assert config.shutdown_dates == {
        "sandbox-small": date(2027, 1, 15),
        "sandbox-base": date(2027, 3, 1),
    }
    assert config.extra_models == {"legacy": "sandbox-small"}


@pytest.mark.parametrize(
    "env",
    [
        {"SANDBOX_SHUTDOWN_DATES": "sandbox-small"},
        {"SANDBOX_SHUTDOWN_DATES": "sandbox-small=soon"},
        {"SANDBOX_EXTRA_MODELS": "legacy=gpt-9"},
    ],
)
def test_models_bad_shutdown_or_extra_model_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        SandboxConfig.from_env(env)
