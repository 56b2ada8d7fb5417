"""Model versions in the store: register, read back, list, idempotent re-registration."""

import pytest
from sqlmodel import Session

from state.domain import ModelVersion
from state.errors import NotFound
from state.model_versions import get_model_version, record_model_version


def _record(session: Session, use_case: str, job: str = "ftjob-1", model: str = "ft:m:1"):
    return record_model_version(
        use_case,
        model_id=model,
        base_model="sandbox-base",
        training_file_id="file-1",
        training_file_hash="a" * 64,
        job_id=job,
        hyperparameters={"n_epochs": 3, "batch_size": 8, "learning_rate_multiplier": 1.0},
        checkpoints=[{"step_number": 4, "metrics": {"train_loss": 0.2}}],
        metrics={"train_loss": 0.2},
        session=session,
    )


def test_record_model_version_returns_what_it_stored(use_case: str, session: Session) -> None:
    version = _record(session, use_case)
    assert isinstance(version, ModelVersion) and version.id is not None
    assert (version.use_case, version.model_id, version.job_id) == (use_case, "ft:m:1", "ftjob-1")
    assert version.hyperparameters["n_epochs"] == 3
    assert version.checkpoints == [{"step_number": 4, "metrics": {"train_loss": 0.2}}]


def test_record_model_version_is_idempotent_per_job(use_case: str, session: Session) -> None:
    first = _record(session, use_case)
    again = _record(session, use_case)
    assert again == first
    assert get_model_version(first.id + 1, session=session) is None


def test_record_model_version_refuses_unknown_use_case(session: Session) -> None:
    with pytest.raises(NotFound, match="unknown use case: 'nope'"):
        _record(session, "nope")


def test_get_model_version_reads_back(use_case: str, session: Session) -> None:
    version = _record(session, use_case)
    assert get_model_version(version.id, session=session) == version


def test_get_model_version_returns_none_when_missing(use_case: str, session: Session) -> None:
    assert get_model_version(12345, session=session) is None
