"""The local LoRA trainer on the real Gemma 3 270M: a job's lifecycle, its adapters, serving.

Skipped where the extra `train` or the converted model is absent (`make test-real-ft` makes
it, or PHASEGATE_TEST_HF_MODEL_DIR names one). The job is small — 24 examples, 2 epochs — so
that it runs in minutes on two cores.
"""

import asyncio
import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from phasegate.demo_services import free_port
from phasegate.open_model import HF_DIR
from tasks.trainer import follow_job
from tasks.trainer_jobs import JobOutcome, JobRequest
from tasks.trainer_local import LocalLoRATrainer

pytestmark = pytest.mark.real
TRAIN = Path(__file__).resolve().parents[2] / "usecases" / "support-qa" / "train.jsonl"
MODEL = "gemma3-270m"


@pytest.fixture(name="base_dir", scope="module")
def base_dir_fixture() -> Path:
    """The transformers directory of the base model, or a skip saying what is missing."""
    missing = [m for m in ("torch", "peft", "transformers") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"extra `train` absent: {', '.join(missing)} (make test-real-ft)")
    base = Path(os.environ.get("PHASEGATE_TEST_HF_MODEL_DIR", HF_DIR))
    if not (base / "config.json").exists():
        pytest.skip(f"converted model absent: {base} (make test-real-ft)")
    return base


def _run(trainer: LocalLoRATrainer, rows: list[str], **hyper) -> JobOutcome:
    async def main() -> JobOutcome:
        file_id = await trainer.upload("train.jsonl", "".join(rows).encode())
        request = JobRequest(
            model=MODEL, training_file=file_id, n_epochs=2, batch_size=8,
            learning_rate_multiplier=1.0, suffix="test", seed=3, key=f"test-{len(rows)}",
        ) .model_copy(update=hyper)  # fmt: skip
        job_id = await trainer.start(request)
        return await follow_job(trainer, job_id, poll_interval=2, timeout=1800)

    return asyncio.run(main())


@pytest.fixture(name="tuned", scope="module")
def tuned_fixture(base_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A finished two-epoch job on 24 support-qa examples, and its trainer root."""
    root = tmp_path_factory.mktemp("local-trainer")
    rows = TRAIN.read_text().splitlines(keepends=True)[:24]
    return _run(LocalLoRATrainer(root, base_dir), rows), root


def test_local_job_succeeds_with_an_adapter_per_epoch(tuned) -> None:
    outcome, root = tuned
    assert outcome.status == "succeeded" and outcome.lifecycle == "succeeded"
    assert [c.step_number for c in outcome.checkpoints] == [3, 6]
    for checkpoint in outcome.checkpoints:
        adapter = root / "jobs" / outcome.id / f"ckpt-{checkpoint.step_number // 3}"
        assert (adapter / "adapter_model.safetensors").exists()
    losses = [c.metrics["train_loss"] for c in outcome.checkpoints]
    assert losses[1] < losses[0]
    assert outcome.trained_tokens > 0
    status = json.loads((root / "jobs" / outcome.id / "status.json").read_text())
    assert status["started_at"] < status["finished_at"]  # how long the training itself took
    progress = [e for e in outcome.events if e.type == "metrics"]
    assert [e.data["step"] for e in progress] == list(range(1, 7))


def test_local_job_that_crashes_is_failed_with_its_error(base_dir: Path, tmp_path: Path) -> None:
    outcome = _run(LocalLoRATrainer(tmp_path, tmp_path / "no-model"), ['{"messages": []}\n'])
    assert outcome.status == "failed" and outcome.error is not None
    assert outcome.error.code in {"training_error", "trainer_exited"}


@pytest.fixture(name="server_url")
def server_url_fixture(tuned, base_dir: Path, tmp_path: Path) -> Iterator[str]:
    """The model server over the tuned job's root, on a free loopback port."""
    _, root = tuned
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "phasegate.model_server", "--base", str(base_dir), "--jobs",
         str(root), "--model-name", MODEL, "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_model_server_serves_the_base_and_every_checkpoint(tuned, server_url: str) -> None:
    outcome, _ = tuned
    listed = {m["id"] for m in httpx.get(f"{server_url}/models").json()["data"]}
    assert {MODEL, outcome.fine_tuned_model, *(c.model for c in outcome.checkpoints)} <= listed
    first = json.loads(TRAIN.read_text().splitlines()[0])["messages"]
    question = [m for m in first if m["role"] != "assistant"]
    answers = {}
    for model in (MODEL, outcome.fine_tuned_model):
        body = {"model": model, "messages": question, "max_tokens": 24}
        reply = httpx.post(f"{server_url}/chat/completions", json=body, timeout=300).json()
        answers[model] = reply["choices"][0]["message"]["content"]
    assert answers[MODEL] != answers[outcome.fine_tuned_model]
    missing = httpx.post(
        f"{server_url}/chat/completions", json={"model": "ft:none", "messages": question}
    )
    assert missing.status_code == 404
