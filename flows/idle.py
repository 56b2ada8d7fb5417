"""Decide inside the sweep, without a flow run, the use cases a check would only hold.

A use case is idle when its check would record `held` without a provider call and without
building anything: it is baselined, no retirement notice is open and no rollout is live, the
active configuration's eval run on the unchanged eval set is stored (the check reuses it),
and then either it is on the last phase or the entry checks say the next phase is not needed
or not possible. For an idle use case the sweep records that `held` itself, under the use
case's lease, with the check's own steps (`check_entry`) and reasons, so the decision is the
one the check would record. Everything else needs a look: a run of the check of its own.
"""

import uuid

from flows.context import UseCaseContext, current_run_id, open_check
from flows.phase_check import LAST_PHASE, check_entry
from flows.recording import Draft
from flows.results import CheckOutcome
from state.errors import LeaseLost, SpecError
from tasks.gates import entry_reason


def hold_if_idle(name: str) -> CheckOutcome | None:
    """Record `held` for an idle use case, as its check would; None when it needs a look.

    A use case whose lease another check holds, or whose data the sweep cannot read, needs a
    look too: its own run records `skipped`, or fails saying why, as a check does.
    """
    with open_check(name) as (ctx, held):
        if not held:
            return None
        try:
            return _hold_if_idle(ctx)
        except (SpecError, LeaseLost):
            return None  # nothing was recorded: the check of its own decides and says why


def _hold_if_idle(ctx: UseCaseContext) -> CheckOutcome | None:
    """The check's steps up to its entry decision, stopping wherever it would do more."""
    if ctx.use_case.active_configuration_id is None:
        return None  # the baseline A/B calls the provider
    if ctx.start.retirement or ctx.start.live_rollout:
        return None  # a migration or a rollout step: the check's own business
    config = ctx.active_configuration()
    _, eval_hash = ctx.eval_set
    # The run `score_configuration` would reuse; without it the check scores on the provider.
    active = ctx.find_run(config, eval_hash)
    if active is None:
        return None
    current, nxt = ctx.use_case.active_phase, ctx.use_case.active_phase.next
    # One decision per run id (store's idempotency): each use case the sweep holds gets its
    # own, derived from the sweep's run, so a re-run of the same sweep records nothing twice.
    run_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"phasegate:{current_run_id()}:{ctx.name}"))
    draft = Draft(ctx, nxt or current, config.id, active=active, run_id=run_id)
    if nxt is None:
        return draft.hold(LAST_PHASE)
    if check_entry(ctx, draft) is not None:
        return None  # entry met: the candidate is built and gated in a run of its own
    return draft.hold(entry_reason(draft.gates))
