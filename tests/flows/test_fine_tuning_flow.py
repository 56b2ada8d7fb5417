"""Fine-tuning through real flow runs: checkpoints chosen on validation, pilot, search, failures.

support-qa starts in RAG (a copy of the journey's store) and is checked with the sandbox as
trainer; what the tests read comes from the store, the decision and the sandbox's jobs.
"""

from collections.abc import Callable, Iterator

import pytest
import yaml

from state.db import store_session
from state.evals import get_eval_run, list_eval_runs
from state.settings import get_settings
from tasks.eval_sets import load_eval_set
from tests.flows.checks import JourneyRecord, Step, run_check
from tests.flows.journey import ROOT, USE_CASE, Journey

pytestmark = pytest.mark.prefect

FINE_TUNING = yaml.safe_load((ROOT / "usecases" / USE_CASE / "spec.yaml").read_text())[
    "fine_tuning"
]


def _tuning(backend: str, suffix: str, **settings: object) -> dict:
    """support-qa's fine_tuning with its own suffix per test and backend: a job with the same
    files and settings (an earlier test's, on the shared sandbox) would be reused, not run."""
    return FINE_TUNING | settings | {"suffix": f"{suffix}-{backend}"}


def _checks(step: Step) -> dict:
    return {g.check: g for g in step.decision.gate_results}


def _held_in_rag(step: Step) -> None:
    """The move was held and nothing became active: support-qa still runs its RAG config."""
    assert step.decision.kind == "held"
    assert step.use_case.active_phase == "rag"
    assert step.active.phase == "rag"


@pytest.fixture(name="sandbox_faults")
def sandbox_faults_fixture(journey_record: JourneyRecord) -> Iterator[Callable[..., None]]:
    """Set sandbox faults for one test; the sandbox's start-up config is restored after it."""
    sandbox = journey_record.journey.sandbox
    yield lambda **faults: sandbox.admin("POST", "/sandbox/faults", faults)
    sandbox.reset()


def test_every_checkpoint_is_scored_on_validation_and_the_best_is_the_candidate(
    journey_record: JourneyRecord,
) -> None:
    step = journey_record.steps["fine_tuning"]
    selection = _checks(step)["checkpoint_selection"]
    scores = selection.evidence["checkpoints"]
    assert [s["epoch"] for s in scores] == list(range(1, FINE_TUNING["n_epochs"] + 1))
    chosen = selection.evidence["chosen"]
    assert chosen["mean"] == max(s["mean"] for s in scores)
    assert step.active.model == chosen["model"]
    assert selection.evidence["trained_tokens"] > 0


def test_checkpoint_selection_never_reads_the_eval_set(journey_record: JourneyRecord) -> None:
    step = journey_record.steps["fine_tuning"]
    scores = _checks(step)["checkpoint_selection"].evidence["checkpoints"]
    eval_items, eval_hash = load_eval_set(ROOT / "usecases" / USE_CASE / "eval.jsonl")
    eval_inputs = {item.input for item in eval_items}
    with store_session(journey_record.journey.store_url) as session:
        runs = [get_eval_run(s["eval_run_id"], session=session) for s in scores]
        every = list_eval_runs(USE_CASE, session=session)
    for run in runs:
        assert run.purpose == "validation" and run.eval_set_hash != eval_hash
        assert all(r.item_id.startswith("validation-") for r in run.results)
    asked = {r.item_id for run in runs for r in run.results}
    assert len(asked) == runs[0].n > 0
    # No checkpoint meets the eval set: only the candidate registered from the chosen one does.
    checkpoint_configs = {s["configuration_id"] for s in scores}
    on_eval = {r.configuration_id for r in every if r.eval_set_hash == eval_hash}
    assert step.active.id in on_eval and not checkpoint_configs & on_eval
    assert not {r.item_id for run in runs for r in run.results} & {i.id for i in eval_items}
    assert eval_inputs  # the eval set is not empty, so the assertions above could fail


def test_a_pilot_without_gain_holds_and_starts_no_full_run(
    journey_from: Callable[..., Journey], backend: str
) -> None:
    tuning = _tuning(backend, "pilot-fails", pilot={"share": 0.02})
    journey = journey_from("rag", fine_tuning=tuning)

    step = run_check(journey, auto_approve=True)

    pilot = _checks(step)["pilot"]
    _held_in_rag(step)
    assert pilot.status == "fail" and pilot.evidence["ci_low"] <= 0
    assert step.decision.reason == pilot.detail
    assert "full run is not started" in pilot.detail
    assert pilot.evidence["full_run_tokens"] > pilot.evidence["pilot_trained_tokens"] > 0
    assert journey.sandbox.stats()["jobs_create"] == 1


