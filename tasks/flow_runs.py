"""Flow runs on the Prefect API: mark the run of a dead check Crashed."""

from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound
from prefect.states import Crashed


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
