"""Judge a run's answers for an `llm_judge` guardrail: one batch of calls to the judge model."""

from state.domain import EvalItem, EvalRun
from state.settings import ProviderOptions
from state.spec import UseCaseSpec
from state.spec_metrics import Guardrail
from tasks.llm import build_client, run_sync
from tasks.metrics import METRICS, Rubric, judge_scores


def judge_guardrail(spec: UseCaseSpec) -> Guardrail | None:
    """The spec's `llm_judge` guardrail when its grades need judge calls of their own.

    None without one, or when the primary metric is the judge (its scores are the grades).
    """
    if spec.metric == "llm_judge":
        return None
    return next((g for g in spec.guardrails if g.metric == "llm_judge"), None)


def rubric_with(instructions: str | None) -> Rubric:
    """The llm_judge rubric prompt, with the spec's grading instructions as its system message."""
    base = METRICS["llm_judge"].rubric
    assert base is not None

    def rubric(item: EvalItem, output: str) -> list[dict[str, str]]:
        """The base prompt under the spec's instructions."""
        messages = base(item, output)
        if instructions is None:
            return messages
        return [{"role": "system", "content": instructions}, *messages[1:]]

    return rubric


def grade_answers(
    items: list[EvalItem],
    run: EvalRun,
    provider: ProviderOptions,
    judge_model: str,
    instructions: str | None = None,
) -> dict[str, float]:
    """Grade every answered item of a run with the judge model; an ungraded item is left out."""
    by_id = {result.item_id: result for result in run.results}
    answered = [i for i in items if (r := by_id.get(i.id)) is not None and r.error is None]
    answers = [(by_id[item.id].output, None) for item in answered]
    batch = {"concurrency": provider.concurrency, "max_retries": provider.max_retries}

    async def judge() -> list:
        """Send the judge batch."""
        async with build_client(provider) as client:
            grades, _ = await judge_scores(
                client, judge_model, answered, answers, batch, rubric_with(instructions)
            )
            return grades

    grades = run_sync(judge)
    return {item.id: g for item, (g, _) in zip(answered, grades, strict=True) if g is not None}
