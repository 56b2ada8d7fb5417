"""The hybrid routing rule: send an input to the tuned model when it resembles its training inputs.

Similarity is lexical and cheap enough for an application to compute on every request: the
share of the input's content words (lowercase `\\w+` words outside `STOPWORDS`, a plural `s`
dropped from words longer than 3 letters not ending in `ss`) found in its nearest training
input. An input at or above the threshold goes to the tuned model; the rest to the fallback.

The threshold is chosen on the validation split: among the similarities the validation inputs
have, the one that maximises the routed validation score; ties go to the lowest (the tuned
model serves every input it was shown to handle, more cheaply). Inputs less similar than every
validation input go to the fallback: validation says nothing about the tuned model there.
"""

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from state.domain import Configuration
from state.errors import InputError

WORD = re.compile(r"\w+")
STOPWORDS = frozenset(
    "a about all also am an and any are as at be been but by can could did do does for from had "
    "has have he her his how i if in into is it its me my of on or our please she should so than "
    "that the their them then there these they this those to us was we were what when where "
    "which who whom why will with would you your".split()
)


def content_words(text: str, stopwords: frozenset[str] = STOPWORDS) -> frozenset[str]:
    """The lowercase content words of a text, plurals folded."""
    words = set()
    for word in WORD.findall(text.lower()):
        if word in stopwords:
            continue
        if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        words.add(word)
    return frozenset(words)


class RoutingRule(BaseModel):
    """Route by similarity to the tuned model's training inputs."""

    model_config = ConfigDict(frozen=True)

    threshold: float = Field(ge=0, le=1)
    reference_inputs: list[str] = Field(min_length=1, description="the train split's inputs")
    stopwords: list[str] = Field(default_factory=lambda: sorted(STOPWORDS))

    @cached_property
    def _stopwords(self) -> frozenset[str]:
        """The stopwords as a set."""
        return frozenset(self.stopwords)

    @cached_property
    def _index(self) -> dict[str, list[int]]:
        """Which reference inputs hold each content word."""
        index: dict[str, list[int]] = defaultdict(list)
        for number, text in enumerate(self.reference_inputs):
            for word in content_words(text, self._stopwords):
                index[word].append(number)
        return index

    def similarity(self, text: str) -> float:
        """Share of the text's content words found in its nearest reference input (0 to 1)."""
        words = content_words(text, self._stopwords)
        if not words:
            return 0.0
        shared = Counter(number for word in words for number in self._index.get(word, ()))
        return max(shared.values(), default=0) / len(words)

    def to_tuned(self, text: str) -> bool:
        """Whether the tuned model should answer this input."""
        return self.similarity(text) >= self.threshold


class ThresholdChoice(BaseModel):
    """The chosen threshold with the validation scores behind it."""

    model_config = ConfigDict(frozen=True)

    threshold: float
    routed_mean: float = Field(description="validation mean with this threshold")
    tuned_mean: float = Field(description="validation mean of the tuned model alone")
    fallback_mean: float = Field(description="validation mean of the fallback alone")
    tuned_share: float = Field(description="share of validation inputs routed to the tuned model")
    n: int


def choose_threshold(
    similarities: Sequence[float], tuned: Sequence[float], fallback: Sequence[float]
) -> ThresholdChoice:
    """The similarity threshold that maximises the routed score on validation inputs."""
    n = len(similarities)
    if n == 0 or not n == len(tuned) == len(fallback):
        raise InputError(
            f"choose_threshold: needs the same non-zero number of similarities and scores "
            f"(got {n}, {len(tuned)}, {len(fallback)})"
        )
    order = sorted(range(n), key=lambda i: similarities[i])
    # Sweeping thresholds upwards moves one input at a time from the tuned side to the fallback.
    total, best, best_at = sum(tuned), None, 0
    for position, i in enumerate(order):
        if position == 0 or similarities[i] != similarities[order[position - 1]]:
            if best is None or total > best:
                best, best_at = total, position
        total += fallback[i] - tuned[i]
    threshold = similarities[order[best_at]]
    return ThresholdChoice(
        threshold=threshold,
        routed_mean=best / n,
        tuned_mean=sum(tuned) / n,
        fallback_mean=sum(fallback) / n,
        tuned_share=(n - best_at) / n,
        n=n,
    )


def routing_of(
    rule: RoutingRule, *, tuned_configuration_id: int, fallback: Configuration
) -> dict[str, Any]:
    """The `routing` of a hybrid configuration: the rule and both routes, for applications."""
    return {
        "kind": "similarity",
        "similarity": "content_word_overlap",
        "threshold": rule.threshold,
        "tuned_configuration_id": tuned_configuration_id,
        "fallback_configuration_id": fallback.id,
        "fallback": fallback.model_dump(
            mode="json", include={"phase", "model", "prompt_version_id", "retrieval"}
        ),
        "reference_inputs": rule.reference_inputs,
        "stopwords": rule.stopwords,
    }


def rule_of(routing: dict[str, Any]) -> RoutingRule:
    """The routing rule stored in a hybrid configuration's `routing`."""
    return RoutingRule(
        threshold=routing["threshold"],
        reference_inputs=routing["reference_inputs"],
        stopwords=routing["stopwords"],
    )
