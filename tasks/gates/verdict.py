"""What results decide: the promotion verdict and whether an entry is met.

- entry: met only when every entry check passes (`entry_met`); otherwise the flow holds with
  `entry_reason`;
- promotion (`verdict`): any fail → hold; all pass → advance; otherwise (something
  inconclusive, nothing failed) → ask a person. An inconclusive result never advances.
"""

from collections.abc import Sequence
from enum import StrEnum

from state.domain import GateResult
from tasks.gates.results import FAIL, PASS


class Verdict(StrEnum):
    """What the promotion results decide."""

    ADVANCE = "advance"
    HOLD = "hold"
    ASK = "ask"


def verdict(results: Sequence[GateResult]) -> Verdict:
    """Decide: any fail holds, all pass advances, anything else asks a person."""
    statuses = {result.status for result in results}
    if FAIL in statuses:
        return Verdict.HOLD
    # No result at all is no evidence: like an inconclusive one, it never advances.
    return Verdict.ADVANCE if statuses == {PASS} else Verdict.ASK


def entry_met(results: Sequence[GateResult]) -> bool:
    """Tell whether every entry check passed (no result at all is not a pass)."""
    return bool(results) and all(result.status == PASS for result in results)


def entry_reason(results: Sequence[GateResult]) -> str:
    """Explain the entry outcome: the checks that did not pass, or all of them when met."""
    if not results:
        return "no entry checks ran"
    if entry_met(results):
        return "entry met: " + "; ".join(f"{r.check}: {r.detail}" for r in results)
    return "entry not met: " + "; ".join(
        f"{r.check} {r.status}: {r.detail}" for r in results if r.status != PASS
    )


def unmet(results: Sequence[GateResult], *, failed_only: bool = False) -> str:
    """The checks that failed (or did not pass) with their details, for a decision's reason."""
    shown = [r for r in results if (r.status == FAIL if failed_only else r.status != PASS)]
    if failed_only:
        return "; ".join(f"{r.check}: {r.detail}" for r in shown)
    return "; ".join(f"{r.check} {r.status}: {r.detail}" for r in shown)
