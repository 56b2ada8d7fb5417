"""Parse chat messages into question, few-shot examples, passages, labels and flags."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sandbox.text import content_words

MARKERS = "question|input|output|context|labels|answer|reasoning|reference|candidate|response"
MARKER_RE = re.compile(rf"^\s*({MARKERS})\s*:\s?(.*)$", re.IGNORECASE)
SOURCE_RE = re.compile(r"^\s*\[([^\]\n]+)\]\s*")
SENTENCE_RE = re.compile(r"(?<=[.!?])\s+")
JSON_RE = re.compile(r"\bJSON\b")

Segment = tuple[str | None, str]


@dataclass(frozen=True)
class Example:
    """A few-shot example: input text, output text and the input's content words."""

    input: str
    output: str
    words: frozenset[str]


@dataclass(frozen=True)
class Passage:
    """One sentence of a context passage, with the passage's ``[source-id]`` if it had one."""

    source: str | None
    sentence: str
    words: frozenset[str]


@dataclass(frozen=True)
class Prompt:
    """Everything the reader uses from a chat request."""

    question: str
    words: frozenset[str]
    examples: tuple[Example, ...]
    passages: tuple[Passage, ...]
    labels: tuple[str, ...]
    step_by_step: bool
    fields: dict[str, str]
    json_reply: bool = False


def message_text(content: Any) -> str:
    """Text of a message ``content`` (a string or a list of ``{"type": "text"}`` parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


@lru_cache(maxsize=8192)
def segments(text: str) -> tuple[Segment, ...]:
    """Split text into (marker, body) blocks.

    ``Labels:`` is one line; ``Context:`` runs to the next marker line; other blocks also end
    at a blank line.
    """
    out: list[tuple[str | None, list[str]]] = []
    marker: str | None = None
    lines: list[str] = []
    for line in text.splitlines():
        match = MARKER_RE.match(line)
        if match and match[1].lower() == "labels":
            out.extend([(marker, lines), ("labels", [match[2]])])
            marker, lines = None, []
        elif match:
            out.append((marker, lines))
            marker, lines = match[1].lower(), [match[2]] if match[2].strip() else []
        elif not line.strip() and marker not in (None, "context") and lines:
            out.append((marker, lines))
            marker, lines = None, []
        else:
            lines.append(line)
    out.append((marker, lines))
    result = [(m, "\n".join(ls).strip()) for m, ls in out]
    return tuple((m, body) for m, body in result if m or body)


def question_of(text: str) -> str:
    """The question of a user message: after the last ``Question:``/open ``Input:`` marker."""
    segs = segments(text)
    questions = [body for marker, body in segs if marker == "question" and body]
    if questions:
        return questions[-1]
    for i in range(len(segs) - 1, -1, -1):
        marker, body = segs[i]
        answered = i + 1 < len(segs) and segs[i + 1][0] == "output" and segs[i + 1][1]
        if marker == "input" and body and not answered:
            return body
    free = "\n".join(body for marker, body in segs if marker is None)
    return free.strip() or text.strip()


def output_of(text: str) -> str:
    """The output of an assistant message: its ``Answer:``/``Output:`` block, else all of it."""
    segs = segments(text)
    for wanted in ("answer", "output"):
        found = [body for marker, body in segs if marker == wanted and body]
        if found:
            return found[-1]
    return text.strip()


def _passages(body: str) -> list[Passage]:
    """Split a ``Context:`` block into passages (``[id]`` line or blank line) and sentences."""
    chunks: list[tuple[str | None, list[str]]] = []
    for line in body.splitlines():
        source = SOURCE_RE.match(line)
        if source:
            chunks.append((source[1].strip(), [line[source.end() :]]))
        elif not line.strip():
            chunks.append((None, []))
        elif chunks:
            chunks[-1][1].append(line)
        else:
            chunks.append((None, [line]))
    out = []
    for source, lines in chunks:
        for sentence in SENTENCE_RE.split(" ".join(x.strip() for x in lines).strip()):
            if sentence.strip():
                out.append(Passage(source, sentence.strip(), content_words(sentence)))
    return out


@lru_cache(maxsize=8192)
def analyse(text: str) -> tuple[tuple[str, ...], tuple[Passage, ...], tuple[Example, ...]]:
    """Labels, context passages and inline ``Input:``/``Output:`` examples found in a text."""
    segs = segments(text)
    labels: list[str] = []
    passages: list[Passage] = []
    examples: list[Example] = []
    for i, (marker, body) in enumerate(segs):
        if marker == "labels" and body:
            labels = [x.strip() for x in body.splitlines()[0].split(",") if x.strip()]
        elif marker == "context":
            passages.extend(_passages(body))
        elif marker == "input" and i + 1 < len(segs) and segs[i + 1][0] == "output":
            output = segs[i + 1][1]
            if body and output:
                examples.append(Example(body, output, content_words(body)))
    return tuple(labels), tuple(passages), tuple(examples)


def parse(messages: list[dict[str, Any]]) -> Prompt:
    """Turn OpenAI chat messages into a :class:`Prompt` following the documented conventions."""
    texts = [(str(m.get("role", "")), message_text(m.get("content"))) for m in messages]
    users = [i for i, (role, _) in enumerate(texts) if role == "user"]
    last = users[-1] if users else len(texts) - 1
    labels: tuple[str, ...] = ()
    passages: list[Passage] = []
    examples: list[Example] = []
    step = json_reply = False
    for i, (role, text) in enumerate(texts):
        found_labels, found_passages, found_examples = analyse(text)
        labels = found_labels or labels
        passages.extend(found_passages)
        examples.extend(found_examples)
        if role in ("system", "developer", "user") and "step by step" in text.lower():
            step = True
        if role in ("system", "developer") and JSON_RE.search(text):
            json_reply = True
        if role == "user" and i < last and i + 1 < len(texts) and texts[i + 1][0] == "assistant":
            example_input = question_of(text)
            examples.append(
                Example(example_input, output_of(texts[i + 1][1]), content_words(example_input))
            )
    last_text = texts[last][1] if texts else ""
    question = question_of(last_text)
    judged = ("reference", "candidate", "response")
    fields = {m: body for m, body in segments(last_text) if m in judged}
    return Prompt(
        question=question,
        words=content_words(question),
        examples=tuple(examples),
        passages=tuple(passages),
        labels=labels,
        step_by_step=step,
        fields=fields,
        json_reply=json_reply,
    )
