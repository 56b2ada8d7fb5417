"""The generated spec reference: current, valid for the example specs, free for the hash."""

from pathlib import Path

import jsonschema
import pytest
import yaml

from phasegate import schemas
from state.spec import parse_spec

EXAMPLES = sorted((schemas.ROOT / "usecases").glob("*/spec.yaml"))


def test_generated_spec_references_are_current() -> None:
    stale = [str(path.relative_to(schemas.ROOT)) for path in schemas.stale_files()]
    assert stale == [], (
        f"{', '.join(stale)} no longer match(es) the spec model in state/spec.py: "
        "run `make schemas` and commit the result"
    )


def test_check_lists_a_stale_reference_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "spec.schema.json"
    stale.write_text("{}\n")
    monkeypatch.setattr(schemas, "ROOT", tmp_path)
    monkeypatch.setattr(schemas, "SCHEMA_PATH", stale)
    monkeypatch.setattr(schemas, "REFERENCE_PATH", tmp_path / "spec.md")
    assert schemas.main(["--check"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "stale: spec.schema.json (run `make schemas`)",
        "stale: spec.md (run `make schemas`)",
    ]


def test_every_example_spec_names_the_schema_on_its_first_line() -> None:
    assert len(EXAMPLES) >= 2
    for path in EXAMPLES:
        first = path.read_text().splitlines()[0]
        assert first == schemas.SCHEMA_LINE, path
        target = first.split("$schema=", 1)[1]
        assert (path.parent / target).resolve() == schemas.SCHEMA_PATH


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_the_schema_accepts_the_example_spec(path: Path) -> None:
    jsonschema.Draft202012Validator(schemas.spec_schema()).validate(
        yaml.safe_load(path.read_text())
    )


def test_the_schema_refuses_an_unknown_field_as_the_model_does() -> None:
    spec = yaml.safe_load(EXAMPLES[0].read_text()) | {"gatez": {}}
    errors = list(jsonschema.Draft202012Validator(schemas.spec_schema()).iter_errors(spec))
    assert [e.message for e in errors] == [
        "Additional properties are not allowed ('gatez' was unexpected)"
    ]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.parent.name)
def test_the_schema_comment_leaves_the_spec_hash_unchanged(path: Path) -> None:
    text = path.read_text()
    without = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    assert without != text
    assert parse_spec(text, str(path)).spec_hash() == parse_spec(without, "x").spec_hash()
