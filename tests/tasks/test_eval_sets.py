"""Eval sets and few-shot examples from JSONL files, with errors that name file and line."""

import hashlib
import json
from pathlib import Path

import pytest

from state.errors import SpecError
from tasks.eval_sets import load_eval_set, load_examples, question_of

ROOT = Path(__file__).resolve().parents[2]


def _write(path: Path, lines: list[object]) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def _item(i: int, **fields: object) -> dict:
    return {"id": f"q{i}", "input": f"question {i}", "expected": f"answer {i}"} | fields


def test_load_eval_set_reads_items_and_hashes_the_bytes(tmp_path: Path) -> None:
    path = _write(tmp_path / "eval.jsonl", [_item(1, source="billing"), "", _item(2)])
    items, digest = load_eval_set(path)
    assert [(i.id, i.source) for i in items] == [("q1", "billing"), ("q2", None)]
    assert digest == hashlib.sha256(path.read_bytes()).hexdigest()


def test_load_eval_set_reads_the_example_use_cases() -> None:
    items, _ = load_eval_set(ROOT / "usecases" / "support-qa" / "eval.jsonl")
    assert len(items) == 142 and items[0].id == "qa-001"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"id": "q7", "input": "x"}, "line 7: missing field 'expected'"),
        ('{"id": "q7", "input": ', "line 7: invalid JSON"),
        ("[1, 2]", "line 7: must be a JSON object"),
        (_item(7, input=3), "line 7: field 'input' must be a string"),
        (_item(7, extra="x"), "line 7: unknown field 'extra'"),
        (_item(7, id=" "), "line 7: field 'id' must not be empty"),
        (_item(7, id="q" * 201), "line 7: field 'id' must be at most 200 characters"),
        (_item(7, expected="a\u0000b"), "line 7: field 'expected' must not contain NUL"),
    ],
)
def test_load_eval_set_errors_name_file_and_line(
    tmp_path: Path, line: object, message: str
) -> None:
    path = _write(tmp_path / "eval.jsonl", [_item(i) for i in range(1, 7)] + [line])
    with pytest.raises(SpecError, match=f"eval.jsonl: {message}"):
        load_eval_set(path)


def test_load_eval_set_reads_a_byte_order_mark(tmp_path: Path) -> None:
    path = _write(tmp_path / "eval.jsonl", [_item(1)])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert [item.id for item in load_eval_set(path)[0]] == ["q1"]


def test_load_eval_set_refuses_a_duplicate_id(tmp_path: Path) -> None:
    path = _write(tmp_path / "eval.jsonl", [_item(1), _item(2), _item(1)])
    with pytest.raises(SpecError, match="line 3: duplicate id 'q1' \\(first on line 1\\)"):
        load_eval_set(path)


def test_load_eval_set_refuses_an_empty_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no eval items"):
        load_eval_set(_write(tmp_path / "eval.jsonl", ["", "  "]))


def test_load_eval_set_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="missing.jsonl: cannot read"):
        load_eval_set(tmp_path / "missing.jsonl")


def test_load_eval_set_refuses_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "eval.jsonl"
    path.write_bytes(json.dumps(_item(1)).encode() + b"\n" + b'{"id": "\xff"}\n')
    with pytest.raises(SpecError, match="line 2: not UTF-8"):
        load_eval_set(path)


def _chat(question: str, answer: str) -> dict:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": f"Question: {question}"},
        {"role": "assistant", "content": answer},
    ]
    return {"messages": messages}


def test_load_examples_skips_eval_inputs_and_repeats(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "train.jsonl",
        [
            _chat("eval one", "x"),
            _chat("a", "1"),
            _chat("A ", "1"),
            _chat("b", "2"),
            _chat("c", "3"),
        ],
    )
    assert load_examples(path, 2, {"eval one"}) == [("a", "1"), ("b", "2")]


def test_load_examples_stops_reading_after_k_pairs(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.jsonl", [_chat("a", "1"), "not json"])
    assert load_examples(path, 1, set()) == [("a", "1")]


def test_load_examples_errors_name_the_line(tmp_path: Path) -> None:
    lines = [_chat("a", "1"), {"messages": [{"role": "user", "content": "only a question"}]}]
    with pytest.raises(SpecError, match="train.jsonl: line 2: needs a user message followed"):
        load_examples(_write(tmp_path / "train.jsonl", lines), 5, set())


def test_question_of_takes_the_text_after_the_last_marker() -> None:
    assert question_of("Context: x\nInput: first\nQuestion: the real one ") == "the real one"
    assert question_of("no marker here") == "no marker here"
