"""Store functions for rollouts: start one, read the live one, move its step, end it.

A rollout serves a use case's active configuration (the control, arm 0) and one or more
canaries to shares of the routing keys (`state/split.py`); its step and status live here so a
crashed rollout flow resumes where it was. Writes are guarded by the rollout's `version`.
"""

from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from state import lookup
from state.convert import aware
from state.domain.rollouts import ENDED, Arm, Rollout, RolloutDraft, RolloutStatus
from state.errors import Conflict, InputError, NotFound
from state.models import UseCaseRecord, utcnow
from state.rollout_models import RolloutArmRecord, RolloutRecord
from state.split import CONTROL


def _to_rollout(row: RolloutRecord, name: str, arms: list[RolloutArmRecord]) -> Rollout:
    return Rollout(
        **row.model_dump(exclude={"use_case_id", "step_started_at", "created_at", "ended_at"}),
        use_case=name,
        step_started_at=aware(row.step_started_at),
        created_at=aware(row.created_at),
        ended_at=aware(row.ended_at) if row.ended_at else None,
        arms=[
            Arm(name=a.name, configuration_id=a.configuration_id, position=a.position) for a in arms
        ],
    )


def _read(session: Session, row: RolloutRecord) -> Rollout:
    arms = session.exec(
        select(RolloutArmRecord)
        .where(RolloutArmRecord.rollout_id == row.id)
        .order_by(col(RolloutArmRecord.position))
    ).all()
    name = session.get(UseCaseRecord, row.use_case_id).name
    return _to_rollout(row, name, list(arms))


def get_rollout(rollout_id: int, *, session: Session) -> Rollout | None:
    """The rollout with this id, or None."""
    row = session.get(RolloutRecord, rollout_id)
    return _read(session, row) if row else None


def get_live_rollout(use_case: str, *, session: Session) -> Rollout | None:
    """The use case's rollout that has not ended (running or paused), or None."""
    row = session.exec(
        select(RolloutRecord).where(
            RolloutRecord.use_case_id == lookup.use_case_id(session, use_case),
            col(RolloutRecord.ended_at).is_(None),
        )
    ).first()
    return _read(session, row) if row else None


def list_rollouts(use_case: str, *, session: Session) -> list[Rollout]:
    """Every rollout of a use case, oldest first."""
    rows = session.exec(
        select(RolloutRecord)
        .where(RolloutRecord.use_case_id == lookup.use_case_id(session, use_case))
        .order_by(col(RolloutRecord.id))
    ).all()
    return [_read(session, row) for row in rows]


def start_rollout(use_case: str, draft: RolloutDraft, *, session: Session) -> Rollout:
    """Start a rollout of the draft's canaries against the active configuration.

    Raises Conflict when the use case has a live rollout or no active configuration, and
    InputError when a canary is the control or an arm name repeats, when a canary rollout has
    other than one canary or an A/B other than one step (its arms share it).
    """
    if draft.kind == "canary" and len(draft.canaries) != 1:
        raise InputError(f"canaries: a canary rollout has one ({len(draft.canaries)} given)")
    if draft.kind == "ab" and len(draft.steps) != 1:
        raise InputError(
            f"steps: an A/B runs one step, its arms share it ({len(draft.steps)} given)"
        )
    row = lookup.use_case_row(session, use_case)
    if row.active_configuration_id is None:
        raise Conflict(f"use case {use_case!r} has no active configuration to roll out against")
    if (live := get_live_rollout(use_case, session=session)) is not None:
        raise Conflict(f"use case {use_case!r} already has rollout {live.id} ({live.status})")
    arms = {CONTROL: row.active_configuration_id} | dict(draft.canaries)
    if len(arms) != len(draft.canaries) + 1 or len(set(arms.values())) != len(arms):
        raise InputError(f"arms: names and configurations must differ from each other ({arms})")
    rollout = RolloutRecord(
        use_case_id=row.id,
        kind=draft.kind,
        to_phase=draft.to_phase,
        steps=[s.model_dump(mode="json") for s in draft.steps],
        live_metrics=draft.live_metrics.model_dump(mode="json"),
        evidence=draft.evidence,
        started_by=draft.started_by,
        flow_run_id=draft.flow_run_id,
    )
    session.add(rollout)
    session.flush()
    for position, (name, configuration_id) in enumerate(arms.items()):
        session.add(
            RolloutArmRecord(
                rollout_id=rollout.id,
                position=position,
                name=name,
                configuration_id=configuration_id,
            )
        )
    session.flush()
    return _read(session, rollout)


def change_rollout(
    rollout_id: int,
    *,
    expected_version: int,
    session: Session,
    status: RolloutStatus | None = None,
    step: int | None = None,
    steps: list[dict] | None = None,
    reason: str | None = None,
    flow_run_id: str | None = None,
) -> Rollout:
    """Move a live rollout's step (its clock restarts) or status; ending it sets `ended_at`.

    `flow_run_id` names the flow run that asks a person while the rollout is paused; `steps`
    replaces the stored steps (an A/B appends one without a dropped arm).

    Raises NotFound for an unknown rollout and Conflict when it ended or changed since
    `expected_version` was read (another writer won): nothing is written then.
    """
    row = session.get(RolloutRecord, rollout_id)
    if row is None:
        raise NotFound(f"unknown rollout: {rollout_id}")
    values: dict[str, Any] = {"version": RolloutRecord.version + 1}
    now = utcnow()
    if step is not None:
        values |= {"step": step, "step_started_at": now}
    if steps is not None:
        values["steps"] = steps
    if status is not None:
        values["status"] = status
        if status in ENDED:
            values["ended_at"] = now
    if reason is not None:
        values["reason"] = reason
    if flow_run_id is not None:
        values["flow_run_id"] = flow_run_id
    result = session.execute(
        update(RolloutRecord)
        .where(
            col(RolloutRecord.id) == rollout_id,
            col(RolloutRecord.version) == expected_version,
            col(RolloutRecord.ended_at).is_(None),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict(
            f"rollout {rollout_id} ended or changed meanwhile (expected version "
            f"{expected_version}); nothing was written — read it again"
        )
    session.refresh(row)
    return _read(session, row)


def served_configuration_ids(use_case: str, *, session: Session) -> set[int]:
    """Configurations the use case has served: the active one and every rollout's arms."""
    row = lookup.use_case_row(session, use_case)
    arms = session.exec(
        select(RolloutArmRecord.configuration_id)
        .join(RolloutRecord, col(RolloutRecord.id) == RolloutArmRecord.rollout_id)
        .where(RolloutRecord.use_case_id == row.id)
    ).all()
    active = {row.active_configuration_id} if row.active_configuration_id is not None else set()
    return active | set(arms)
