"""Answer extraction: the spec's `answers:` steps, one behaviour each."""

import pytest

from state.spec import AnswerExtraction
from tasks.answers import extract

DEFAULT = AnswerExtraction()


@pytest.mark.parametrize(
    ("output", "answer"),
    [
        ("Answer: Inbox", "inbox"),
        ("answer:   Inbox.", "inbox"),
        ("Inbox", "inbox"),
        (
            "  The desktop installer is a 180 MB download. It takes a minute.",
            "the desktop installer is a 180 mb download",
        ),
        ("Windows 10\n\n### Instruction:\nWhat else?", "windows 10"),
        ("\n\nAnswer: Help > Welcome Tour", "help > welcome tour"),
        ("Version 2.4 is required! Upgrade now.", "version 2.4 is required"),
        ('"Ctrl+Shift+Space"', "ctrl+shift+space"),
        ("", ""),
    ],
)
def test_extract_default_steps(output: str, answer: str) -> None:
    assert extract(DEFAULT, output) == answer


def test_extract_pattern_takes_the_named_group() -> None:
    rule = AnswerExtraction(pattern=r"(?i)the answer is (?P<answer>[^.]+)")
    assert extract(rule, "Well. The answer is 24 hours. Thanks") == "24 hours"


def test_extract_pattern_without_group_takes_the_whole_match() -> None:
    rule = AnswerExtraction(pattern=r"\d+ (?:MB|GB)")
    assert extract(rule, "It is about 180 MB in size.") == "180 mb"


def test_extract_pattern_without_match_keeps_the_output() -> None:
    rule = AnswerExtraction(pattern=r"\d+ GB")
    assert extract(rule, "Answer: Inbox. More text.") == "inbox"


def test_extract_keeps_case_punctuation_and_sentences_when_told() -> None:
    rule = AnswerExtraction(
        strip_prefixes=[], first_sentence=False, lowercase=False, strip_punctuation=False
    )
    assert extract(rule, "Answer:  Inbox.\nSecond   line.") == "Answer: Inbox. Second line."


def test_extract_strips_the_first_matching_prefix_only() -> None:
    rule = AnswerExtraction(strip_prefixes=["Response:", "Answer:"])
    assert extract(rule, "RESPONSE: Answer: Inbox") == "answer: inbox"


def test_answer_extraction_refuses_a_broken_pattern() -> None:
    with pytest.raises(ValueError, match="pattern is not a regular expression"):
        AnswerExtraction(pattern="(unclosed")
