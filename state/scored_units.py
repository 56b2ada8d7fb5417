"""A check's decision with what it scored: its configurations, eval runs and decision at once.

The configurations and eval runs a check built are kept out of the store (`Unstored`) until
its decision is recorded; then one transaction stores them and the decision that names them,
so a check that crashes, fails or loses its lease before that leaves none of them behind.
"""

from typing import Any

from sqlmodel import Session

from state import check_units, configurations, decisions, evals, lease_loss, rollout_units
from state.domain.decisions import Decision, DecisionDraft
from state.domain.rollouts import RolloutDraft
from state.domain.unstored import Unstored


def store_unstored(use_case: str, unstored: Unstored, *, session: Session) -> dict[int, int]:
    """Store the kept configurations, then the kept runs; each provisional id → stored id."""
    ids: dict[int, int] = {}
    for provisional, draft in unstored.configurations.items():
        ids[provisional] = configurations.save_configuration(use_case, draft, session=session).id
    for provisional, run in unstored.eval_runs.items():
        configuration_id = ids.get(run.configuration_id, run.configuration_id)
        row = run.model_copy(update={"id": None, "configuration_id": configuration_id})
        ids[provisional] = evals.record_eval_run(row, session=session).id
    return ids


def _pick(value: int | None, ids: dict[int, int]) -> int | None:
    return ids.get(value, value) if value is not None else None


def _stored_evidence(value: Any, ids: dict[int, int], key: str = "") -> Any:
    """Evidence with the provisional ids it names (`…_id`, `…_ids`) swapped for stored ones."""
    if isinstance(value, dict):
        return {name: _stored_evidence(item, ids, name) for name, item in value.items()}
    if isinstance(value, list) and key.endswith("_ids"):
        return [_stored_evidence(item, ids, key.removesuffix("s")) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and key.endswith("_id"):
        return ids.get(value, value)
    return value


def _with_stored_ids(draft: DecisionDraft, ids: dict[int, int]) -> DecisionDraft:
    """The decision naming the stored rows: its configurations, eval runs and gates' evidence."""
    gates = [
        gate.model_copy(update={"evidence": _stored_evidence(gate.evidence, ids)})
        for gate in draft.gate_results
    ]
    return draft.model_copy(
        update={
            "configuration_id": _pick(draft.configuration_id, ids),
            "candidate_configuration_id": _pick(draft.candidate_configuration_id, ids),
            "eval_run_ids": [_pick(i, ids) for i in draft.eval_run_ids],
            "gate_results": gates,
        }
    )


def record_scored_check(
    use_case: str,
    draft: DecisionDraft,
    unstored: Unstored,
    *,
    rollout: RolloutDraft | None,
    expected_version: int,
    approval_status: str | None,
    lease_holder: str | None,
    session: Session,
) -> tuple[Decision, int | None, dict[int, int]]:
    """Store what the check scored and record its decision (starting its rollout, if any).

    The decision (its eval run ids and its gates' evidence) and the rollout's arms name the
    stored rows, not the provisional ids. LeaseLost, Conflict: nothing is stored. A decision
    already recorded for the flow run is returned as it is, and nothing is stored again.
    Returns the decision, the rollout's id and the stored ids of the provisional ones.
    """
    if lease_holder is not None:
        # Locks the lease row until the decision is written: no break can land in between.
        lease_loss.require_lease(use_case, lease_holder, session=session)
    done = draft.flow_run_id is not None and (
        decisions.get_decision_by_run(draft.flow_run_id, session=session) is not None
    )
    ids = {} if done else store_unstored(use_case, unstored, session=session)
    draft = _with_stored_ids(draft, ids)
    terms = {"expected_version": expected_version, "approval_status": approval_status}
    if rollout is None:
        return check_units.record_check(use_case, draft, session=session, **terms), None, ids
    arms = {arm: _pick(c, ids) for arm, c in rollout.canaries.items()}
    decision, started = rollout_units.start_rollout_for_check(
        use_case, draft, rollout.model_copy(update={"canaries": arms}), session=session, **terms
    )
    return decision, started.id, ids
