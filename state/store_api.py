"""The state store's API for flows, tasks and the edge; each method is one unit of work.

`Store(url)` opens its own session for every call, commits it on success and rolls it back
on error, so nothing above `state/` opens one. Most methods are the store functions of
`state/` bound to a session of their own; the coarse ones below do in one session what a
caller needs together (a transaction, or a consistent read), e.g. `record_check`.
"""

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import wraps
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlmodel import Session

from state import (
    approvals,
    documents,
    embeddings,
    evals,
    history,
    interactions,
    leases,
    lookup,
    model_versions,
    prompt_library,
    retention,
    store,
    usage,
)
from state.active import active_parts
from state.db import store_session
from state.deliveries import Delivery, Replays
from state.domain import (
    ApplyResult,
    Configuration,
    ConfigurationDraft,
    Decision,
    DecisionDraft,
    EvalRun,
    UseCase,
)
from state.errors import ApprovalError, NotFound
from state.history import Activation
from state.phases import DecisionKind
from state.spec import LoadedSpec, PromptVariant

P = ParamSpec("P")
R = TypeVar("R")
#: Chunks a document's text: (document id, its file, its bytes) -> chunks.
Chunker = Callable[[str, Path, bytes], list[documents.Chunk]]


def _unit(fn: Callable[Concatenate[..., P], R]) -> Callable[Concatenate["Store", P], R]:
    """A Store method that calls the store function `fn` in a session of its own."""

    @wraps(fn)
    def method(self: "Store", *args: P.args, **kwargs: P.kwargs) -> R:
        with self._session() as session:
            return fn(*args, session=session, **kwargs)

    return method


# The coarse units: several store functions in one session.


@dataclass(frozen=True)
class CheckStart:
    """What a phase check reads as it starts: the use case, its configuration, its volume."""

    use_case: UseCase
    active: Configuration | None
    volume_30d: int


def _load_check_context(name: str, *, today: date, session: Session) -> CheckStart:
    use_case = store.require_use_case(name, session=session)
    active_id = use_case.active_configuration_id
    active = store.get_configuration(active_id, session=session) if active_id else None
    return CheckStart(use_case, active, usage.volume(name, today=today, session=session))


def _record_check(
    use_case: str,
    draft: DecisionDraft,
    *,
    expected_version: int,
    approval_status: str | None,
    session: Session,
) -> Decision:
    decision = store.record_decision(
        use_case, draft, expected_version=expected_version, session=session
    )
    if approval_status is not None:
        try:
            approvals.resolve_approval(
                draft.flow_run_id,
                approval_status,
                approver=draft.decided_by,
                reason=draft.reason,
                session=session,
            )
        except ApprovalError:
            pass  # answered already by the expiry sweeper; the decision is the same
    return decision


def _expire_approval(approval: approvals.Approval, *, session: Session) -> bool:
    try:
        approvals.resolve_approval(
            approval.flow_run_id,
            "expired",
            approver="timeout",
            reason="approval window closed",
            session=session,
        )
    except ApprovalError:
        return False
    use_case = store.require_use_case(approval.use_case, session=session)
    draft = DecisionDraft(
        kind=DecisionKind.EXPIRED,
        to_phase=approval.to_phase,
        configuration_id=use_case.active_configuration_id,
        candidate_configuration_id=approval.candidate_configuration_id,
        decided_by="timeout",
        reason=f"approval requested at {approval.requested_at:%Y-%m-%d %H:%M} UTC "
        "expired with no answer",
        flow_run_id=approval.flow_run_id,
    )
    store.record_decision(
        approval.use_case, draft, expected_version=use_case.version, session=session
    )
    return True


def _save_prompted_configuration(
    use_case: str, variant: PromptVariant, draft: ConfigurationDraft, *, session: Session
) -> tuple[prompt_library.PromptVersion, Configuration]:
    version = prompt_library.save_prompt_version(use_case, variant, session=session)
    draft = draft.model_copy(update={"prompt_version_id": version.id})
    return version, store.save_configuration(use_case, draft, session=session)


def _save_rag_configuration(
    use_case: str,
    draft: ConfigurationDraft,
    *,
    active_id: int | None,
    first_prompt: PromptVariant,
    session: Session,
) -> Configuration:
    """RAG builds on the active configuration's prompt version, else on the spec's first."""
    active = store.get_configuration(active_id, session=session) if active_id else None
    if active is not None and active.prompt_version_id is not None:
        version_id = active.prompt_version_id
    else:
        version_id = prompt_library.save_prompt_version(use_case, first_prompt, session=session).id
    draft = draft.model_copy(update={"prompt_version_id": version_id})
    return store.save_configuration(use_case, draft, session=session)


def _save_tuned_configuration(
    use_case: str,
    version: dict[str, Any],
    variant: PromptVariant,
    draft: ConfigurationDraft,
    *,
    session: Session,
) -> tuple[model_versions.ModelVersion, Configuration]:
    tuned = model_versions.record_model_version(use_case, **version, session=session)
    prompt = prompt_library.save_prompt_version(use_case, variant, session=session)
    draft = draft.model_copy(update={"prompt_version_id": prompt.id, "model_version_id": tuned.id})
    return tuned, store.save_configuration(use_case, draft, session=session)


