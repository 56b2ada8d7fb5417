"""Build the training set: examples from the training file and labelled interactions, checked.

Labelled interactions become examples in the shape of the training file: the system message of
its first clean example, and a user message made of that example's marker (`Question: ` or
`Input: ` at the start of its last user message, if any) followed by the interaction's input;
the label is the assistant's answer. With no clean example in the file, the spec's first prompt
variant gives the system message and the user template.
"""

import json
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from state.canonical import canonical_json
from state.domain import Interaction
from state.errors import SpecError
from state.yaml_text import decode_utf8
from tasks.training_format import ErrorKind, check_example, message_tokens

MARKER_RE = re.compile(r"^[ \t]*(question|input)[ \t]*:[ \t]*", re.IGNORECASE | re.MULTILINE)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class ExampleError(_Model):
    """One problem of one example: its file line (1-based) or its interaction's client id."""

    line: int | None = None
    client_id: str | None = None
    kind: ErrorKind
    message: str


class Example(_Model):
    """A clean training example with where it came from."""

    source: str
    line: int | None = None
    client_id: str | None = None
    data: dict[str, Any]

    @property
    def where(self) -> str:
        """The file line or the interaction the example came from."""
        return _where(self.source, self.line, self.client_id)

    def canonical(self) -> str:
        """The example as canonical JSON: sorted keys, no whitespace, UTF-8 kept."""
        return canonical_json(self.data, ensure_ascii=False)


class TrainingSetReport(_Model):
    """Clean de-duplicated examples, the errors and duplicates found, and the clean tokens."""

    examples: list[Example]
    errors: list[ExampleError]
    duplicates: list[ExampleError]
    total_tokens: int


class ChatTemplate(_Model):
    """How an input becomes the messages of an example."""

    system: str | None = None
    user: str = "{input}"

    def messages(self, text: str, answer: str | None) -> list[dict[str, Any]]:
        """System (if any), user and assistant messages for one input and its answer."""
        head = [{"role": "system", "content": self.system}] if self.system else []
        user = {"role": "user", "content": self.user.replace("{input}", text)}
        return [*head, user, {"role": "assistant", "content": answer}]


def parse_training_lines(text: str, source: str) -> list[tuple[int, Any]]:
    """The parsed JSON lines of a training file with their numbers.

    A line that is not JSON is an error (SpecError naming the line), never a skipped example:
    the file is what its author meant, or it is refused.
    """
    entries: list[tuple[int, Any]] = []
    # split("\n"), not splitlines(): JSON strings may hold U+2028, which is no line break here.
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            entries.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise SpecError(
                f"{source} line {number}: not valid JSON ({exc.msg}, column {exc.colno})"
            ) from exc
    return entries


def read_training_text(path: Path) -> str:
    """Read a training file as text; a missing or non-UTF-8 file is a SpecError naming it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read training file ({exc.strerror})") from exc
    return decode_utf8(data, str(path))


class _Candidate(BaseModel):
    """A parsed entry not validated yet, with where it came from."""

    source: str
    line: int | None = None
    client_id: str | None = None
    entry: Any

    @property
    def where(self) -> str:
        """The file line or the interaction the entry came from."""
        return _where(self.source, self.line, self.client_id)


def _where(source: str, line: int | None, client_id: str | None) -> str:
    """Name the file line or the interaction an example comes from."""
    return f"{source} line {line}" if line else f"interaction {client_id!r}"


def _admit(
    candidates: list[_Candidate], *, max_tokens: int
) -> tuple[list[Example], list[ExampleError]]:
    """Split candidates into clean examples and the errors of the others."""
    clean: list[Example] = []
    errors: list[ExampleError] = []
    for candidate in candidates:
        problems = check_example(candidate.entry, max_tokens=max_tokens)
        errors += [
            ExampleError(
                line=candidate.line,
                client_id=candidate.client_id,
                kind=kind,
                message=f"{candidate.where}: {message}",
            )
            for kind, message in problems
        ]
        if not problems:
            clean.append(
                Example(
                    source=candidate.source,
                    line=candidate.line,
                    client_id=candidate.client_id,
                    data=candidate.entry,
                )
            )
    return clean, errors


def template_of(example: Example) -> ChatTemplate:
    """The system message and user template of a clean example (see the module docstring)."""
    messages = example.data["messages"]
    system = messages[0]["content"] if messages[0].get("role") == "system" else None
    last_user = [m for m in messages if m.get("role") == "user"][-1]["content"]
    marker = MARKER_RE.match(last_user)
    return ChatTemplate(system=system, user=(marker.group(0) if marker else "") + "{input}")


def build_training_set(
    training_text: str | None,
    interactions: list[Interaction],
    *,
    source: str,
    fallback: ChatTemplate,
    max_tokens: int,
) -> TrainingSetReport:
    """Validate the training file and the labelled interactions; keep the first of duplicates."""
    entries = parse_training_lines(training_text or "", source)
    from_file, file_errors = _admit(
        [_Candidate(source=source, line=n, entry=entry) for n, entry in entries],
        max_tokens=max_tokens,
    )
    template = template_of(from_file[0]) if from_file else fallback
    from_interactions, interaction_errors = _admit(
        [
            _Candidate(
                source="interactions",
                client_id=i.client_id,
                entry={"messages": template.messages(i.input, i.label)},
            )
            for i in interactions
        ],
        max_tokens=max_tokens,
    )
    errors = file_errors + interaction_errors
    examples: list[Example] = []
    duplicates: list[ExampleError] = []
    first_seen: dict[str, str] = {}
    for example in from_file + from_interactions:
        key = example.canonical()
        if key in first_seen:
            duplicates.append(
                ExampleError(
                    line=example.line,
                    client_id=example.client_id,
                    kind="duplicate",
                    message=f"{example.where}: duplicate of {first_seen[key]}",
                )
            )
            continue
        first_seen[key] = example.where
        examples.append(example)
    tokens = sum(message_tokens(m) for e in examples for m in e.data["messages"])
    return TrainingSetReport(
        examples=examples, errors=errors, duplicates=duplicates, total_tokens=tokens
    )
