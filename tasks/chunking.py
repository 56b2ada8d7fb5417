"""Cut Markdown and text documents into heading-aware, overlapping chunks (pure functions)."""

import re
from dataclasses import dataclass

from state.domain import Chunk
from state.errors import InputError

# Bump when the rules below change, so that every document is re-chunked on the next ingest.
CHUNKER_VERSION = 1
_PARAGRAPH = "\n\n"
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")

# A piece of text with the separator that joins it to the piece before it.
Unit = tuple[str, str]


@dataclass(frozen=True)
class Section:
    """The paragraphs under one heading path (empty before the first heading)."""

    heading_path: tuple[str, ...]
    paragraphs: tuple[str, ...]


def chunker_id(chunk_size: int, chunk_overlap: int) -> str:
    """Name the chunking rules and settings (checked); a document chunked otherwise is redone."""
    if chunk_size < 1 or not 0 <= chunk_overlap < chunk_size:
        raise InputError(
            f"chunk_overlap ({chunk_overlap}) must be ≥ 0 and smaller than "
            f"chunk_size ({chunk_size}), which must be ≥ 1"
        )
    return f"v{CHUNKER_VERSION}:size={chunk_size}:overlap={chunk_overlap}"


def split_sections(text: str, markdown: bool = True) -> list[Section]:
    """Split a document at Markdown headings into sections of blank-line-separated paragraphs."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    paragraphs: list[str] = []
    lines: list[str] = []
    fence = ""

    def end_paragraph() -> None:
        paragraph = "\n".join(lines).strip()
        if paragraph:
            paragraphs.append(paragraph)
        lines.clear()

    def end_section() -> None:
        end_paragraph()
        if paragraphs:
            heading_path = tuple(title for _, title in path if title)
            sections.append(Section(heading_path, tuple(paragraphs)))
        paragraphs.clear()

    for line in text.splitlines():
        opening = _FENCE.match(line) if markdown else None
        if fence:
            # Inside a code block, blank lines and `#` lines are content, not structure.
            lines.append(line)
            if opening and opening.group(1).startswith(fence):
                fence = ""
        elif opening:
            fence = opening.group(1)
            lines.append(line)
        elif markdown and (heading := _HEADING.match(line)):
            end_section()
            level = len(heading.group(1))
            path = [(lvl, title) for lvl, title in path if lvl < level]
            path.append((level, (heading.group(2) or "").strip()))
        elif not line.strip():
            end_paragraph()
        else:
            lines.append(line)
    end_section()
    return sections


def _hard_split(text: str, size: int) -> list[Unit]:
    units: list[Unit] = []
    joiner = " "
    while len(text) > size:
        # Cut at the last whitespace within the window; only a word longer than it is cut.
        cut = next((i for i in range(size, 0, -1) if text[i].isspace()), None)
        if cut is None:
            units.append((joiner, text[:size]))
            text, joiner = text[size:], ""
        else:
            units.append((joiner, text[:cut].rstrip()))
            text, joiner = text[cut:].lstrip(), " "
    units.append((joiner, text))
    return units


def _paragraph_units(paragraph: str, size: int) -> list[Unit]:
    if len(paragraph) <= size:
        return [(_PARAGRAPH, paragraph)]
    pieces: list[Unit] = []
    for sentence in _SENTENCE_END.split(paragraph):
        pieces += _hard_split(sentence, size) if len(sentence) > size else [(" ", sentence)]
    packed: list[Unit] = []
    for joiner, piece in pieces:
        if packed and len(packed[-1][1]) + len(joiner) + len(piece) <= size:
            packed[-1] = (packed[-1][0], packed[-1][1] + joiner + piece)
        else:
            packed.append((joiner, piece))
    packed[0] = (_PARAGRAPH, packed[0][1])
    return packed


def _tail(text: str, limit: int) -> str:
    # At most `limit` characters from the end of `text`, starting at a word.
    if limit <= 0:
        return ""
    tail = text[-limit:]
    if len(tail) < len(text) and not text[-limit - 1].isspace() and not tail[0].isspace():
        # The cut fell inside a word: start at the next one.
        parts = tail.split(maxsplit=1)
        tail = parts[1] if len(parts) == 2 else ""
    return tail.strip()


def _pack(units: list[Unit], chunk_size: int, chunk_overlap: int) -> list[str]:
    # Each text after the first opens with the tail of the one before: the overlap.
    texts: list[str] = []
    current = ""
    for joiner, unit in units:
        if not current:
            current = unit
        elif len(current) + len(joiner) + len(unit) <= chunk_size:
            current += joiner + unit
        else:
            texts.append(current)
            tail = _tail(current, min(chunk_overlap, chunk_size - len(joiner) - len(unit)))
            current = tail + joiner + unit if tail else unit
    if current:
        texts.append(current)
    return texts


def chunk_document(
    doc_id: str, text: str, chunk_size: int, chunk_overlap: int, markdown: bool = True
) -> list[Chunk]:
    """Chunk one document: sections at headings, paragraphs packed up to `chunk_size`."""
    chunker_id(chunk_size, chunk_overlap)
    chunks: list[Chunk] = []
    for section in split_sections(text, markdown=markdown):
        units = [u for p in section.paragraphs for u in _paragraph_units(p, chunk_size)]
        for piece in _pack(units, chunk_size, chunk_overlap):
            chunks.append(
                Chunk(
                    document=doc_id,
                    heading_path=section.heading_path,
                    ordinal=len(chunks),
                    text=piece,
                )
            )
    return chunks
