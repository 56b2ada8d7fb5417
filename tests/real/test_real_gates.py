"""support-qa-real through real phase checks on the local model: baseline, then prompting → RAG."""

import json
from pathlib import Path

import pytest
import yaml

from flows.phase_check import check_phase
from phasegate.demo_real import SPEC
from state.db import store_session
from state.decisions import list_decisions
from state.evals import get_eval_run, list_eval_runs
from state.settings import Settings, get_settings
from state.spec import load_spec
from state.use_cases import apply_spec

pytestmark = pytest.mark.real

NAME = "support-qa-real"
ITEMS = 30


def _spec_on_subset(directory: Path) -> Path:
    """The real spec with absolute data paths and its eval set cut to the first ITEMS items."""
    loaded = load_spec(SPEC)
    raw = yaml.safe_load(SPEC.read_text())
    lines = loaded.data_path("eval").read_text().splitlines()[:ITEMS]
    (directory / "eval.jsonl").write_text("\n".join(lines) + "\n")
    raw["data"] = {
        "eval": str(directory / "eval.jsonl"),
        "documents": str(loaded.data_path("documents")),
        "training": str(loaded.data_path("training")),
    }
    # Latency on a shared CPU is not what this test is about; quality and guardrails are.
    raw["constraints"] = raw["constraints"] | {"latency_p95_ms": 600_000}
    path = directory / "spec.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_real_model_baseline_then_rag_gates_on_real_answers(
    real_url: str,
    prefect_api: None,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PHASEGATE_BASE_URL", real_url)
    monkeypatch.setenv("PHASEGATE_CONCURRENCY", "1")
    monkeypatch.setenv("PHASEGATE_REQUEST_TIMEOUT", "120")
    get_settings.cache_clear()
    store_url = get_settings().store_url
    with store_session(store_url) as session:
        apply_spec(load_spec(_spec_on_subset(tmp_path)), session=session)
    baseline = check_phase(NAME, auto_approve=True)
    moved = check_phase(NAME, auto_approve=True)
    with store_session(store_url) as session:
        first, last = list_decisions(NAME, session=session)
        runs = list_eval_runs(NAME, session=session)
        active, candidate = (get_eval_run(i, session=session) for i in last.eval_run_ids)
    assert (baseline.decision, first.kind) == ("baselined", "baselined")
    # zero-shot, few-shot, RAG; every call answered: a verbose or wrong real answer is a low
    # score, never an error.
    assert [(run.n, run.error_rate) for run in runs] == [(ITEMS, 0.0)] * 3
    assert active.id == first.eval_run_ids[0] and candidate.configuration_id != active.id
    # The move is gated on the real answers: every promotion check gave a verdict with evidence.
    gates = {gate.check: gate.status for gate in last.gate_results}
    assert {"quality_gain", "guardrail_max_length", "quality_floor", "latency"} <= gates.keys()
    assert set(gates.values()) <= {"pass", "fail", "inconclusive"}
    assert moved.decision == last.kind and last.kind in ("advanced", "held"), json.dumps(gates)
