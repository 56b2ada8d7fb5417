"""The chat mechanics shared by `/v1/chat/completions` and batch lines: validate, then answer."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.errors import bad_request, model_not_found
from sandbox.prompt import message_text, parse
from sandbox.reader import answer_tuned, read
from sandbox.text import count_tokens, prompt_tokens, truncate_tokens

if TYPE_CHECKING:
    from sandbox.state import SandboxState


@dataclass(frozen=True)
class ChatCall:
    """A validated chat request."""

    model: str
    messages: list[dict[str, Any]]
    limit: int | None
    stops: list[str]


def check_model(state: SandboxState, body: dict[str, Any]) -> str:
    """The requested model id (400 if missing, 404 if unknown)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("You must provide a model parameter.", param="model")
    if not state.known_model(model):
        raise model_not_found(model)
    if (when := state.shut_down(model)) is not None:
        raise model_not_found(model, f"The model `{model}` was shut down on {when.isoformat()}.")
    return model


def _stop_sequences(body: dict[str, Any]) -> list[str]:
    """The request's `stop`: a string or a list of up to 4 non-empty strings."""
    stop = body.get("stop")
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else stop
    valid = isinstance(stops, list) and len(stops) <= 4
    if not valid or not all(isinstance(s, str) and s for s in stops):
        raise bad_request("stop must be a string or up to 4 non-empty strings.", param="stop")
    return stops


def cut_at_stop(text: str, stops: list[str]) -> tuple[str, bool]:
    """`text` up to the earliest stop sequence (excluded, as OpenAI does); whether it was cut."""
    ends = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[: min(ends)], True) if ends else (text, False)


def _chat_params(body: dict[str, Any]) -> tuple[list[dict[str, Any]], int | None]:
    """Validate messages, n, temperature and max_tokens."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("'messages' must be a non-empty list.", param="messages")
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or not isinstance(msg.get("role"), str):
            raise bad_request(f"messages[{i}] must be an object with a role.", param="messages")
    if body.get("n", 1) not in (1, None):
        raise bad_request("The sandbox only supports n=1.", param="n")
    if body.get("stream"):
        raise bad_request("The sandbox does not support streaming.", param="stream")
    temperature = body.get("temperature")
    valid = isinstance(temperature, int | float) and 0 <= temperature <= 2
    if temperature is not None and not valid:
        raise bad_request("temperature must be between 0 and 2.", param="temperature")
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise bad_request("max_tokens must be a positive integer.", param="max_tokens")
    return messages, limit


def validate_chat(state: SandboxState, body: dict[str, Any]) -> ChatCall:
    """A chat request checked the way the endpoint checks it (APIError when it is not valid)."""
    model = check_model(state, body)
    messages, limit = _chat_params(body)
    return ChatCall(model, messages, limit, _stop_sequences(body))


def answer_chat(state: SandboxState, call: ChatCall) -> dict[str, Any]:
    """The `chat.completion` object answering a validated request (reader or tuned model)."""
    prompt = parse(call.messages)
    tuned = state.models.get(call.model)
    tuned_t, reader_t = state.thresholds()
    if tuned is None:
        answer = read(prompt, state.behaviour(call.model), reader_t)
    else:
        answer = answer_tuned(tuned, prompt, tuned_t, reader_t, state.behaviour(tuned.base))
    finish = "stop"
    answer, _ = cut_at_stop(answer, call.stops)
    if call.limit is not None:
        answer, cut = truncate_tokens(answer, call.limit)
        finish = "length" if cut else "stop"
    usage_in = prompt_tokens([message_text(m.get("content")) for m in call.messages])
    usage_out = count_tokens(answer)
    state.stats["prompt_tokens"] += usage_in
    state.stats["completion_tokens"] += usage_out
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": call.model,
        "system_fingerprint": "fp_sandbox",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer, "refusal": None},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": usage_in,
            "completion_tokens": usage_out,
            "total_tokens": usage_in + usage_out,
        },
    }
