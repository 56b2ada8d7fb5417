"""Flow runs on the Prefect API: mark a dead check's run Crashed; delete pruned runs' artifacts."""

from uuid import UUID

import httpx
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL
from prefect.states import Crashed

from state.errors import PrefectUnavailable


def mark_crashed(flow_run_id: str, reason: str) -> bool:
    """Set a flow run Crashed if Prefect still shows it unfinished; True when it did.

    A check killed with SIGKILL, or lost with its host, stays Running (or Paused) for ever;
    the check that takes over its lease calls this.
    """
    try:
        run_id = UUID(flow_run_id)
    except ValueError:
        return False  # not a Prefect run (a check run outside Prefect)
    with get_client(sync_client=True) as client:
        try:
            run = client.read_flow_run(run_id)
        except ObjectNotFound:
            return False
        if run.state is None or run.state.is_final():
            return False
        client.set_flow_run_state(run_id, Crashed(message=reason), force=True)
    return True


def prefect_run_ids(flow_run_ids: list[str]) -> list[UUID]:
    """The ids that name Prefect flow runs (a check run outside Prefect has another kind)."""
    found = []
    for value in flow_run_ids:
        try:
            found.append(UUID(value))
        except ValueError:
            continue  # not a Prefect run: it has no artifacts
    return found


def delete_artifacts(flow_run_ids: list[str]) -> int:
    """Delete every Prefect artifact of these flow runs; returns how many went.

    PrefectUnavailable, naming the API, when it cannot be reached or answers with an error.
    """
    if not prefect_run_ids(flow_run_ids):
        return 0
    try:
        return _delete_artifacts(prefect_run_ids(flow_run_ids))
    except httpx.HTTPError as exc:
        raise PrefectUnavailable(
            f"the Prefect API at {PREFECT_API_URL.value()} cannot be reached "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def _delete_artifacts(runs: list[UUID]) -> int:
    """Delete the artifacts of these Prefect flow runs, 200 runs and 200 artifacts at a time."""
    deleted = 0
    with get_client(sync_client=True) as client:
        for start in range(0, len(runs), 200):
            chunk = ArtifactFilter(
                flow_run_id=ArtifactFilterFlowRunId(any_=runs[start : start + 200])
            )
            while found := client.read_artifacts(artifact_filter=chunk, limit=200):
                for artifact in found:
                    client.delete_artifact(artifact.id)
                deleted += len(found)
    return deleted
