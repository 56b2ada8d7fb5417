"""Admin endpoints: stats, reset and model degradation."""

from __future__ import annotations

import openai
import pytest

from tests.plugins.sandbox_server import SandboxServer
from tests.sandbox.helpers import admin, ask, client_for, product_rows, train


def test_admin_stats_count_ok_and_faulted_chats(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    ask(client, "Hi")
    with pytest.raises(openai.RateLimitError):
        ask(client, "Hi", extra_headers={"X-Sandbox-Fault-429": "1"})
    stats = admin(sandbox_url, "GET", "/sandbox/stats").json()
    assert (stats["chat_completions"], stats["chat_completions_ok"]) == (2, 1)
    assert stats["faults_429"] == 1


def test_admin_stats_count_tokens(sandbox_url: str) -> None:
    ask(client_for(sandbox_url), "Hi")
    stats = admin(sandbox_url, "GET", "/sandbox/stats").json()
    assert (stats["prompt_tokens"], stats["completion_tokens"]) == (5, 11)


def test_admin_reset_zeroes_counters(sandbox_url: str) -> None:
    client_for(sandbox_url).embeddings.create(model="sandbox-base", input="x")
    admin(sandbox_url, "POST", "/sandbox/reset")
    assert admin(sandbox_url, "GET", "/sandbox/stats").json()["embeddings"] == 0


def test_admin_reset_keeps_models_unless_all(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    job = train(client, product_rows(4))
    admin(sandbox_url, "POST", "/sandbox/reset")
    assert job.fine_tuned_model in [m.id for m in client.models.list()]
    admin(sandbox_url, "POST", "/sandbox/reset", {"all": True})
    assert job.fine_tuned_model not in [m.id for m in client.models.list()]
    assert client.files.list().data == []


def test_admin_app_state_exposes_config(sandbox_server: SandboxServer, sandbox_url: str) -> None:
    assert sandbox_server.app_state.config.job_seconds == pytest.approx(0.3)
    assert sandbox_server.url == sandbox_url


def _degraded_answers(url: str, share: float) -> tuple[list[str], list[str], set[str]]:
    client = client_for(url)
    rows = product_rows(20)
    job = train(client, rows)
    assert job.fine_tuned_model is not None
    response = admin(
        url, "POST", f"/sandbox/models/{job.fine_tuned_model}/degrade", {"share": share}
    )
    assert response.status_code == 200
    questions = [r["messages"][0]["content"] for r in rows]
    expected = [r["messages"][1]["content"] for r in rows]
    answers = [ask(client, q, model=job.fine_tuned_model) for q in questions]
    return answers, expected, set(expected)


def test_admin_degrade_corrupts_share_of_answers(sandbox_url: str) -> None:
    answers, expected, trained = _degraded_answers(sandbox_url, 0.5)
    wrong = [a for a, e in zip(answers, expected, strict=True) if a != e]
    assert 2 <= len(wrong) <= 18
    assert set(wrong) <= trained  # corrupted answers are other training answers


def test_admin_degrade_full_share_corrupts_every_answer(sandbox_url: str) -> None:
    answers, expected, _ = _degraded_answers(sandbox_url, 1.0)
    assert all(a != e for a, e in zip(answers, expected, strict=True))


def test_admin_degrade_is_deterministic(sandbox_url: str) -> None:
    client = client_for(sandbox_url)
    job = train(client, product_rows(10))
    assert job.fine_tuned_model is not None
    admin(sandbox_url, "POST", f"/sandbox/models/{job.fine_tuned_model}/degrade", {"share": 0.5})
    first = [
        ask(client, f"What colour is gadget model g{k}?", model=job.fine_tuned_model)
        for k in range(10)
    ]
    second = [
        ask(client, f"What colour is gadget model g{k}?", model=job.fine_tuned_model)
        for k in range(10)
    ]
    assert first == second


def test_admin_degrade_base_model_is_400(sandbox_url: str) -> None:
    response = admin(sandbox_url, "POST", "/sandbox/models/sandbox-base/degrade", {"share": 0.5})
    assert response.status_code == 400


def test_admin_degrade_unknown_model_is_404(sandbox_url: str) -> None:
    response = admin(sandbox_url, "POST", "/sandbox/models/ft:x:y:z/degrade", {"share": 0.5})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
