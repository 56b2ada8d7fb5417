"""Build small spec files for tests."""

import json
from pathlib import Path

import yaml

BASE_SPEC = {
    "name": "demo-qa",
    "description": "a test use case",
    "task": "qa",
    "metric": "token_f1",
    "data": {"eval": "eval.jsonl"},
    "prompts": [{"name": "zero-shot", "kind": "zero_shot", "template": "Question: {input}"}],
}


def write_spec(directory: Path, name: str = "demo-qa", **overrides: object) -> Path:
    """Write a valid spec (with a small eval file) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    spec = json.loads(json.dumps(BASE_SPEC)) | {"name": name} | overrides
    items = [{"id": f"q{i}", "input": f"question {i}", "expected": f"answer {i}"} for i in range(3)]
    (directory / "eval.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path
