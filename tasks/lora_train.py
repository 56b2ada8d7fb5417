"""One local LoRA fine-tuning job, run as its own process: `python -m tasks.lora_train JOB_DIR`.

It reads `request.json` in the job directory, trains LoRA adapters (PEFT) on the base model's
attention projections with PyTorch on the CPU (a GPU when one is present), and writes what
`LocalLoRATrainer.poll` reads: `events.jsonl` (one JSON event a line), `checkpoints.jsonl`
(one adapter directory `ckpt-<epoch>` per epoch, with its mean training loss) and
`status.json` (running → succeeded or failed). A file `cancel` in the directory stops it
between steps. The loss counts the answer's tokens only: the prompt is context, not a target.
"""

import json
import math
import random
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from tasks.lora_format import split_chat

BASE_LEARNING_RATE = 1e-3
LORA = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
MAX_TOKENS = 256


class Job:
    """The files of one job directory."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.request: dict[str, Any] = json.loads((directory / "request.json").read_text())

    def event(self, message: str, *, kind: str = "message", level: str = "info", **data) -> None:
        """Append one event (ids in order of writing)."""
        path = self.dir / "events.jsonl"
        number = sum(1 for _ in path.open()) if path.exists() else 0
        event = {
            "id": f"{self.request['id']}-event-{number:05d}",
            "created_at": int(time.time()),
            "level": level,
            "message": message,
            "type": kind,
            "data": data or None,
        }
        with path.open("a") as out:
            out.write(json.dumps(event) + "\n")

    def status(self, status: str, **fields: Any) -> None:
        """Replace status.json (written aside, then renamed: a reader never sees half of it)."""
        partial = self.dir / "status.json.partial"
        partial.write_text(json.dumps({"status": status, **fields}))
        partial.replace(self.dir / "status.json")

    @property
    def cancelled(self) -> bool:
        """Whether a cancel was asked for."""
        return (self.dir / "cancel").exists()


def _examples(path: Path, tokenizer) -> list[tuple[list[int], int]]:
    """(token ids, prompt length) of every training example: prompt, answer, end of text."""
    examples = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        prompt, answer = split_chat(json.loads(line)["messages"])
        head = tokenizer(prompt)["input_ids"]
        tail = tokenizer(answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        examples.append(((head + tail)[:MAX_TOKENS], len(head)))
    return examples


def _batch_loss(model, batch: list[tuple[list[int], int]], pad: int):
    """Mean cross-entropy over the answers' tokens of one padded batch.

    The output layer (262k words for Gemma 3) runs only where an answer token is predicted:
    most of a sequence is prompt, and the layer is most of the model's weights.
    """
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    for row, (tokens, prompt_len) in enumerate(batch):
        ids[row, : len(tokens)] = torch.tensor(tokens)
        mask[row, : len(tokens)] = 1
        labels[row, prompt_len : len(tokens)] = torch.tensor(tokens[prompt_len:])
    causal = model.get_base_model()
    hidden = causal.model(input_ids=ids, attention_mask=mask).last_hidden_state
    targets = labels[:, 1:]
    chosen = targets != -100
    logits = causal.lm_head(hidden[:, :-1][chosen])
    cap = getattr(causal.config, "final_logit_softcapping", None)
    if cap:
        logits = torch.tanh(logits / cap) * cap
    return torch.nn.functional.cross_entropy(logits.float(), targets[chosen])


def train(job: Job) -> None:
    """Train, saving an adapter per epoch; stop early (cancelled) when asked to."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    request = job.request
    torch.manual_seed(request["seed"])
    torch.set_num_threads(max(1, request.get("threads", 2)))
    base = request["base_model_dir"]
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True, dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", **LORA))
    examples = _examples(Path(request["training_file"]), tokenizer)
    epochs, size = request["n_epochs"], request["batch_size"]
    steps_per_epoch = math.ceil(len(examples) / size)
    total = epochs * steps_per_epoch
    rate = BASE_LEARNING_RATE * request["learning_rate_multiplier"]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=rate)
    started = time.time()  # kept in every later status: how long the training itself took
    job.status("running", started_at=started)
    job.event(f"Fine-tuning job started: {len(examples)} examples, {total} steps")
    order, step = list(range(len(examples))), 0
    shuffler = random.Random(request["seed"])
    for epoch in range(1, epochs + 1):
        shuffler.shuffle(order)
        losses = []
        for start in range(0, len(order), size):
            if job.cancelled:
                job.event("Job cancelled")
                job.status("cancelled", started_at=started, finished_at=time.time())
                return
            loss = _batch_loss(model, [examples[i] for i in order[start : start + size]], 0)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            step += 1
            losses.append(float(loss.detach()))
            job.event(
                f"Step {step}/{total}: training loss={losses[-1]:.4f}",
                kind="metrics",
                step=step,
                total_steps=total,
                train_loss=losses[-1],
            )
        _save_checkpoint(job, model, epoch, step, sum(losses) / len(losses))
    tokens = epochs * sum(len(ids) for ids, _ in examples)
    job.status("succeeded", started_at=started, finished_at=time.time(), trained_tokens=tokens)
    job.event("Job completed: the job has successfully completed")


def _save_checkpoint(job: Job, model, epoch: int, step: int, loss: float) -> None:
    """Save the epoch's adapter and record it as a checkpoint."""
    directory = job.dir / f"ckpt-{epoch}"
    model.save_pretrained(directory)
    record = {
        "id": f"{job.request['id']}-ckpt-{epoch}",
        "step_number": step,
        "model": f"{job.request['model_name']}:ckpt-step-{step}",
        "adapter": str(directory),
        "metrics": {"train_loss": round(loss, 4)},
    }
    with (job.dir / "checkpoints.jsonl").open("a") as out:
        out.write(json.dumps(record) + "\n")
    job.event(f"Checkpoint saved: epoch {epoch}, mean training loss {loss:.4f}")


def main(directory: str) -> int:
    """Run the job in `directory`; a crash is recorded as a failed job with its error."""
    job = Job(Path(directory))
    try:
        train(job)
    except Exception as exc:  # the job's own record is where a failure is read from
        job.event(f"Job failed: {type(exc).__name__}: {exc}", level="error")
        job.status(
            "failed",
            finished_at=time.time(),
            error={"code": "training_error", "message": f"{type(exc).__name__}: {exc}"},
            traceback=traceback.format_exc(),
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