def test_a_pilot_that_gains_lets_the_full_run_go_ahead(
    journey_from: Callable[..., Journey], backend: str
) -> None:
    journey = journey_from("rag", fine_tuning=_tuning(backend, "pilot-gains", pilot={"share": 0.5}))

    step = run_check(journey, auto_approve=True)

    checks = _checks(step)
    assert checks["pilot"].status == "pass" and checks["pilot"].evidence["ci_low"] > 0
    assert journey.sandbox.stats()["jobs_create"] == 2
    # The pilot's tokens are part of what the move cost.
    spent = checks["checkpoint_selection"].evidence
    assert (
        len(spent["jobs"]) == 2 and spent["jobs"][0]["job_id"] == checks["pilot"].evidence["job_id"]
    )


def test_a_search_runs_every_point_at_once_and_picks_the_best_checkpoint(
    journey_from: Callable[..., Journey], backend: str, sandbox_faults: Callable[..., None]
) -> None:
    search = {"n_epochs": [2, 4], "learning_rate_multiplier": [1.0, 2.0]}
    journey = journey_from("rag", fine_tuning=_tuning(backend, "search", search=search))
    sandbox_faults(job_seconds=5)  # long enough that jobs run one after another could not overlap

    step = run_check(journey, auto_approve=True)

    selection = _checks(step)["checkpoint_selection"]
    ids = {j["job_id"] for j in selection.evidence["jobs"]}
    jobs = [job for job in journey.sandbox.app_state.jobs.values() if job.id in ids]
    assert len(jobs) == 4 == journey.sandbox.stats()["jobs_create"]
    # At once: every job was created before the first one finished (and its files sent once).
    assert max(job.created for job in jobs) < min(job.created + job.duration for job in jobs)
    assert journey.sandbox.stats()["files_create"] == 2
    scores = selection.evidence["checkpoints"]
    assert len(scores) == 2 + 2 + 4 + 4
    assert selection.evidence["chosen"]["mean"] == max(s["mean"] for s in scores)
    points = {(j["n_epochs"], j["learning_rate_multiplier"]) for j in selection.evidence["jobs"]}
    assert points == {(2, 1.0), (2, 2.0), (4, 1.0), (4, 2.0)}
    assert selection.evidence["trained_tokens"] == sum(
        j["trained_tokens"] for j in selection.evidence["jobs"]
    )
    # Over-training (4 epochs at twice the rate) confuses answers: its last checkpoint loses.
    overtrained = [s for s in scores if (s["n_epochs"], s["learning_rate_multiplier"]) == (4, 2.0)]
    assert overtrained[-1]["mean"] < max(s["mean"] for s in overtrained)


def test_a_failed_job_holds_with_its_cause_and_activates_nothing(
    journey_from: Callable[..., Journey], backend: str, sandbox_faults: Callable[..., None]
) -> None:
    journey = journey_from("rag", fine_tuning=_tuning(backend, "failing"))
    sandbox_faults(job_failure_share=1.0)

    step = run_check(journey, auto_approve=True)

    build = _checks(step)["candidate_build"]
    _held_in_rag(step)
    assert build.status == "fail"
    assert "failed (server_error: The job failed due to an internal error.)" in build.detail
    assert "checkpoint_selection" not in _checks(step)


def test_a_job_past_the_training_timeout_is_cancelled_and_held(
    journey_from: Callable[..., Journey],
    sandbox_faults: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    journey = journey_from("rag", fine_tuning=_tuning(backend, "slow"))
    sandbox_faults(job_seconds=60)
    monkeypatch.setenv("PHASEGATE_TRAINING_TIMEOUT", "1")
    get_settings.cache_clear()

    step = run_check(journey, auto_approve=True)

    build = _checks(step)["candidate_build"]
    _held_in_rag(step)
    assert "cancelled (timeout: not finished after 1 s; cancelled)" in build.detail
    slow = [j for j in journey.sandbox.app_state.jobs.values() if j.suffix == f"slow-{backend}"]
    assert [job.status for job in slow] == ["cancelled"]
