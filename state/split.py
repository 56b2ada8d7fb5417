"""The split of live traffic: a routing key's stable point in [0, 1) and the arm it falls in.

A key's point depends only on the rollout and the key, so a key keeps its arm within a step,
and a key in the canary at 10 % stays in it at 50 % (canary iff point < weight). A read
without a key gets a random point, hence a random arm with the same shares.
"""

import hashlib
import random
from collections.abc import Sequence

CONTROL = "control"


def routing_point(rollout_id: int, key: str | None) -> float:
    """The key's point in [0, 1) for this rollout: sha256 of both; random without a key."""
    if key is None:
        return random.random()
    digest = hashlib.sha256(f"{rollout_id}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def canary_weights(weight: float, arms: int) -> list[float]:
    """Per-cent shares of the arms: control first, then `weight` split over the canaries."""
    canaries = arms - 1
    return [100.0 - weight] + [weight / canaries] * canaries


def arm_index(weights: Sequence[float], point: float) -> int:
    """The arm whose share holds `point`; the canaries' shares come first, the control's last.

    Counting the canaries from 0 keeps a key's arm as their total weight grows.
    """
    bound = 0.0
    for index in list(range(1, len(weights))) + [0]:
        bound += weights[index] / 100.0
        if point < bound:
            return index
    return 0
