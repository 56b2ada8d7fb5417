"""The sandbox chat "model": a deterministic extractive reader plus nearest-neighbour tuning."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sandbox.prompt import Example, Passage, Prompt
from sandbox.text import content_words, jaccard, overlap, stable_hash, token_f1, unit_share

GENERIC_ANSWER = "I don't have enough information to answer that."
BASE_MODELS = ("sandbox-base", "sandbox-small", "sandbox-judge")
JUDGE_MODEL = "sandbox-judge"
#: ``sandbox-small`` only reads this many context sentences and few-shot examples.
SMALL_WINDOW = (8, 4)
QUOTE_WORDS = 16


@dataclass(frozen=True)
class Pair:
    """A training pair of a tuned model: the extracted question and the assistant answer."""

    question: str
    words: frozenset[str]
    answer: str


@dataclass
class TunedModel:
    """A fine-tuned model: its base reader, its training pairs, an optional (injected)
    degradation and the share of answers it confuses from over-training."""

    id: str
    base: str
    pairs: tuple[Pair, ...]
    created: int
    job_id: str
    degrade: float = 0.0
    checkpoint: bool = False
    overfit: float = 0.0
    owned_by: str = field(default="sandbox-user")
    learned: tuple[Example, ...] = field(init=False, repr=False)
    index: dict[str, list[int]] = field(init=False, repr=False)
    sizes: list[int] = field(init=False, repr=False)
    exact: dict[frozenset[str], int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Index pairs by content word; keep them as examples for the classification fallback."""
        self.learned = tuple(Example(p.question, p.answer, p.words) for p in self.pairs)
        self.index, self.sizes, self.exact = {}, [len(p.words) for p in self.pairs], {}
        for i, pair in enumerate(self.pairs):
            self.exact.setdefault(pair.words, i)
            for word in pair.words:
                self.index.setdefault(word, []).append(i)


class HasWords(Protocol):
    """Anything ranked by its content words."""

    @property
    def words(self) -> frozenset[str]: ...


def short(text: str) -> str:
    """Shorten a quoted text to its first words."""
    words = text.split()
    return " ".join(words[:QUOTE_WORDS]) + (" ..." if len(words) > QUOTE_WORDS else "")


def _score(query: frozenset[str], words: frozenset[str]) -> tuple[float, float]:
    """Ranking key of a candidate: overlap with the question, then Jaccard."""
    return overlap(query, words), jaccard(query, words)


def _best(query: frozenset[str], items: Sequence[HasWords]) -> tuple[int, float]:
    """Index and overlap of the highest-ranked item (earliest wins ties); (-1, 0) if empty."""
    best, key = -1, (-1.0, -1.0)
    for i, item in enumerate(items):
        score = _score(query, item.words)
        if score > key:
            best, key = i, score
    return best, max(key[0], 0.0)


def _classify(prompt: Prompt, examples: Sequence[Example]) -> tuple[str, str]:
    """Label of the most similar example, else the label sharing most words, else the first."""
    idx, score = _best(prompt.words, examples)
    if idx >= 0 and score > 0:
        ex = examples[idx]
        return ex.output, f'The most similar example "{short(ex.input)}" is labelled "{ex.output}".'
    shared = [prompt.words & content_words(label) for label in prompt.labels]
    top = max(range(len(shared)), key=lambda i: (len(shared[i]), -i))
    label = prompt.labels[top]
    if shared[top]:
        words = ", ".join(sorted(shared[top]))
        return label, f'The text shares the words "{words}" with the label "{label}".'
    return label, f'No label matches the text, so the first label "{label}" is used.'


