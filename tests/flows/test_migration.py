"""Retirement migrations through real flow runs: the golden set, the successor and its gates."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from flows.phase_check import check_phase
from flows.retirement import watch_retirements
from state.settings import Settings
from state.spec import load_spec
from state.status_read import read_status
from state.store_api import Store
from tests.flows.journey import USE_CASE, Journey
from tests.flows.tiny_usecase import GUARDED
from tests.plugins.sandbox_server import SandboxServer

pytestmark = pytest.mark.prefect
RETIRING = "sandbox-base"


def _day(days: int) -> str:
    return str(datetime.now(UTC).date() + timedelta(days=days))


def _announce_on(sandbox: SandboxServer, days: int) -> None:
    sandbox.admin("POST", "/sandbox/faults", {"shutdown_dates": {RETIRING: _day(days)}})


def _status(settings: Settings) -> dict[str, str | None]:
    """What `status` flags per use case, read by its fast path and by the store; they agree."""
    today = datetime.now(UTC).date()
    fast = {row.name: row.retiring for row in read_status(settings.store_url, today=today)}
    full = {row.name: row.retiring for row in Store(settings.store_url).status_rows(today=today)}
    assert fast == full
    return fast


def _announce(journey: Journey, days: int) -> None:
    _announce_on(journey.sandbox, days)


def _gates(decision) -> dict:
    return {g.check: g for g in decision.gate_results}


def test_a_successor_that_answers_alike_is_switched_in_before_the_shutdown_date(
    journey_from: Callable[..., Journey],
) -> None:
    # sandbox-small-2 reads as sandbox-base does: same answers, same quality.
    journey = journey_from("rag", retirement={"successors": {RETIRING: "sandbox-small-2"}})
    store = Store(journey.store_url)
    retiring_id = journey.use_case().active_configuration_id
    _announce(journey, 30)

    watch_retirements()

    moved = store.list_decisions(USE_CASE)[-1]
    gates = _gates(moved)
    assert moved.kind == "advanced", moved.reason
    golden = store.get_golden_set(USE_CASE, retiring_id)
    assert golden is not None and golden.model == RETIRING
    assert gates["golden_set"].evidence["golden_set_id"] == golden.id
    assert gates["agreement"].observed == 1.0
    gain = gates["quality_gain"]
    assert (gain.evidence["rule"], gain.evidence["objective"]) == ("non_inferiority", "retirement")
    active = store.get_configuration(journey.use_case().active_configuration_id)
    assert (active.model, active.phase, journey.use_case().active_phase) == (
        "sandbox-small-2",
        "rag",
        "rag",
    )
    # The successor is not retiring: the watch finds nothing more to do.
    assert watch_retirements() == []


def test_a_tuned_configuration_whose_base_retires_is_tuned_again_on_the_successor(
    journey_from: Callable[..., Journey],
) -> None:
    journey = journey_from("fine_tuning", retirement={"successors": {RETIRING: "sandbox-small-2"}})
    store = Store(journey.store_url)
    retiring = store.get_configuration(journey.use_case().active_configuration_id)
    assert retiring.model.startswith(f"ft:{RETIRING}:")
    version = store.get_model_version(retiring.model_version_id)
    _announce(journey, 30)

    watch_retirements()

    moved = store.list_decisions(USE_CASE)[-1]
    gates = _gates(moved)
    assert moved.kind == "advanced", moved.reason
    assert gates["checkpoint_selection"].status == "pass"
    assert gates["golden_set"].evidence["model"] == retiring.model
    assert gates["agreement"].observed >= 0.8
    assert gates["quality_gain"].evidence["rule"] == "non_inferiority"
    active = store.get_configuration(journey.use_case().active_configuration_id)
    assert active.model.startswith("ft:sandbox-small-2:") and active.phase == "fine_tuning"
    tuned = store.get_model_version(active.model_version_id)
    assert tuned.base_model == "sandbox-small-2" and tuned.job_id != version.job_id
    assert journey.sandbox.app_state.jobs[tuned.job_id].model == "sandbox-small-2"
    # The same checked training file as the retiring model's tune.
    assert tuned.training_file_hash == version.training_file_hash
    assert watch_retirements() == []


def _retire_with(settings: Settings, successor: str) -> Store:
    """Re-apply tiny-canary's spec naming `successor` for sandbox-base (same data files)."""
    store = Store(settings.store_url)
    path = Path(store.require_use_case(GUARDED).spec_path)
    spec = yaml.safe_load(path.read_text()) | {"retirement": {"successors": {RETIRING: successor}}}
    retired = path.with_name(f"spec-{successor}.yaml")
    retired.write_text(yaml.safe_dump(spec, sort_keys=False))
    store.apply_specs([load_spec(retired)])
    return store


def test_a_failing_successor_is_held_then_migrated_from_the_golden_set_after_shutdown(
    tiny: Settings, sandbox_server: SandboxServer
) -> None:
    # tiny-canary retrieves 3 chunks of about 5 sentences each; sandbox-small reads 8.
    store = _retire_with(tiny, "sandbox-small")
    retiring_id = store.require_use_case(GUARDED).active_configuration_id
    _announce_on(sandbox_server, 30)

    watch_retirements()

    held = store.list_decisions(GUARDED)[-1]
    gates = _gates(held)
    assert held.kind == "held", held.reason
    # sandbox-small misses an answer past its window: not shown non-inferior, so not switched.
    assert {gates["agreement"].status, gates["quality_gain"].status} != {"pass"}
    assert gates["agreement"].evidence["differing_items"]
    assert store.require_use_case(GUARDED).active_configuration_id == retiring_id
    golden = store.get_golden_set(GUARDED, retiring_id)
    assert golden is not None
    assert _status(tiny)[GUARDED] == f"{RETIRING} on {_day(30)}"

    # The model is gone and answers 404; a successor that reads as it did is named.
    _announce_on(sandbox_server, -1)
    store = _retire_with(tiny, "sandbox-small-2")
    check_phase(GUARDED, auto_approve=True)

    moved = store.list_decisions(GUARDED)[-1]
    assert moved.kind == "advanced", moved.reason
    assert _gates(moved)["golden_set"].evidence["golden_set_id"] == golden.id
    active = store.get_configuration(store.require_use_case(GUARDED).active_configuration_id)
    assert active.model == "sandbox-small-2"
    assert _status(tiny)[GUARDED] is None
