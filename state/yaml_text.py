"""Read YAML strictly: bytes that are not UTF-8, duplicate keys, NUL characters and aliases that
expand past a bound are errors that name the file and the line or field. A leaf: it imports
nothing of the project but errors.
"""

from collections.abc import Hashable

import yaml

from state.errors import SpecError

MERGE_TAG = "tag:yaml.org,2002:merge"
# Aliases share one node, so a few lines can stand for billions ("billion laughs"); every walk of
# the loaded value would expand them. A spec is configuration: far below this many nodes.
MAX_EXPANDED_NODES = 100_000


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


def _children(node: yaml.Node) -> list[yaml.Node]:
    """The nodes directly under `node` (keys and values of a mapping)."""
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_aliases(root: yaml.Node, source: str) -> None:
    """Refuse a node graph whose aliases recurse or expand it past MAX_EXPANDED_NODES.

    Counts the expanded size once per distinct node (never expanding anything), iteratively so
    that deep nesting does not exhaust Python's stack.
    """
    sizes: dict[int, int] = {}
    ancestors: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            ancestors.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > max(MAX_EXPANDED_NODES, len(sizes)):
                raise SpecError(
                    f"{source}: line {node.start_mark.line + 1}: invalid YAML (aliases expand "
                    f"this node to {sizes[key]:,} nodes; at most {MAX_EXPANDED_NODES:,} allowed)"
                )
        elif key in ancestors:
            raise SpecError(
                f"{source}: line {node.start_mark.line + 1}: invalid YAML (recursive alias)"
            )
        elif key not in sizes:
            ancestors.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in _children(node))


def load_yaml(text: str, source: str) -> object:
    """The YAML document of `text`; errors name `source` and the line or field.

    The document is composed and its aliases bounded before anything is constructed. A NUL
    character is refused: PostgreSQL text cannot hold it, and names and prompts reach text
    columns.
    """
    try:
        loader = _UniqueKeyLoader(text)  # its reader refuses control characters at once
        try:
            value = None
            if (node := loader.get_single_node()) is not None:
                _check_aliases(node, source)
                value = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, source) from exc
    except RecursionError as exc:
        # PyYAML composes and constructs recursively: a few thousand open brackets exhaust it.
        raise SpecError(f"{source}: invalid YAML (nested too deeply)") from exc
    if field := nul_field(value):
        raise SpecError(f"{source}: {field}: must not contain a NUL character")
    return value
