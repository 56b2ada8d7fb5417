"""Read YAML strictly: bytes that are not UTF-8, duplicate keys and NUL characters are errors
that name the file and the line or field. A leaf: it imports nothing of the project but errors.
"""

from collections.abc import Hashable

import yaml

from state.errors import SpecError

MERGE_TAG = "tag:yaml.org,2002:merge"


def decode_utf8(data: bytes, source: str) -> str:
    """The text of a file; bytes that are not UTF-8 are a SpecError naming the line."""
    try:
        # utf-8-sig: a byte-order mark some editors write is not part of the text.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(f"{source}: line {line}: not UTF-8 (byte 0x{data[exc.start]:02x})") from exc


class _UniqueKeyLoader(yaml.SafeLoader):
    """The safe YAML loader, refusing a key given twice in one mapping (PyYAML would keep the
    last silently; YAML says keys are unique)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        """Construct a mapping; a repeated key is an error at the line of its second use."""
        first: dict[Hashable, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # the base constructor refuses it with its own message
            if key in first:
                raise yaml.constructor.ConstructorError(
                    problem=f"duplicate key {key!r} (first on line {first[key]})",
                    problem_mark=key_node.start_mark,
                )
            first[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _yaml_error(exc: yaml.YAMLError, text: str, source: str) -> SpecError:
    """A SpecError naming the line of a YAML error."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return SpecError(f"{source}: line {mark.line + 1}: invalid YAML ({exc.problem})")
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return SpecError(
            f"{source}: line {line}: invalid YAML (character #x{exc.character:04x} not allowed)"
        )
    return SpecError(f"{source}: invalid YAML ({exc})")


def nul_field(value: object, path: str = "") -> str | None:
    """The field path of the first key or string holding a NUL character, or None."""
    if isinstance(value, str):
        return (path or "(top level)") if "\x00" in value else None
    if isinstance(value, dict):
        children = [(str(key), child) for key, child in value.items()]
    elif isinstance(value, list):
        children = [(str(index), child) for index, child in enumerate(value)]
    else:
        return None
    for key, child in children:
        where = f"{path}.{key}" if path else key
        if "\x00" in key:
            return where.replace("\x00", "\\0")
        if found := nul_field(child, where):
            return found
    return None


def load_yaml(text: str, source: str) -> object:
    """The YAML document of `text`; errors name `source` and the line or field.

    A NUL character is refused: PostgreSQL text cannot hold it, and a spec's names and prompts
    reach text columns.
    """
    try:
        value = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, source) from exc
    if field := nul_field(value):
        raise SpecError(f"{source}: {field}: must not contain a NUL character")
    return value
