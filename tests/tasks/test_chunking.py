"""Chunking: sections at headings, paragraphs packed to size, overlap, long-paragraph splits."""

import re

import pytest

from state.errors import InputError
from tasks.chunking import Section, chunk_document, chunker_id, split_sections

GUIDE = """Intro paragraph before any heading.

# Sync

Sync keeps devices in step.

## Timing

The interval is 30 seconds.

## Conflicts

Both versions are kept.

# Billing

Invoices arrive monthly.
"""


def test_split_sections_tracks_heading_path() -> None:
    assert split_sections(GUIDE) == [
        Section((), ("Intro paragraph before any heading.",)),
        Section(("Sync",), ("Sync keeps devices in step.",)),
        Section(("Sync", "Timing"), ("The interval is 30 seconds.",)),
        Section(("Sync", "Conflicts"), ("Both versions are kept.",)),
        Section(("Billing",), ("Invoices arrive monthly.",)),
    ]


def test_split_sections_splits_paragraphs_at_blank_lines() -> None:
    text = "# A\nline one\nline two\n\n  \nsecond paragraph\n"
    assert split_sections(text) == [Section(("A",), ("line one\nline two", "second paragraph"))]


def test_split_sections_keeps_code_fence_whole() -> None:
    text = "# A\n\n```\n# not a heading\n\nstill code\n```\n\nafter\n"
    assert split_sections(text) == [
        Section(("A",), ("```\n# not a heading\n\nstill code\n```", "after"))
    ]


def test_split_sections_needs_space_after_hashes() -> None:
    assert split_sections("#hashtag is text\n") == [Section((), ("#hashtag is text",))]


def test_split_sections_strips_closing_hashes() -> None:
    assert split_sections("## Title ##\nbody\n")[0].heading_path == ("Title",)


def test_split_sections_skips_sections_without_paragraphs() -> None:
    assert split_sections("# Empty\n\n# Full\nbody\n") == [Section(("Full",), ("body",))]


def test_split_sections_plain_text_has_no_headings() -> None:
    assert split_sections("# not a heading\n\nbody\n", markdown=False) == [
        Section((), ("# not a heading", "body"))
    ]


def test_chunk_document_keeps_doc_id_heading_path_and_ordinal() -> None:
    chunks = chunk_document("guides/sync", GUIDE, chunk_size=200, chunk_overlap=20)
    assert [(c.document, c.heading_path, c.ordinal) for c in chunks] == [
        ("guides/sync", (), 0),
        ("guides/sync", ("Sync",), 1),
        ("guides/sync", ("Sync", "Timing"), 2),
        ("guides/sync", ("Sync", "Conflicts"), 3),
        ("guides/sync", ("Billing",), 4),
    ]


def test_chunk_document_packs_paragraphs_up_to_size() -> None:
    text = "\n\n".join(["a" * 30, "b" * 30, "c" * 30])
    chunks = chunk_document("d", text, chunk_size=64, chunk_overlap=0)
    assert [c.text for c in chunks] == ["a" * 30 + "\n\n" + "b" * 30, "c" * 30]


def test_chunk_document_opens_each_chunk_with_tail_of_previous() -> None:
    text = "\n\n".join(["one two three four five six", "seven eight nine ten eleven"])
    first, second = chunk_document("d", text, chunk_size=40, chunk_overlap=10)
    assert first.text == "one two three four five six"
    assert second.text == "five six\n\nseven eight nine ten eleven"


def test_chunk_document_shrinks_overlap_to_stay_within_size() -> None:
    text = "\n\n".join(["alpha beta gamma delta", "x" * 38])
    chunks = chunk_document("d", text, chunk_size=40, chunk_overlap=30)
    assert [c.text for c in chunks] == ["alpha beta gamma delta", "x" * 38]


def test_chunk_document_does_not_overlap_across_sections() -> None:
    chunks = chunk_document("d", "# A\n\nfirst words here\n\n# B\n\nsecond", 100, 50)
    assert [c.text for c in chunks] == ["first words here", "second"]


def test_chunk_document_splits_long_paragraph_at_sentences() -> None:
    paragraph = "First sentence is here. Second sentence is here. Third one."
    chunks = chunk_document("d", paragraph, chunk_size=30, chunk_overlap=0)
    assert [c.text for c in chunks] == [
        "First sentence is here.",
        "Second sentence is here.",
        "Third one.",
    ]


def test_chunk_document_splits_long_sentence_at_words_then_hard() -> None:
    chunks = chunk_document("d", "word " * 9 + "z" * 25, chunk_size=20, chunk_overlap=0)
    assert [c.text for c in chunks] == [
        "word word word word",
        "word word word word",
        "word",
        "z" * 20,
        "z" * 5,
    ]


@pytest.mark.parametrize(("size", "overlap"), [(50, 0), (80, 20), (120, 100), (400, 50)])
def test_chunk_document_never_exceeds_size_nor_drops_words(size: int, overlap: int) -> None:
    text = GUIDE + "\n" + " ".join(f"Sentence number {i} ends here." for i in range(60))
    chunks = chunk_document("d", text, chunk_size=size, chunk_overlap=overlap)
    assert max(len(c.text) for c in chunks) <= size
    words = set(re.findall(r"\w+", text)) - {"Sync", "Timing", "Conflicts", "Billing"}
    assert words <= {w for c in chunks for w in re.findall(r"\w+", c.text)}


def test_chunk_document_of_empty_text_is_empty() -> None:
    assert chunk_document("d", "\n\n# Only a heading\n", chunk_size=100, chunk_overlap=10) == []


@pytest.mark.parametrize(("size", "overlap"), [(100, 100), (100, -1), (0, 0)])
def test_chunk_document_rejects_bad_settings(size: int, overlap: int) -> None:
    with pytest.raises(InputError, match="chunk_overlap"):
        chunk_document("d", "text", chunk_size=size, chunk_overlap=overlap)


def test_chunker_id_names_the_settings() -> None:
    assert chunker_id(600, 80) != chunker_id(600, 60)
    assert "size=600" in chunker_id(600, 80)
