"""The retirement watch through real flow runs: a sandbox model retiring within the horizon."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from prefect.events import Event
from typer.testing import CliRunner

from flows.retirement import watch_retirements
from phasegate.cli.commands import app
from state.errors import OutcomeRefused
from state.settings import get_settings
from state.store_api import Store
from tasks.events import MODEL_RETIRING
from tests.flows.journey import USE_CASE, Journey
from tests.flows.stored_events import stored_events

pytestmark = pytest.mark.prefect


def _retiring_events(model: str, since: datetime, want: int) -> list[Event]:
    """The `phasegate.model.retiring` events of `model` since `since`, once `want` are stored."""
    return stored_events(MODEL_RETIRING, since, f"phasegate.model.{model}", want)


def _announce(journey: Journey, model: str, when: date) -> None:
    journey.sandbox.admin("POST", "/sandbox/faults", {"shutdown_dates": {model: when.isoformat()}})


def test_a_model_retiring_within_the_horizon_holds_the_use_case_once_and_is_announced_once(
    journey_from: Callable[..., Journey],
) -> None:
    journey = journey_from("rag")
    store = Store(journey.store_url)
    model = store.get_configuration(journey.use_case().active_configuration_id).model
    today = datetime.now(UTC).date()
    since = datetime.now(UTC) - timedelta(seconds=1)
    _announce(journey, model, today + timedelta(days=30))

    first = watch_retirements()
    again = watch_retirements()

    assert [(n.use_case, n.model, n.days_left) for n in first] == [(USE_CASE, model, 30)]
    assert again == first
    held = [d for d in store.list_decisions(USE_CASE) if d.reason.startswith("model_retirement")]
    assert [d.kind for d in held] == ["held"]
    (gate,) = held[0].gate_results
    assert (gate.check, gate.status, gate.observed, gate.threshold) == (
        "model_retirement",
        "fail",
        30,
        60,
    )
    assert gate.evidence["shutdown_date"] == (today + timedelta(days=30)).isoformat()
    assert gate.evidence["source"].startswith("provider ")
    assert journey.use_case().active_phase == "rag"  # held: nothing moved
    events = _retiring_events(model, since, want=2)
    assert len(events) == 1
    assert events[0].payload["shutdown_date"] == (today + timedelta(days=30)).isoformat()


def test_a_shutdown_beyond_the_horizon_records_nothing(
    journey_from: Callable[..., Journey],
) -> None:
    journey = journey_from("rag")
    store = Store(journey.store_url)
    model = store.get_configuration(journey.use_case().active_configuration_id).model
    before = len(store.list_decisions(USE_CASE))
    _announce(journey, model, datetime.now(UTC).date() + timedelta(days=61))

    assert watch_retirements() == []
    assert len(store.list_decisions(USE_CASE)) == before


def test_the_local_table_dates_a_model_whose_provider_publishes_none(
    journey_from: Callable[..., Journey], monkeypatch: pytest.MonkeyPatch
) -> None:
    journey = journey_from("rag")
    store = Store(journey.store_url)
    model = store.get_configuration(journey.use_case().active_configuration_id).model
    when = datetime.now(UTC).date() + timedelta(days=10)
    monkeypatch.setenv("PHASEGATE_RETIREMENTS", f'{{"{model}": "{when.isoformat()}"}}')
    get_settings.cache_clear()

    (notice,) = watch_retirements()

    assert (notice.model, notice.shutdown_date, notice.days_left) == (model, when, 10)
    assert notice.source == "local table (PHASEGATE_RETIREMENTS)"
    (noted,) = store.list_retirements(USE_CASE)
    assert noted.decision_id is not None and noted.source == notice.source


def test_models_check_lists_the_retiring_model_and_fails_on_it_when_asked(
    journey_from: Callable[..., Journey],
) -> None:
    journey = journey_from("rag")
    model = (
        Store(journey.store_url).get_configuration(journey.use_case().active_configuration_id).model
    )
    _announce(journey, model, datetime.now(UTC).date() + timedelta(days=5))

    result = CliRunner().invoke(app, ["models", "check", "--fail-on-retiring"])

    assert isinstance(result.exception, OutcomeRefused)
    assert f"{USE_CASE}: {model} shuts down on" in result.output
    assert "in 5 days" in result.output