def _get_configurations(ids: Sequence[int], *, session: Session) -> list[Configuration | None]:
    return [store.get_configuration(i, session=session) for i in ids]


def _get_eval_runs(ids: Sequence[int], *, session: Session) -> list[EvalRun | None]:
    return [evals.get_eval_run(i, session=session) for i in ids]


def _activations(
    use_case: str, configuration_id: int, *, session: Session
) -> tuple[Configuration | None, list[Activation]]:
    config = (
        store.get_configuration(configuration_id, session=session) if configuration_id else None
    )
    return config, history.activation_stack(use_case, session=session)


def _earlier_configurations(use_case: str, *, session: Session) -> list[Configuration]:
    """The configurations activated before the active one, newest first."""
    stack = history.activation_stack(use_case, session=session)[:-1]
    ids = [a.configuration_id for a in reversed(stack) if a.configuration_id]
    return [c for i in ids if (c := store.get_configuration(i, session=session)) is not None]


def _sync_document_files(
    use_case: str,
    files: Mapping[str, Path],
    chunker: str,
    chunk: Chunker,
    *,
    session: Session,
) -> documents.IngestReport:
    known = documents.document_versions(use_case, session=session)
    inputs = []
    for doc_id, path in files.items():
        raw = path.read_bytes()
        content_hash = hashlib.sha256(raw).hexdigest()
        chunks = None
        if known.get(doc_id) != (content_hash, chunker):
            chunks = chunk(doc_id, path, raw)
        inputs.append(
            documents.DocumentInput(
                doc_id=doc_id, content_hash=content_hash, chunker=chunker, chunks=chunks
            )
        )
    return documents.sync_documents(use_case, inputs, session=session)


def _search_chunks(
    use_case: str, queries: Sequence[str], k: int, *, session: Session
) -> list[list[documents.RetrievedChunk]]:
    return [documents.search_chunks(use_case, query, k, session=session) for query in queries]


def _nearest_chunks(
    use_case: str,
    model: str,
    rank: Callable[[embeddings.EmbeddingMatrix], list[list[int]]],
    *,
    session: Session,
) -> tuple[list[list[int]], dict[int, embeddings.ChunkText]]:
    ranked = rank(embeddings.load_embeddings(use_case, model, session=session))
    chunks = embeddings.get_chunks([c for ids in ranked for c in ids], session=session)
    return ranked, chunks


def _record_daily_usage(count: usage.UsageCount, *, today: date, session: Session) -> int:
    """Set one day's count; the use case's 30-day volume after it."""
    usage.record_usage_many([count], session=session)
    return usage.volume(count.use_case, today=today, session=session)


def _import_usage(rows: Mapping[int, usage.UsageCount], path: Path, *, session: Session) -> int:
    first_line: dict[str, int] = {}
    for line, row in rows.items():
        first_line.setdefault(row.use_case, line)
    for name, line in first_line.items():
        try:
            lookup.use_case_id(session, name)
        except NotFound as exc:
            raise NotFound(f"{path}: line {line}: use_case: {exc}") from exc
    return usage.record_usage_many(list(rows.values()), session=session)


def _record_usage_deliveries(
    replays: Replays,
    reports: Sequence[tuple[Sequence[usage.UsageCount], Delivery]],
    *,
    session: Session,
) -> list[int | NotFound | None]:
    """Reserve the deliveries and write the counts of the new ones; None for a replay.

    A report refused (unknown use case) frees its delivery's id.
    """
    new = replays.reserve([delivery for _, delivery in reports], session=session)
    written = iter(
        usage.record_usage_reports(
            [counts for (counts, _), fresh in zip(reports, new, strict=True) if fresh],
            session=session,
        )
    )
    results: list[int | NotFound | None] = []
    for (_, delivery), fresh in zip(reports, new, strict=True):
        if not fresh:
            results.append(None)
            continue
        result = next(written)
        if isinstance(result, NotFound):
            replays.release(delivery, session=session)
        results.append(result)
    return results


def _reserve_for_use_case(replays: Replays, delivery: Delivery, *, session: Session) -> bool:
    store.require_use_case(delivery.use_case, session=session)
    return replays.reserve([delivery], session=session)[0]


def _release_delivery(replays: Replays, delivery: Delivery, *, session: Session) -> None:
    replays.release(delivery, session=session)


def _record_interactions_once(
    replays: Replays,
    delivery: Delivery,
    records: list[interactions.NewInteraction],
    *,
    session: Session,
) -> tuple[int, int] | None:
    if not replays.reserve([delivery], session=session)[0]:
        return None
    return interactions.record_interactions(delivery.use_case, records, session=session)


