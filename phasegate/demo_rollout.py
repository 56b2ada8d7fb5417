"""The demo's live traffic: the tuned model rolled out at 10 %, aborted, then promoted.

support-qa's move to fine-tuning is rolled out in one step of 10 % of routing keys, then 100 %.
Its traffic is simulated by `phasegate simulate traffic` (signed /active reads, real calls to
the sandbox, interactions rated by the spec's metric). First the sandbox's fault injection
corrupts half of the canary's answers after it passed its offline gates: the live analysis
aborts it at 10 % and the control (RAG) keeps all traffic. Then, the fault gone, a new check
starts a new rollout, and the same traffic promotes the canary to 100 %.
"""

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml
from rich.console import Console

from state.errors import PhasegateError
from state.settings import get_settings
from state.store_api import Store

USE_CASE = "support-qa"
# One step of 10 %, decided on a few hundred interactions (docs/rollouts.md).
ROLLOUT = {
    "steps": [{"weight": 10, "min_interactions": 300, "max_duration": "24h"}],
    "live_metrics": {"primary": "rating", "min_per_arm": 25},
}
# 400 interactions: 100 per simulated second for 4 s, paced 4 times faster than real time.
TRAFFIC = ("--rate", "100", "--for", "4s", "--speed", "4")
ROUNDS = 3

Run = Callable[..., None]


def enable_rollout(console: Console, run: Run, root: Path, demo_dir: Path) -> None:
    """Re-apply support-qa with a rollout section: its next move takes live traffic first."""
    target = demo_dir / "usecases" / USE_CASE
    shutil.copytree(root / "usecases" / USE_CASE, target)
    spec = yaml.safe_load((target / "spec.yaml").read_text()) | {"rollout": ROLLOUT}
    (target / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    console.print(
        "  support-qa's spec gains `rollout: {steps: [{weight: 10, min_interactions: 300}]}`: "
        "a move that passes its gates first serves 10 % of routing keys"
    )
    run("apply", str(target / "spec.yaml"))


def degrade_canary(console: Console, base_url: str, share: float) -> str:
    """Ask the sandbox to corrupt `share` of the live canary's answers; returns its model."""
    store = Store(get_settings().store_url)
    rollout = store.get_live_rollout(USE_CASE)
    if rollout is None:
        raise PhasegateError(f"{USE_CASE}: the check started no rollout")
    (canary,) = store.get_configurations([rollout.canary.configuration_id])
    set_degradation(base_url, canary.model, share)
    console.print(
        f"  fault injection: the sandbox now corrupts {share:.0%} of {canary.model}'s answers "
        "(after it passed its offline gates)",
        markup=False,
    )
    return canary.model


def set_degradation(base_url: str, model: str, share: float) -> None:
    """The sandbox's admin API: `share` of a tuned model's answers are another pair's (0: none)."""
    root = base_url.removesuffix("/v1")
    httpx.post(f"{root}/sandbox/models/{model}/degrade", json={"share": share}).raise_for_status()


def traffic_and_analysis(console: Console, run: Run, url: str, seed: int) -> None:
    """Simulate an application's traffic and analyse it, again while the analysis waits.

    A step the evidence does not decide yet keeps running, as it would in production, so the
    demo sends more traffic (at most `ROUNDS` rounds) rather than read one round's verdict.
    """
    for round_ in range(ROUNDS):
        console.print(
            f"  phasegate simulate traffic {USE_CASE} {' '.join(TRAFFIC)} (time compressed 4×)",
            markup=False,
        )
        started = time.monotonic()
        with console.status("simulated traffic: signed /active reads, sandbox calls, reports …"):
            run("simulate", "traffic", USE_CASE, *TRAFFIC, "--api-url", url, "--seed", str(seed))
        console.print(f"  [dim]{time.monotonic() - started:.1f} s[/]")
        console.print(f"  phasegate rollout analyse {USE_CASE}", markup=False)
        run("rollout", "analyse", USE_CASE)
        live = Store(get_settings().store_url).get_live_rollout(USE_CASE)
        if live is None or live.status != "running" or round_ == ROUNDS - 1:
            return
        console.print("  the evidence does not decide the step yet: more traffic")
        seed += 100
