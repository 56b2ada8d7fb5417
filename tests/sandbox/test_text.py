"""Tokenizer, similarity, embeddings and prompt parsing (pure functions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from sandbox.prompt import parse
from sandbox.text import content_words, embed, overlap, tokens, truncate_tokens

ROOT = Path(__file__).resolve().parents[2]


def test_text_tokens_split_words_and_punctuation() -> None:
    assert tokens("Don't panic, it's 42!") == [
        "Don",
        "'",
        "t",
        "panic",
        ",",
        "it",
        "'",
        "s",
        "42",
        "!",
    ]


def test_text_content_words_drop_stopwords_and_plural_s() -> None:
    assert content_words("What is the refund policy for parcels?") == {"refund", "policy", "parcel"}


def test_text_overlap_is_share_of_query_words() -> None:
    query = content_words("refund policy parcel")
    assert overlap(query, content_words("the parcel refund window")) == 2 / 3


def test_text_truncate_tokens_cuts_after_limit() -> None:
    assert truncate_tokens("one, two three", 2) == ("one,", True)
    assert truncate_tokens("one two", 5) == ("one two", False)


def test_text_embedding_is_stable_across_processes() -> None:
    code = "from sandbox.text import embed; print(embed('stable hashing')[:8])"
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "123", "PYTHONPATH": str(ROOT)},
    ).stdout.strip()
    assert other == str(embed("stable hashing")[:8])


def test_text_prompt_question_after_marker() -> None:
    prompt = parse([{"role": "user", "content": "Context:\n[a] X is y.\nQuestion: What is X?"}])
    assert prompt.question == "What is X?"
    assert [(p.source, p.sentence) for p in prompt.passages] == [("a", "X is y.")]


def test_text_prompt_open_input_is_question_not_example() -> None:
    prompt = parse([{"role": "user", "content": "Input: a\nOutput: b\n\nInput: c\nOutput:"}])
    assert prompt.question == "c"
    assert [(e.input, e.output) for e in prompt.examples] == [("a", "b")]


def test_text_prompt_labels_line() -> None:
    prompt = parse(
        [
            {"role": "system", "content": "Labels: spam, ham\nClassify."},
            {"role": "user", "content": "win money now"},
        ]
    )
    assert prompt.labels == ("spam", "ham")
    assert prompt.question == "win money now"
