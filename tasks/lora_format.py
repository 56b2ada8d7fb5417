"""How a chat becomes the text a local model reads, the same in training and in serving.

The base model has no chat template of its own; as `make demo-real`'s llama.cpp server does
(`--chat_format alpaca`), a chat is laid out the Alpaca way: the system message, then each
user turn as `### Instruction: …` and each assistant turn as `### Response: …</s>`, ending with
`### Response:` where the model writes its answer (and, once tuned, its end-of-text token).
"""

from typing import Any

ROLES = {"user": "### Instruction", "assistant": "### Response"}


def prompt_text(messages: list[dict[str, Any]]) -> str:
    """The text before the answer: system, the turns, and the response header."""
    system = "\n".join(m["content"] for m in messages if m.get("role") == "system")
    text = system + "\n\n"
    turns = [m for m in messages if m.get("role") in ROLES]
    for number, message in enumerate(turns):
        text += f"{ROLES[message['role']]}: {message['content']}"
        text += "\n\n" if number % 2 == 0 else "</s>"
    return text + "### Response:"


def split_chat(messages: list[dict[str, Any]]) -> tuple[str, str]:
    """(prompt text, answer) of a training example: the turns up to its last user message, and
    the assistant answer after it (with the space the layout puts before an answer)."""
    last = max(i for i, m in enumerate(messages) if m.get("role") == "user")
    answer = next(m["content"] for m in messages[last + 1 :] if m.get("role") == "assistant")
    return prompt_text(messages[: last + 1]), " " + answer
