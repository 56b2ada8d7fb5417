"""Conversions from table rows to domain models (rows never leave `state/`)."""

from datetime import UTC, datetime

from state.domain.decisions import Decision, GateResult
from state.domain.use_cases import Configuration, UseCase
from state.models import (
    ConfigurationRecord,
    DecisionRecord,
    GateResultRecord,
    UseCaseRecord,
)
from state.spec import UseCaseSpec


def aware(moment: datetime) -> datetime:
    """A timestamp in UTC; SQLite hands back naive values that are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_use_case(row: UseCaseRecord) -> UseCase:
    """The domain model of a use-case row."""
    return UseCase(
        id=row.id,
        name=row.name,
        spec=UseCaseSpec.model_validate_json(row.spec_json),
        spec_hash=row.spec_hash,
        spec_path=row.spec_path,
        active_phase=row.active_phase,
        active_configuration_id=row.active_configuration_id,
        version=row.version,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


def to_configuration(row: ConfigurationRecord) -> Configuration:
    """The domain model of a configuration row."""
    data = row.model_dump()
    data["created_at"] = aware(row.created_at)
    return Configuration.model_validate(data)


def to_gate_result(row: GateResultRecord) -> GateResult:
    """The domain model of a gate-result row."""
    return GateResult(
        check=row.check,
        stage=row.stage,
        status=row.status,
        observed=row.observed,
        threshold=row.threshold,
        evidence=row.evidence or {},
        detail=row.detail,
    )


def to_decision(row: DecisionRecord, name: str, gates: list[GateResultRecord]) -> Decision:
    """The domain model of a decision row with its gate results."""
    return Decision(
        id=row.id,
        use_case=name,
        kind=row.kind,
        from_phase=row.from_phase,
        to_phase=row.to_phase,
        configuration_id=row.configuration_id,
        candidate_configuration_id=row.candidate_configuration_id,
        spec_hash=row.spec_hash,
        decided_by=row.decided_by,
        reason=row.reason,
        flow_run_id=row.flow_run_id,
        eval_run_ids=row.eval_run_ids or [],
        gate_results=[to_gate_result(g) for g in gates],
        created_at=aware(row.created_at),
    )
