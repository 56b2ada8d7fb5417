"""Prompt rendering shared by every phase, and answer extraction from model outputs.

The layout follows the sandbox's conventions (sandbox/README.md), which are also ordinary
prompting practice: the variant's system text first; few-shot examples as earlier
user/assistant pairs; retrieved passages in the last user message under `Context:`, one
`[source-id]` paragraph each, then a `Question:` line that ends the context before the
rendered template (unless the template opens with its own `Question:` or `Input:`): with a
bare `{input}` template nothing else would tell a reader where the passages stop.
"""

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from state.errors import AnswerFormatError
from state.spec import PromptKind, PromptVariant

ANSWER_LINE = re.compile(r"^[ \t]*Answer:", re.MULTILINE)
BLANK_LINES = re.compile(r"\n\s*\n")
# A template that opens with one of these marks the question itself.
OPENS_WITH_QUESTION = re.compile(r"^\s*(question|input)\s*:", re.IGNORECASE)


class Passage(BaseModel):
    """A retrieved passage and the id of the document it comes from."""

    model_config = ConfigDict(frozen=True)

    source: str
    text: str


def render(variant: PromptVariant, text: str) -> str:
    """The variant's user template with `{input}` replaced (braces elsewhere stay as written)."""
    return variant.template.replace("{input}", text)


def _context(passages: Sequence[Passage]) -> str:
    """A `Context:` block: one paragraph per passage, prefixed with its `[source-id]`."""
    # A blank line inside a passage would start a new, unattributed passage.
    paragraphs = [f"[{p.source}] {BLANK_LINES.sub(chr(10), p.text.strip())}" for p in passages]
    return "Context:\n" + "\n\n".join(paragraphs) + "\n\n"


def build_messages(
    variant: PromptVariant,
    text: str,
    *,
    examples: Sequence[tuple[str, str]] = (),
    passages: Sequence[Passage] = (),
    labels: Sequence[str] = (),
) -> list[dict[str, str]]:
    """Chat messages of one input under a prompt variant."""
    system = variant.system
    if labels:
        system = f"{system}\nLabels: {', '.join(labels)}".lstrip("\n")
    messages = [{"role": "system", "content": system}] if system else []
    for example_input, example_output in examples:
        messages.append({"role": "user", "content": render(variant, example_input)})
        messages.append({"role": "assistant", "content": example_output})
    question = render(variant, text)
    if passages:
        edge = "" if OPENS_WITH_QUESTION.match(question) else "Question:\n"
        question = _context(passages) + edge + question
    messages.append({"role": "user", "content": question})
    return messages


def extract_answer(kind: PromptKind, text: str) -> str:
    """The answer in a model output: for chain-of-thought, what follows the last `Answer:` line."""
    if kind != "chain_of_thought":
        return text.strip()
    matches = list(ANSWER_LINE.finditer(text))
    if not matches:
        raise AnswerFormatError("chain-of-thought output has no line starting with 'Answer:'")
    answer = text[matches[-1].end() :].strip()
    if not answer:
        raise AnswerFormatError("chain-of-thought output has an empty 'Answer:' line")
    return answer
