"""The local trainer: LoRA on an open-weights model on this machine, as a `Trainer`.

Each job is a directory under `root/jobs/` and a process (`python -m tasks.lora_train`) that
writes its events, checkpoints and status there; `poll` reads them, so the job's lifecycle is
the same as a provider's (created, running with progress, succeeded, failed, cancelled). The
tuned model and its checkpoints are adapters that the local model server
(`phasegate.model_server`) serves by name on loopback, so scoring works as for any model.
Jobs run one after another: a search on two cores gains nothing from running them at once.
"""

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from state.errors import ProviderError
from tasks.trainer_jobs import TERMINAL, Checkpoint, JobError, JobEvent, JobRequest, JobStatus

PREFIX = "ftjob-local-"


class LocalLoRATrainer:
    """A `Trainer` that runs LoRA jobs in local processes, one directory per job."""

    concurrent = False

    def __init__(self, root: Path, base_model_dir: Path) -> None:
        """Keep jobs under `root`; tune the model saved in `base_model_dir`."""
        self._root, self._base = root, base_model_dir
        self._processes: dict[str, subprocess.Popen] = {}

    def _job_dir(self, job_id: str) -> Path:
        """The directory of a job; ProviderError for an unknown one."""
        directory = self._root / "jobs" / job_id
        if not (directory / "request.json").exists():
            raise ProviderError(f"local trainer: no job {job_id} under {self._root}")
        return directory

    async def upload(self, name: str, data: bytes) -> str:
        """Keep a training file by its content hash; returns its file id."""
        digest = hashlib.sha256(data).hexdigest()
        path = self._root / "files" / f"{digest}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            path.write_bytes(data)
        return f"file-{digest[:24]}"

    def _file(self, file_id: str) -> Path:
        """The path of an uploaded file."""
        found = sorted((self._root / "files").glob(f"{file_id.removeprefix('file-')}*.jsonl"))
        if not found:
            raise ProviderError(f"local trainer: no file {file_id} under {self._root}")
        return found[0]

    async def start(self, job: JobRequest) -> str:
        """Start a job in its own process (or find the live or succeeded one with its key)."""
        key = job.key or hashlib.sha256(job.model_dump_json().encode()).hexdigest()
        job_id = PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16]
        directory = self._root / "jobs" / job_id
        if (directory / "request.json").exists():
            status = (await self.poll(job_id)).status
            if status not in {"failed", "cancelled"}:
                return job_id
        directory.mkdir(parents=True, exist_ok=True)
        for stale in ("status.json", "events.jsonl", "checkpoints.jsonl", "cancel"):
            (directory / stale).unlink(missing_ok=True)
        request = {
            "id": job_id,
            "model": job.model,
            "model_name": f"ft:{job.model}:{job.suffix or 'local'}:{job_id[len(PREFIX) :][:8]}",
            "base_model_dir": str(self._base),
            "training_file": str(self._file(job.training_file)),
            "training_file_id": job.training_file,
            "n_epochs": job.n_epochs,
            "batch_size": job.batch_size,
            "learning_rate_multiplier": job.learning_rate_multiplier,
            "seed": job.seed or 0,
            "created_at": int(time.time()),
        }
        (directory / "request.json").write_text(json.dumps(request))
        log = (directory / "train.log").open("w")
        env = os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        self._processes[job_id] = subprocess.Popen(
            [sys.executable, "-m", "tasks.lora_train", str(directory)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
        )
        return job_id

    async def poll(self, job_id: str) -> JobStatus:
        """The job's status now, read from its directory."""
        directory = self._job_dir(job_id)
        request = json.loads((directory / "request.json").read_text())
        status = _read_json(directory / "status.json") or {"status": "validating_files"}
        state, error = status["status"], status.get("error")
        process = self._processes.get(job_id)
        if state not in TERMINAL and process is not None and process.poll() is not None:
            # The process ended without a final status: it crashed (killed, out of memory).
            state = "failed"
            error = {"code": "trainer_exited", "message": f"exit code {process.returncode}"}
        succeeded = state == "succeeded"
        checkpoints = _lines(directory / "checkpoints.jsonl") if succeeded else []
        return JobStatus(
            id=job_id,
            status=state,
            model=request["model"],
            training_file=request["training_file_id"],
            hyperparameters={
                k: request[k] for k in ("n_epochs", "batch_size", "learning_rate_multiplier")
            },
            fine_tuned_model=request["model_name"] if succeeded else None,
            error=JobError(**error) if error else None,
            trained_tokens=status.get("trained_tokens"),
            events=[JobEvent(**e) for e in _lines(directory / "events.jsonl")],
            checkpoints=[
                Checkpoint(
                    id=c["id"], step_number=c["step_number"], model=c["model"], metrics=c["metrics"]
                )
                for c in checkpoints
            ],
        )

    async def cancel(self, job_id: str) -> None:
        """Ask the job to stop; a process that does not stop within 30 s is killed."""
        directory = self._job_dir(job_id)
        if (await self.poll(job_id)).terminal:
            return
        (directory / "cancel").touch()
        process = self._processes.get(job_id)
        if process is None:
            return
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if not (await self.poll(job_id)).terminal:
            (directory / "status.json").write_text(json.dumps({"status": "cancelled"}))


def _read_json(path: Path) -> dict | None:
    """A JSON file's object, or None when it is not there yet."""
    return json.loads(path.read_text()) if path.exists() else None


def _lines(path: Path) -> list[dict]:
    """The objects of a JSONL file (none when it is not there yet)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def adapters(root: Path) -> dict[str, Path]:
    """Every tuned model and checkpoint under `root`, by model name: its adapter directory."""
    found: dict[str, Path] = {}
    for path in sorted((root / "jobs").glob("*/checkpoints.jsonl")):
        request = json.loads((path.parent / "request.json").read_text())
        status = _read_json(path.parent / "status.json") or {}
        records = _lines(path)
        for record in records:
            found[record["model"]] = Path(record["adapter"])
        if status.get("status") == "succeeded" and records:
            found[request["model_name"]] = Path(records[-1]["adapter"])
    return found
