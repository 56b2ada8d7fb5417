"""The demo's fine-tuning step: a pilot on a share of the data, then checkpoints on validation.

support-qa's copy is applied again with `fine_tuning.pilot` before its move to fine-tuning;
after the move, the demo prints what the decision recorded: the pilot's gain on validation and every
checkpoint's validation score, with the one chosen.
"""

from pathlib import Path

import yaml
from rich.console import Console

from state.settings import get_settings
from state.store_api import Store

PILOT_SHARE = 0.2


def add_pilot(console: Console, run, target: Path) -> None:
    """Give the spec in `target` a pilot on PILOT_SHARE of its training data; apply it."""
    spec = yaml.safe_load((target / "spec.yaml").read_text())
    spec["fine_tuning"] = spec["fine_tuning"] | {"pilot": {"share": PILOT_SHARE}}
    (target / "spec.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    console.print(
        f"  and `fine_tuning.pilot: {{share: {PILOT_SHARE}}}`: a first job on {PILOT_SHARE:.0%} "
        "of the training data must gain over RAG on the validation split before the full run"
    )
    run("apply", str(target / "spec.yaml"))


def show_tuning(console: Console, name: str) -> None:
    """Print the pilot and the checkpoint choice of the use case's last move to fine-tuning."""
    decisions = Store(get_settings().store_url).list_decisions(name)
    move = next(d for d in reversed(decisions) if d.to_phase == "fine_tuning")
    checks = {g.check: g for g in move.gate_results}
    if (pilot := checks.get("pilot")) is not None:
        evidence = pilot.evidence
        console.print(
            f"  pilot on {evidence['share']:.0%} ({evidence['pilot_examples']} examples): "
            f"{pilot.status}, gain {pilot.observed:+.3f} on validation, 95 % interval "
            f"[{evidence['ci_low']:+.3f}, {evidence['ci_high']:+.3f}]",
            highlight=False,
        )
    if (selection := checks.get("checkpoint_selection")) is None:
        return
    chosen = selection.evidence["chosen"]["model"]
    for score in selection.evidence["checkpoints"]:
        mark = "  ← chosen" if score["model"] == chosen else ""
        console.print(
            f"  checkpoint epoch {score['epoch']}: {score['mean']:.3f} "
            f"[{score['ci_low']:.3f}, {score['ci_high']:.3f}] on {score['n']} validation items"
            f"{mark}",
            highlight=False,
        )
