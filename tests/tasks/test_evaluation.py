"""Evaluation against the real sandbox: faults, hangs, caching, answer formats, aggregates."""

from pathlib import Path

import httpx
import pytest
from prefect import flow
from pydantic import SecretStr

from state.domain import EvalItem, ItemResult
from state.errors import InputError, MeasurementInvalid
from state.settings import Price, ProviderOptions
from tasks.evaluation import (
    LATENCY,
    EvalTarget,
    PreparedRequest,
    evaluate,
    invalid_reason,
    require_valid,
    summarise,
)
from tasks.metrics import token_f1
from tasks.scoring_tasks import score_requests
from tests.plugins.sandbox_server import dead_url

CONTEXT = (
    "Context:\n[kb-1] Refunds are processed within five business days.\n\n"
    "[kb-2] Parcels ship from the Leipzig warehouse.\n\n"
)


QUESTIONS = ["How are refunds processed?", "Where do parcels ship from?"]
EXPECTED = ["Refunds are processed within five business days.", "the Leipzig warehouse"]
# The sandbox answers each question with the sentence of the context that matches it.
SCORES = [1.0, token_f1("Parcels ship from the Leipzig warehouse.", EXPECTED[1])]


def _items(count: int) -> list[EvalItem]:
    return [
        EvalItem(id=f"q{i:03d}", input=f"{QUESTIONS[i % 2]} ({i})", expected=EXPECTED[i % 2])
        for i in range(count)
    ]


def _requests(items: list[EvalItem], kind: str = "zero_shot", system: str = "") -> list:
    messages = [{"role": "system", "content": system}] if system else []
    return [
        PreparedRequest(
            item_id=item.id,
            model="sandbox-base",
            messages=[*messages, {"role": "user", "content": f"{CONTEXT}Question: {item.input}"}],
            prompt_kind=kind,
        )
        for item in items
    ]


def _target(metric: str = "token_f1") -> EvalTarget:
    return EvalTarget(use_case="demo-qa", eval_set_hash="h" * 64, metric=metric)


def _options(url: str, **overrides: object) -> ProviderOptions:
    return ProviderOptions(base_url=url, api_key=SecretStr("sk-test"), **overrides)


def _admin(url: str, path: str, payload: dict | None = None) -> dict:
    root = url.removesuffix("/v1")
    response = httpx.request("POST" if payload is not None else "GET", root + path, json=payload)
    response.raise_for_status()
    return response.json()


def test_evaluate_scores_every_item_through_rate_limits_and_server_errors(sandbox_url: str) -> None:
    _admin(sandbox_url, "/sandbox/faults", {"fault_429": 0.2, "fault_500": 0.05, "seed": 5})
    items = _items(60)
    # One call at a time, so that the seeded faults fall on the same attempts in every run.
    run = evaluate(_requests(items), items, _target(), _options(sandbox_url, concurrency=1))
    assert run.n == 60 and run.error_rate == 0.0
    assert all(r.score is not None for r in run.results)
    assert run.retries > 0 and run.provider_calls == 60 + run.retries
    assert run.mean == pytest.approx(sum(SCORES) / 2)


def test_evaluate_marks_every_item_failed_when_the_provider_hangs(sandbox_url: str) -> None:
    _admin(sandbox_url, "/sandbox/faults", {"hang_share": 1.0, "hang_seconds": 1.0})
    items = _items(6)
    # One call at a time: the others wait for the first, which times out (with more at once,
    # they would go after the probe's grace, as to any provider slower than it).
    options = _options(sandbox_url, timeout=0.5, max_retries=1, concurrency=1)
    run = evaluate(_requests(items), items, _target(), options)
    assert run.error_rate == 1.0
    first, *rest = run.results
    assert first.score is None and first.error.startswith("timeout")
    # One failure of six is over max_error_rate 0.02: the other calls are not sent.
    assert all(r.score is None and r.error.startswith("not sent: 1 of 6 calls") for r in rest)
    assert run.extra["provider_errors"] == 6
    assert not run.valid and "first error: timeout" in run.invalid_reason


def test_evaluate_against_an_unreachable_provider_is_invalid_naming_the_endpoint() -> None:
    items, url = _items(40), dead_url()
    run = evaluate(_requests(items), items, _target(), _options(url))
    assert (run.error_rate, run.provider_calls) == (1.0, 2)
    assert run.invalid_reason.startswith(
        f"40 of 40 items failed (error rate 100.0% > max_error_rate 0.02) at {url} "
        "with model sandbox-base; first error: connection error"
    )


