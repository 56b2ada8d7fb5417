"""The local trainer's job records, without a model: unknown jobs, crashes, a missing model.

The real training runs are in tests/real/test_local_trainer.py (marker `real`).
"""

import asyncio
from pathlib import Path

import pytest
from pydantic import SecretStr

from state.errors import ProviderError, Unavailable
from state.settings import ProviderOptions, TrainerOptions
from tasks.trainer import follow_job, open_trainer
from tasks.trainer_jobs import JobRequest
from tasks.trainer_local import LocalLoRATrainer, adapters


def _request(file_id: str) -> JobRequest:
    return JobRequest(
        model="gemma3-270m",
        training_file=file_id,
        n_epochs=1,
        batch_size=2,
        learning_rate_multiplier=1.0,
        seed=1,
        key="k1",
    )


def test_local_trainer_refuses_an_unknown_job(tmp_path: Path) -> None:
    trainer = LocalLoRATrainer(tmp_path, tmp_path / "model")
    with pytest.raises(ProviderError, match="no job ftjob-local-nope"):
        asyncio.run(trainer.poll("ftjob-local-nope"))


def test_local_job_whose_training_crashes_is_failed_with_the_error(tmp_path: Path) -> None:
    # No model at the base directory: the job's process fails, and says why in its record.
    trainer = LocalLoRATrainer(tmp_path, tmp_path / "no-model")

    async def run():
        file_id = await trainer.upload("train.jsonl", b'{"messages": []}\n')
        job_id = await trainer.start(_request(file_id))
        return await follow_job(trainer, job_id, poll_interval=0.5, timeout=300)

    outcome = asyncio.run(run())
    assert (outcome.status, outcome.lifecycle) == ("failed", "failed")
    assert outcome.error is not None and outcome.error.code == "training_error"
    assert outcome.events[-1].level == "error" and outcome.fine_tuned_model is None
    assert "failed (training_error: " in outcome.cause
    assert adapters(tmp_path) == {}


def test_open_trainer_local_without_a_base_model_is_unavailable(tmp_path: Path) -> None:
    options = TrainerOptions(
        provider=ProviderOptions(base_url="http://127.0.0.1:9/v1", api_key=SecretStr("k")),
        local_root=str(tmp_path),
        local_base_dir=None,
    )

    async def run() -> None:
        async with open_trainer("local", options):
            pass

    with pytest.raises(Unavailable, match="fine_tuning.trainer local needs"):
        asyncio.run(run())