def _pending_approvals_of(use_case: str, *, session: Session) -> list[approvals.Approval]:
    store.require_use_case(use_case, session=session)
    return approvals.pending_approvals(session=session, use_case=use_case)


def _apply_specs(loaded: Sequence[LoadedSpec], *, session: Session) -> list[ApplyResult]:
    return [store.apply_spec(item, session=session) for item in loaded]


def _leases_and_breaks(
    *, session: Session
) -> tuple[list[leases.LeaseInfo], list[leases.LeaseBreak]]:
    return leases.list_leases(session=session), leases.list_lease_breaks(session=session)


def _status_rows(*, today: date, session: Session) -> list[tuple]:
    """Every use case with its active configuration, last decision, volume, pending approval."""
    volumes = usage.volumes(today=today, session=session)
    pending = {a.use_case: a for a in approvals.pending_approvals(session=session)}
    rows = []
    for use_case in store.list_use_cases(session=session):
        active_id = use_case.active_configuration_id
        config = store.get_configuration(active_id, session=session) if active_id else None
        last = store.list_decisions(use_case.name, session=session, limit=1)
        rows.append(
            (
                use_case,
                config,
                last[-1] if last else None,
                volumes[use_case.name],
                pending.get(use_case.name),
            )
        )
    return rows


@dataclass(frozen=True)
class ReportRead:
    """A use case, its decisions, every eval run and the configurations they scored."""

    use_case: UseCase
    decisions: list[Decision]
    eval_runs: list[EvalRun]
    configurations: dict[int, Configuration]


def _read_report(use_case: str, *, session: Session) -> ReportRead:
    registered = store.require_use_case(use_case, session=session)
    decisions = store.list_decisions(use_case, session=session)
    runs = evals.list_eval_runs(use_case, session=session)
    if registered.spec.guardrails:  # guardrail metrics are computed from per-item results
        runs = [evals.get_eval_run(r.id, session=session) or r for r in runs]
    config_ids = {r.configuration_id for r in runs if r.configuration_id is not None}
    configs = {i: store.get_configuration(i, session=session) for i in sorted(config_ids)}
    return ReportRead(registered, decisions, runs, configs)


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
    status_rows = _unit(_status_rows)
    apply_specs = _unit(_apply_specs)
    get_configuration = _unit(store.get_configuration)
    get_configurations = _unit(_get_configurations)
    save_configuration = _unit(store.save_configuration)
    active_parts = _unit(active_parts)

    # A phase check: what it reads as it starts, and its decision
    load_check_context = _unit(_load_check_context)
    record_check = _unit(_record_check)
    list_decisions = _unit(store.list_decisions)
    get_decision_by_run = _unit(store.get_decision_by_run)
    activations = _unit(_activations)
    earlier_configurations = _unit(_earlier_configurations)

    # Approvals
    request_approval = _unit(approvals.request_approval)
    pending_approvals = _unit(approvals.pending_approvals)
    pending_approvals_of = _unit(_pending_approvals_of)
    expired_approvals = _unit(approvals.expired_approvals)
    expire_approval = _unit(_expire_approval)

    # Prompts and model versions
    get_prompt_version = _unit(prompt_library.get_prompt_version)
    list_prompt_versions = _unit(prompt_library.list_prompt_versions)
    find_prompt_version = _unit(prompt_library.find_prompt_version)
    save_prompted_configuration = _unit(_save_prompted_configuration)
    save_rag_configuration = _unit(_save_rag_configuration)
    save_tuned_configuration = _unit(_save_tuned_configuration)
    get_model_version = _unit(model_versions.get_model_version)

    # Evals and the response cache
    find_eval_run = _unit(evals.find_eval_run)
    record_eval_run = _unit(evals.record_eval_run)
    get_eval_runs = _unit(_get_eval_runs)
    list_eval_runs = _unit(evals.list_eval_runs)
    get_cached_responses = _unit(evals.get_cached_responses)
    put_cached_responses = _unit(evals.put_cached_responses)
    read_report = _unit(_read_report)

    # Usage and interactions
    volume = _unit(usage.volume)
    record_daily_usage = _unit(_record_daily_usage)
    import_usage = _unit(_import_usage)
    record_usage_deliveries = _unit(_record_usage_deliveries)
    list_labelled_interactions = _unit(interactions.list_labelled_interactions)
    record_interactions_once = _unit(_record_interactions_once)

    # Webhook deliveries
    reserve_for_use_case = _unit(_reserve_for_use_case)
    release_delivery = _unit(_release_delivery)

    # Documents and embeddings
    sync_document_files = _unit(_sync_document_files)
    search_chunks = _unit(_search_chunks)
    chunks_without_embedding = _unit(embeddings.chunks_without_embedding)
    save_embeddings = _unit(embeddings.save_embeddings)
    nearest_chunks = _unit(_nearest_chunks)

    # Leases and retention
    leases_and_breaks = _unit(_leases_and_breaks)
    break_lease = _unit(leases.break_lease)
    prune = _unit(retention.prune)
