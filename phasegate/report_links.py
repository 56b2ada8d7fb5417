"""Which flow runs a report may link to: the ones the configured Prefect server still holds.

A check run with neither `PREFECT_API_URL` nor a background server (`phasegate server start`)
runs on a temporary Prefect server that ends with the command: its flow runs exist nowhere
afterwards, and a link to them would lead nowhere. With a lasting server, the report asks it
which of the cited flow runs it knows (one filter request per 200 ids) and links only those,
to the UI of that server.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from phasegate.prefect_api import call_api

PAGE = 200  # the Prefect API's largest page
TEMPORARY = (
    "Flow runs are named without links: no lasting Prefect server was configured "
    "(PREFECT_API_URL) or running (`phasegate server start`), so each check ran on a temporary "
    "Prefect server that ended with its command."
)


@dataclass(frozen=True)
class RunLinks:
    """The UI to link to, the flow runs it knows (None: not checked) and a note for the rest."""

    ui_url: str | None = None
    known: frozenset[str] | None = None
    note: str | None = None

    def url(self, flow_run_id: str | None) -> str | None:
        """The UI page of a flow run, when the run can be linked."""
        if self.ui_url is None or flow_run_id is None:
            return None
        if self.known is not None and flow_run_id not in self.known:
            return None
        return f"{self.ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}"


def _known(api_url: str, ids: list[str]) -> frozenset[str]:
    """The ids among `ids` that the Prefect API holds; OSError when it does not answer."""
    known: set[str] = set()
    for start in range(0, len(ids), PAGE):
        page = ids[start : start + PAGE]
        body = {"flow_runs": {"id": {"any_": page}}, "limit": len(page)}
        status, found = call_api(api_url, "POST", "/flow_runs/filter", body)
        if status != 200:
            raise OSError(f"POST /flow_runs/filter answered {status}")
        known |= {run["id"] for run in found or []}
    return frozenset(known)


def _server() -> tuple[str, str] | None:
    """(API, UI) of the configured Prefect server, else of the background one; None: neither."""
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

    from phasegate.background_server import running_server
    from state.settings import get_settings

    if api_url := PREFECT_API_URL.value():
        return str(api_url), str(PREFECT_UI_URL.value() or str(api_url).removesuffix("/api"))
    if (running := running_server(get_settings().data_dir)) is not None:
        return running.api_url, running.ui_url
    return None


def run_links(flow_run_ids: Iterable[str | None]) -> RunLinks:
    """Where the report's flow runs can be linked: the lasting Prefect server's UI, if any."""
    server = _server()
    if server is None:
        return RunLinks(note=TEMPORARY)
    api_url, ui_url = server
    ids = sorted({run for run in flow_run_ids if run})
    try:
        known = _known(api_url.rstrip("/"), ids)
    except OSError as exc:
        return RunLinks(
            note=f"Flow runs are named without links: the Prefect API at {api_url} did not "
            f"answer ({exc})."
        )
    missing = len(set(ids) - known)
    note = None
    if missing:
        note = (
            f"{missing} of {len(ids)} flow runs are not on the Prefect server at {api_url} (they "
            "ran on a temporary server that no longer exists): they are named without links."
        )
    return RunLinks(ui_url=ui_url, known=known, note=note)
