"""Answer extraction: the spec's `answers:` steps turn a model output into the compared answer.

The same steps run for every model, before every metric (docs/answers.md): a real model
wraps its answer (`Answer: Inbox.`, a second sentence, a new paragraph) where an extractive
reader does not, and the metric should compare the answer, not the wrapping.
"""

import re
import string

from state.spec import AnswerExtraction

# A sentence ends at . ! or ? followed by whitespace or the end ("2.4" and "e.g.x" go on).
SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
SPACES = re.compile(r"\s+")
PUNCTUATION = string.punctuation + "“”‘’«»…"


def _strip_prefix(text: str, prefixes: list[str]) -> str:
    """`text` without the first of `prefixes` it starts with (any case)."""
    folded = text.casefold()
    for prefix in prefixes:
        if folded.startswith(prefix.casefold()):
            return text[len(prefix) :].lstrip()
    return text


def _first_sentence(text: str) -> str:
    """The first non-empty line up to the end of its first sentence."""
    line = next((part for part in text.splitlines() if part.strip()), "")
    end = SENTENCE_END.search(line)
    return line[: end.start()] if end else line


def extract(rule: AnswerExtraction, output: str) -> str:
    """The answer in `output` under `rule`: pattern, prefix, first sentence, normalisation."""
    text = output
    if rule.pattern is not None:
        match = re.search(rule.pattern, text)
        if match is not None:
            named = match.re.groupindex.get("answer")
            text = match.group(named) if named else match.group(0)
            text = text or ""
    text = _strip_prefix(text.strip(), rule.strip_prefixes)
    if rule.first_sentence:
        text = _first_sentence(text)
    text = SPACES.sub(" ", text).strip()
    if rule.strip_punctuation:
        text = text.strip(PUNCTUATION + " ")
    return text.lower() if rule.lowercase else text