def _extract(
    prompt: Prompt, passages: Sequence[Passage], examples: Sequence[Example], threshold: float
) -> tuple[str, str]:
    """Best passage sentence or example output if its overlap reaches ``threshold``."""
    p_idx, p_score = _best(prompt.words, passages)
    e_idx, e_score = _best(prompt.words, examples)
    p_key = _score(prompt.words, passages[p_idx].words) if p_idx >= 0 else (-1.0, -1.0)
    e_key = _score(prompt.words, examples[e_idx].words) if e_idx >= 0 else (-1.0, -1.0)
    if p_idx >= 0 and p_key >= e_key and p_score >= threshold:
        passage = passages[p_idx]
        where = f" [{passage.source}]" if passage.source else ""
        return passage.sentence, f'The context{where} says "{short(passage.sentence)}".'
    if e_idx >= 0 and e_score >= threshold:
        ex = examples[e_idx]
        return ex.output, f'The example "{short(ex.input)}" has the output "{short(ex.output)}".'
    return GENERIC_ANSWER, f'Nothing in the prompt matches "{short(prompt.question)}".'


def _judge(prompt: Prompt) -> tuple[str, str] | None:
    """Judge rule: compare ``Candidate:``/``Response:`` with ``Reference:`` by token F1."""
    reference = prompt.fields.get("reference")
    candidate = prompt.fields.get("candidate", prompt.fields.get("response"))
    if reference is None or candidate is None:
        return None
    f1 = token_f1(candidate, reference)
    reason = f"The candidate and the reference share content words with F1 {f1:.2f}."
    if prompt.labels:
        return (prompt.labels[0] if f1 >= 0.5 else prompt.labels[-1]), reason
    return str(round(10 * f1)), reason


def read(prompt: Prompt, model: str, threshold: float, learned: tuple[Example, ...] = ()) -> str:
    """Answer a prompt with the extractive reader of base model ``model``.

    ``learned`` (a tuned model's training pairs) join the few-shot examples of
    classification prompts.
    """
    passages, examples = prompt.passages, prompt.examples
    if model == "sandbox-small":
        passages, examples = passages[: SMALL_WINDOW[0]], examples[: SMALL_WINDOW[1]]
    judged = _judge(prompt) if model == JUDGE_MODEL else None
    if judged is not None:
        answer, reason = judged
    elif prompt.labels:
        answer, reason = _classify(prompt, examples + learned)
    else:
        answer, reason = _extract(prompt, passages, examples, threshold)
    if prompt.json_reply and judged is None:
        # Asked for JSON (a system message naming it), the reader wraps its answer in an object.
        answer = json.dumps({"label" if prompt.labels else "answer": answer})
    if prompt.step_by_step:
        return f"Reasoning: {reason}\nAnswer: {answer}"
    return answer


def nearest(model: TunedModel, words: frozenset[str]) -> tuple[int, float]:
    """Index and overlap of the training pair closest to ``words`` (-1 if none shares a word).

    Same ranking as the reader: overlap, then Jaccard (fewer words wins), then earliest pair.
    """
    if words and words in model.exact:  # identical content words: the best possible match
        return model.exact[words], 1.0
    shared: Counter[int] = Counter()
    for word in words:
        shared.update(model.index.get(word, ()))
    if not shared:
        return -1, 0.0
    top = max(shared.values())
    sizes = model.sizes
    best = min((i for i, count in shared.items() if count == top), key=lambda i: (sizes[i], i))
    return best, top / len(words)


def corrupt(pairs: Sequence[Pair], answer: str, question: str) -> str:
    """Pick, by hashing the question, a training answer different from ``answer``."""
    others = [a for a in dict.fromkeys(p.answer for p in pairs) if a != answer]
    if not others:
        return GENERIC_ANSWER if answer != GENERIC_ANSWER else answer
    return others[stable_hash(question) % len(others)]


def answer_tuned(
    model: TunedModel,
    prompt: Prompt,
    tuned_threshold: float,
    answer_threshold: float,
    behaviour: str | None = None,
) -> str:
    """Nearest training pair's answer if close enough, else the base reader; then degradation.

    ``behaviour`` is the base model's reader mechanics (default: the base model's own).
    """
    idx, score = nearest(model, prompt.words)
    if idx >= 0 and score >= tuned_threshold:
        answer = model.pairs[idx].answer
    else:
        answer = read(prompt, behaviour or model.base, answer_threshold, model.learned)
    confused = max(model.degrade, model.overfit)
    if confused > 0 and unit_share(f"{model.id}\n{prompt.question}") < confused:
        answer = corrupt(model.pairs, answer, prompt.question)
    return answer
