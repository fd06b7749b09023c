"""The harness's layering, read from the source (nothing is imported): no import cycle inside
``harness``; the targets know nothing of the CLI (``harness.options``, ``harness.run``,
``harness.cli``); and ``harness``, ``scenarios``, ``chaos`` and ``loadtests`` talk to taskora over
HTTP, never by importing it.

Imports inside functions count; those under ``if TYPE_CHECKING:`` do not make a cycle (they never
run), but they do count for the targets' rule and the taskora boundary."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "harness"
FORBIDDEN_IN_TARGETS = ("harness.options", "harness.run", "harness.cli")
OUTSIDE_TASKORA = ("harness", "scenarios", "chaos", "loadtests")


def module_name(path: Path, root: Path) -> str:
    """``harness/targets/local.py`` -> ``harness.targets.local``; a package is its __init__."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module a ``from ... import`` reads, relative imports resolved against ``module``."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports_of(
    source: str, module: str, *, is_package: bool = False, type_checking: bool = False
) -> Iterator[str]:
    """Every module name ``source`` imports, at any depth (functions included); ``from m import
    x`` gives ``m`` and ``m.x`` (x may be a submodule). Imports under ``if TYPE_CHECKING:`` only
    with ``type_checking``."""

    def visit(node: ast.AST) -> Iterator[str]:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            body = [*node.body, *node.orelse] if type_checking else node.orelse
            for statement in body:
                yield from visit(statement)
            return
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        for child in ast.iter_child_nodes(node):
            yield from visit(child)

    yield from visit(ast.parse(source))


def _sources(directory: Path) -> dict[str, Path]:
    return {module_name(path, ROOT): path for path in sorted(directory.rglob("*.py"))}


def imports_in_file(path: Path, *, type_checking: bool = False) -> set[str]:
    source = path.read_text(encoding="utf-8")
    name, is_package = module_name(path, ROOT), path.name == "__init__.py"
    return set(imports_of(source, name, is_package=is_package, type_checking=type_checking))


def import_graph(directory: Path, *, type_checking: bool = False) -> dict[str, set[str]]:
    """Each module of the package in ``directory`` -> the modules of the package it imports."""
    modules = _sources(directory)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = imports_in_file(path, type_checking=type_checking)
        graph[name] = {imported for imported in found if imported in modules} - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` as the path that closes it (``[a, b, a]``), or None: a depth-first
    search that meets a module still on its path."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_path:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in done and (cycle := visit(nxt)):
                return cycle
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done and (cycle := visit(start)):
            return cycle
    return None


# The helpers, on graphs and sources small enough to read


def test_find_cycle_names_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"a"}}) == ["a", "a"]


def test_find_cycle_passes_a_graph_without_one() -> None:
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None  # a diamond is no cycle


def test_imports_are_collected_inside_functions_but_not_under_type_checking() -> None:
    source = """
from typing import TYPE_CHECKING
import harness.errors
from harness.targets import local
if TYPE_CHECKING:
    from harness.options import Options
else:
    import harness.waiting
def build():
    from harness.run import build_target
from . import sibling
"""
    found = set(imports_of(source, "harness.targets.compose"))
    assert {"harness.errors", "harness.targets.local", "harness.run", "harness.waiting"} <= found
    assert "harness.targets.sibling" in found  # relative to the module's package
    assert "harness.options" not in found
    assert "harness.options" in set(imports_of(source, "harness.x", type_checking=True))


# The harness itself


def test_the_harness_has_no_import_cycle() -> None:
    graph = import_graph(ROOT / PACKAGE)
    assert "harness.targets.local" in graph and "harness.run" in graph["harness.cli"]
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_targets_know_nothing_of_the_command_line() -> None:
    graph = import_graph(ROOT / PACKAGE, type_checking=True)
    offenders = {
        f"{name} imports {imported}"
        for name, imported_modules in graph.items()
        if name.startswith("harness.targets")
        for imported in imported_modules
        if imported in FORBIDDEN_IN_TARGETS
    }
    assert not offenders


@pytest.mark.parametrize("directory", OUTSIDE_TASKORA)
def test_nothing_outside_the_service_imports_taskora(directory: str) -> None:
    offenders = {}
    for path in sorted((ROOT / directory).rglob("*.py")):
        found = imports_in_file(path, type_checking=True)
        if imported := {name for name in found if name.split(".")[0] == "taskora"}:
            offenders[path.relative_to(ROOT).as_posix()] = sorted(imported)
    assert not offenders, f"modules that import taskora: {offenders}"


def test_the_benchmarks_use_only_the_harness_public_api() -> None:
    offenders = {}
    for path in sorted((ROOT / "loadtests").rglob("*.py")):
        found = imports_in_file(path, type_checking=True)
        inner = {
            name
            for name in found
            if name.split(".")[0] == PACKAGE and name.split(".")[:2] != [PACKAGE, "api"]
        }
        if inner:
            offenders[path.relative_to(ROOT).as_posix()] = sorted(inner)
    assert not offenders, f"benchmarks that import the harness's internals: {offenders}"
