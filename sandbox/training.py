"""Training-file validation, training pairs and mechanically computed checkpoint metrics."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from sandbox.prompt import parse, question_of
from sandbox.reader import Pair, TunedModel, answer_tuned
from sandbox.text import content_words, prompt_tokens, tokens

ROLES = ("system", "user", "assistant")
Messages = list[dict[str, Any]]


class TrainingFileError(ValueError):
    """A training/validation file line that breaks the chat fine-tuning format."""

    param = "training_file"

    def with_param(self, param: str) -> TrainingFileError:
        """Tag the error with the request parameter (``training_file``/``validation_file``)."""
        self.param = param
        return self


def _check_line(number: int, line: str) -> Messages:
    """Validate one JSONL line and return its messages."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise TrainingFileError(f"line {number}: invalid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise TrainingFileError(f"line {number}: expected a JSON object")
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages:
        raise TrainingFileError(f"line {number}: missing 'messages' list")
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in ROLES:
            raise TrainingFileError(f"line {number}: message {i} has an invalid role")
        content = msg.get("content")
        if not isinstance(content, str) or not content.strip():
            raise TrainingFileError(f"line {number}: message {i} has empty or non-string content")
    roles = [m["role"] for m in messages]
    if "assistant" not in roles:
        raise TrainingFileError(f"line {number}: no assistant message")
    if "user" not in roles[: len(roles) - roles[::-1].index("assistant")]:
        raise TrainingFileError(f"line {number}: no user message before the assistant message")
    return messages


def read_examples(data: bytes) -> list[Messages]:
    """Validate a chat-format JSONL file; returns the messages of every example."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise TrainingFileError("line 1: file is not UTF-8 text") from None
    examples = [_check_line(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not examples:
        raise TrainingFileError("line 1: file contains no examples")
    return examples


def split_example(messages: Messages) -> tuple[Messages, str]:
    """Prompt messages (up to the last user message) and the assistant answer after it."""
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    after = [m for m in messages[last_user + 1 :] if m["role"] == "assistant"]
    answer = after[0] if after else [m for m in messages if m["role"] == "assistant"][-1]
    return messages[: last_user + 1], answer["content"]


def to_pair(messages: Messages) -> Pair:
    """Training pair: question of the last user message -> assistant answer."""
    prompt, answer = split_example(messages)
    question = question_of(prompt[-1]["content"])
    return Pair(question, content_words(question), answer)


def example_tokens(messages: Messages) -> int:
    """Tokens of one training example (all messages, +4 each)."""
    return prompt_tokens([m["content"] for m in messages])


@dataclass(frozen=True)
class EpochMetrics:
    """Metrics of one epoch's checkpoint."""

    epoch: int
    step: int
    train_loss: float
    train_mean_token_accuracy: float
    valid_loss: float
    valid_mean_token_accuracy: float
    full_valid_loss: float
    full_valid_mean_token_accuracy: float

    def as_dict(self) -> dict[str, float]:
        """Metrics as OpenAI names them (without ``epoch``)."""
        out = dict(self.__dict__)
        out.pop("epoch")
        return out


def _token_accuracy(prediction: str, expected: str) -> float:
    """Share of the expected answer's lowercase tokens that occur in the prediction."""
    wanted = [t.lower() for t in tokens(expected)]
    have = {t.lower() for t in tokens(prediction)}
    return sum(t in have for t in wanted) / len(wanted) if wanted else 1.0


def overfit_share(epoch: int, lr: float, after: float, rate: float) -> float:
    """Share of answers a checkpoint confuses: `rate` per lr-weighted epoch past `after`."""
    return min(0.9, max(0.0, epoch * lr - after) * rate)


def _evaluate(model: TunedModel, items: list[Messages], thresholds: tuple[float, float]) -> tuple:
    """(exact-match share, mean token accuracy) of ``model`` on examples."""
    if not items:
        return 0.0, 0.0
    exact = token = 0.0
    for messages in items:
        prompt, expected = split_example(messages)
        predicted = answer_tuned(model, parse(prompt), thresholds[0], thresholds[1])
        exact += predicted.strip() == expected.strip()
        token += _token_accuracy(predicted, expected)
    return exact / len(items), token / len(items)


def _spread(items: list[Messages], sample: int) -> list[Messages]:
    """At most ``sample`` items, evenly spaced over the whole list."""
    return items[:: math.ceil(len(items) / sample)] if items else items


def epoch_metrics(
    train: list[Messages],
    valid: list[Messages] | None,
    *,
    base: str,
    n_epochs: int,
    batch_size: int,
    thresholds: tuple[float, float],
    sample: int,
    overfit: tuple[float, float, float] = (1.0, 0.0, 0.0),
) -> list[EpochMetrics]:
    """Score, per epoch e, a nearest-neighbour model fitted on the first e/n_epochs of pairs.

    `overfit` is (learning-rate multiplier, lr-weighted epochs taken unharmed, share confused
    per epoch past them): an over-trained checkpoint answers some questions with another
    training answer (`overfit_share`).

    Held-out set: the validation file, else every 10th training example (when there are at
    least 10), else the training examples themselves. At most ``sample`` examples, evenly
    spaced, are scored.
    """
    if valid:
        fit, held = train, valid
    elif len(train) >= 10:
        fit = [m for i, m in enumerate(train) if i % 10 != 9]
        held = [m for i, m in enumerate(train) if i % 10 == 9]
    else:
        fit, held = train, train
    pairs = [to_pair(m) for m in fit]
    steps = math.ceil(len(train) / batch_size)
    out = []
    for epoch in range(1, n_epochs + 1):
        seen = math.ceil(len(pairs) * epoch / n_epochs)
        confused = overfit_share(epoch, *overfit)
        model = TunedModel("checkpoint", base, tuple(pairs[:seen]), 0, "", overfit=confused)
        train_exact, train_tok = _evaluate(model, _spread(fit, sample), thresholds)
        valid_exact, valid_tok = _evaluate(model, _spread(held, sample), thresholds)
        term = 0.1 / epoch
        out.append(
            EpochMetrics(
                epoch=epoch,
                step=steps * epoch,
                train_loss=round(1 - train_exact + term, 4),
                train_mean_token_accuracy=round(train_tok, 4),
                valid_loss=round(1 - valid_exact + term, 4),
                valid_mean_token_accuracy=round(valid_tok, 4),
                full_valid_loss=round(1 - valid_exact + term, 4),
                full_valid_mean_token_accuracy=round(valid_exact, 4),
            )
        )
    return out
