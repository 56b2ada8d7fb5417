"""Fine-tuning data: build the training set, validate it as the provider does, split it.

The checks follow OpenAI's documented format checks for chat fine-tuning files (the kinds are
named as in its data-preparation guide), plus two a provider rejects at job time: no user turn
before the answer, and an example over the token limit. Token counts are an estimate: tiktoken
needs to download its encodings and cannot run offline, so a token here is a word or a
punctuation mark (`\\w+|[^\\w\\s]`) and every message adds 4 — the sandbox's own count.

Labelled interactions become examples in the shape of the training file: the system message of
its first clean example, and a user message made of that example's marker (`Question: ` or
`Input: ` at the start of its last user message, if any) followed by the interaction's input;
the label is the assistant's answer. With no clean example in the file, the spec's first prompt
variant gives the system message and the user template.
"""

import hashlib
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Literal

from prefect import task
from pydantic import BaseModel, ConfigDict

from state.domain import EvalItem
from state.errors import LeakageError, SpecError
from state.interactions import Interaction
from state.spec import UseCaseSpec

TOKEN_RE = re.compile(r"\w+|[^\w\s]")
MESSAGE_OVERHEAD = 4
EXAMPLE_KEYS = frozenset({"messages", "tools", "functions", "parallel_tool_calls"})
MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call"}
)
ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
MARKER_RE = re.compile(r"^[ \t]*(question|input)[ \t]*:[ \t]*", re.IGNORECASE | re.MULTILINE)
LEAKS_SHOWN = 10

ErrorKind = Literal[
    "invalid_json",
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
        return json.dumps(self.data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


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


def _parse_lines(text: str, source: str) -> tuple[list[tuple[int, Any]], list[ExampleError]]:
    """Parsed JSON lines with their numbers, and the lines that are not JSON."""
    entries: list[tuple[int, Any]] = []
    errors: list[ExampleError] = []
    # split("\n"), not splitlines(): JSON strings may hold U+2028, which is no line break here.
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            entries.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            message = f"{source} line {number}: not valid JSON ({exc.msg}, column {exc.colno})"
            errors.append(ExampleError(line=number, kind="invalid_json", message=message))
    return entries, errors


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
    entries, errors = _parse_lines(training_text or "", source)
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
    errors = sorted(errors + file_errors, key=lambda e: e.line or 0) + interaction_errors
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


def _normalise(text: str) -> str:
    """Lowercase and collapse whitespace."""
    return " ".join(text.lower().split())


def question_of(example: Example) -> str:
    """The last user message, after its last `Question:`/`Input:` marker, normalised."""
    content = [m for m in example.data["messages"] if m.get("role") == "user"][-1]["content"]
    markers = list(MARKER_RE.finditer(content))
    return _normalise(content[markers[-1].end() :] if markers else content)


def check_leakage(examples: list[Example], eval_items: list[EvalItem]) -> None:
    """Refuse a training set that holds an eval input: raises LeakageError naming both."""
    eval_ids: dict[str, list[str]] = defaultdict(list)
    for item in eval_items:
        eval_ids[_normalise(item.input)].append(item.id)
    leaks = [
        f"{example.where} = eval {', '.join(eval_ids[question])}"
        for example in examples
        if (question := question_of(example)) in eval_ids
    ]
    if leaks:
        more = f" (and {len(leaks) - LEAKS_SHOWN} more)" if len(leaks) > LEAKS_SHOWN else ""
        raise LeakageError(
            f"{len(leaks)} training examples repeat eval inputs, refused: "
            + "; ".join(leaks[:LEAKS_SHOWN])
            + more
        )


def _share(example: Example, seed: int) -> float:
    """Map an example and the seed to a number in [0, 1)."""
    digest = hashlib.sha256(f"{seed}:{example.canonical()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_examples(
    examples: list[Example], *, validation_share: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """(train, validation) by a hash of each example and the seed: stable as the set grows."""
    held_out = [_share(e, seed) < validation_share for e in examples]
    train = [e for e, held in zip(examples, held_out, strict=True) if not held]
    validation = [e for e, held in zip(examples, held_out, strict=True) if held]
    return train, validation


def to_jsonl(examples: list[Example]) -> bytes:
    """The canonical JSONL file of examples, UTF-8, one example a line."""
    return "".join(e.canonical() + "\n" for e in examples).encode()


def sha256(data: bytes) -> str:
    """The sha256 hex digest of bytes."""
    return hashlib.sha256(data).hexdigest()


class PreparedTrainingSet(_Model):
    """A validated, split training set: the report, both files and their hashes."""

    report: TrainingSetReport
    train_jsonl: str
    validation_jsonl: str
    train_examples: int
    validation_examples: int
    training_file_hash: str
    validation_file_hash: str | None


def _read(path: Path) -> str:
    """Read a training file as text; a missing or non-UTF-8 file is a SpecError."""
    try:
        # utf-8-sig: a byte-order mark some editors write is not part of line 1's JSON.
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read training file ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path}: training file is not UTF-8 (byte {exc.start})") from exc


@task(name="prepare-training-set")
def prepare_training_set(
    spec: UseCaseSpec,
    training_path: str | None,
    eval_items: list[EvalItem],
    interactions: list[Interaction],
) -> PreparedTrainingSet:
    """Validate, de-duplicate, leakage-check and split the fine-tuning data."""
    path = Path(training_path) if training_path else None
    first = spec.prompts[0]
    report = build_training_set(
        _read(path) if path else None,
        interactions,
        source=path.name if path else "training file",
        fallback=ChatTemplate(system=first.system or None, user=first.template),
        max_tokens=spec.fine_tuning.max_tokens_per_example,
    )
    check_leakage(report.examples, eval_items)
    train, validation = split_examples(
        report.examples,
        validation_share=spec.fine_tuning.validation_share,
        seed=spec.fine_tuning.seed,
    )
    train_bytes, validation_bytes = to_jsonl(train), to_jsonl(validation)
    return PreparedTrainingSet(
        report=report,
        train_jsonl=train_bytes.decode(),
        validation_jsonl=validation_bytes.decode(),
        train_examples=len(train),
        validation_examples=len(validation),
        training_file_hash=sha256(train_bytes),
        validation_file_hash=sha256(validation_bytes) if validation else None,
    )
