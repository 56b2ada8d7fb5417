"""`apply`'s data check: every file a spec names parses, or the spec is refused at its line."""

import json
from pathlib import Path

import pytest

from state.errors import SpecError
from state.spec import load_spec
from tasks.data_files import check_data_files
from tests.specs import write_spec

CHAT = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}


def _spec(tmp_path: Path) -> Path:
    """A spec naming an eval set, a canary set, a training file and a documents directory."""
    path = write_spec(
        tmp_path,
        data={
            "eval": "eval.jsonl",
            "canary": "canary.jsonl",
            "training": "train.jsonl",
            "documents": "docs",
        },
    )
    (tmp_path / "canary.jsonl").write_text((tmp_path / "eval.jsonl").read_text())
    (tmp_path / "train.jsonl").write_text(json.dumps(CHAT) + "\n" + json.dumps(CHAT) + "\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\nSome text.\n")
    return path


def test_check_data_files_accepts_files_that_parse(tmp_path: Path) -> None:
    check_data_files(load_spec(_spec(tmp_path)))


BROKEN = {
    "eval line": ("eval.jsonl", b'{"id": "q9", "input": \n', "data.eval: {d}/eval.jsonl: line 4: "),
    "canary line": ("canary.jsonl", b"[1]\n", "data.canary: {d}/canary.jsonl: line 4: must be"),
    "training line": (
        "train.jsonl",
        b"{oops\n",
        "data.training: {d}/train.jsonl line 3: not valid",
    ),
    "training bytes": (
        "train.jsonl",
        b'{"a": "\xff"}\n',
        "data.training: {d}/train.jsonl: line 3:",
    ),
    "document bytes": (
        "docs/guide.md",
        b"caf\xe9\n",
        "data.documents: {d}/docs/guide.md: not UTF-8",
    ),
    "document NUL": (
        "docs/guide.md",
        b"a\n\x00\n",
        "data.documents: {d}/docs/guide.md: line 5: NUL",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_check_data_files_names_spec_field_file_and_line(tmp_path: Path, case: str) -> None:
    name, appended, message = BROKEN[case]
    spec = _spec(tmp_path)
    with (tmp_path / name).open("ab") as handle:
        handle.write(appended)
    with pytest.raises(SpecError) as caught:
        check_data_files(load_spec(spec))
    assert str(caught.value).startswith(f"{spec}: " + message.format(d=tmp_path))
