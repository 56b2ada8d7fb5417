"""The `agreement` guardrail: a successor must answer as the retiring model did (golden set).

Two models can score the same by accident while answering differently; agreement makes that
visible. An item agrees when the two outputs are equal after whitespace and case are
normalised; only items both answered count.
"""

from state.domain import GateResult
from state.phases import Stage
from tasks.gates.inputs import GateInputs
from tasks.gates.results import INCONCLUSIVE, Gate, gate, passed


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


@gate("agreement", Stage.PROMOTION)
def gate_agreement(inputs: GateInputs, this: Gate) -> GateResult | None:
    """Pass when the share of items answered as in the golden set reaches `min_agreement`."""
    golden, subject = inputs.golden, inputs.subject
    if golden is None:
        return None  # not a retirement: no golden set to agree with
    minimum = inputs.min_agreement
    answered = (
        {r.item_id: r.output for r in subject.results if r.score is not None} if subject else {}
    )
    paired = sorted(golden.keys() & answered.keys())
    enough = len(paired) >= inputs.thresholds.min_paired
    evidence = {
        "paired": len(paired),
        "min_paired": inputs.thresholds.min_paired,
        "candidate_eval_run_id": subject.id if subject else None,
    }
    if not enough:
        detail = f"{len(paired)} items answered by both; {inputs.thresholds.min_paired} needed"
        return this.result(INCONCLUSIVE, detail, threshold=minimum, **evidence)
    agreed = [item for item in paired if _same(golden[item], answered[item])]
    share = len(agreed) / len(paired)
    differ = sorted(set(paired) - set(agreed))
    detail = (
        f"the successor answers {len(agreed)} of {len(paired)} items as the retiring model did "
        f"({share:.1%}); at least {minimum:.0%} needed"
    )
    return this.result(
        passed(share >= minimum),
        detail,
        observed=share,
        threshold=minimum,
        **evidence,
        agreed=len(agreed),
        differing_items=differ[:20],
    )
