"""The provider's chat fine-tuning format: the checks of one example and its token estimate.

The checks follow OpenAI's documented format checks for chat fine-tuning files (the kinds are
named as in its data-preparation guide), plus two a provider rejects at job time: no user turn
before the answer, and an example over the token limit. Token counts are an estimate: tiktoken
needs to download its encodings and cannot run offline, so a token here is a word or a
punctuation mark (`\\w+|[^\\w\\s]`) and every message adds 4 — the sandbox's own count.
"""

import json
import re
from typing import Any, Literal

TOKEN_RE = re.compile(r"\w+|[^\w\s]")
MESSAGE_OVERHEAD = 4
EXAMPLE_KEYS = frozenset({"messages", "tools", "functions", "parallel_tool_calls"})
MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"}
)
ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})

ErrorKind = Literal[
    "data_type",
    "example_unrecognized_key",
    "missing_messages_list",
    "message_missing_key",
    "message_unrecognized_key",
    "unrecognized_role",
    "missing_content",
    "invalid_weight",
    "example_missing_assistant_message",
    "example_missing_user_message",
    "too_many_tokens",
    "duplicate",
]


def message_tokens(message: dict[str, Any]) -> int:
    """Estimated tokens of one message: words and punctuation of its text, plus 4."""
    content = message.get("content")
    text = content if isinstance(content, str) else ""
    calls = message.get("tool_calls") or message.get("function_call")
    if calls:
        text += json.dumps(calls)
    return len(TOKEN_RE.findall(text)) + MESSAGE_OVERHEAD


def _check_message(number: int, message: Any) -> list[tuple[ErrorKind, str]]:
    """Problems of one message, numbered from 0."""
    where = f"message {number}"
    if not isinstance(message, dict):
        return [("data_type", f"{where} is not a JSON object")]
    problems: list[tuple[ErrorKind, str]] = [
        ("message_unrecognized_key", f"{where}: unrecognised key {key!r}")
        for key in sorted(set(message) - MESSAGE_KEYS)
    ]
    role = message.get("role")
    if "role" not in message:
        problems.append(("message_missing_key", f"{where}: missing 'role'"))
    elif role not in ROLES:
        problems.append(("unrecognized_role", f"{where}: unrecognised role {role!r}"))
    # An assistant turn that calls a tool may carry no content.
    calls = role == "assistant" and bool(message.get("tool_calls") or message.get("function_call"))
    content = message.get("content")
    if "content" not in message and not calls:
        problems.append(("message_missing_key", f"{where}: missing 'content'"))
    elif not calls and (not isinstance(content, str) or not content.strip()):
        problems.append(("missing_content", f"{where}: content is empty or not text"))
    if "weight" in message and (message["weight"] not in (0, 1) or role != "assistant"):
        problems.append(("invalid_weight", f"{where}: weight must be 0 or 1, on assistant turns"))
    return problems


def check_example(entry: Any, *, max_tokens: int) -> list[tuple[ErrorKind, str]]:
    """Every problem of one parsed example, as (kind, message); empty when it is clean."""
    if not isinstance(entry, dict):
        return [("data_type", "entry is not a JSON object")]
    problems: list[tuple[ErrorKind, str]] = [
        ("example_unrecognized_key", f"unrecognised key {key!r}")
        for key in sorted(set(entry) - EXAMPLE_KEYS)
    ]
    messages = entry.get("messages")
    if not isinstance(messages, list) or not messages:
        return [*problems, ("missing_messages_list", "missing or empty 'messages' list")]
    for number, message in enumerate(messages):
        problems += _check_message(number, message)
    roles = [m.get("role") for m in messages if isinstance(m, dict)]
    if "assistant" not in roles:
        problems.append(("example_missing_assistant_message", "no assistant message"))
    elif "user" not in roles[: len(roles) - roles[::-1].index("assistant")]:
        problems.append(("example_missing_user_message", "no user message before the answer"))
    if not problems:
        tokens = sum(message_tokens(m) for m in messages)
        if tokens > max_tokens:
            problems.append(("too_many_tokens", f"{tokens} tokens (estimated), limit {max_tokens}"))
    return problems
