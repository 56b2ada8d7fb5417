"""The state store's one face for flows, tasks, the edge and bench/: each method one unit of work.

`Store(url)` opens a session for every call, commits it on success and rolls it back on
error, so nothing above `state/` opens one. Each method calls one store function of `state/`
(named by role: use_cases, configurations, decisions, evals, ...) or one of the coarse units
(check_units, intake_units, read_units) that do together what a caller needs in one
transaction or one consistent read. Adding an operation: write the store function, then one
method here. The values taken and returned are the terms of `state.domain`.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlmodel import Session

from state import (
    active,
    approvals,
    batch_waits,
    check_units,
    configurations,
    db,
    decisions,
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
    scored_units,
    usage,
    use_cases,
)
from state.domain.check_start import CheckStart
from state.domain.decisions import Activation, Approval, Decision, DecisionDraft, GateResult
from state.domain.documents import Chunker, ChunkText, EmbeddingMatrix, IngestReport, RetrievedChunk
from state.domain.evals import EvalRun, ReportRead
from state.domain.intake import (
    Delivery,
    Interaction,
    NewInteraction,
    Observation,
    Replays,
    UsageCount,
)
from state.domain.operations import (
    BatchWait,
    IntakeTotals,
    LeaseBreak,
    LeaseInfo,
    LeaseTaken,
    PruneReport,
)
from state.domain.retirements import GoldenSet, NoticeRecorded, Retirement, RetirementNotice
from state.domain.rollouts import (
    Rollout,
    RolloutAction,
    RolloutDraft,
    RolloutMoved,
    RolloutStatus,
)
from state.domain.status import StatusRow
from state.domain.unstored import Unstored
from state.domain.use_cases import (
    ActiveParts,
    ApplyResult,
    Configuration,
    ConfigurationDraft,
    ModelVersion,
    PromptVersion,
    ServedArms,
    UseCase,
)
from state.errors import NotFound
from state.lease_holder import Lease
from state.leases import TTL_SECONDS
from state.phases import Phase
from state.spec import LoadedSpec, PromptVariant

if TYPE_CHECKING:  # numpy loads with the embeddings that need it, not with every Store
    import numpy as np


@contextmanager
def _holding(held: Lease, ours: bool) -> Iterator[None]:
    """Run the block; give the lease back after it when it was ours."""
    if not ours:
        yield
        return
    try:
        yield
    finally:
        held.release()


class Store:
    """The state store at `url`: every method is one unit of work in a session of its own."""

    def __init__(self, url: str) -> None:
        """Use the store at `url` (migrated on first use in this process)."""
        self.url = url

    @contextmanager
    def _session(self) -> Iterator[Session]:
        with db.store_session(self.url) as session:
            yield session

    @classmethod
    @contextmanager
    def on_new_database(cls, server_url: str) -> Iterator["Store"]:
        """A store on a new database of the PostgreSQL server at `server_url`, dropped after."""
        with db.new_database(server_url) as url:
            yield cls(url)

    def upgrade(self) -> str:
        """Apply the pending migrations (done on first use anyway); the store's address."""
        return repr(db.engine_for(self.url).url)

    def close(self) -> None:
        """Close the pooled connections (the next call opens new ones)."""
        db.engine_for(self.url).dispose()

    # Use cases and configurations

    def apply_specs(self, loaded: Sequence[LoadedSpec]) -> list[ApplyResult]:
        with self._session() as session:
            return read_units.apply_specs(loaded, session=session)

    def require_use_case(self, name: str) -> UseCase:
        with self._session() as session:
            return use_cases.require_use_case(name, session=session)

    def list_use_cases(self) -> list[UseCase]:
        with self._session() as session:
            return use_cases.list_use_cases(session=session)

    def status_rows(self, *, today: date) -> list[StatusRow]:
        with self._session() as session:
            return read_units.status_rows(today=today, session=session)

    def get_configuration(self, configuration_id: int) -> Configuration | None:
        with self._session() as session:
            return configurations.get_configuration(configuration_id, session=session)

    def get_configurations(self, ids: Sequence[int]) -> list[Configuration | None]:
        with self._session() as session:
            return check_units.get_configurations(ids, session=session)

    def save_configuration(self, use_case: str, draft: ConfigurationDraft) -> Configuration:
        with self._session() as session:
            return configurations.save_configuration(use_case, draft, session=session)

    def active_parts(self, name: str) -> ActiveParts:
        with self._session() as session:
            return active.active_parts(name, session=session)

    def served_arms(self, name: str) -> ServedArms:
        """Every arm the use case serves now, with the token they were read under."""
        with self._session() as session:
            return active.served_arms(name, session=session)

    def served_token(self, name: str) -> tuple[int, int | None, int | None]:
        """(use case version, live rollout id, its version): what every served arm depends on."""
        with self._session() as session:
            return active.served_token(name, session=session)

    def served_parts(self, name: str, key: str | None) -> ActiveParts:
        """What a routing key is served: its rollout arm, else the active configuration."""
        with self._session() as session:
            return active.served_parts(name, key, session=session)

    # A phase check: what it reads as it starts, and its decision

    def record_check(
        self,
        use_case: str,
        draft: DecisionDraft,
        *,
        expected_version: int,
        approval_status: str | None,
        lease_holder: str | None = None,
    ) -> Decision:
        """Record a check's decision (and its approval's answer); LeaseLost if the lease is gone."""
        with self._session() as session:
            return check_units.record_check(
                use_case,
                draft,
                expected_version=expected_version,
                approval_status=approval_status,
                lease_holder=lease_holder,
                session=session,
            )

    def record_scored_check(
        self,
        use_case: str,
        draft: DecisionDraft,
        unstored: Unstored,
        *,
        rollout: RolloutDraft | None,
        expected_version: int,
        approval_status: str | None,
        lease_holder: str | None,
    ) -> tuple[Decision, int | None, dict[int, int]]:
        """Store what a check scored and record its decision (and start its rollout) at once.

        The decision, its rollout's id, and the stored id of each provisional one.
        """
        with self._session() as session:
            return scored_units.record_scored_check(
                use_case,
                draft,
                unstored,
                rollout=rollout,
                expected_version=expected_version,
                approval_status=approval_status,
                lease_holder=lease_holder,
                session=session,
            )

    def store_unstored(self, use_case: str, unstored: Unstored) -> dict[int, int]:
        """Store what a check scored ahead of its decision; the stored id of each provisional."""
        with self._session() as session:
            return scored_units.store_unstored(use_case, unstored, session=session)

    def list_decisions(self, use_case: str, *, limit: int | None = None) -> list[Decision]:
        with self._session() as session:
            return decisions.list_decisions(use_case, limit=limit, session=session)

    def get_decision_by_run(self, flow_run_id: str) -> Decision | None:
        with self._session() as session:
            return decisions.get_decision_by_run(flow_run_id, session=session)

    def activations(
        self, use_case: str, configuration_id: int
    ) -> tuple[Configuration | None, list[Activation]]:
        with self._session() as session:
            return check_units.activations(use_case, configuration_id, session=session)

    def earlier_configurations(self, use_case: str) -> list[Configuration]:
        with self._session() as session:
            return check_units.earlier_configurations(use_case, session=session)

    # Approvals

    def request_approval(
        self,
        use_case: str,
        flow_run_id: str,
        *,
        to_phase: Phase,
        candidate_configuration_id: int | None,
        expires_at: datetime,
    ) -> Approval:
        with self._session() as session:
            return approvals.request_approval(
                use_case,
                flow_run_id,
                to_phase=to_phase,
                candidate_configuration_id=candidate_configuration_id,
                expires_at=expires_at,
                session=session,
            )

    def pending_approvals(self, use_case: str | None = None) -> list[Approval]:
        with self._session() as session:
            if use_case is None:
                return approvals.pending_approvals(session=session)
            return check_units.pending_approvals_of(use_case, session=session)

    def approval_to_answer(self, use_case: str) -> Approval:
        """The pending approval to answer; ApprovalError if none, or its check lost the lease."""
        with self._session() as session:
            return check_units.approval_to_answer(use_case, session=session)

    def lease_lost_reason(self, use_case: str, flow_run_id: str) -> str | None:
        with self._session() as session:
            return lease_loss.lost_reason(use_case, flow_run_id, session=session)

    def cancel_approval(self, flow_run_id: str, reason: str) -> bool:
        with self._session() as session:
            return check_units.cancel_approval(flow_run_id, reason, session=session)

    def expired_approvals(self, *, now: datetime | None = None) -> list[Approval]:
        with self._session() as session:
            return approvals.expired_approvals(now=now, session=session)

    def expire_approval(self, approval: Approval) -> bool:
        with self._session() as session:
            return check_units.expire_approval(approval, session=session)

    # Prompts and model versions

    def get_prompt_version(self, version_id: int) -> PromptVersion | None:
        with self._session() as session:
            return prompt_library.get_prompt_version(version_id, session=session)

    def list_prompt_versions(self, use_case: str) -> list[PromptVersion]:
        with self._session() as session:
            return prompt_library.list_prompt_versions(use_case, session=session)

    def find_prompt_version(self, use_case: str, label: str) -> PromptVersion:
        with self._session() as session:
            return prompt_library.find_prompt_version(use_case, label, session=session)

    def save_prompted_configuration(
        self, use_case: str, variant: PromptVariant, draft: ConfigurationDraft
    ) -> tuple[PromptVersion, Configuration]:
        with self._session() as session:
            return check_units.save_prompted_configuration(
                use_case, variant, draft, session=session
            )

    def find_configuration(self, use_case: str, draft: ConfigurationDraft) -> Configuration | None:
        """The stored configuration with the draft's content, or None."""
        with self._session() as session:
            return configurations.find_configuration(use_case, draft, session=session)

    def prompted_configurations(
        self, use_case: str, variants: Sequence[PromptVariant], draft: ConfigurationDraft
    ) -> list[tuple[PromptVersion, Configuration | None]]:
        """Each variant's prompt version (stored now) and its stored configuration, or None."""
        with self._session() as session:
            return check_units.prompted_configurations(use_case, variants, draft, session=session)

    def save_rag_configuration(
        self,
        use_case: str,
        draft: ConfigurationDraft,
        *,
        active_id: int | None,
        first_prompt: PromptVariant,
    ) -> Configuration:
        with self._session() as session:
            return check_units.save_rag_configuration(
                use_case, draft, active_id=active_id, first_prompt=first_prompt, session=session
            )

    def save_tuned_configuration(
        self,
        use_case: str,
        version: dict[str, Any],
        variant: PromptVariant,
        draft: ConfigurationDraft,
    ) -> tuple[ModelVersion, Configuration]:
        with self._session() as session:
            return check_units.save_tuned_configuration(
                use_case, version, variant, draft, session=session
            )

    def get_model_version(self, model_version_id: int) -> ModelVersion | None:
        with self._session() as session:
            return model_versions.get_model_version(model_version_id, session=session)

    # Eval runs, reports and the response cache

    def find_eval_run(
        self, use_case: str, configuration_id: int, eval_set_hash: str, metric: str
    ) -> EvalRun | None:
        with self._session() as session:
            return evals.find_eval_run(
                use_case, configuration_id, eval_set_hash, metric, session=session
            )

    def record_eval_run(self, run: EvalRun) -> EvalRun:
        with self._session() as session:
            return evals.record_eval_run(run, session=session)

    def get_eval_runs(self, ids: Sequence[int]) -> list[EvalRun | None]:
        with self._session() as session:
            return check_units.get_eval_runs(ids, session=session)

    def list_eval_runs(self, use_case: str) -> list[EvalRun]:
        with self._session() as session:
            return evals.list_eval_runs(use_case, session=session)

    def read_report(self, use_case: str) -> ReportRead:
        with self._session() as session:
            return read_units.read_report(use_case, session=session)

    def get_cached_responses(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        with self._session() as session:
            return evals.get_cached_responses(keys, session=session)

    def put_cached_responses(self, responses: Mapping[str, dict[str, Any]]) -> None:
        with self._session() as session:
            evals.put_cached_responses(responses, session=session)

    # Usage and interactions

    def volume(self, use_case: str, *, today: date) -> int:
        with self._session() as session:
            return usage.volume(use_case, today=today, session=session)

    def volumes(self, *, today: date) -> dict[str, int]:
        with self._session() as session:
            return usage.volumes(today=today, session=session)

    def record_usage(self, counts: Sequence[UsageCount]) -> int:
        with self._session() as session:
            return usage.record_usage_many(counts, session=session)

    def record_daily_usage(self, count: UsageCount, *, today: date) -> int:
        with self._session() as session:
            return intake_units.record_daily_usage(count, today=today, session=session)

    def import_usage(self, rows: Mapping[int, UsageCount], path: Path) -> int:
        with self._session() as session:
            return intake_units.import_usage(rows, path, session=session)

    def record_usage_deliveries(
        self, replays: Replays, reports: Sequence[tuple[Sequence[UsageCount], Delivery]]
    ) -> list[int | NotFound | None]:
        with self._session() as session:
            return intake_units.record_usage_deliveries(replays, reports, session=session)

    def list_labelled_interactions(
        self, use_case: str, *, since: datetime | None = None, limit: int | None = None
    ) -> list[Interaction]:
        with self._session() as session:
            return interactions.list_labelled_interactions(
                use_case, since=since, limit=limit, session=session
            )

    def record_interactions_once(
        self, replays: Replays, delivery: Delivery, records: list[NewInteraction]
    ) -> tuple[int, int] | None:
        with self._session() as session:
            return intake_units.record_interactions_once(
                replays, delivery, records, session=session
            )

    # Webhook deliveries

    def reserve_for_use_case(self, replays: Replays, delivery: Delivery) -> bool:
        with self._session() as session:
            return intake_units.reserve_for_use_case(replays, delivery, session=session)

    def release_delivery(self, delivery: Delivery) -> None:
        with self._session() as session:
            deliveries.release_delivery(delivery, session=session)

    def reserve_provider_event(self, replays: Replays, delivery: Delivery) -> bool:
        with self._session() as session:
            return intake_units.reserve_provider_event(replays, delivery, session=session)

    def provider_event_received(self, scope: str) -> bool:
        with self._session() as session:
            return deliveries.scope_received(scope, session=session)

    # Provider batches that suspended flow runs wait for

    def record_batch_wait(self, wait: BatchWait) -> None:
        with self._session() as session:
            batch_waits.record_batch_wait(wait, session=session)

    def find_waited_batch(self, flow_run_id: str, input_sha256: str) -> str | None:
        with self._session() as session:
            return batch_waits.find_batch(flow_run_id, input_sha256, session=session)

    def due_batch_waits(self, now: datetime) -> list[BatchWait]:
        with self._session() as session:
            return batch_waits.due_batch_waits(now, session=session)

    def delay_batch_wait(self, batch_id: str, now: datetime, max_seconds: float) -> None:
        with self._session() as session:
            batch_waits.delay_batch_wait(batch_id, now, max_seconds, session=session)

    def end_batch_wait(self, batch_id: str) -> str | None:
        with self._session() as session:
            return batch_waits.end_batch_wait(batch_id, session=session)

    def runs_to_resume(self, flow_run_id: str | None = None) -> list[str]:
        with self._session() as session:
            return batch_waits.runs_to_resume(flow_run_id, session=session)

    def claim_resume(self, flow_run_id: str) -> bool:
        with self._session() as session:
            return batch_waits.claim_resume(flow_run_id, session=session)

    def release_resume(self, flow_run_id: str) -> None:
        with self._session() as session:
            batch_waits.release_resume(flow_run_id, session=session)

    # Documents and embeddings

    def sync_document_files(
        self, use_case: str, files: Mapping[str, Path], chunker: str, chunk: Chunker
    ) -> IngestReport:
        with self._session() as session:
            return intake_units.sync_document_files(
                use_case, files, chunker, chunk, session=session
            )

    def search_chunks(
        self, use_case: str, queries: Sequence[str], k: int
    ) -> list[list[RetrievedChunk]]:
        with self._session() as session:
            return intake_units.search_chunks(use_case, queries, k, session=session)

    def chunks_without_embedding(self, use_case: str, model: str) -> list[ChunkText]:
        with self._session() as session:
            return embeddings.chunks_without_embedding(use_case, model, session=session)

    def save_embeddings(self, model: str, chunk_ids: Sequence[int], vectors: "np.ndarray") -> int:
        with self._session() as session:
            return embeddings.save_embeddings(model, chunk_ids, vectors, session=session)

    def nearest_chunks(
        self, use_case: str, model: str, rank: Callable[[EmbeddingMatrix], list[list[int]]]
    ) -> tuple[list[list[int]], dict[int, ChunkText]]:
        with self._session() as session:
            return intake_units.nearest_chunks(use_case, model, rank, session=session)

    # Rollouts: live traffic split between the control and canaries

    def start_rollout(self, use_case: str, draft: RolloutDraft) -> Rollout:
        with self._session() as session:
            return rollouts.start_rollout(use_case, draft, session=session)

    def get_rollout(self, rollout_id: int) -> Rollout | None:
        with self._session() as session:
            return rollouts.get_rollout(rollout_id, session=session)

    def get_live_rollout(self, use_case: str) -> Rollout | None:
        with self._session() as session:
            return rollouts.get_live_rollout(use_case, session=session)

    def list_rollouts(self, use_case: str) -> list[Rollout]:
        with self._session() as session:
            return rollouts.list_rollouts(use_case, session=session)

    def change_rollout(
        self,
        rollout_id: int,
        *,
        expected_version: int,
        status: RolloutStatus | None = None,
        step: int | None = None,
        reason: str | None = None,
    ) -> Rollout:
        with self._session() as session:
            return rollouts.change_rollout(
                rollout_id,
                expected_version=expected_version,
                status=status,
                step=step,
                reason=reason,
                session=session,
            )

    def start_rollout_for_check(
        self,
        use_case: str,
        decision: DecisionDraft,
        draft: RolloutDraft,
        *,
        approval_status: str | None,
        lease_holder: str | None = None,
        expected_version: int = 0,
    ) -> tuple[Decision, Rollout]:
        with self._session() as session:
            return rollout_units.start_rollout_for_check(
                use_case,
                decision,
                draft,
                approval_status=approval_status,
                lease_holder=lease_holder,
                expected_version=expected_version,
                session=session,
            )

    def step_observations(self, use_case: str) -> tuple[Rollout | None, list[Observation]]:
        with self._session() as session:
            return rollout_units.step_observations(use_case, session=session)

    def move_rollout(
        self,
        rollout_id: int,
        action: RolloutAction,
        *,
        expected_version: int,
        reason: str,
        gates: list[GateResult],
        decided_by: str = "phasegate",
        flow_run_id: str | None = None,
        arm: str | None = None,
    ) -> RolloutMoved:
        with self._session() as session:
            return rollout_units.move_rollout(
                rollout_id,
                action,
                expected_version=expected_version,
                reason=reason,
                gates=gates,
                decided_by=decided_by,
                flow_run_id=flow_run_id,
                arm=arm,
                session=session,
            )

    # Model retirements and golden sets

    def record_retirement(self, notice: RetirementNotice, draft: DecisionDraft) -> NoticeRecorded:
        with self._session() as session:
            return retirements.record_retirement(notice, draft, session=session)

    def list_retirements(self, use_case: str) -> list[Retirement]:
        with self._session() as session:
            return retirements.list_retirements(use_case, session=session)

    def open_retirement(self, use_case: str) -> Retirement | None:
        """The soonest retirement noted for the use case's active configuration, if any."""
        with self._session() as session:
            return retirements.open_retirement(use_case, session=session)

    def record_golden_set(self, use_case: str, run: EvalRun, model: str) -> GoldenSet:
        """Keep a scored run's outputs as its configuration's golden set (the first stays)."""
        with self._session() as session:
            return retirements.record_golden_set(use_case, run, model, session=session)

    def get_golden_set(self, use_case: str, configuration_id: int) -> GoldenSet | None:
        with self._session() as session:
            return retirements.get_golden_set(use_case, configuration_id, session=session)

    # Check leases and retention

    @contextmanager
    def hold_lease(
        self, use_case: str, holder: str, *, ttl_seconds: float = TTL_SECONDS
    ) -> Iterator[Lease]:
        """Hold a use case's lease for the block, renewed by a heartbeat; released on exit.

        When another live holder has it, the lease is falsy (`held.holder` names that holder)
        and the block runs without it, to record that it skipped.
        """
        held = Lease(self, use_case, holder, ttl_seconds)
        with _holding(held, held.take()):
            yield held

    @contextmanager
    def open_check(
        self, use_case: str, holder: str, *, today: date, ttl_seconds: float = TTL_SECONDS
    ) -> Iterator[tuple[Lease, CheckStart]]:
        """`hold_lease` for a phase check, whose take also reads what the check starts from.

        One unit of work takes the lease and reads the use case, its active configuration,
        volume, retirement and live rollout under it (`load_check_context`).
        """
        held = Lease(self, use_case, holder, ttl_seconds)
        with self._session() as session:
            taken, start = check_units.open_check(
                use_case, holder, today=today, ttl_seconds=ttl_seconds, session=session
            )
        with _holding(held, held.taken(taken)):
            yield held, start

    def take_lease(self, use_case: str, flow_run_id: str, *, ttl_seconds: float) -> LeaseTaken:
        with self._session() as session:
            return leases.acquire_lease(
                use_case, flow_run_id, ttl_seconds=ttl_seconds, session=session
            )

    def renew_lease(self, use_case: str, flow_run_id: str, *, ttl_seconds: float) -> bool:
        with self._session() as session:
            return leases.renew_lease(
                use_case, flow_run_id, ttl_seconds=ttl_seconds, session=session
            )

    def release_lease(self, use_case: str, flow_run_id: str) -> None:
        with self._session() as session:
            leases.release_lease(use_case, flow_run_id, session=session)

    def leases_and_breaks(self) -> tuple[list[LeaseInfo], list[LeaseBreak]]:
        with self._session() as session:
            return read_units.leases_and_breaks(session=session)

    def break_lease(self, use_case: str, *, broken_by: str, reason: str) -> LeaseBreak:
        with self._session() as session:
            return leases.break_lease(use_case, broken_by=broken_by, reason=reason, session=session)

    def intake_totals(self) -> IntakeTotals:
        with self._session() as session:
            return read_units.intake_totals(session=session)

    def prune(
        self, *, older_than: timedelta, now: datetime | None = None, dry_run: bool = False
    ) -> PruneReport:
        """Remove what only grows past `older_than`; `dry_run` says what it would remove."""
        with self._session() as session:
            return retention.prune(older_than=older_than, now=now, dry_run=dry_run, session=session)
