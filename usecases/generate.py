"""Generate the data files of the Phasegate example use cases (stdlib only, deterministic).

Regenerate everything (docs, eval/training JSONL and spec.yaml of each use case):

    python3 usecases/generate.py

Verify that the files on disk match what the generator produces (exit 1 on any drift):

    python3 usecases/generate.py --check

The data tables live in ``gen_support.py`` (support-qa) and ``gen_triage.py``
(feedback-triage); each uses its own fixed seed, so the output is byte-identical across runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import gen_support
import gen_triage

ROOT = Path(__file__).resolve().parent
BUILDERS = (gen_support.build, gen_triage.build)
GENERATED_DIRS = ("support-qa/docs",)  # directories whose every *.md file is generated


def render(content: str | list[dict]) -> str:
    """File text: strings as they are, row lists as JSON Lines."""
    if isinstance(content, str):
        return content
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in content)


def expected_files() -> dict[Path, str]:
    """Absolute path -> text of every generated file."""
    files: dict[Path, str] = {}
    for build in BUILDERS:
        for rel, content in build().items():
            files[ROOT / rel] = render(content)
    return files


def stale_files(files: dict[Path, str]) -> list[Path]:
    """Markdown files in generated directories that the generator no longer produces."""
    found = [p for d in GENERATED_DIRS for p in sorted((ROOT / d).glob("*.md"))]
    return [p for p in found if p not in files]


def check(files: dict[Path, str]) -> int:
    """Report files that differ from the generator's output; 1 if any, else 0."""
    problems = []
    for path, text in files.items():
        if not path.exists():
            problems.append(f"missing: {path.relative_to(ROOT)}")
        elif path.read_bytes() != text.encode("utf-8"):
            problems.append(f"differs: {path.relative_to(ROOT)}")
    problems += [f"not generated: {p.relative_to(ROOT)}" for p in stale_files(files)]
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print("run: python3 usecases/generate.py", file=sys.stderr)
        return 1
    print(f"ok: {len(files)} files up to date")
    return 0


def write(files: dict[Path, str]) -> None:
    """Write every generated file and remove stale generated ones."""
    for path in stale_files(files):
        path.unlink()
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    print(f"wrote {len(files)} files under {ROOT}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if the files on disk differ from the generated ones",
    )
    args = parser.parse_args(argv)
    files = expected_files()
    if args.check:
        return check(files)
    write(files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
