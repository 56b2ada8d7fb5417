"""The verdict rules over check results, and the entry's met/not-met reason."""

import pytest

from state.domain import GateResult
from state.phases import GateStatus
from tasks.gates import entry_met, entry_reason, run_checks, verdict
from tests.tasks.gate_builders import FAIL, INCONCLUSIVE, PASS, eval_run, gate_inputs


def _results(*statuses: GateStatus) -> list[GateResult]:
    return [GateResult(check=f"c{i}", status=s) for i, s in enumerate(statuses)]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ((PASS, PASS), "advance"),
        ((PASS, FAIL), "hold"),
        ((INCONCLUSIVE, FAIL), "hold"),
        ((PASS, INCONCLUSIVE), "ask"),
        ((INCONCLUSIVE,), "ask"),
        ((), "ask"),
    ],
    ids=[
        "all-pass",
        "a-fail",
        "fail-beats-inconclusive",
        "inconclusive",
        "only-inconclusive",
        "none",
    ],
)
def test_verdict_advances_only_when_everything_passed(
    statuses: tuple[GateStatus, ...], expected: str
) -> None:
    assert verdict(_results(*statuses)) == expected


@pytest.mark.parametrize(
    ("statuses", "met"),
    [((PASS, PASS), True), ((PASS, INCONCLUSIVE), False), ((PASS, FAIL), False), ((), False)],
)
def test_entry_met_needs_every_entry_check_to_pass(
    statuses: tuple[GateStatus, ...], met: bool
) -> None:
    assert entry_met(_results(*statuses)) is met


def test_entry_reason_names_the_checks_that_did_not_pass() -> None:
    results = run_checks(gate_inputs(baseline=eval_run([0.9] * 40), documents=0, chunks=0), "entry")
    reason = entry_reason(results)
    assert reason.startswith("entry not met: need_quality fail: active quality 0.900")
    assert "data_documents fail: 0 documents in 0 chunks" in reason


def test_entry_reason_without_results_says_nothing_ran() -> None:
    assert entry_reason([]) == "no entry checks ran"


def test_entry_reason_of_a_met_entry_lists_every_check() -> None:
    inputs = gate_inputs(baseline=eval_run([0.5] * 40), documents=2, chunks=9)
    reason = entry_reason(run_checks(inputs, "entry"))
    assert reason.startswith("entry met: need_quality: active quality 0.500")
    assert "data_documents: 2 documents in 9 chunks" in reason
