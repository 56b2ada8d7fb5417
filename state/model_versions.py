"""Store functions for model versions: fine-tuned models with what they were trained from."""

from typing import Any

from sqlmodel import Session, select

from state import lookup
from state.convert import aware
from state.domain.use_cases import ModelVersion
from state.models import ModelVersionRecord, UseCaseRecord


def _to_model_version(row: ModelVersionRecord, use_case: str) -> ModelVersion:
    """The domain model of a model-version row."""
    return ModelVersion(
        id=row.id,
        use_case=use_case,
        model_id=row.model_id,
        base_model=row.base_model,
        training_file_id=row.training_file_id,
        training_file_hash=row.training_file_hash,
        job_id=row.job_id,
        hyperparameters=row.hyperparameters,
        checkpoints=row.checkpoints,
        metrics=row.metrics,
        created_at=aware(row.created_at),
    )


def record_model_version(
    use_case: str,
    *,
    model_id: str,
    base_model: str,
    training_file_id: str,
    training_file_hash: str,
    job_id: str,
    hyperparameters: dict[str, Any],
    checkpoints: list[dict[str, Any]],
    metrics: dict[str, Any],
    session: Session,
) -> ModelVersion:
    """Register a tuned model; registering the same job's model again returns the first record."""
    use_case_id = lookup.use_case_id(session, use_case)
    row = session.exec(
        select(ModelVersionRecord).where(
            ModelVersionRecord.use_case_id == use_case_id,
            ModelVersionRecord.job_id == job_id,
            ModelVersionRecord.model_id == model_id,
        )
    ).first()
    if row is None:
        row = ModelVersionRecord(
            use_case_id=use_case_id,
            model_id=model_id,
            base_model=base_model,
            training_file_id=training_file_id,
            training_file_hash=training_file_hash,
            job_id=job_id,
            hyperparameters=hyperparameters,
            checkpoints=checkpoints,
            metrics=metrics,
        )
        session.add(row)
        session.flush()
    return _to_model_version(row, use_case)


def get_model_version(model_version_id: int, *, session: Session) -> ModelVersion | None:
    """The model version with this id, or None."""
    row = session.get(ModelVersionRecord, model_version_id)
    if row is None:
        return None
    return _to_model_version(row, session.get(UseCaseRecord, row.use_case_id).name)
