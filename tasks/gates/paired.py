"""The paired comparison behind every comparative check, and its two decision rules.

`compare` pairs the items both runs scored, takes the per-item change (subject − baseline)
and a seeded bootstrap interval of its mean. Two rules read it:

- `superiority` (a move must gain): pass only when the interval's lower bound is *strictly*
  above `min_gain` and the mean gain is positive; fail when the upper bound is at or below
  `min_gain` (or at or below 0: a tie gains nothing); else inconclusive;
- `non_inferiority` (nothing may get worse by more than a margin): pass when the lower bound
  is at or above −margin, fail when the whole interval lies below it, else inconclusive;
- `within_loss` (a move made for cost or for a retirement may lose at most `max_quality_loss`):
  pass when the lower bound is strictly above −margin, fail when the upper bound is strictly
  below it, else inconclusive (a person decides).

Too few pairs (`min_paired`) is inconclusive under either rule.
"""

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from state.phases import GateStatus
from state.spec import QualityGate
from tasks.gates.inputs import Roles
from tasks.gates.results import FAIL, INCONCLUSIVE, PASS
from tasks.stats import bootstrap_interval, mean, paired_scores

CONFIDENCE = 0.95


class Comparison(BaseModel):
    """Paired items of two runs, the mean change and its interval (None with too few pairs)."""

    model_config = ConfigDict(frozen=True)

    paired: int
    baseline_only: int
    subject_only: int
    min_paired: int
    gain: float | None = None
    low: float | None = None
    high: float | None = None
    baseline_mean: float | None = None
    subject_mean: float | None = None
    bootstrap_samples: int
    seed: int

    @property
    def enough(self) -> bool:
        """Whether there are enough pairs for a verdict."""
        return self.gain is not None

    def counts(self, roles: Roles) -> dict[str, int]:
        """How many items were paired and how many only one run scored, keyed by role."""
        return {
            "paired": self.paired,
            f"{roles.baseline}_only": self.baseline_only,
            f"{roles.subject}_only": self.subject_only,
            "min_paired": self.min_paired,
        }

    def evidence(self, roles: Roles) -> dict[str, Any]:
        """The comparison as gate evidence, keyed by role."""
        if not self.enough:
            return self.counts(roles)
        return self.counts(roles) | {
            f"{roles.baseline}_mean": self.baseline_mean,
            f"{roles.subject}_mean": self.subject_mean,
            "ci_low": self.low,
            "ci_high": self.high,
            "confidence": CONFIDENCE,
            "bootstrap_samples": self.bootstrap_samples,
            "seed": self.seed,
        }

    def shortfall(self) -> str:
        """Why there is no verdict: too few pairs."""
        return f"{self.paired} paired eval items; {self.min_paired} needed for a verdict"

    def interval(self) -> str:
        """The mean change and its interval, for a detail."""
        return (
            f"{self.gain:+.3f} over {self.paired} items, {CONFIDENCE:.0%} interval "
            f"[{self.low:+.3f}, {self.high:+.3f}]"
        )


def compare(
    baseline: Mapping[str, float],
    subject: Mapping[str, float],
    gate: QualityGate,
    *,
    lower_is_better: bool = False,
) -> Comparison:
    """Pair two runs' per-item values and bootstrap the mean change with the gate's seed.

    The change is signed so that positive is better: subject − baseline, or baseline − subject
    for a metric where lower is better. The means stay in the metric's own units.
    """
    pairs = paired_scores(baseline, subject)
    known = {
        "paired": len(pairs),
        "baseline_only": len(baseline) - len(pairs),
        "subject_only": len(subject) - len(pairs),
        "min_paired": gate.min_paired,
        "bootstrap_samples": gate.bootstrap_samples,
        "seed": gate.seed,
    }
    if len(pairs) < gate.min_paired:
        return Comparison(**known)
    sign = -1.0 if lower_is_better else 1.0
    gains = [sign * (after - before) for _, before, after in pairs]
    low, high = bootstrap_interval(
        gains, samples=gate.bootstrap_samples, seed=gate.seed, confidence=CONFIDENCE
    )
    return Comparison(
        **known,
        gain=mean(gains),
        low=low,
        high=high,
        baseline_mean=mean([p[1] for p in pairs]),
        subject_mean=mean([p[2] for p in pairs]),
    )


def superiority(comparison: Comparison, min_gain: float) -> GateStatus:
    """Status of a required gain: strictly above `min_gain`, and positive on average."""
    if not comparison.enough:
        return INCONCLUSIVE
    if comparison.low > min_gain and comparison.gain > 0:
        return PASS
    # An interval wholly at or below 0 gains nothing, whatever a negative min_gain allows.
    return FAIL if comparison.high <= max(min_gain, 0.0) else INCONCLUSIVE


def non_inferiority(comparison: Comparison, margin: float) -> GateStatus:
    """Status of a change that may not fall below −`margin`."""
    if not comparison.enough:
        return INCONCLUSIVE
    if comparison.low >= -margin:
        return PASS
    return FAIL if comparison.high < -margin else INCONCLUSIVE


def within_loss(comparison: Comparison, margin: float) -> GateStatus:
    """Status of a move that may lose at most `margin`: the lower bound must be above −margin."""
    if not comparison.enough:
        return INCONCLUSIVE
    if comparison.low > -margin:
        return PASS
    return FAIL if comparison.high < -margin else INCONCLUSIVE
