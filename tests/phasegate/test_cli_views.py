"""The gate table as the CLI prints it: units from the report's formats, details never cut."""

import io
from datetime import UTC, datetime

from rich.console import Console

from phasegate.cli.views import gates_view
from state.domain import Decision, GateResult
from state.phases import DecisionKind, GateStatus, Phase, Stage

DETAIL = "candidate p95 1,489 ms [1,210, 2,100] straddles the budget 5,000 ms " * 2


def _decision() -> Decision:
    gates = [
        GateResult(
            check="latency",
            stage=Stage.PROMOTION,
            status=GateStatus.INCONCLUSIVE,
            observed=1489.0,
            threshold=5000.0,
            detail=DETAIL,
        ),
        GateResult(
            check="cost_break_even",
            stage=Stage.PROMOTION,
            status=GateStatus.PASS,
            observed=2.5,
            threshold=6.0,
            detail="pays back",
        ),
    ]
    return Decision(
        id=7,
        use_case="support-qa",
        kind=DecisionKind.HELD,
        from_phase=Phase.PROMPTING,
        to_phase=Phase.RAG,
        configuration_id=1,
        candidate_configuration_id=2,
        spec_hash="s" * 64,
        decided_by="phasegate",
        reason="inconclusive",
        flow_run_id=None,
        eval_run_ids=[1, 2],
        gate_results=gates,
        created_at=datetime(2026, 12, 7, tzinfo=UTC),
    )


def _shown(**console: object) -> str:
    out = io.StringIO()
    printer = Console(file=out, width=80, **console)
    printer.print(gates_view(printer, _decision()), crop=False)
    return out.getvalue()


def test_gate_table_carries_units() -> None:
    shown = _shown()
    assert "1.49 s" in shown and "5.00 s" in shown
    assert "2.50 months" in shown and "6.00 months" in shown


def test_gate_table_in_a_pipe_prints_each_detail_whole_below_it() -> None:
    lines = _shown().splitlines()
    assert "…" not in "\n".join(lines)
    start = next(i for i, line in enumerate(lines) if line.startswith("latency — detail: "))
    assert " ".join(lines[start:-1]).split("detail: ")[1].split() == DETAIL.split()
    assert lines[-1] == "cost_break_even — detail: pays back"


def test_gate_table_on_a_terminal_cuts_a_long_detail() -> None:
    shown = _shown(force_terminal=True, no_color=True)
    assert "…" in shown and "detail: " not in shown
