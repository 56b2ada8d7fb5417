"""The HTML report shows every guardrail metric of every eval run with its interval."""

from pathlib import Path

from phasegate.report_html import load_report, render_report
from state.db import store_session
from state.domain import EvalRun, ItemResult
from state.evals import record_eval_run
from state.settings import Settings
from state.spec import load_spec
from state.use_cases import apply_spec
from tests.specs import write_spec
from tests.tasks.gate_builders import eval_run

GUARDRAILS = [{"metric": "max_length", "max_chars": 5}, {"metric": "refusal"}]


def _run(outputs: list[str]) -> EvalRun:
    results = [ItemResult(item_id=f"q{i}", score=1.0, output=o) for i, o in enumerate(outputs)]
    return eval_run(
        results,
        run_id=None,
        p95_ms=1.0,
        tokens=(1.0, 1.0),
        use_case="demo-qa",
        metric="token_f1",
        ci_low=1.0,
        latency_p50_ms=1.0,
        purpose="cli",
    )


def test_report_shows_each_guardrail_metric_per_eval_run(
    settings: Settings, tmp_path: Path
) -> None:
    spec = write_spec(tmp_path, metrics={"primary": "token_f1", "guardrails": GUARDRAILS})
    with store_session(settings.store_url) as session:
        apply_spec(load_spec(spec), session=session)
        record_eval_run(_run(["short", "a much longer answer"] * 10), session=session)

    html = render_report(load_report("demo-qa", store_url=settings.store_url, ui_url=None))

    assert 'id="guardrail-metrics"' in html
    assert "guardrail_max_length" in html and "guardrail_refusal" in html
    assert "0.500 [0.300 – 0.700], n=20" in html


def test_report_without_guardrails_has_no_guardrail_section(
    settings: Settings, tmp_path: Path
) -> None:
    with store_session(settings.store_url) as session:
        apply_spec(load_spec(write_spec(tmp_path)), session=session)
    html = render_report(load_report("demo-qa", store_url=settings.store_url, ui_url=None))
    assert "guardrail-metrics" not in html
