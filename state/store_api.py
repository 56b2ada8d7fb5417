"""The state store's API for flows, tasks and the edge; each method is one unit of work.

`Store(url)` opens its own session for every call, commits it on success and rolls it back
on error, so nothing above `state/` opens one. Most methods are the store functions of
`state/` bound to a session of their own; the coarse ones (`check_units`, `intake_units`,
`read_units`) do in one session what a caller needs together (a transaction, or a consistent
read), e.g. `record_check`.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar

from sqlmodel import Session

from state import (
    active,
    approvals,
    check_units,
    deliveries,
    embeddings,
    evals,
    intake_units,
    interactions,
    lease_loss,
    leases,
    model_versions,
    prompt_library,
    read_units,
    retention,
    retirements,
    rollout_units,
    rollouts,
    store,
    usage,
)
from state.db import store_session
from state.domain import EvalRun

P = ParamSpec("P")
R = TypeVar("R")


def _unit(fn: Callable[Concatenate[..., P], R]) -> Callable[Concatenate["Store", P], R]:
    """A Store method that calls the store function `fn` in a session of its own."""

    @wraps(fn)
    def method(self: "Store", *args: P.args, **kwargs: P.kwargs) -> R:
        with self._session() as session:
            return fn(*args, session=session, **kwargs)

    return method


class Store:
    """The state store at `url`: every method is one unit of work in a session of its own."""

    def __init__(self, url: str) -> None:
        """Use the store at `url` (migrated on first use in this process)."""
        self.url = url

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with store_session(self.url) as session:
            yield session

    # Use cases and configurations
    require_use_case = _unit(store.require_use_case)
    list_use_cases = _unit(store.list_use_cases)
    status_rows = _unit(read_units.status_rows)
    apply_specs = _unit(read_units.apply_specs)
    get_configuration = _unit(store.get_configuration)
    get_configurations = _unit(check_units.get_configurations)
    save_configuration = _unit(store.save_configuration)
    active_parts = _unit(active.active_parts)
    served_parts = _unit(active.served_parts)
    served_arms = _unit(active.served_arms)
    served_token = _unit(active.served_token)

    # A phase check: what it reads as it starts, and its decision
    load_check_context = _unit(check_units.load_check_context)
    record_check = _unit(check_units.record_check)
    list_decisions = _unit(store.list_decisions)
    get_decision_by_run = _unit(store.get_decision_by_run)
    activations = _unit(check_units.activations)
    earlier_configurations = _unit(check_units.earlier_configurations)

    # Approvals
    request_approval = _unit(approvals.request_approval)
    pending_approvals = _unit(approvals.pending_approvals)
    pending_approvals_of = _unit(check_units.pending_approvals_of)
    approval_to_answer = _unit(check_units.approval_to_answer)
    lease_lost_reason = _unit(lease_loss.lost_reason)
    cancel_approval = _unit(check_units.cancel_approval)
    expired_approvals = _unit(approvals.expired_approvals)
    expire_approval = _unit(check_units.expire_approval)

    # Prompts and model versions
    get_prompt_version = _unit(prompt_library.get_prompt_version)
    list_prompt_versions = _unit(prompt_library.list_prompt_versions)
    find_prompt_version = _unit(prompt_library.find_prompt_version)
    save_prompted_configuration = _unit(check_units.save_prompted_configuration)
    save_rag_configuration = _unit(check_units.save_rag_configuration)
    save_tuned_configuration = _unit(check_units.save_tuned_configuration)
    get_model_version = _unit(model_versions.get_model_version)

    # Evals and the response cache
    find_eval_run = _unit(evals.find_eval_run)
    record_eval_run = _unit(evals.record_eval_run)
    get_eval_runs = _unit(check_units.get_eval_runs)
    list_eval_runs = _unit(evals.list_eval_runs)
    get_cached_responses = _unit(evals.get_cached_responses)
    put_cached_responses = _unit(evals.put_cached_responses)
    read_report = _unit(read_units.read_report)

    # Usage and interactions
    volume = _unit(usage.volume)
    record_daily_usage = _unit(intake_units.record_daily_usage)
    import_usage = _unit(intake_units.import_usage)
    record_usage_deliveries = _unit(intake_units.record_usage_deliveries)
    list_labelled_interactions = _unit(interactions.list_labelled_interactions)
    record_interactions_once = _unit(intake_units.record_interactions_once)

    # Webhook deliveries
    reserve_for_use_case = _unit(intake_units.reserve_for_use_case)
    release_delivery = _unit(intake_units.release_delivery)
    reserve_provider_event = _unit(intake_units.reserve_provider_event)
    provider_event_received = _unit(deliveries.scope_received)

    # Documents and embeddings
    sync_document_files = _unit(intake_units.sync_document_files)
    search_chunks = _unit(intake_units.search_chunks)
    chunks_without_embedding = _unit(embeddings.chunks_without_embedding)
    save_embeddings = _unit(embeddings.save_embeddings)
    nearest_chunks = _unit(intake_units.nearest_chunks)

    # Rollouts: live traffic split between the control and canaries
    start_rollout = _unit(rollouts.start_rollout)
    get_rollout = _unit(rollouts.get_rollout)
    get_live_rollout = _unit(rollouts.get_live_rollout)
    list_rollouts = _unit(rollouts.list_rollouts)
    change_rollout = _unit(rollouts.change_rollout)
    start_rollout_for_check = _unit(rollout_units.start_rollout_for_check)
    step_observations = _unit(rollout_units.step_observations)
    move_rollout = _unit(rollout_units.move_rollout)

    # Model retirements and golden sets
    record_retirement = _unit(retirements.record_retirement)
    list_retirements = _unit(retirements.list_retirements)

    def open_retirement(self, use_case: str) -> retirements.Retirement | None:
        """The soonest retirement noted for the use case's active configuration, if any."""
        with self._session() as session:
            return retirements.open_retirement(use_case, session=session)

    def record_golden_set(self, use_case: str, run: EvalRun, model: str) -> retirements.GoldenSet:
        """Keep a scored run's outputs as its configuration's golden set (the first stays)."""
        with self._session() as session:
            return retirements.record_golden_set(use_case, run, model, session=session)

    def get_golden_set(self, use_case: str, configuration_id: int) -> retirements.GoldenSet | None:
        """The golden set of a configuration, or None."""
        with self._session() as session:
            return retirements.get_golden_set(use_case, configuration_id, session=session)

    # Leases and retention
    leases_and_breaks = _unit(read_units.leases_and_breaks)
    break_lease = _unit(leases.break_lease)
    prune = _unit(retention.prune)
