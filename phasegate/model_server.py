"""An OpenAI-compatible server for an open-weights model and the local trainer's adapters.

`python -m phasegate.model_server --base DIR --jobs DIR --model-name NAME --port P` serves
`/v1/models` and `/v1/chat/completions` on loopback: NAME is the base model (a transformers
directory), every tuned model and checkpoint the local trainer saved under `--jobs` is the same
base with its LoRA adapter (PEFT), loaded the first time it is asked for. Chats are laid out as
in training (`tasks.lora_format`); answers are greedy and end at the first stop sequence.
One generation runs at a time.
"""

import argparse
import hashlib
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from tasks.lora_format import prompt_text
from tasks.trainer_local import adapters


class ChatRequest(BaseModel):
    """The fields of a chat completion request this server reads."""

    model: str
    messages: list[dict[str, Any]]
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    stop: str | list[str] | None = None


class _StopOnText:
    """Stop generating once the answer holds a stop sequence, as llama.cpp does: a short answer
    costs its own tokens, not `max_tokens`. (transformers' `stop_strings` indexes the whole
    262k-token vocabulary on every call: 1–2 s of CPU a call here.)"""

    def __init__(self, tokenizer, inputs, stops: list[str]) -> None:
        self.tokenizer, self.stops = tokenizer, stops
        self.start = inputs["input_ids"].shape[1]

    def __call__(self, input_ids, scores, **_):
        import torch

        texts = self.tokenizer.batch_decode(input_ids[:, self.start :])
        return torch.tensor([any(stop in text for stop in self.stops) for text in texts])


class LocalModels:
    """The base model and the adapters loaded so far, behind one lock."""

    def __init__(self, base_dir: Path, jobs_root: Path, name: str, threads: int) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(threads)
        self.name, self.jobs_root = name, jobs_root
        self.tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
        self.model = AutoModelForCausalLM.from_pretrained(
            base_dir, local_files_only=True, dtype=torch.float32
        )
        self.loaded: dict[str, str] = {}
        self.lock = threading.Lock()

    def names(self) -> list[str]:
        """The base model's name and every tuned model's and checkpoint's."""
        return [self.name, *adapters(self.jobs_root)]

    def _use(self, model: str):
        """The model to generate with: the base, or the base with this adapter on."""
        from peft import PeftModel

        if model == self.name:
            return None
        found = adapters(self.jobs_root).get(model)
        if found is None:
            raise HTTPException(404, {"error": {"message": f"model {model!r} not found"}})
        # Adapter names are module keys: no dots or colons.
        key = "a" + hashlib.sha256(model.encode()).hexdigest()[:16]
        if key not in self.loaded:
            if isinstance(self.model, PeftModel):
                self.model.load_adapter(str(found), adapter_name=key)
            else:
                self.model = PeftModel.from_pretrained(self.model, str(found), adapter_name=key)
            self.loaded[key] = model
        self.model.set_adapter(key)
        return key

    def complete(self, request: ChatRequest) -> tuple[str, int, int]:
        """(answer, prompt tokens, completion tokens) of one chat, greedy."""
        import contextlib

        import torch

        limit = request.max_completion_tokens or request.max_tokens or 64
        stops = [request.stop] if isinstance(request.stop, str) else request.stop or []
        with self.lock:
            adapter = self._use(request.model)
            inputs = self.tokenizer(prompt_text(request.messages), return_tensors="pt")
            base_only = adapter is None and hasattr(self.model, "disable_adapter")
            context = self.model.disable_adapter() if base_only else contextlib.nullcontext()
            with context, torch.no_grad():
                output = self.model.generate(
                    **inputs,
                    max_new_tokens=limit,
                    do_sample=False,
                    eos_token_id=self.tokenizer.eos_token_id,
                    pad_token_id=self.tokenizer.pad_token_id or 0,
                    stopping_criteria=[_StopOnText(self.tokenizer, inputs, stops)],
                )
        new = output[0][inputs["input_ids"].shape[1] :]
        text = self.tokenizer.decode(new, skip_special_tokens=True)
        for stop in stops:
            text = text.split(stop)[0]
        return text.strip(), int(inputs["input_ids"].shape[1]), int(len(new))


def create_app(models: LocalModels) -> FastAPI:
    """The OpenAI-compatible routes over `models`."""
    app = FastAPI(title="phasegate local models")

    @app.get("/v1/models")
    def list_models() -> dict[str, Any]:
        """Every model served."""
        data = [{"id": n, "object": "model", "owned_by": "local"} for n in models.names()]
        return {"object": "list", "data": data}

    @app.post("/v1/chat/completions")
    def chat(request: ChatRequest) -> dict[str, Any]:
        """One chat completion."""
        answer, prompt_tokens, completion_tokens = models.complete(request)
        return {
            "id": f"chatcmpl-{time.time_ns()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    return app


def main() -> None:
    """Serve on loopback until stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--jobs", type=Path, required=True)
    parser.add_argument("--model-name", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    models = LocalModels(args.base, args.jobs, args.model_name, args.threads)
    uvicorn.run(create_app(models), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
