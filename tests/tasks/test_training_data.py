"""Training data: provider-style validation with line numbers, duplicates, leakage, split."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from state.domain import EvalItem, Interaction
from state.errors import LeakageError, SpecError
from state.spec import UseCaseSpec, load_spec
from tasks.training_data import (
    check_leakage,
    pilot_subset,
    prepare_training_set,
    split_examples,
    to_jsonl,
)
from tasks.training_format import message_tokens
from tasks.training_set import ChatTemplate, Example, build_training_set
from tests.specs import write_spec

SYSTEM = "You answer questions about Lumen."
FALLBACK = ChatTemplate(system="fallback system", user="Q) {input}")


def _row(question: str, answer: str, **extra: Any) -> dict[str, Any]:
    messages = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Question: {question}"},
        {"role": "assistant", "content": answer},
    ]
    return {"messages": messages, **extra}


def _text(*rows: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows)


def _build(text: str | None, interactions: list[Interaction] | None = None, max_tokens: int = 200):
    return build_training_set(
        text, interactions or [], source="train.jsonl", fallback=FALLBACK, max_tokens=max_tokens
    )


def _interaction(client_id: str, text: str, label: str | None) -> Interaction:
    return Interaction(
        id=1,
        use_case="demo",
        client_id=client_id,
        input=text,
        label=label,
        created_at=datetime.now(UTC),
    )


def _messages(*messages: dict[str, Any]) -> dict[str, Any]:
    return {"messages": list(messages)}


USER = {"role": "user", "content": "Question: why?"}
ANSWER = {"role": "assistant", "content": "because"}
BAD_LINES: dict[str, object] = {
    "data_type": json.dumps([USER, ANSWER]),
    "example_unrecognized_key": _messages(USER, ANSWER) | {"prompt": "x"},
    "missing_messages_list": {"messages": "why? because"},
    "message_missing_key": _messages({"content": "be brief"}, USER, ANSWER),
    "message_unrecognized_key": _messages(USER, ANSWER | {"score": 1}),
    "unrecognized_role": _messages({"role": "narrator", "content": "once"}, USER, ANSWER),
    "missing_content": _messages(USER, {"role": "assistant", "content": "  "}),
    "invalid_weight": _messages(USER, ANSWER | {"weight": 2}),
    "example_missing_assistant_message": _messages(USER),
    "example_missing_user_message": _messages({"role": "system", "content": "s"}, ANSWER),
    "too_many_tokens": _messages(USER, {"role": "assistant", "content": "word " * 300}),
}


def test_build_training_set_refuses_a_line_that_is_not_json() -> None:
    with pytest.raises(SpecError, match=r"^train.jsonl line 3: not valid JSON \("):
        _build(_text(_row("a?", "1"), "", '{"messages": [', _row("b?", "2")))


@pytest.mark.parametrize("kind", sorted(BAD_LINES))
def test_build_training_set_reports_error_kind_with_line(kind: str) -> None:
    report = _build(_text(_row("a?", "1"), "", BAD_LINES[kind], _row("b?", "2")))
    assert [(e.line, e.kind) for e in report.errors] == [(3, kind)]
    assert report.errors[0].message.startswith("train.jsonl line 3: ")


def test_build_training_set_keeps_clean_examples_around_errors() -> None:
    report = _build(_text(_row("a?", "1"), _messages(USER), _row("b?", "2")))
    assert [e.line for e in report.examples] == [1, 3]


def test_build_training_set_reports_missing_content_key() -> None:
    report = _build(_text(_messages(USER, {"role": "assistant"})))
    assert [(e.kind, e.message) for e in report.errors] == [
        ("message_missing_key", "train.jsonl line 1: message 1: missing 'content'")
    ]


def test_build_training_set_accepts_tool_call_without_content() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    report = _build(_text(_messages(USER, {"role": "assistant", "tool_calls": [call]})))
    assert report.errors == [] and len(report.examples) == 1


def test_build_training_set_reports_every_problem_of_an_example() -> None:
    report = _build(_text(_messages({"role": "human", "content": ""}, ANSWER | {"x": 1})))
    assert {e.kind for e in report.errors} == {
        "unrecognized_role",
        "missing_content",
        "message_unrecognized_key",
        "example_missing_user_message",
    }


def test_message_tokens_counts_words_punctuation_and_overhead() -> None:
    assert message_tokens({"role": "user", "content": "Hello, world!"}) == 4 + 4


def test_build_training_set_counts_clean_tokens() -> None:
    report = _build(_text(_row("a?", "1"), _messages(USER)))
    # system "You answer questions about Lumen ." 6, user "Question : a ?" 4, answer 1; + 3 × 4
    assert report.total_tokens == 6 + 4 + 1 + 12


def test_build_training_set_reports_duplicates_and_keeps_first() -> None:
    report = _build(_text(_row("a?", "1"), _row("b?", "2"), _row("a?", "1")))
    assert [e.line for e in report.examples] == [1, 2]
    assert [(d.line, d.kind, d.message) for d in report.duplicates] == [
        (3, "duplicate", "train.jsonl line 3: duplicate of train.jsonl line 1")
    ]


def test_build_training_set_duplicates_ignore_key_order() -> None:
    reordered = json.dumps(
        {
            "messages": [
                {"content": m["content"], "role": m["role"]} for m in _row("a?", "1")["messages"]
            ]
        }
    )
    report = _build(_text(_row("a?", "1"), reordered))
    assert [d.line for d in report.duplicates] == [2]


def test_build_training_set_turns_interactions_into_examples() -> None:
    report = _build(_text(_row("a?", "1")), [_interaction("i-1", "How long?", "7 days")])
    assert report.examples[-1].client_id == "i-1"
    assert report.examples[-1].data == _row("How long?", "7 days")


def test_build_training_set_uses_fallback_template_without_file() -> None:
    report = _build(None, [_interaction("i-1", "How long?", "7 days")])
    assert report.examples[0].data["messages"] == [
        {"role": "system", "content": "fallback system"},
        {"role": "user", "content": "Q) How long?"},
        {"role": "assistant", "content": "7 days"},
    ]


def test_build_training_set_reports_interaction_errors_by_client_id() -> None:
    report = _build(None, [_interaction("i-9", "How long?", "")])
    assert [(e.client_id, e.line, e.kind) for e in report.errors] == [
        ("i-9", None, "missing_content")
    ]
    assert report.errors[0].message.startswith("interaction 'i-9': ")


def test_build_training_set_reports_interaction_duplicating_a_line() -> None:
    report = _build(
        _text(_row("How long?", "7 days")), [_interaction("i-1", "How long?", "7 days")]
    )
    assert [(d.client_id, d.message) for d in report.duplicates] == [
        ("i-1", "interaction 'i-1': duplicate of train.jsonl line 1")
    ]


def _eval(item_id: str, text: str) -> EvalItem:
    return EvalItem(id=item_id, input=text, expected="x")


def test_check_leakage_refuses_eval_input_in_training_set() -> None:
    report = _build(_text(_row("Unrelated?", "1"), _row("What is the  PRICE of Plus?", "$4")))
    with pytest.raises(LeakageError, match=r"train\.jsonl line 2 = eval qa-7"):
        check_leakage(report.examples, [_eval("qa-7", "what is the price of plus?")])


def test_check_leakage_is_a_spec_error() -> None:
    report = _build(_text(_row("x?", "1")), [_interaction("i-1", "Same question?", "yes")])
    with pytest.raises(SpecError, match="interaction 'i-1' = eval e1"):
        check_leakage(report.examples, [_eval("e1", "same question?")])


def test_check_leakage_strips_marker_after_context() -> None:
    user = {"role": "user", "content": "Context:\nsome passage\nInput: the feedback"}
    report = _build(_text(_messages(user, ANSWER)))
    with pytest.raises(LeakageError, match="eval f1"):
        check_leakage(report.examples, [_eval("f1", "The feedback")])


def test_check_leakage_accepts_distinct_inputs() -> None:
    report = _build(_text(_row("What is the price of Plus?", "$4")))
    check_leakage(report.examples, [_eval("qa-1", "What is the price of Pro?")])


def _examples(count: int) -> list[Example]:
    return _build(_text(*[_row(f"question {n}?", str(n)) for n in range(count)])).examples


def test_split_examples_is_disjoint_and_complete() -> None:
    examples = _examples(400)
    train, validation = split_examples(examples, validation_share=0.2, seed=7)
    assert {e.line for e in train}.isdisjoint({e.line for e in validation})
    assert len(train) + len(validation) == 400
    assert 40 <= len(validation) <= 120


def test_split_examples_is_stable_as_the_set_grows() -> None:
    _, small = split_examples(_examples(200), validation_share=0.2, seed=7)
    _, large = split_examples(_examples(400), validation_share=0.2, seed=7)
    assert {e.canonical() for e in small} <= {e.canonical() for e in large}
    assert {e.canonical() for e in large if e.line <= 200} == {e.canonical() for e in small}


def test_split_examples_depends_on_seed() -> None:
    _, first = split_examples(_examples(200), validation_share=0.2, seed=1)
    _, second = split_examples(_examples(200), validation_share=0.2, seed=2)
    assert {e.line for e in first} != {e.line for e in second}


def test_split_examples_without_share_keeps_everything_for_training() -> None:
    train, validation = split_examples(_examples(50), validation_share=0.0, seed=7)
    assert (len(train), validation) == (50, [])


def test_to_jsonl_writes_canonical_lines() -> None:
    data = to_jsonl(_examples(2))
    lines = data.decode().splitlines()
    assert len(lines) == 2 and data.endswith(b"\n")
    assert lines[0] == json.dumps(json.loads(lines[0]), sort_keys=True, separators=(",", ":"))


def _spec(tmp_path: Path, training: str | None, **fine_tuning: Any) -> tuple[UseCaseSpec, str]:
    data = {"eval": "eval.jsonl"}
    if training is not None:
        (tmp_path / "train.jsonl").write_text(training, encoding="utf-8")
        data["training"] = "train.jsonl"
    path = write_spec(tmp_path, data=data, fine_tuning=fine_tuning)
    loaded = load_spec(path)
    return loaded.spec, str(loaded.data_path("training"))


def test_prepare_training_set_returns_split_files_and_hashes(tmp_path: Path) -> None:
    rows = [_row(f"question {n}?", str(n)) for n in range(60)]
    spec, path = _spec(tmp_path, _text(*rows, _messages(USER)), validation_share=0.25, seed=3)
    prepared = prepare_training_set.fn(spec, path, [], [])
    assert prepared.train_examples + prepared.validation_examples == 60
    assert prepared.validation_examples > 0
    assert [e.line for e in prepared.report.errors] == [61]
    assert len(prepared.train_jsonl.splitlines()) == prepared.train_examples
    assert (
        prepared.training_file_hash
        == prepare_training_set.fn(spec, path, [], []).training_file_hash
    )


def test_prepare_training_set_refuses_leakage(tmp_path: Path) -> None:
    spec, path = _spec(tmp_path, _text(_row("question 1", "a")))
    with pytest.raises(LeakageError, match="train.jsonl line 1 = eval q1"):
        prepare_training_set.fn(spec, path, [_eval("q1", "question 1")], [])


def test_prepare_training_set_uses_spec_prompt_without_file(tmp_path: Path) -> None:
    spec, _ = _spec(tmp_path, None)
    prepared = prepare_training_set.fn(spec, None, [], [_interaction("i-1", "hi there", "hello")])
    (line,) = prepared.train_jsonl.splitlines()
    assert json.loads(line)["messages"][0] == {"role": "user", "content": "Question: hi there"}


def test_prepare_training_set_refuses_a_broken_line_instead_of_skipping_it(tmp_path: Path) -> None:
    rows = [_row(f"question {n}?", str(n)) for n in range(3)]
    spec, path = _spec(tmp_path, _text(rows[0], '{"messages": [', *rows[1:]))
    with pytest.raises(SpecError, match=r"^train.jsonl line 2: not valid JSON"):
        prepare_training_set.fn(spec, path, [], [])


def test_prepare_training_set_refuses_non_utf8_file(tmp_path: Path) -> None:
    spec, path = _spec(tmp_path, "")
    Path(path).write_bytes(b'{"messages": "\xff"}\n')
    with pytest.raises(SpecError, match=r"train.jsonl: line 1: not UTF-8 \(byte 0xff\)"):
        prepare_training_set.fn(spec, path, [], [])


def test_prepare_training_set_refuses_missing_file(tmp_path: Path) -> None:
    spec, path = _spec(tmp_path, "")
    Path(path).unlink()
    with pytest.raises(SpecError, match="cannot read training file"):
        prepare_training_set.fn(spec, path, [], [])


def test_pilot_subset_keeps_a_share_of_the_train_split_and_all_of_validation(
    tmp_path: Path,
) -> None:
    rows = [_row(f"question {n}?", str(n)) for n in range(200)]
    spec, path = _spec(tmp_path, _text(*rows), validation_share=0.2, seed=3)
    prepared = prepare_training_set.fn(spec, path, [], [])
    pilot = pilot_subset(prepared, 0.25, seed=3)
    lines = pilot.train_jsonl.splitlines()
    assert 0.15 * prepared.train_examples < pilot.train_examples < 0.35 * prepared.train_examples
    assert len(lines) == pilot.train_examples
    assert set(lines) < set(prepared.train_jsonl.splitlines())
    assert pilot.validation_jsonl == prepared.validation_jsonl
    assert pilot.training_file_hash != prepared.training_file_hash
    assert pilot_subset(prepared, 0.25, seed=3) == pilot
