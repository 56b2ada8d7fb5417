"""A/B checks: every variant against the control on live traffic, and the split over all arms.

An online A/B serves the control and k − 1 variants. Its checks are the rollout stage's
(`tasks/gates/live.py`), run once per variant against the control, each result naming its
`arm`; their always-valid intervals are read at α split over every comparison the A/B may
need (Bonferroni): the k − 1 variants against the control and, should several beat it, each
pair of variants (`comparisons`). The sample-ratio check runs once over every arm served, with
k − 1 degrees of freedom. `verdicts` reads the results as one answer per variant: worse (any
check fails), better (every check passes), no different (the primary interval lies within
±min_effect) or still open.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict

from state.domain import GateResult
from state.phases import Stage
from state.spec_rollout import LiveMetrics
from tasks.gates.live import ArmSample, LiveInputs, sample_ratio_result
from tasks.gates.registry import ROLLOUT_CHECKS
from tasks.gates.results import FAIL, GATES, INCONCLUSIVE, PASS, declare
from tasks.live_stats import difference_sequence

SAMPLE_RATIO = "live_sample_ratio"
# The A/B's per-arm table, recorded with its checks (and with the decision that ends it).
AB_ARMS = declare("live_ab_arms", Stage.ROLLOUT, unit="count")
Verdict = Literal["control", "better", "worse", "same", "open"]


def comparisons(variants: int) -> int:
    """Comparisons an A/B of this many variants may need: each with the control, each pair."""
    return variants + variants * (variants - 1) // 2


def alpha_each(metrics: LiveMetrics, variants: int) -> float:
    """The α of one comparison: the spec's α split over all of them (Bonferroni)."""
    return metrics.alpha / comparisons(variants)


def run_ab_checks(
    arms: list[ArmSample], weights: list[float], metrics: LiveMetrics, variants: int
) -> list[GateResult]:
    """The split over `arms` (control first), then each variant's checks against the control.

    `variants` is how many the A/B started with: dropping one later does not widen α.
    """
    counts = [arm.interactions for arm in arms]
    results = [sample_ratio_result(GATES[SAMPLE_RATIO], counts, weights)]
    control, level = arms[0], alpha_each(metrics, variants)
    each = metrics.model_copy(update={"alpha": level})
    for variant, weight in zip(arms[1:], weights[1:], strict=True):
        inputs = LiveInputs(
            use_case="",
            control=control,
            canary=variant,
            weights=[weights[0], weight],
            metrics=each,
        )
        for check in ROLLOUT_CHECKS:
            if getattr(check, "gate", None) == GATES[SAMPLE_RATIO]:
                continue
            if (result := check(inputs)) is not None:
                evidence = result.evidence | {"arm": variant.name, "alpha_family": metrics.alpha}
                detail = f"{variant.name}: {result.detail}"
                results.append(result.model_copy(update={"evidence": evidence, "detail": detail}))
    return results


class ArmVerdict(BaseModel):
    """One variant's answer against the control, with its primary metric's evidence."""

    model_config = ConfigDict(frozen=True)

    name: str
    verdict: Verdict
    n: int
    mean: float | None
    low: float | None = None
    high: float | None = None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def primary_values(sample: ArmSample, metrics: LiveMetrics) -> list[float]:
    """The values of the spec's primary live metric in one arm."""
    return sample.ratings if metrics.primary == "rating" else sample.agreements


def _within(primary: GateResult, metrics: LiveMetrics) -> bool:
    """Whether the primary interval, on enough interactions, lies within ±min_effect."""
    evidence = primary.evidence
    enough = min(evidence["n_control"], evidence["n_canary"]) >= metrics.min_per_arm
    low, high = evidence.get("low"), evidence.get("high")
    return enough and low is not None and -metrics.min_effect < low and high < metrics.min_effect


def verdicts(
    results: list[GateResult], arms: list[ArmSample], metrics: LiveMetrics
) -> list[ArmVerdict]:
    """Each variant's verdict from its checks: worse, better, same (within ±min_effect), open."""
    primary = f"live_{metrics.primary}"
    answers = [ArmVerdict(name=arms[0].name, verdict="control", n=0, mean=None)]
    for sample in arms[1:]:
        mine = [r for r in results if r.evidence.get("arm") == sample.name]
        main = next(r for r in mine if r.check == primary)
        verdict: Verdict = "open"
        if any(r.status == FAIL for r in mine):
            verdict = "worse"
        elif all(r.status == PASS for r in mine):
            verdict = "better"
        elif _within(main, metrics):
            verdict = "same"
        values = primary_values(sample, metrics)
        answers.append(
            ArmVerdict(
                name=sample.name,
                verdict=verdict,
                n=len(values),
                mean=_mean(values),
                low=main.evidence.get("low"),
                high=main.evidence.get("high"),
            )
        )
    control = primary_values(arms[0], metrics)
    answers[0] = answers[0].model_copy(update={"n": len(control), "mean": _mean(control)})
    return answers


def best_of(
    better: list[str], arms: list[ArmSample], metrics: LiveMetrics, variants: int
) -> str | None:
    """The variant that beats every other better one (always-valid, α each); None if none yet."""
    samples = {arm.name: primary_values(arm, metrics) for arm in arms}
    level = alpha_each(metrics, variants)
    for name in better:
        others = [o for o in better if o != name]
        if all(difference_sequence(samples[o], samples[name], alpha=level).low > 0 for o in others):
            return name
    return None


def ab_summary(answers: list[ArmVerdict], metrics: LiveMetrics, variants: int) -> GateResult:
    """The per-arm table of an A/B as one result: every arm's mean and n, each variant's
    interval against the control and verdict, and the α used (pass once all are decided)."""
    rows = [
        f"{a.name} {a.mean:.3f} (n {a.n})" if a.mean is not None else f"{a.name} (n 0)"
        for a in answers
    ]
    decided = all(a.verdict != "open" for a in answers[1:])
    return AB_ARMS.result(
        PASS if decided else INCONCLUSIVE,
        f"{metrics.primary}: " + ", ".join(rows),
        observed=len(answers),
        arms=[a.model_dump() for a in answers],
        alpha=metrics.alpha,
        alpha_each=alpha_each(metrics, variants),
        comparisons=comparisons(variants),
    )
