"""Import rules: phasegate → flows → tasks → state, sandbox apart, leaves import nothing."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["phasegate", "flows", "tasks", "state"]
# errors is the leaf of the leaves: the others may raise its exceptions. inputs (the bounds of
# every door, use case names among them) and yaml_text (strict YAML) are leaves spec builds on.
LEAVES = {
    "state/spec.py",
    "state/settings.py",
    "state/errors.py",
    "state/phases.py",
    "state/inputs.py",
    "state/yaml_text.py",
}
DATABASE_PACKAGES = {"sqlmodel", "sqlalchemy", "alembic", "psycopg"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name.split(".")[0] for name in names}


def _state_imports(path: Path) -> set[str]:
    return {
        f"state.{node.module.split('.')[1]}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("state.")
    }


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_layers_import_only_downwards() -> None:
    wrong = []
    for rank, layer in enumerate(LAYERS):
        above = set(LAYERS[:rank])
        for path in _modules(layer):
            bad = (_imports(path) & above) | (_imports(path) & {"sandbox"})
            wrong += [f"{path.relative_to(ROOT)} imports {name}" for name in sorted(bad)]
    assert wrong == []


def test_sandbox_imports_nothing_of_the_project() -> None:
    project = set(LAYERS)
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _modules("sandbox")
        for name in sorted(_imports(path) & project)
    ]
    assert wrong == []


def test_leaves_import_nothing_of_the_project() -> None:
    allowed = {"state.errors", "state.inputs", "state.yaml_text"}
    wrong = [
        f"{leaf} imports {name}"
        for leaf in sorted(LEAVES)
        for name in sorted(_state_imports(ROOT / leaf) - allowed)
    ]
    wrong += [
        f"{leaf} imports {name}"
        for leaf in sorted(LEAVES)
        for name in sorted(_imports(ROOT / leaf) & set(LAYERS[:-1]))
    ]
    assert wrong == []


def test_only_state_touches_the_database() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for layer in ("phasegate", "flows", "tasks", "sandbox")
        for path in _modules(layer)
        for name in sorted(_imports(path) & DATABASE_PACKAGES)
    ]
    assert wrong == []