def test_evaluate_stops_a_429_storm_once_it_cannot_be_a_measurement(sandbox_url: str) -> None:
    _admin(sandbox_url, "/sandbox/faults", {"fault_429": 1.0, "retry_after_seconds": 0.01})
    items = _items(40)
    run = evaluate(_requests(items), items, _target(), _options(sandbox_url, max_retries=4))
    # The probe's five attempts fail: 1 of 40 is over max_error_rate 0.02; nothing else is sent.
    assert (run.provider_calls, run.retries) == (5, 4)
    assert run.invalid_reason.startswith("40 of 40 items failed (error rate 100.0% > ")
    assert "first error: HTTP 429" in run.invalid_reason


def test_evaluate_with_a_missing_model_is_invalid_after_one_call(sandbox_url: str) -> None:
    items = _items(40)
    requests = [r.model_copy(update={"model": "gpt-nowhere"}) for r in _requests(items)]
    run = evaluate(requests, items, _target(), _options(sandbox_url))
    assert "with model gpt-nowhere; first error: HTTP 404" in run.invalid_reason
    assert _admin(sandbox_url, "/sandbox/stats")["chat_completions"] == 1


def test_evaluate_p95_latency_includes_the_timeouts_of_hung_calls(sandbox_url: str) -> None:
    _admin(sandbox_url, "/sandbox/faults", {"hang_share": 0.3, "hang_seconds": 1.0, "seed": 11})
    items = _items(40)
    options = _options(sandbox_url, timeout=0.3, max_retries=4, concurrency=8)
    run = evaluate(_requests(items), items, _target(), options)
    # About 30 % of the calls waited out at least one 0.3 s timeout before their answer.
    assert run.latency_p95_ms >= 300
    assert run.extra["latency"] == LATENCY


def test_evaluate_again_with_nothing_changed_makes_no_provider_calls(
    sandbox_url: str, tmp_path: Path
) -> None:
    items, store_url = _items(8), f"sqlite:///{tmp_path / 'store.db'}"
    first = evaluate(_requests(items), items, _target(), _options(sandbox_url), store_url=store_url)
    _admin(sandbox_url, "/sandbox/reset", {})
    again = evaluate(_requests(items), items, _target(), _options(sandbox_url), store_url=store_url)
    assert _admin(sandbox_url, "/sandbox/stats")["chat_completions"] == 0
    assert again.provider_calls == 0 and again.extra["cached"] == 8
    assert again.results == first.results


def test_evaluate_without_cache_calls_the_provider_again(sandbox_url: str, tmp_path: Path) -> None:
    items, store_url = _items(4), f"sqlite:///{tmp_path / 'store.db'}"
    evaluate(_requests(items), items, _target(), _options(sandbox_url), store_url=store_url)
    again = evaluate(
        _requests(items),
        items,
        _target(),
        _options(sandbox_url),
        store_url=store_url,
        use_cache=False,
    )
    assert again.provider_calls == 4
    assert _admin(sandbox_url, "/sandbox/stats")["chat_completions"] == 8


def test_evaluate_chain_of_thought_reads_the_answer_line(sandbox_url: str) -> None:
    items = _items(2)
    system = "Think step by step, then give the final answer on a line starting with 'Answer:'."
    run = evaluate(
        _requests(items, "chain_of_thought", system), items, _target(), _options(sandbox_url)
    )
    assert [r.score for r in run.results] == SCORES
    assert run.results[0].output.startswith("Reasoning:")


def test_evaluate_chain_of_thought_without_answer_line_is_a_wrong_answer(sandbox_url: str) -> None:
    # The model answered, in the wrong format: a 0 with its reason, not a missing item.
    items = _items(2)
    run = evaluate(_requests(items, "chain_of_thought"), items, _target(), _options(sandbox_url))
    assert (run.error_rate, run.mean, run.extra["provider_errors"]) == (0.0, 0.0, 0)
    assert run.valid
    assert all(r.score == 0.0 and r.error.startswith("answer format") for r in run.results)


def test_evaluate_llm_judge_grades_each_answer_in_one_batch(sandbox_url: str) -> None:
    items = _items(4)
    run = evaluate(
        _requests(items),
        items,
        _target("llm_judge"),
        _options(sandbox_url),
        judge_model="sandbox-judge",
    )
    assert run.error_rate == 0.0 and run.provider_calls == 8
    assert run.results[0].score > run.results[1].score


def test_evaluate_llm_judge_unparseable_verdict_is_an_item_error(sandbox_url: str) -> None:
    items = _items(2)
    run = evaluate(
        _requests(items),
        items,
        _target("llm_judge"),
        _options(sandbox_url),
        judge_model="sandbox-base",
    )
    assert run.error_rate == 1.0
    assert all(r.error.startswith("judge: judge verdict") for r in run.results)
    assert "with model sandbox-base; first error: judge: judge verdict" in run.invalid_reason


