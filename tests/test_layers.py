"""The import graph of dwh/: no circle, and every arrow points down the floors of DESIGN.md's layout.

    entry points (generic_entry, demo, devtools)
      -> jobs -> strategies -> control -> platforms -> the shared base

A module may import its own floor and the floors below. Imports inside functions count too (they are
arrows all the same); only ``if TYPE_CHECKING:`` blocks are left out, since they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dwh"

#: Floors from the bottom; a module's floor is the longest prefix listed here that names it.
FLOORS: dict[str, int] = {
    "dwh": 0,
    "dwh.platforms": 1,
    "dwh.control": 2,
    "dwh.strategies": 3,
    "dwh.jobs": 4,
    "dwh.generic_entry": 5,
    "dwh.demo": 5,
    "dwh.devtools": 5,
}
#: Arrows that point up on purpose, each with its reason.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {
    # The databricks: secret reference reads through the one WorkspaceClient factory (a leaf: stdlib + the SDK).
    ("dwh.secrets", "dwh.platforms.databricks"): "one place builds WorkspaceClient",
    # The LOCAL launcher's child process is a process entry point: it runs generic_entry (imported in main()).
    ("dwh.platforms.launchers.local_child", "dwh.generic_entry"): "the detached child runs generic_entry",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def floor(module: str) -> int:
    best = max((prefix for prefix in FLOORS if module == prefix or module.startswith(prefix + ".")), key=len)
    return FLOORS[best]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    found: set[str] = set()
    base = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            node.body = []  # never runs: its imports are annotations only
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("dwh"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                target = ".".join(base[: len(base) - node.level + 1] + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.startswith("dwh"):
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(path): path for path in paths}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = _imports(tree, name, path.name == "__init__.py")
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def test_every_arrow_points_down() -> None:
    upward = [
        f"{source} (floor {floor(source)}) imports {target} (floor {floor(target)})"
        for source, targets in import_graph().items()
        for target in sorted(targets)
        if floor(target) > floor(source) and (source, target) not in ALLOWED_UPWARD
    ]
    assert upward == []


def test_the_import_graph_has_no_circle() -> None:
    graph = import_graph()
    # A package's __init__ re-exporting its modules is not a circle with them: drop package -> own child arrows.
    edges = {
        source: {target for target in targets if not target.startswith(source + ".")}
        for source, targets in graph.items()
    }
    circles = _strongly_connected(edges)
    assert circles == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; returns the components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_layer_check_sees_a_planted_upward_arrow() -> None:
    """The checks above can fail: a base module importing a job is reported."""
    tree = ast.parse("from dwh.jobs.abstract_job import AbstractJob\n")
    targets = _imports(tree, "dwh.retry", is_package=False)
    assert "dwh.jobs.abstract_job" in targets and floor("dwh.jobs.abstract_job") > floor("dwh.retry")
    assert _strongly_connected({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
