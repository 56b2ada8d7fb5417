"""The demo's online A/B: prompt variants of a new use case compared on simulated traffic.

feedback-triage-ab is feedback-triage with `rollout.ab.online` and two prompt variants that
differ in how many labelled examples they show: none (zero-shot) or 32 (many-shot). The
sandbox labels a message like its most similar example, so more examples label better — its
mechanics, nothing written here. The first check scores the variants offline, makes the best
the baseline and starts the A/B; `phasegate simulate traffic` and `phasegate rollout analyse`
then drop the worse variant and name the winner, or say the arms are not told apart yet.
"""

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from rich.console import Console

from state.settings import get_settings
from state.store_api import Store

USE_CASE = "feedback-triage-ab"
SOURCE = "feedback-triage"
EXAMPLES = {"zero-shot": None, "many-shot": 32}
ROLLOUT = {
    "ab": {"online": True, "min_interactions": 200, "max_duration": "7d"},
    "live_metrics": {"primary": "rating", "min_per_arm": 30},
}
# 300 interactions, about 150 an arm: 75 per simulated second for 4 s, paced 4× real time.
TRAFFIC = ("--rate", "75", "--for", "4s", "--speed", "4")

Run = Callable[..., None]


def _prompts(spec: dict) -> list[dict]:
    """The source's zero-shot variant and a many-shot copy of its few-shot one."""
    by_name = {prompt["name"]: prompt for prompt in spec["prompts"]}
    prompts = []
    for name, k in EXAMPLES.items():
        source = by_name["zero-shot" if k is None else "few-shot"]
        prompts.append(source | {"name": name} | ({} if k is None else {"k": k}))
    return prompts


def write_spec(root: Path, demo_dir: Path) -> Path:
    """Copy feedback-triage as feedback-triage-ab with the two variants and the online A/B."""
    target = demo_dir / "usecases" / USE_CASE
    shutil.copytree(root / "usecases" / SOURCE, target)
    spec = yaml.safe_load((target / "spec.yaml").read_text())
    spec |= {
        "name": USE_CASE,
        "description": "feedback-triage's prompt variants compared on live traffic",
        "prompts": _prompts(spec),
        "rollout": ROLLOUT,
    }
    (target / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return target / "spec.yaml"


def outcome(use_case: str = USE_CASE) -> str:
    """What the A/B ended with: the winner's prompt, or that its arms are not told apart yet."""
    store = Store(get_settings().store_url)
    rollout = store.list_rollouts(use_case)[-1]
    if rollout.status == "promoted":
        prompt = store.active_parts(use_case).prompt
        return f"winner: {prompt.label if prompt else rollout.arms[0].name}"
    if rollout.status != "running":
        return f"no winner: the A/B is {rollout.status} ({rollout.reason})"
    served = ", ".join(arm.name for arm in rollout.serving)
    return (
        f"not told apart yet: still serving {served}; more traffic decides, "
        "or a person once max_duration has passed"
    )


def online_ab(console: Console, run: Run, root: Path, demo_dir: Path, url: str) -> str:
    """Apply feedback-triage-ab, check it, send traffic, analyse; returns the outcome line."""
    console.print(
        f"  {USE_CASE}: feedback-triage whose prompt variants show 0 or 32 labelled "
        "examples, with `rollout: {ab: {online: true}}`"
    )
    run("apply", str(write_spec(root, demo_dir)))
    started = time.monotonic()
    run("check", USE_CASE)
    console.print(
        f"  phasegate simulate traffic {USE_CASE} {' '.join(TRAFFIC)} (time compressed 4×)",
        markup=False,
    )
    with console.status("simulated traffic: every arm served, called and rated …"):
        run("simulate", "traffic", USE_CASE, *TRAFFIC, "--api-url", url, "--seed", "3")
    console.print(
        f"  phasegate rollout status {USE_CASE}  (every arm, changes nothing)", markup=False
    )
    run("rollout", "status", USE_CASE)
    console.print(f"  phasegate rollout analyse {USE_CASE}", markup=False)
    run("rollout", "analyse", USE_CASE)
    ended = outcome()
    console.print(f"  {ended}", markup=False, highlight=False)
    console.print(f"  [dim]{time.monotonic() - started:.1f} s[/]")
    return ended