def test_evaluate_llm_judge_needs_a_judge_model(sandbox_url: str) -> None:
    items = _items(1)
    with pytest.raises(InputError, match="judge model"):
        evaluate(_requests(items), items, _target("llm_judge"), _options(sandbox_url))


def test_evaluate_refuses_requests_for_unknown_items(sandbox_url: str) -> None:
    with pytest.raises(InputError, match="unknown eval items: q000"):
        evaluate(_requests(_items(1)), _items(0), _target(), _options(sandbox_url))


def _results(scores: list[float | None], latency: float = 100.0) -> list[ItemResult]:
    return [
        ItemResult(
            item_id=str(i),
            score=s,
            latency_ms=latency + i,
            prompt_tokens=100,
            completion_tokens=10,
            error=None if s is not None else "x",
        )
        for i, s in enumerate(scores)
    ]


def test_summarise_bootstrap_is_reproducible_with_its_seed() -> None:
    results = _results([i % 3 / 2 for i in range(200)])
    one = summarise(_target(), results, price=None, seed=7)
    two = summarise(_target(), results, price=None, seed=7)
    other = summarise(_target(), results, price=None, seed=8)
    assert (one.ci_low, one.ci_high) == (two.ci_low, two.ci_high)
    assert (one.ci_low, one.ci_high) != (other.ci_low, other.ci_high)


def test_summarise_interval_contains_the_mean() -> None:
    run = summarise(_target(), _results([1.0] * 70 + [0.0] * 30), price=None)
    assert run.mean == pytest.approx(0.7)
    assert run.ci_low < run.mean < run.ci_high


def test_summarise_leaves_failed_items_out_of_the_mean_and_counts_them_as_errors() -> None:
    run = summarise(_target(), _results([1.0, None, 0.5, None]), price=None)
    assert (run.mean, run.error_rate) == (0.75, 0.5)
    assert (run.ci_low, run.ci_high) == (0.5, 1.0)


def test_summarise_with_every_item_failed_has_no_scores() -> None:
    run = summarise(_target(), _results([None, None]), price=None)
    assert (run.error_rate, run.mean, run.ci_low, run.ci_high) == (1.0, 0.0, 0.0, 0.0)
    assert run.scores() == {}


def _validity(scores: list[float | None], limit: float) -> str | None:
    run = summarise(_target(), _results(scores), price=None)
    return invalid_reason(run, _requests(_items(len(scores))), "http://x/v1", limit)


def test_invalid_reason_allows_an_error_rate_at_the_limit_and_refuses_one_above() -> None:
    assert _validity([1.0] * 49 + [None], 0.02) is None
    assert _validity([1.0] * 50, 0.0) is None
    reason = _validity([1.0] * 48 + [None, None], 0.02)
    assert reason == (
        "2 of 50 items failed (error rate 4.0% > max_error_rate 0.02) at http://x/v1 "
        "with model sandbox-base; first error: x"
    )
    assert _validity([1.0] * 49 + [None], 0.0) is not None


def test_invalid_reason_refuses_a_run_with_nothing_scored_whatever_the_limit() -> None:
    assert _validity([None, None], 1.0) is not None


def test_require_valid_raises_naming_the_stored_run() -> None:
    run = summarise(_target(), _results([1.0]), price=None)
    invalid = run.model_copy(update={"id": 7, "invalid_reason": "1 of 1 items failed"})
    assert require_valid(run) is run
    with pytest.raises(
        MeasurementInvalid, match="could not measure: 1 of 1 items failed; eval run #7"
    ):
        require_valid(invalid)


def test_summarise_latency_percentiles_and_tokens_per_query() -> None:
    run = summarise(_target(), _results([1.0] * 101, latency=0.0), price=None)
    assert (run.latency_p50_ms, run.latency_p95_ms) == (50.0, 95.0)
    assert (run.prompt_tokens_per_query, run.completion_tokens_per_query) == (100.0, 10.0)


def test_summarise_cost_per_query_comes_from_the_price() -> None:
    price = Price(input_per_m=2.0, output_per_m=10.0)
    assert summarise(_target(), _results([1.0]), price=price).cost_per_query == pytest.approx(3e-4)
    assert summarise(_target(), _results([1.0]), price=None).cost_per_query is None


def test_summarise_refuses_an_empty_run() -> None:
    with pytest.raises(InputError, match="no eval items"):
        summarise(_target(), [], price=None)


@pytest.mark.prefect
def test_score_requests_runs_as_one_task_in_a_flow(prefect_api: None, sandbox_url: str) -> None:
    items = _items(4)

    @flow
    def measure() -> float:
        return score_requests(_requests(items), items, _target(), _options(sandbox_url)).mean

    assert measure() == pytest.approx(sum(SCORES) / 2)
