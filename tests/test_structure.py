"""The package's shape: imports flow one way (no cycle, function-level imports included), no
private name crosses a module, one package installed, functions a screen long."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = {"factdb": REPO / "scripts", "factdb.schema": REPO / "schema"}
MAX_FUNCTION_LINES = 60


def modules() -> dict[str, Path]:
    """Every module of the package by its dotted name, from the folders package-dir maps."""
    found: dict[str, Path] = {}
    for package, folder in PACKAGE_DIRS.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join((package, *parts))
            if name.startswith("factdb.schema") and package == "factdb":
                continue  # not under scripts/
            found[name] = path
    return found


def imported(path: Path, name: str, known: set[str]) -> dict[str, tuple[int, list[str]]]:
    """The package's modules a module imports, anywhere in it, with a line and the names taken."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: dict[str, tuple[int, list[str]]] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [
                        *package.split(".")[: len(package.split(".")) - node.level + 1],
                        *([base] if base else []),
                    ]
                )
            names = [alias.name for alias in node.names]
            submodules = [(f"{base}.{n}", []) for n in names if f"{base}.{n}" in known]
            targets = [(base, [n for n in names if f"{base}.{n}" not in known]), *submodules]
        else:
            continue
        for target, taken in targets:
            if target in known and target != name:
                out.setdefault(target, (node.lineno, []))[1].extend(taken)
    return out


def graph() -> dict[str, dict[str, tuple[int, list[str]]]]:
    found = modules()
    return {name: imported(path, name, set(found)) for name, path in found.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as the modules along it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for other in sorted(edges.get(node, ())):
            if state.get(other) == 1:
                return [*stack[stack.index(other) :], other]
            if other not in state and (cycle := visit(other)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_module_graph_is_read():
    edges = graph()
    assert "factdb.validating" in edges and "factdb.site.pages" in edges
    assert "factdb.schema.models" in edges
    assert set(edges["factdb.validating"]) >= {"factdb.caching", "factdb.sharding"}
    assert "factdb.site.pages" in edges["factdb.site"]  # a submodule, imported by its package


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path: Path):
    (tmp_path / "a.py").write_text("from factdb.b import thing\n")
    (tmp_path / "b.py").write_text("def later():\n    import factdb.a\n")
    known = {"factdb.a", "factdb.b"}
    edges = {
        name: set(imported(tmp_path / f"{name[-1]}.py", name, known)) for name in sorted(known)
    }
    assert find_cycle(edges) == ["factdb.a", "factdb.b", "factdb.a"]


def test_no_module_imports_another_in_a_cycle():
    edges = {name: set(targets) for name, targets in graph().items()}
    cycle = find_cycle(edges)
    assert cycle is None, "modules import each other in a cycle: " + " -> ".join(cycle or [])


def test_the_plugin_reads_the_database_only():
    """site/ imports nothing of validation or building: it reads the database."""
    for name, targets in graph().items():
        if name.startswith("factdb.site"):
            outside = {t for t in targets if not t.startswith("factdb.site")}
            assert outside == set(), f"{name} imports {sorted(outside)}"


def test_no_private_name_is_imported_from_another_module():
    for name, targets in graph().items():
        for target, (line, taken) in targets.items():
            private = [n for n in taken if n.startswith("_") and not n.startswith("__")]
            assert private == [], f"{name}:{line} imports {private} from {target}"


def test_only_the_package_is_installed_at_top_level():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config["tool"]["setuptools"]
    assert all(p == "factdb" or p.startswith("factdb.") for p in setuptools["packages"])
    assert setuptools["package-dir"] == {"factdb": "scripts", "factdb.schema": "schema"}
    assert config["project"]["name"] == "factdb"
    assert config["project"]["scripts"]["facts"] == "factdb.cli:main"


def test_functions_are_a_screen_long():
    long = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name} ({length} lines)")
    assert long == []
