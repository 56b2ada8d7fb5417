"""Pruning through the sweep's step: the artifacts of pruned runs go, those of decisions stay."""

from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest
from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.runtime import flow_run
from sqlalchemy import update
from sqlmodel import col

from flows.sweep import prune_store
from state import configurations, decisions, use_cases
from state.db import store_session
from state.domain import ConfigurationDraft, DecisionDraft, GateResult
from state.evals import record_eval_run
from state.models import EvalRunRecord, utcnow
from state.phases import DecisionKind, GateStatus, Phase
from state.spec import load_spec
from tests.specs import write_spec
from tests.tasks.gate_builders import eval_run


@flow(name="report-something")
def report_something() -> str:
    """Publish one markdown artifact; return this run's id."""
    create_markdown_artifact("# a gate report", key="gate-report-demo-qa")
    return str(flow_run.id)


def _artifacts(run_id: str) -> int:
    runs = ArtifactFilterFlowRunId(any_=[UUID(run_id)])
    with get_client(sync_client=True) as client:
        return len(client.read_artifacts(artifact_filter=ArtifactFilter(flow_run_id=runs)))


def _old_monitor_run(store_url: str, run_id: str, cited: bool) -> None:
    """A monitor eval run of `run_id` 120 days old; with `cited`, a decision of the run cites it."""
    with store_session(store_url) as session:
        run = eval_run([1.0, 0.0]).model_copy(
            update={"id": None, "use_case": "demo-qa", "purpose": "monitor", "flow_run_id": run_id}
        )
        stored = record_eval_run(run, session=session)
        session.execute(
            update(EvalRunRecord)
            .where(col(EvalRunRecord.id) == stored.id)
            .values(created_at=utcnow() - timedelta(days=120))
        )
        if cited:
            version = use_cases.require_use_case("demo-qa", session=session).version
            draft = DecisionDraft(
                kind=DecisionKind.ROLLED_BACK,
                to_phase=Phase.PROMPTING,
                flow_run_id=run_id,
                eval_run_ids=[stored.id],
                gate_results=[GateResult(check="regression", status=GateStatus.FAIL)],
            )
            decisions.record_decision("demo-qa", draft, expected_version=version, session=session)


@pytest.mark.prefect
def test_prune_store_deletes_the_artifacts_of_pruned_runs_only(
    flows_api: None, store_url: str, tmp_path: Path
) -> None:
    with store_session(store_url) as session:
        use_cases.apply_spec(load_spec(write_spec(tmp_path)), session=session)
        draft = ConfigurationDraft(phase=Phase.PROMPTING, model="m1")
        configurations.save_configuration("demo-qa", draft, session=session)
    pruned, kept = report_something(), report_something()
    _old_monitor_run(store_url, pruned, cited=False)
    _old_monitor_run(store_url, kept, cited=True)

    report, deleted = prune_store(store_url, timedelta(days=90))

    assert (report.flow_run_ids, deleted) == ([pruned], 1)
    assert (_artifacts(pruned), _artifacts(kept)) == (0, 1)
