"""Eval runs and the response cache in the store, on SQLite and PostgreSQL."""

import pytest
from sqlmodel import Session

from state import configurations
from state.domain import ConfigurationDraft, EvalRun, ItemResult
from state.errors import NotFound
from state.evals import (
    find_eval_run,
    get_cached_responses,
    get_eval_run,
    list_eval_runs,
    put_cached_responses,
    record_eval_run,
)
from state.phases import Phase
from tests.tasks.gate_builders import eval_run

HASH = "e" * 64


@pytest.fixture(name="config_id")
def config_id_fixture(use_case: str, session: Session) -> int:
    """One configuration of the registered demo-qa; returns its id."""
    draft = ConfigurationDraft(phase=Phase.PROMPTING, model="sandbox-base")
    return configurations.save_configuration(use_case, draft, session=session).id


def _run(config_id: int | None, *, errors: int = 0, extra: dict | None = None) -> EvalRun:
    results = [
        ItemResult(
            item_id=f"q{i}",
            score=None if i < errors else 1.0,
            output=f"a{i}",
            latency_ms=10.0 + i,
            prompt_tokens=20,
            completion_tokens=3,
            error="timeout" if i < errors else None,
        )
        for i in range(3)
    ]
    return eval_run(
        results,
        run_id=None,
        mean=(3 - errors) / 3,
        p95_ms=12.0,
        tokens=(20.0, 3.0),
        use_case="demo-qa",
        configuration_id=config_id,
        eval_set_hash=HASH,
        metric="token_f1",
        error_rate=errors / 3,
        latency_p50_ms=11.0,
        cost_per_query=1e-5,
        provider_calls=3,
        extra={"provider_errors": errors} if extra is None else extra,
    )


def test_record_eval_run_returns_it_with_id_and_time(config_id: int, session: Session) -> None:
    recorded = record_eval_run(_run(config_id), session=session)
    assert recorded.id is not None and recorded.created_at is not None
    assert recorded.model_dump(exclude={"id", "created_at"}) == _run(config_id).model_dump(
        exclude={"id", "created_at"}
    )


def test_get_eval_run_reads_back_the_run_and_its_results(config_id: int, session: Session) -> None:
    recorded = record_eval_run(_run(config_id, errors=1), session=session)
    assert get_eval_run(recorded.id, session=session) == recorded


def test_get_eval_run_of_unknown_id_is_none(config_id: int, session: Session) -> None:
    assert get_eval_run(12345, session=session) is None


def test_record_eval_run_of_unknown_use_case_raises(session: Session) -> None:
    with pytest.raises(NotFound, match="unknown use case: 'demo-qa'"):
        record_eval_run(_run(None), session=session)


def test_record_eval_run_of_unknown_configuration_raises(config_id: int, session: Session) -> None:
    with pytest.raises(NotFound, match=f"configuration {config_id + 1} does not exist"):
        record_eval_run(_run(config_id + 1), session=session)


def test_list_eval_runs_returns_every_run_of_the_use_case_oldest_first(
    config_id: int, session: Session
) -> None:
    first = record_eval_run(_run(config_id), session=session)
    second = record_eval_run(_run(None, errors=1), session=session)
    runs = list_eval_runs("demo-qa", session=session)
    assert [(r.id, r.configuration_id, r.error_rate) for r in runs] == [
        (first.id, config_id, 0.0),
        (second.id, None, 1 / 3),
    ]
    assert [r.results for r in runs] == [[], []]
    assert all(r.created_at is not None and r.created_at.tzinfo for r in runs)


def test_list_eval_runs_of_unknown_use_case_raises(session: Session) -> None:
    with pytest.raises(NotFound):
        list_eval_runs("nobody", session=session)


def test_find_eval_run_returns_the_newest_matching_run(config_id: int, session: Session) -> None:
    record_eval_run(_run(config_id), session=session)
    newest = record_eval_run(_run(config_id), session=session)
    found = find_eval_run("demo-qa", config_id, HASH, "token_f1", session=session)
    assert found == newest


def test_find_eval_run_needs_the_same_eval_set_and_metric(config_id: int, session: Session) -> None:
    record_eval_run(_run(config_id), session=session)
    assert find_eval_run("demo-qa", config_id, "f" * 64, "token_f1", session=session) is None
    assert find_eval_run("demo-qa", config_id, HASH, "exact_match", session=session) is None


def test_find_eval_run_skips_runs_with_provider_errors(config_id: int, session: Session) -> None:
    clean = record_eval_run(_run(config_id), session=session)
    record_eval_run(_run(config_id, errors=2), session=session)
    found = find_eval_run("demo-qa", config_id, HASH, "token_f1", session=session)
    assert found is not None and found.id == clean.id


def test_find_eval_run_reuses_runs_whose_errors_are_answers(
    config_id: int, session: Session
) -> None:
    # Answer-format errors are part of the measurement: scoring again would repeat them.
    run = record_eval_run(_run(config_id, errors=1, extra={"provider_errors": 0}), session=session)
    found = find_eval_run("demo-qa", config_id, HASH, "token_f1", session=session)
    assert found is not None and found.id == run.id


def test_invalid_run_is_stored_with_its_errors_but_never_found(
    config_id: int, session: Session
) -> None:
    reason = "3 of 3 items failed at http://127.0.0.1:9/v1 with model m; first error: timeout"
    valid = record_eval_run(_run(config_id), session=session)
    invalid = record_eval_run(
        _run(config_id, errors=3).model_copy(update={"invalid_reason": reason}), session=session
    )
    stored = get_eval_run(invalid.id, session=session)
    assert stored.invalid_reason == reason and not stored.valid
    assert [r.error for r in stored.results] == ["timeout"] * 3
    found = find_eval_run("demo-qa", config_id, HASH, "token_f1", session=session)
    assert found is not None and found.id == valid.id


def test_find_eval_run_finds_nothing_when_only_invalid_runs_exist(
    config_id: int, session: Session
) -> None:
    # An invalid run whose errors were answers only would otherwise be reusable.
    run = _run(config_id, errors=1, extra={"provider_errors": 0})
    record_eval_run(run.model_copy(update={"invalid_reason": "too many"}), session=session)
    assert find_eval_run("demo-qa", config_id, HASH, "token_f1", session=session) is None


def test_cached_responses_round_trip_only_known_keys(session: Session) -> None:
    put_cached_responses({"k1": {"text": "a"}, "k2": {"text": "b"}}, session=session)
    assert get_cached_responses(["k1", "k3", "k2", "k1"], session=session) == {
        "k1": {"text": "a"},
        "k2": {"text": "b"},
    }


def test_put_cached_responses_keeps_the_first_response_of_a_key(session: Session) -> None:
    put_cached_responses({"k1": {"text": "first"}}, session=session)
    put_cached_responses({"k1": {"text": "second"}, "k2": {"text": "new"}}, session=session)
    assert get_cached_responses(["k1", "k2"], session=session)["k1"] == {"text": "first"}


def test_cached_responses_handle_more_keys_than_one_statement(session: Session) -> None:
    responses = {f"key-{i:05d}": {"i": i} for i in range(1203)}
    put_cached_responses(responses, session=session)
    assert get_cached_responses(list(responses), session=session) == responses
