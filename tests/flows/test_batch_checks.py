"""Phase checks of a use case whose spec says `eval: {mode: batch}`: every eval through batches."""

from pathlib import Path

import httpx
import pytest
import yaml

from flows.phase_check import check_phase
from state.settings import Settings, get_settings
from state.spec import load_spec
from state.store_api import Store
from tests.flows.tiny_usecase import write_use_case

NAME = "tiny-batch"


def _stats(sandbox_url: str) -> dict[str, int]:
    return httpx.get(sandbox_url.removesuffix("/v1") + "/sandbox/stats").json()


@pytest.fixture(name="batch_use_case")
def batch_use_case_fixture(
    flows_api: None, settings: Settings, sandbox_url: str, monkeypatch: pytest.MonkeyPatch
) -> Store:
    """The tiny use case in batch mode, registered on a fresh store that reaches the sandbox."""
    monkeypatch.setenv("PHASEGATE_BASE_URL", sandbox_url)
    get_settings.cache_clear()
    path = write_use_case(settings.data_dir.parent / "usecase", NAME, canary=False)
    spec = yaml.safe_load(path.read_text())
    spec["eval"] = {"mode": "batch", "poll_max_seconds": 0.1}
    path.write_text(yaml.safe_dump(spec))
    store = Store(get_settings().store_url)
    store.apply_specs([load_spec(Path(path))])
    return store


def test_check_in_batch_mode_scores_through_one_batch(
    batch_use_case: Store, sandbox_url: str
) -> None:
    outcome = check_phase(NAME)
    assert outcome.decision == "baselined", outcome.reason
    stats = _stats(sandbox_url)
    assert (stats["chat_completions"], stats["batches_create"]) == (0, 1)
    (run,) = batch_use_case.list_eval_runs(NAME)
    assert run.extra["transport"] == "batch" and len(run.extra["batch_ids"]) == 1
    assert run.n == 40 and run.error_rate == 0  # 30 ports and 10 offices
