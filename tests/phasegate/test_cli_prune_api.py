"""`phasegate prune` with the Prefect API down: exit 3 naming the API, the store untouched —
on SQLite and PostgreSQL."""

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import update

from state import decisions, use_cases
from state.db import store_session
from state.domain import DecisionDraft
from state.evals import record_eval_run
from state.models import DecisionRecord, EvalRunRecord, ResponseCacheRecord, utcnow
from state.phases import DecisionKind, Phase
from tests.phasegate.test_cli_inputs import (  # noqa: F401 - the fixture is used by name
    NAME,
    _cli,
    _snapshot,
    cli_store_fixture,
)
from tests.tasks.gate_builders import eval_run

DOWN = "http://127.0.0.1:9/api"  # the discard port: nothing listens there


def _backdate_old_rows(store_url: str) -> None:
    """A monitor eval run with results and a skipped decision, both of Prefect flow runs and
    120 days old: what prune removes, and whose artifacts it must delete first."""
    with store_session(store_url) as session:
        run = eval_run([1.0, 0.0]).model_copy(
            update={"id": None, "use_case": NAME, "purpose": "monitor", "configuration_id": None}
        )
        record_eval_run(run.model_copy(update={"flow_run_id": str(uuid.uuid4())}), session=session)
        version = use_cases.require_use_case(NAME, session=session).version
        draft = DecisionDraft(
            kind=DecisionKind.SKIPPED, to_phase=Phase.RAG, flow_run_id=str(uuid.uuid4())
        )
        decisions.record_decision(NAME, draft, expected_version=version, session=session)
        old = utcnow() - timedelta(days=120)
        for table in (EvalRunRecord, DecisionRecord, ResponseCacheRecord):
            session.execute(update(table).values(created_at=old))


def test_prune_with_the_prefect_api_down_exits_3_naming_it_and_prunes_nothing(
    cli_store: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _backdate_old_rows(cli_store)
    before = _snapshot(cli_store)
    with temporary_settings(updates={PREFECT_API_URL: DOWN}):
        code, err = _cli(capsys, "prune", "--older-than", "90d")
    assert code == 3, err
    assert err.startswith(f"error: the Prefect API at {DOWN} cannot be reached"), err
    assert err.endswith("the store was not pruned"), err
    assert _snapshot(cli_store) == before
