"""Activation history: the configurations a use case can roll back to, and what activated them.

The history is a stack. `baselined` and `advanced` push the configuration they make active; a
`rolled_back` decision pops every activation above the configuration it restores and takes
that configuration's place, so a configuration rolled back from is never a rollback target
again, and two rollbacks in a row walk further into the past.
"""

from sqlmodel import Session, col, select

from state import lookup
from state.convert import aware
from state.domain.decisions import Activation
from state.models import DecisionRecord, UseCaseRecord
from state.phases import DecisionKind

ACTIVATING = (DecisionKind.BASELINED, DecisionKind.ADVANCED, DecisionKind.ROLLED_BACK)


def activation_stack(use_case: str, *, session: Session) -> list[Activation]:
    """The activations still in force, oldest first; the last one made the active configuration."""
    use_case_id = session.exec(
        select(UseCaseRecord.id).where(UseCaseRecord.name == use_case)
    ).first()
    if use_case_id is None:
        raise lookup.unknown_use_case(use_case)
    rows = session.exec(
        select(DecisionRecord)
        .where(
            DecisionRecord.use_case_id == use_case_id,
            col(DecisionRecord.kind).in_([kind.value for kind in ACTIVATING]),
        )
        .order_by(col(DecisionRecord.id))
    ).all()
    stack: list[Activation] = []
    for row in rows:
        activation = Activation(
            decision_id=row.id,
            kind=DecisionKind(row.kind),
            configuration_id=row.configuration_id,
            eval_run_ids=list(row.eval_run_ids),
            created_at=aware(row.created_at),
        )
        restored = [i for i, a in enumerate(stack) if a.configuration_id == row.configuration_id]
        if activation.kind == DecisionKind.ROLLED_BACK and restored:
            del stack[restored[-1] :]
        stack.append(activation)
    return stack
