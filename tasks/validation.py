"""The validation split as items to score: each held-out example's question and answer."""

from state.domain import EvalItem
from tasks.eval_sets import question_of
from tasks.training_set import Example


def example_pair(example: Example) -> tuple[str, str] | None:
    """(input, answer) of an example: its last user question and the assistant turn after it."""
    messages = example.data["messages"]
    last = max(i for i, m in enumerate(messages) if m.get("role") == "user")
    answer = next((m for m in messages[last + 1 :] if m.get("role") == "assistant"), None)
    if answer is None or not isinstance(answer.get("content"), str):
        return None
    return question_of(messages[last]["content"]), answer["content"]


def validation_items(examples: list[Example]) -> list[EvalItem]:
    """The held-out examples as items (`validation-N`), never the eval set's."""
    pairs = [pair for example in examples if (pair := example_pair(example))]
    return [
        EvalItem(id=f"validation-{n}", input=text, expected=answer)
        for n, (text, answer) in enumerate(pairs)
    ]
