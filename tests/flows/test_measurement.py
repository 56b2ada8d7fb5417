"""Measurement validity in real flow runs: a provider outage or a missing model is no measurement.

The check and the monitor run on copies of the journey's store (SQLite and PostgreSQL) against
a port nothing listens on, or against the sandbox asked for a model it does not have.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import col, select

from flows.monitoring import monitor
from flows.phase_check import check_phase
from phasegate.cli.exits import run
from state.db import store_session
from state.decisions import list_decisions
from state.domain import Decision
from state.errors import MeasurementInvalid
from state.evals import get_eval_run
from state.models import EvalRunRecord
from state.settings import get_settings
from state.spec import load_spec
from state.use_cases import apply_spec
from tasks.events import REGRESSION_DETECTED
from tests.flows.checks import run_check
from tests.flows.journey import USE_CASE, Journey
from tests.flows.stored_events import stored_events
from tests.plugins.sandbox_server import dead_url
from tests.specs import write_spec


def _decisions(journey: Journey, name: str = USE_CASE) -> list[Decision]:
    with store_session(journey.store_url) as session:
        return list_decisions(name, session=session)


def _newest_run_id(journey: Journey) -> int:
    with store_session(journey.store_url) as session:
        return session.exec(
            select(col(EvalRunRecord.id)).order_by(col(EvalRunRecord.id).desc())
        ).first()


def _provider_down(monkeypatch: pytest.MonkeyPatch) -> str:
    url = dead_url()
    monkeypatch.setenv("PHASEGATE_BASE_URL", url)
    get_settings.cache_clear()
    return url


def _provider_back(monkeypatch: pytest.MonkeyPatch, journey: Journey) -> None:
    monkeypatch.setenv("PHASEGATE_BASE_URL", journey.sandbox.url)
    get_settings.cache_clear()


def _regression_events(since: datetime) -> list:
    return stored_events(REGRESSION_DETECTED, since)


def test_check_against_an_unreachable_provider_fails_and_records_nothing(
    journey_from: Callable[..., Journey], monkeypatch: pytest.MonkeyPatch
) -> None:
    journey = journey_from("baselined")
    before, active = _decisions(journey), journey.use_case().active_configuration_id
    url = _provider_down(monkeypatch)

    step = run_check(journey)

    assert step.state.is_failed()
    assert "could not measure: 142 of 142 items failed (error rate 100.0%" in step.state.message
    assert f"at {url} with model" in step.state.message
    assert "first error: connection error" in step.state.message
    assert step.decision is None and _decisions(journey) == before
    assert step.use_case.active_configuration_id == active
    with store_session(journey.store_url) as session:
        stored = get_eval_run(_newest_run_id(journey), session=session)
    assert not stored.valid and stored.provider_calls == 2
    assert f"eval run #{stored.id} is stored as invalid" in step.state.message


def test_check_after_the_provider_is_back_measures_and_decides_normally(
    journey_from: Callable[..., Journey], monkeypatch: pytest.MonkeyPatch
) -> None:
    journey = journey_from("baselined")
    _provider_down(monkeypatch)
    assert run_check(journey).state.is_failed()
    _provider_back(monkeypatch, journey)

    step = run_check(journey)

    assert step.state.is_completed() and step.decision.kind == "advanced"
    with store_session(journey.store_url) as session:
        runs = [get_eval_run(i, session=session) for i in step.decision.eval_run_ids]
    assert all(run.valid and run.error_rate == 0 for run in runs)


def test_check_of_a_candidate_on_a_missing_model_fails_after_one_call(
    journey_from: Callable[..., Journey],
) -> None:
    journey = journey_from("baselined", model="gpt-nowhere")
    before = _decisions(journey)

    step = run_check(journey)

    assert step.state.is_failed()
    assert "with model gpt-nowhere; first error: HTTP 404" in step.state.message
    assert journey.sandbox.url in step.state.message
    assert step.decision is None and _decisions(journey) == before
    assert journey.sandbox.stats()["chat_completions"] == 1


def test_first_check_of_a_new_use_case_fails_without_a_baseline_when_the_provider_is_down(
    journey_from: Callable[..., Journey], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    journey = journey_from("baselined")
    with store_session(journey.store_url) as session:
        apply_spec(load_spec(write_spec(tmp_path, name="new-one")), session=session)
    _provider_down(monkeypatch)

    state = check_phase("new-one", return_state=True)

    assert state.is_failed() and "new-one: could not measure" in state.message
    assert _decisions(journey, "new-one") == []


def test_check_of_a_fine_tuning_candidate_fails_when_the_provider_cannot_be_reached(
    journey_from: Callable[..., Journey], monkeypatch: pytest.MonkeyPatch
) -> None:
    journey = journey_from("rag")
    before = _decisions(journey)
    url = _provider_down(monkeypatch)

    step = run_check(journey)

    assert step.state.is_failed()
    assert "fine-tuning: upload of" in step.state.message and url in step.state.message
    assert step.decision is None and _decisions(journey) == before


def test_monitor_against_an_unreachable_provider_could_not_measure_and_changes_nothing(
    journey_from: Callable[..., Journey], monkeypatch: pytest.MonkeyPatch
) -> None:
    journey = journey_from("rag")
    before, active = _decisions(journey), journey.use_case().active_configuration_id
    url = _provider_down(monkeypatch)
    since = datetime.now(UTC)

    with pytest.raises(MeasurementInvalid, match=f"could not measure: .* at {url}"):
        monitor(USE_CASE)

    assert _decisions(journey) == before
    assert journey.use_case().active_configuration_id == active
    assert _regression_events(since) == []


def test_phasegate_check_and_monitor_exit_3_naming_the_endpoint_when_the_provider_is_down(
    journey_from: Callable[..., Journey],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    journey = journey_from("baselined")
    before = _decisions(journey)
    url = _provider_down(monkeypatch)

    assert run(["check", USE_CASE]) == 3
    assert f"at {url} with model" in capsys.readouterr().err
    assert _decisions(journey) == before
    rag = journey_from("rag")
    before = _decisions(rag)
    _provider_down(monkeypatch)
    assert run(["monitor", USE_CASE]) == 3
    assert "could not measure" in capsys.readouterr().err
    assert _decisions(rag) == before


@pytest.mark.parametrize(
    ("error", "traceback_kept"),
    [(MeasurementInvalid("could not measure"), False), (ValueError("a bug"), True)],
)
def test_run_loggers_drop_the_traceback_of_expected_errors_only(
    error: Exception, traceback_kept: bool
) -> None:
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        record = logging.LogRecord(name, logging.ERROR, __file__, 1, "failed: %r", (error,), None)
        record.exc_info = (type(error), error, None)
        assert logging.getLogger(name).filter(record)
        assert (record.exc_info is not None) is traceback_kept
        assert record.getMessage() == f"failed: {error!r}"
