"""Parse every data file a spec names, before the spec is applied: all of it or nothing.

`apply` calls this so that a broken eval line, training line or document is refused at the
door, with the spec, the field and the file's line named, instead of failing (or being
skipped) later inside a check.
"""

from collections.abc import Callable
from pathlib import Path

from state.errors import InputError, SpecError
from state.spec import LoadedSpec
from tasks.document_files import decode_document, find_documents
from tasks.eval_sets import load_eval_set
from tasks.training_set import parse_training_lines, read_training_text


def _eval_set(path: Path) -> None:
    """An eval set (or canary set): every line a valid item, ids unique, at least one."""
    load_eval_set(path)


def _training(path: Path) -> None:
    """A training file: UTF-8, every non-blank line JSON."""
    parse_training_lines(read_training_text(path), str(path))


def _documents(directory: Path) -> None:
    """A documents directory: ids unique and every document UTF-8 text."""
    for path in find_documents(directory).values():
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SpecError(f"{path}: cannot read ({exc.strerror})") from exc
        decode_document(path, data)


CHECKS: dict[str, Callable[[Path], None]] = {
    "eval": _eval_set,
    "canary": _eval_set,
    "training": _training,
    "documents": _documents,
}


def check_data_files(loaded: LoadedSpec) -> None:
    """Parse the data files of a spec; raises SpecError `spec: data.<field>: file: line: why`."""
    for field, check in CHECKS.items():
        path = loaded.data_path(field)
        if path is None:
            continue
        try:
            check(path)
        except (SpecError, InputError) as exc:
            raise SpecError(f"{loaded.path}: data.{field}: {exc}") from exc
