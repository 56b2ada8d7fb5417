"""The documents of a use case on disk: which files they are, and their text."""

from pathlib import Path

from state.errors import InputError

# Document files by suffix: whether their headings are Markdown.
SUFFIXES = {".md": True, ".txt": False}
# The width of document.doc_id in the store.
MAX_ID_LENGTH = 500


def find_documents(directory: Path) -> dict[str, Path]:
    """Document files under `directory` by id: relative path without suffix; hidden skipped."""
    if not directory.is_dir():
        raise InputError(f"{directory}: documents directory not found")
    found: dict[str, Path] = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory)
        if path.suffix not in SUFFIXES or not path.is_file():
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue
        doc_id = relative.with_suffix("").as_posix()
        if len(doc_id) > MAX_ID_LENGTH:
            raise InputError(f"{path}: document id longer than {MAX_ID_LENGTH} characters")
        if doc_id in found:
            raise InputError(f"{path}: same document id {doc_id!r} as {found[doc_id]}")
        found[doc_id] = path
    return found


def decode_document(path: Path, raw: bytes) -> str:
    """A document's text; bytes that are not UTF-8, or a NUL, are an InputError naming it."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise InputError(f"{path}: line {line}: NUL character (a text store cannot hold it)")
    return text
