"""Strict spec reading: non-UTF-8 bytes, duplicate keys and NUL characters name file and line."""

from pathlib import Path

import pytest

from state.errors import SpecError
from state.spec import load_spec
from tests.specs import write_spec


def _spec_with(tmp_path: Path, lines: str) -> Path:
    """A valid spec file whose text gets `lines` appended."""
    path = write_spec(tmp_path)
    path.write_text(path.read_text() + lines)
    return path


def test_load_spec_refuses_duplicate_top_level_key(tmp_path: Path) -> None:
    path = write_spec(tmp_path)
    path.write_text("name: a\n" + path.read_text())
    with pytest.raises(SpecError, match=r"line \d+: invalid YAML \(duplicate key 'name' "):
        load_spec(path)


def test_load_spec_refuses_duplicate_nested_key_with_both_lines(tmp_path: Path) -> None:
    path = _spec_with(tmp_path, "constraints:\n  external_api: false\n  external_api: true\n")
    last = len(path.read_text().splitlines())
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == (
        f"{path}: line {last}: invalid YAML "
        f"(duplicate key 'external_api' (first on line {last - 1}))"
    )


def test_load_spec_keeps_yaml_merge_keys(tmp_path: Path) -> None:
    path = _spec_with(
        tmp_path,
        "gates:\n  prompting_to_rag: &q\n    target: 0.5\n"
        "  rag_to_fine_tuning:\n    <<: *q\n    min_examples: 10\n",
    )
    gate = load_spec(path).spec.gates.rag_to_fine_tuning
    assert (gate.target, gate.min_examples) == (0.5, 10)


def test_load_spec_names_the_line_of_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = write_spec(tmp_path)
    path.write_bytes(path.read_bytes() + b"description: caf\xe9\n")
    last = len(path.read_bytes().splitlines())
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}: line {last}: not UTF-8 (byte 0xe9)"


def test_load_spec_reads_a_byte_order_mark(tmp_path: Path) -> None:
    path = write_spec(tmp_path)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_spec(path).spec.name == "demo-qa"


def test_load_spec_refuses_nul_in_a_string_naming_the_field(tmp_path: Path) -> None:
    path = write_spec(
        tmp_path, prompts=[{"name": "p", "kind": "zero_shot", "system": "be\x00brief"}]
    )
    with pytest.raises(SpecError, match=r"prompts\.0\.system: must not contain a NUL character"):
        load_spec(path)


def test_load_spec_names_the_line_of_a_raw_control_character(tmp_path: Path) -> None:
    path = _spec_with(tmp_path, "description: a\x07b\n")
    last = len(path.read_text().splitlines())
    with pytest.raises(SpecError, match=rf"line {last}: invalid YAML \(character #x0007"):
        load_spec(path)


def _alias_bomb(levels: int) -> str:
    """A 'billion laughs' document: each level is a list of nine aliases of the one before."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]")
    return "\n".join(lines) + f"\nname: *l{levels - 1}\n"


def test_load_spec_refuses_an_alias_bomb_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(_alias_bomb(9))
    with pytest.raises(SpecError, match=rf"^{path}: line 6: invalid YAML \(aliases expand "):
        load_spec(path)


def test_load_spec_refuses_a_recursive_alias(tmp_path: Path) -> None:
    path = _spec_with(tmp_path, "tags: &t [*t]\n")
    with pytest.raises(SpecError, match=r"line \d+: invalid YAML \(recursive alias\)"):
        load_spec(path)


def test_load_spec_refuses_nesting_deeper_than_python_can_read(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("name: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(SpecError, match=rf"^{path}: invalid YAML \(nested too deeply\)"):
        load_spec(path)
