"""docs/gates.md's recipe for a new gate, applied as written to a copy of the project."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("state", "tasks", "phasegate")
#: Run in the copy: the new check runs where the phase check runs checks, in its unit.
PROBE = """
from state.domain import EvalRun
from state.phases import Stage
from tasks.gates import THRESHOLDS, GateInputs, run_checks, unit_of
from phasegate.report_format import gate_value

def run(tokens):
    return EvalRun(
        id=1, use_case="u", configuration_id=1, eval_set_hash="e" * 64, metric="accuracy",
        n=0, mean=0.0, ci_low=0.0, ci_high=0.0, error_rate=0.0, latency_p50_ms=1.0,
        latency_p95_ms=1.0, prompt_tokens_per_query=tokens, completion_tokens_per_query=0.0,
    )

for tokens in (1200.0, 2000.0):
    inputs = GateInputs(
        use_case="u", transition="prompting_to_rag",
        thresholds=THRESHOLDS["prompting_to_rag"](), baseline=run(900.0), subject=run(tokens),
    )
    [found] = [r for r in run_checks(inputs, Stage.PROMOTION) if r.check == "prompt_tokens"]
    print(found.stage, found.status, gate_value(found.check, found.observed))
print(unit_of("prompt_tokens"))
"""


def _blocks() -> dict[str, str]:
    """The recipe's Python blocks by the file each names on its first line."""
    text = (ROOT / "docs/gates.md").read_text()
    section = text.split("## Adding a gate", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    return {block.split("\n", 1)[0].removeprefix("# "): block.split("\n", 1)[1] for block in blocks}


def _apply_registry_block(registry: Path, block: str) -> None:
    """Add the block's import line and put its transition entry in place of the one there."""
    import_line, entry = block.split("\n\n", 1)
    text = registry.read_text()
    first_line = entry.splitlines()[0]
    start = text.index(first_line)
    end = text.index("\n    },\n", start) + len("\n    },\n")
    text = text[:start] + entry + text[end:]
    imports_end = text.index("\n\n", text.index("from tasks.gates."))
    registry.write_text(text[:imports_end] + "\n" + import_line + text[imports_end:])


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return copy


def test_the_recipe_for_a_new_gate_is_two_edits_and_the_gate_runs_in_its_unit(
    tmp_path: Path,
) -> None:
    blocks = _blocks()
    assert sorted(blocks) == ["tasks/gates/prompt_size.py", "tasks/gates/registry.py"]
    copy = _copy(tmp_path)
    new_module = copy / "tasks/gates/prompt_size.py"
    assert not new_module.exists()
    new_module.write_text(blocks["tasks/gates/prompt_size.py"])
    _apply_registry_block(copy / "tasks/gates/registry.py", blocks["tasks/gates/registry.py"])

    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=copy,
        env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.splitlines() == [
        "promotion pass 1,200",
        "promotion fail 2,000",
        "count",
    ]


def test_without_the_recipe_the_copy_runs_no_such_gate(tmp_path: Path) -> None:
    copy = _copy(tmp_path)
    probe = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=copy,
        env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode != 0
    assert "ValueError: not enough values to unpack" in probe.stderr
