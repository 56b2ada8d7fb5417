"""Metrics: one function per metric, registered in `METRICS` by its decorator.

A local metric scores (output, expected) in [0, 1]. A judged metric renders a rubric prompt
for the judge model; `judge_scores` sends those prompts as one batch and reads each verdict
strictly with `parse_verdict`.
"""

import re
import string
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import openai

from state.domain import EvalItem
from state.errors import VerdictError
from tasks.llm import BatchResult, ChatRequest, complete_batch

Scorer = Callable[[str, str], float]
# (score or answer, error): exactly one of the two is set.
Scored = tuple[Any, str | None]
Rubric = Callable[[EvalItem, str], list[dict[str, str]]]

PUNCTUATION = str.maketrans("", "", string.punctuation)
ARTICLES = re.compile(r"\b(a|an|the)\b")
SPACES = re.compile(r"\s+")
LABEL_SEPARATOR = re.compile(r"\s*/\s*")
BLANK_LINES = re.compile(r"\n\s*\n")
VERDICT = re.compile(r"(?:SCORE:[ \t]*)?(\d+(?:\.\d+)?)")
MAX_VERDICT = 10.0


@dataclass(frozen=True)
class Metric:
    """A registered metric: a local scorer, or a rubric for the judge model."""

    name: str
    score: Scorer | None = None
    rubric: Rubric | None = None


METRICS: dict[str, Metric] = {}


def _local(name: str) -> Callable[[Scorer], Scorer]:
    """Register a function of (output, expected) as metric `name`."""

    def register(function: Scorer) -> Scorer:
        """Add the scorer to METRICS."""
        METRICS[name] = Metric(name=name, score=function)
        return function

    return register


def _judged(name: str) -> Callable[[Rubric], Rubric]:
    """Register a rubric prompt as the judged metric `name`."""

    def register(function: Rubric) -> Rubric:
        """Add the rubric to METRICS."""
        METRICS[name] = Metric(name=name, rubric=function)
        return function

    return register


def squad_normalise(text: str) -> str:
    """SQuAD normalisation: lowercase, no punctuation, no articles, single spaces."""
    return " ".join(ARTICLES.sub(" ", text.lower().translate(PUNCTUATION)).split())


def normalise_label(text: str) -> str:
    """A label compared loosely: lowercase, trimmed, single spaces, no spaces around `/`."""
    return LABEL_SEPARATOR.sub("/", SPACES.sub(" ", text.strip().lower()))


@_local("exact_match")
def exact_match(output: str, expected: str) -> float:
    """1 when the output is the expected text (surrounding whitespace aside), else 0."""
    return float(output.strip() == expected.strip())


@_local("accuracy")
def accuracy(output: str, expected: str) -> float:
    """1 when the output is the expected label after label normalisation, else 0."""
    return float(normalise_label(output) == normalise_label(expected))


@_local("token_f1")
def token_f1(output: str, expected: str) -> float:
    """SQuAD token F1 between output and expected."""
    predicted, gold = squad_normalise(output).split(), squad_normalise(expected).split()
    if not predicted or not gold:
        return float(predicted == gold)
    common = sum((Counter(predicted) & Counter(gold)).values())
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


@_local("contains")
def contains(output: str, expected: str) -> float:
    """1 when the normalised output contains the normalised expected text as whole words."""
    return float(f" {squad_normalise(expected)} " in f" {squad_normalise(output)} ")


@_judged("llm_judge")
def llm_judge(item: EvalItem, output: str) -> list[dict[str, str]]:
    """The rubric prompt asking the judge model to grade an output against the reference."""
    system = (
        "You grade answers. Compare the candidate answer with the reference answer to the "
        "question. Reply with the grade only: a number from 0 (wrong or unrelated) to 10 "
        "(says everything the reference says, nothing false), or 'SCORE: <number>'."
    )
    # A blank line would end the candidate's block in the prompt layout.
    candidate = BLANK_LINES.sub("\n", output.strip())
    user = f"Question: {item.input}\nReference: {item.expected}\nCandidate: {candidate}"
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def parse_verdict(text: str) -> float:
    """A judge's verdict as a score in [0, 1]; anything but `n` or `SCORE: n` (0–10) raises."""
    match = VERDICT.fullmatch(text.strip())
    if match is None:
        raise VerdictError(f"judge verdict is not a number 0-10 or 'SCORE: n': {text[:80]!r}")
    value = float(match[1])
    if value > MAX_VERDICT:
        raise VerdictError(f"judge verdict {value:g} is above {MAX_VERDICT:g}")
    return value / MAX_VERDICT


async def judge_scores(
    client: openai.AsyncOpenAI,
    judge_model: str,
    items: Sequence[EvalItem],
    answers: Sequence[Scored],
    batch: dict[str, Any],
    rubric: Rubric | None = None,
    complete: Callable[[list[ChatRequest]], Awaitable[BatchResult]] | None = None,
) -> tuple[list[Scored], BatchResult]:
    """Judge every (answer, error) in one batch; an item without an answer keeps its error.

    `complete` sends the judge's requests another way (the Batch API) instead of online.
    """
    rubric = rubric or METRICS["llm_judge"].rubric
    assert rubric is not None
    judged = [i for i, (answer, _) in enumerate(answers) if answer is not None]
    prompts = [ChatRequest(judge_model, rubric(items[i], str(answers[i][0]))) for i in judged]
    verdicts = await (complete(prompts) if complete else complete_batch(client, prompts, **batch))
    scores: list[Scored] = [(None, error) for _, error in answers]
    for i, verdict in zip(judged, verdicts.results, strict=True):
        if verdict.error:
            scores[i] = (None, f"judge: {verdict.error}")
            continue
        try:
            scores[i] = (parse_verdict(verdict.text), None)
        except VerdictError as exc:
            scores[i] = (None, f"judge: {exc}")
    return scores, verdicts
