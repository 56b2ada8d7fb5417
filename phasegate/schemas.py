"""Generated references: `spec.yaml` (JSON Schema, Markdown table) and the CLI's `--json`.

`make schemas` (or `python -m phasegate.schemas`) writes `docs/spec.schema.json` and
`docs/spec.md` from `UseCaseSpec`, and `docs/cli-json/<command>.schema.json` from the models
of `phasegate/cli/outputs.py`; `--check` lists the stale ones and exits 1.
"""

import json
import sys
from pathlib import Path
from typing import Any

from phasegate.cli.outputs import DOCUMENTS
from state.spec import UseCaseSpec

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "docs" / "spec.schema.json"
REFERENCE_PATH = ROOT / "docs" / "spec.md"
CLI_JSON_DIR = ROOT / "docs" / "cli-json"
SCHEMA_LINE = "# yaml-language-server: $schema=../../docs/spec.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def spec_schema() -> dict[str, Any]:
    """The JSON Schema of a spec file, as editors and validators read it."""
    schema = UseCaseSpec.model_json_schema()
    return {"$schema": DIALECT, "title": "Phasegate use-case spec (spec.yaml)", **schema}


def _resolve(schema: dict, node: dict) -> tuple[dict, str | None]:
    """The node behind a `$ref` (or the non-null branch of an optional), and its model name."""
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        return schema["$defs"][name], name
    branches = [b for b in node.get("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        return _resolve(schema, branches[0])
    return node, None


def _type(schema: dict, node: dict) -> str:
    inner, name = _resolve(schema, node)
    optional = any(b.get("type") == "null" for b in node.get("anyOf", []))
    if name is not None:
        text = f"[{name}](#{name.lower()})"
    elif "enum" in inner:
        text = " \\| ".join(f"`{v}`" for v in inner["enum"])
    elif inner.get("type") == "array":
        text = f"list of {_type(schema, inner['items'])}"
    else:
        kind = inner.get("type", "any")
        text = " or ".join(kind) if isinstance(kind, list) else kind
    return f"{text} or null" if optional else text


LIMITS = {
    "minimum": "≥ {}",
    "exclusiveMinimum": "> {}",
    "maximum": "≤ {}",
    "exclusiveMaximum": "< {}",
    "minLength": "length ≥ {}",
    "maxLength": "length ≤ {}",
    "minItems": "≥ {} items",
    "pattern": "matches `{}`",
}


def _limits(schema: dict, node: dict) -> str:
    inner, _ = _resolve(schema, node)
    found = [template.format(inner[key]) for key, template in LIMITS.items() if key in inner]
    return ", ".join(found)


def _default(field: dict, required: bool) -> str:
    if required:
        return "**required**"
    if "default" not in field:
        return "`[]`" if field.get("type") == "array" else "—"
    value = field["default"]
    if isinstance(value, dict):
        return "see below" if value else "{}"
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _table(schema: dict, model: dict) -> list[str]:
    lines = ["| field | type | default | limits | meaning |", "| --- | --- | --- | --- | --- |"]
    required = set(model.get("required", []))
    for key, field in model["properties"].items():
        cells = (
            f"`{key}`",
            _type(schema, field),
            _default(field, key in required),
            _limits(schema, field),
            field.get("description", "").replace("|", "\\|"),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def spec_reference(schema: dict) -> str:
    """Markdown: the top-level fields of a spec, then one table per nested section."""
    lines = [
        "# spec.yaml reference",
        "",
        "Generated from `state/spec.py` by `make schemas`; do not edit by hand. The JSON Schema",
        "is [`spec.schema.json`](spec.schema.json): with the YAML language server (VS Code's",
        "YAML extension, and others) a spec whose first line is",
        "",
        f"    {SCHEMA_LINE}",
        "",
        "gets completion and checks as you type. A comment changes nothing else: the spec's",
        "hash is computed from its parsed content.",
        "",
        "## UseCaseSpec",
        "",
        schema.get("description", ""),
        "",
        *_table(schema, schema),
    ]
    for name, model in schema["$defs"].items():
        if "properties" not in model:
            continue
        lines += ["", f"## {name}", "", model.get("description", ""), "", *_table(schema, model)]
    return "\n".join(lines) + "\n"


def cli_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of each command's `--json` document, by command."""
    return {
        command: {
            "$schema": DIALECT,
            **model.model_json_schema(mode="serialization"),
            "title": f"phasegate {command.replace('-', ' ')} --json",
        }
        for command, model in DOCUMENTS.items()
    }


def _json(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def expected_files() -> dict[Path, str]:
    """Each generated file with the text it should hold."""
    schema = spec_schema()
    files = {SCHEMA_PATH: _json(schema), REFERENCE_PATH: spec_reference(schema)}
    for command, document in cli_schemas().items():
        files[CLI_JSON_DIR / f"{command}.schema.json"] = _json(document)
    return files


def stale_files() -> list[Path]:
    """The generated files whose text differs from what the models give now."""
    return [
        path
        for path, text in expected_files().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def main(argv: list[str] | None = None) -> int:
    """Write the generated files, or with `--check` list the stale ones (exit 1)."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["--check"]:
        stale = stale_files()
        for path in stale:
            sys.stderr.write(f"stale: {path.relative_to(ROOT)} (run `make schemas`)\n")
        return 1 if stale else 0
    for path, text in expected_files().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
