"""The spec's generation settings and answer extraction in a real phase check (prompting → RAG)."""

from collections.abc import Callable

import pytest

from state.configurations import get_configuration
from state.db import store_session
from state.evals import get_eval_run
from tests.flows.checks import run_check
from tests.flows.journey import Journey

GENERATION = {"max_tokens": 3, "temperature": 0, "stop": ["###"]}


@pytest.mark.prefect
def test_check_phase_calls_and_records_with_the_specs_generation_settings(
    journey_from: Callable[..., Journey],
) -> None:
    journey = journey_from("baselined", generation=GENERATION, answers={"lowercase": False})
    step = run_check(journey)
    with store_session(journey.store_url) as session:
        candidate = get_configuration(step.decision.candidate_configuration_id, session=session)
        runs = [get_eval_run(i, session=session) for i in step.decision.eval_run_ids]
    assert candidate.generation == GENERATION
    assert candidate.answers["lowercase"] is False
    scored = next(run for run in runs if run.configuration_id == candidate.id)
    # The sandbox cuts its answer after max_tokens: every call carried the spec's limit.
    assert scored.n == 142
    assert max(r.completion_tokens for r in scored.results) == 3
