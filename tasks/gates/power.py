"""The entry check `eval_power`: can the eval set detect the gain a move must show?

Before a costly candidate is built, the active configuration's per-item scores tell how
noisy a paired comparison on this eval set will be. With n items, a paired mean change whose
per-item differences have standard deviation σ_d is detected by a 95 % interval with 80 %
power when it is at least

    MDE(n) = (z₀.₉₇₅ + z₀.₈₀) · σ_d / √n  ≈  2.80 · σ_d / √n

so a gain δ needs n(δ) = ⌈(2.80 · σ_d / δ)²⌉ items. σ_d is estimated without the candidate:
σ_d = √2 · s, with s the sample standard deviation of the active scores (the candidate is
assumed as noisy as the active configuration, with no correlation credited: conservative).
When the active scores do not vary (s = 0, e.g. all 0), σ_d = √(m(1 − m)) with
m = min(1, mean + δ), the largest spread of a score in [0, 1] at the hoped-for mean.

δ is the spec's `min_detectable_gain`, else `min_gain` when above 0. With neither (the
default `min_gain` 0 means "any real gain"), no finite eval set can promise to detect every
gain, and the check does not apply. Pass when MDE(n) ≤ δ; else inconclusive, which holds
the check before any candidate is built.
"""

import math
from statistics import NormalDist, fmean, stdev

from state.domain import GateResult
from state.phases import Stage
from tasks.gates.inputs import GateInputs
from tasks.gates.paired import CONFIDENCE
from tasks.gates.results import INCONCLUSIVE, Gate, gate, passed

POWER = 0.8
Z = NormalDist().inv_cdf((1 + CONFIDENCE) / 2) + NormalDist().inv_cdf(POWER)


def difference_sd(scores: list[float], effect: float) -> float:
    """σ_d: the estimated standard deviation of per-item differences (see the module)."""
    spread = stdev(scores) if len(scores) > 1 else 0.0
    if spread > 0:
        return math.sqrt(2) * spread
    hoped = min(1.0, (fmean(scores) if scores else 0.0) + effect)
    return math.sqrt(hoped * (1 - hoped))


def detectable_gain(sd: float, n: int) -> float:
    """MDE(n): the smallest paired gain detected with 80 % power at 95 % confidence."""
    return Z * sd / math.sqrt(n)


def items_needed(sd: float, effect: float) -> int:
    """n(δ): the items needed to detect a gain of `effect`."""
    return math.ceil((Z * sd / effect) ** 2)


def _about(count: int) -> str:
    """A count rounded to two significant digits, with thousands separators."""
    digits = len(str(count))
    return f"{round(count, -max(digits - 2, 0)):,}"


@gate("eval_power", Stage.ENTRY)
def gate_eval_power(inputs: GateInputs, this: Gate) -> GateResult | None:
    """Pass when the eval set can detect the gain a move must show; None when none is set."""
    gate, run = inputs.thresholds, inputs.baseline
    named = "min_detectable_gain" if gate.min_detectable_gain else "min_gain"
    effect = gate.min_detectable_gain or (gate.min_gain if gate.min_gain > 0 else None)
    if effect is None:
        return None
    scores = list(run.scores().values()) if run is not None else []
    if len(scores) < 2:
        detail = "needs a scored eval run of the active configuration (2 items or more)"
        return this.result(INCONCLUSIVE, detail, threshold=effect)
    sd = difference_sd(scores, effect)
    mde, needed = detectable_gain(sd, len(scores)), items_needed(sd, effect)
    enough = mde <= effect
    detail = f"{len(scores)} items detect gains ≥ {mde:.2g}; {named} {effect:g} needs ≈ "
    detail += f"{_about(needed)}" + ("" if enough else " (a candidate could only be inconclusive)")
    return this.result(
        passed(enough) if enough else INCONCLUSIVE,
        detail,
        observed=mde,
        threshold=effect,
        items=len(scores),
        items_needed=needed,
        difference_sd=sd,
        confidence=CONFIDENCE,
        power=POWER,
    )
