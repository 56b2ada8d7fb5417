"""Import rules: phasegate → flows → tasks → state, sandbox apart, leaves import nothing."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["phasegate", "flows", "tasks", "state"]
# errors is the leaf of the leaves: the others may raise its exceptions. inputs (the bounds of
# every door, use case names among them), yaml_text (strict YAML), spec_metrics and
# spec_rollout (the spec's metrics and rollout sections) and canonical (canonical JSON and its
# hash) are leaves spec builds on.
LEAVES = {
    "state/spec.py",
    "state/canonical.py",
    "state/settings.py",
    "state/errors.py",
    "state/phases.py",
    "state/inputs.py",
    "state/yaml_text.py",
    "state/spec_metrics.py",
    "state/spec_rollout.py",
    "state/revisions.py",
    "state/volume_window.py",
    "state/store_location.py",
}
DATABASE_PACKAGES = {"sqlmodel", "sqlalchemy", "alembic", "psycopg"}
#: What code above `state/` (and bench/) may import of it: the face, the domain's terms, and the
#: vocabulary leaves.
FACE = {
    "state.store_api",  # Store, the one way to the database
    "state.domain",  # the glossary of what Store takes and returns
    "state.spec",
    "state.settings",
    "state.errors",
    "state.phases",
}
#: Leaves that import no store module, used above `state/` for good reason: inputs (the bounds
#: every door checks), spec_metrics and spec_rollout (sections of the spec), canonical (the
#: JSON and hash the store keeps), yaml_text (strict YAML), store_location (where the store
#: is, without SQLAlchemy); and status_read, status's reader through the DB-API (importing
#: SQLAlchemy alone would cost `phasegate status` its CPU budget).
JUSTIFIED_LEAVES = {
    "state.inputs",
    "state.spec_metrics",
    "state.spec_rollout",
    "state.canonical",
    "state.yaml_text",
    "state.store_location",
    "state.status_read",
}
#: The storage benchmark's fill, query plan and size read the tables below the face.
BELOW_THE_FACE = {"bench/store_sql.py"}
ABOVE_STATE = ["phasegate", "flows", "tasks", "bench"]


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
    allowed = {
        "state.canonical",
        "state.errors",
        "state.inputs",
        "state.yaml_text",
        "state.spec_metrics",
        "state.spec_rollout",
    }
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


def _above_state() -> list[Path]:
    paths = [path for layer in ABOVE_STATE for path in _modules(layer)]
    return [path for path in paths if str(path.relative_to(ROOT)) not in BELOW_THE_FACE]


def test_only_state_touches_the_database() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in [*_above_state(), *_modules("sandbox")]
        for name in sorted(_imports(path) & DATABASE_PACKAGES)
    ]
    assert wrong == []


def _state_modules_imported(path: Path) -> set[str]:
    """The `state` modules a file imports, anywhere in it: `state.x` for `from state import x`."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("state."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "state":
                found.update(f"state.{alias.name}" for alias in node.names)
            elif node.module.startswith("state."):
                found.add(node.module)
    return found


def test_nothing_above_state_imports_more_than_its_face() -> None:
    allowed = FACE | JUSTIFIED_LEAVES
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _above_state()
        for name in sorted(_state_modules_imported(path) - allowed)
    ]
    assert wrong == []


def test_the_justified_leaves_import_no_store_module() -> None:
    leaves = {f"state/{name.split('.')[1]}.py" for name in JUSTIFIED_LEAVES}
    assert leaves <= LEAVES | {"state/status_read.py"}
    store_modules = {"state.db", "state.models", "state.store_api"}
    status_read = _state_modules_imported(ROOT / "state/status_read.py")
    assert status_read & store_modules == set()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _project_imports(path: Path, modules: set[str]) -> set[str]:
    """The project modules a file imports, anywhere in it (functions included).

    Importing `a.b.c` runs the `__init__` of `a` and `a.b` too, unless the importer is inside
    them already.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names}
            found.update(submodules & modules or {node.module})
    importer = _module_name(path)
    for name in list(found):
        parts = name.split(".")
        parents = {".".join(parts[:n]) for n in range(1, len(parts))}
        found.update(p for p in parents if not f"{importer}.".startswith(f"{p}."))
    return found & modules


def test_no_module_imports_itself_through_others() -> None:
    paths = [path for layer in LAYERS for path in _modules(layer)]
    modules = {_module_name(path) for path in paths}
    graph = {_module_name(path): _project_imports(path, modules) for path in paths}
    cycles = []
    for start in sorted(graph):
        seen: set[str] = set()
        stack = list(graph[start])
        while stack:
            name = stack.pop()
            if name == start:
                cycles.append(start)
                break
            if name not in seen:
                seen.add(name)
                stack.extend(graph[name])
    assert cycles == []


def test_every_exception_class_lives_in_the_error_tree() -> None:
    tree = ast.parse((ROOT / "state/errors.py").read_text())
    errors = {node.name for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}
    wrong = []
    for layer in LAYERS:
        for path in _modules(layer):
            if path == ROOT / "state/errors.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.ClassDef):
                    continue
                bases = {ast.unparse(base).split(".")[-1] for base in node.bases}
                if bases & errors or any(b.endswith(("Error", "Exception")) for b in bases):
                    wrong.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert wrong == []


def _function_lengths(package: str) -> dict[str, int]:
    return {
        f"{path.relative_to(ROOT)}:{node.name}": node.end_lineno - node.lineno + 1
        for path in _modules(package)
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def test_no_flow_function_is_over_60_lines() -> None:
    long = {name: n for name, n in _function_lengths("flows").items() if n > 60}
    assert long == {}


def test_the_phase_check_reads_in_functions_of_at_most_40_lines() -> None:
    lengths = _function_lengths("flows")
    long = {name: n for name, n in lengths.items() if "phase_check.py" in name and n > 40}
    assert long == {}
    assert any("phase_check.py" in name for name in lengths)


SESSION_OPENERS = {"store_session", "session_scope", "Session"}


class _SessionOpeners(ast.NodeVisitor):
    """(function, name) of each call or import of a session opener, by innermost function."""

    def __init__(self) -> None:
        self.where = ["<module>"]
        self.found: set[tuple[str, str]] = set()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.where.append(node.name)
        self.generic_visit(node)
        self.where.pop()

    def visit_Call(self, node: ast.Call) -> None:
        if (name := ast.unparse(node.func).split(".")[-1]) in SESSION_OPENERS:
            self.found.add((self.where[-1], name))
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        names = {alias.name for alias in node.names} & SESSION_OPENERS
        self.found.update((self.where[-1], f"import {name}") for name in names)


def _session_openers(path: Path) -> set[tuple[str, str]]:
    visitor = _SessionOpeners()
    visitor.visit(ast.parse(path.read_text()))
    return visitor.found


def test_no_session_is_opened_outside_state() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{where}: {name}"
        for path in _above_state()
        for where, name in sorted(_session_openers(path))
    ]
    assert wrong == []


def test_only_the_store_opens_sessions_inside_state() -> None:
    """Store functions take the session; only the Store (and db.py, which makes it) opens one."""
    openers = {"state/store_api.py", "state/db.py"}
    wrong = [
        f"{path.relative_to(ROOT)}:{where}: {name}"
        for path in _modules("state")
        if str(path.relative_to(ROOT)) not in openers
        for where, name in sorted(_session_openers(path))
        if name != "import Session" and where != "<module>"
    ]
    assert wrong == []
