"""Eval sets and few-shot examples read from JSONL files, with errors that give the line."""

import codecs
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from state.domain import EvalItem
from state.errors import SpecError

FIELDS = ("id", "input", "expected")
OPTIONAL = ("source",)
# The width of eval_result.item_id in the store.
MAX_ID_LENGTH = 200
MARKER = re.compile(r"^\s*(?:Question|Input)\s*:\s?", re.IGNORECASE | re.MULTILINE)
SPACES = re.compile(r"\s+")


def _read(path: Path) -> bytes:
    """The bytes of a data file; an unreadable file is a SpecError naming it."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read ({exc.strerror})") from exc


def _objects(path: Path, data: bytes) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, JSON object) of every non-blank line; a leading byte-order mark is no JSON."""
    for number, raw in enumerate(data.removeprefix(codecs.BOM_UTF8).split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except UnicodeDecodeError as exc:
            raise SpecError(f"{path}: line {number}: not UTF-8 ({exc.reason})") from exc
        except json.JSONDecodeError as exc:
            raise SpecError(f"{path}: line {number}: invalid JSON ({exc.msg})") from exc
        if not isinstance(value, dict):
            raise SpecError(f"{path}: line {number}: must be a JSON object")
        yield number, value


def _item(path: Path, number: int, value: dict[str, Any]) -> EvalItem:
    """One eval item, checked field by field."""
    for name in FIELDS:
        if name not in value:
            raise SpecError(f"{path}: line {number}: missing field {name!r}")
    for name, field_value in value.items():
        if name not in FIELDS + OPTIONAL:
            raise SpecError(f"{path}: line {number}: unknown field {name!r}")
        if not isinstance(field_value, str) and not (name == "source" and field_value is None):
            raise SpecError(f"{path}: line {number}: field {name!r} must be a string")
        if field_value is not None and "\x00" in field_value:
            raise SpecError(f"{path}: line {number}: field {name!r} must not contain NUL")
    if not value["id"].strip():
        raise SpecError(f"{path}: line {number}: field 'id' must not be empty")
    if len(value["id"]) > MAX_ID_LENGTH:
        raise SpecError(
            f"{path}: line {number}: field 'id' must be at most {MAX_ID_LENGTH} characters"
        )
    return EvalItem(**value)


def load_eval_set(path: Path) -> tuple[list[EvalItem], str]:
    """The items of an eval set JSONL file and the sha256 of its bytes."""
    data = _read(path)
    items: list[EvalItem] = []
    first_line: dict[str, int] = {}
    for number, value in _objects(path, data):
        item = _item(path, number, value)
        if item.id in first_line:
            raise SpecError(
                f"{path}: line {number}: duplicate id {item.id!r} (first on line "
                f"{first_line[item.id]})"
            )
        first_line[item.id] = number
        items.append(item)
    if not items:
        raise SpecError(f"{path}: no eval items")
    return items, hashlib.sha256(data).hexdigest()


def normalise_input(text: str) -> str:
    """An input compared loosely: lowercase, whitespace collapsed."""
    return SPACES.sub(" ", text).strip().lower()


def question_of(content: str) -> str:
    """The text after the last `Question:`/`Input:` marker of a message, else all of it."""
    markers = list(MARKER.finditer(content))
    return (content[markers[-1].end() :] if markers else content).strip()


def _pair(path: Path, number: int, value: dict[str, Any]) -> tuple[str, str]:
    """(last user question, assistant answer after it) of a chat-format training line."""
    messages = value.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise SpecError(f"{path}: line {number}: 'messages' must be a list of objects")
    roles = [m.get("role") for m in messages]
    users = [i for i, role in enumerate(roles) if role == "user"]
    after = users[-1] if users else len(roles)
    answer = next((i for i in range(after, len(roles)) if roles[i] == "assistant"), None)
    if answer is None:
        raise SpecError(f"{path}: line {number}: needs a user message followed by an assistant one")
    user, reply = messages[users[-1]].get("content"), messages[answer].get("content")
    if not isinstance(user, str) or not isinstance(reply, str):
        raise SpecError(f"{path}: line {number}: message content must be a string")
    return question_of(user), reply.strip()


def load_examples(path: Path, k: int, exclude: set[str]) -> list[tuple[str, str]]:
    """The first `k` distinct (input, output) pairs of a training file whose input is not excluded.

    `exclude` holds normalised eval inputs, so that no eval item is shown as its own example.
    Lines after the k-th pair are not read.
    """
    examples: list[tuple[str, str]] = []
    seen = set(exclude)
    for number, value in _objects(path, _read(path)):
        question, answer = _pair(path, number, value)
        key = normalise_input(question)
        if key in seen or not question or not answer:
            continue
        seen.add(key)
        examples.append((question, answer))
        if len(examples) == k:
            break
    return examples
