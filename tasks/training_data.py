"""Fine-tuning data: prepare the training set, leakage-check it and split it into files."""

import hashlib
from collections import defaultdict
from pathlib import Path

from prefect import task
from pydantic import BaseModel, ConfigDict

from state.domain import EvalItem, Interaction
from state.errors import LeakageError
from state.spec import UseCaseSpec
from tasks.training_set import (
    MARKER_RE,
    ChatTemplate,
    Example,
    TrainingSetReport,
    build_training_set,
    read_training_text,
)

LEAKS_SHOWN = 10


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


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
        read_training_text(path) if path else None,
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


def pilot_subset(prepared: PreparedTrainingSet, share: float, seed: int) -> PreparedTrainingSet:
    """The same set with a share of its training split (by a hash of each line), for a pilot.

    The validation split stays whole: the pilot is judged on the same items as the full run.
    """
    lines = prepared.train_jsonl.splitlines(keepends=True)
    chosen = [
        line
        for line in lines
        if int.from_bytes(hashlib.sha256(f"pilot:{seed}:{line}".encode()).digest()[:8], "big")
        < share * 2**64
    ]
    kept = chosen or lines[:1]
    data = "".join(kept).encode()
    return prepared.model_copy(
        update={
            "train_jsonl": data.decode(),
            "train_examples": len(kept),
            "training_file_hash": sha256(data),
        }
    )
